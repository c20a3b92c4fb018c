package cmd

import (
	"bytes"
	"io"
	"os"
)

// IOStreams carries a command's standard streams, so that tests can capture
// them. Commands never touch os.Stdin/os.Stdout/os.Stderr directly.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// IsTerminal reports whether Out is an interactive terminal (progress
	// bars are drawn only then; otherwise plain lines are printed).
	IsTerminal bool
}

// System returns the process's real streams.
func System() IOStreams {
	return IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, IsTerminal: isTerminal(os.Stdout)}
}

// TestStreams returns streams backed by buffers, for tests.
func TestStreams() (IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}
