//go:build !linux

package sim

import (
	"context"
	"errors"
	"runtime"
)

// ServePTY is only implemented on Linux (it uses /dev/ptmx ioctls and
// inotify); elsewhere it reports that.
func ServePTY(ctx context.Context, path string, m *Machine) error {
	return (&PTY{Path: path, Machine: m}).Serve(ctx)
}

// PTY exposes a Machine on a pseudo-terminal; see the Linux build for the
// fields' meaning.
type PTY struct {
	// Path is where the symlink to the slave device would go.
	Path string
	// Machine is the board behind the port.
	Machine *Machine
	// Ready would be called each time the symlink has been made.
	Ready func(device string)
}

// Serve is only implemented on Linux; elsewhere it reports that.
func (p *PTY) Serve(ctx context.Context) error {
	return errors.New("sim: pseudo-terminals are not supported on " + runtime.GOOS + " (Linux only)")
}
