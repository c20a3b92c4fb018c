package gcode

import (
	"errors"
	"fmt"
	"io"
)

// Compiler streams a program as wire lines with constant memory.
type Compiler struct {
	e        *engine
	first    *Diagnostic
	warnings []Diagnostic
	v        verifier
	err      error
}

// maxCompilerWarnings bounds the warnings a Compiler keeps.
const maxCompilerWarnings = 1000

// NewCompiler returns a Compiler reading r; name is used in diagnostics.
func NewCompiler(r io.Reader, name string, opts Options) *Compiler {
	c := &Compiler{}
	c.e = newEngine(r, name, opts, func(d Diagnostic) {
		if d.Severity == Error {
			if c.first == nil {
				c.first = &d
			}
			return
		}
		if len(c.warnings) < maxCompilerWarnings {
			c.warnings = append(c.warnings, d)
		}
	})
	return c
}

// ErrWireMismatch reports an internal failure: a wire line did not
// reproduce its source line's effect. It is never expected.
var ErrWireMismatch = errors.New("wire form differs from source")

// Next returns the next line to send. It returns io.EOF after the last line,
// a *DiagnosticError (wrapping ErrNotStreamable) for the first line GRBL would
// reject, or a read error. After an error every call returns it again.
//
// Blank and comment-only lines, and lines that change nothing, produce no
// WireLine. A WireLine with empty Text carries only Actions (a lone M6 or M1).
func (c *Compiler) Next() (WireLine, error) {
	if c.err != nil {
		return WireLine{}, c.err
	}
	for {
		kind, err := c.e.step()
		if err != nil {
			c.err = err
			return WireLine{}, err
		}
		if c.first != nil {
			c.err = &DiagnosticError{Diagnostic: *c.first}
			return WireLine{}, c.err
		}
		switch kind {
		case lineEOF:
			c.e.finish()
			if c.first != nil {
				c.err = &DiagnosticError{Diagnostic: *c.first}
				return WireLine{}, c.err
			}
			c.err = io.EOF
			return WireLine{}, io.EOF
		case lineWire:
			if c.e.lx.code[0] != '$' {
				if err := c.check(); err != nil {
					c.err = err
					return WireLine{}, err
				}
			}
			wl := c.e.out
			wl.Text = string(c.e.wire)
			return wl, nil
		}
	}
}

// check re-reads the wire line from the state before the source line and
// requires the same state and motion.
func (c *Compiler) check() error { return c.v.verify(c.e) }

// verifier re-executes wire lines.
type verifier struct {
	in interp
	lx lexed
	ws words
}

// verify re-reads e's current wire line from the state before its source
// line and requires the same state and motion as the source line produced.
func (v *verifier) verify(e *engine) error {
	v.in.enableM7 = e.in.enableM7
	v.in.st = e.pre
	n := copy(v.lx.code[:], e.wire)
	for i := 0; i < n; i++ {
		v.lx.col[i] = int32(i + 1)
	}
	v.ws.parse(v.lx.code[:n], v.lx.col[:n])
	if g := v.in.exec(&v.ws, false); g != nil {
		return fmt.Errorf("%s:%d: wire %q: error:%d %s: %w", e.name, e.out.Source, e.wire, g.code, g.msg, ErrWireMismatch)
	}
	if v.in.st != e.in.st || v.in.eff != e.in.eff {
		return fmt.Errorf("%s:%d: wire %q: state or motion differs: %w", e.name, e.out.Source, e.wire, ErrWireMismatch)
	}
	return nil
}

// Warnings returns the warnings seen so far (at most 1000).
func (c *Compiler) Warnings() []Diagnostic { return c.warnings }

// Report returns the analysis of the lines read so far; it is complete
// after Next has returned io.EOF.
func (c *Compiler) Report() *Report { return c.e.rep }
