package canary

import (
	"errors"
	"fmt"
)

// ErrInvalidInput matches (with errors.Is) every *InputError.
var ErrInvalidInput = errors.New("invalid canary input")

// InputError is a problem with a canary document, config or data set.
// Path is the JSON path of the offending value (for example
// `canaryConfig.metrics[2].analysisConfigurations.canary.critical`); for JSON
// syntax errors Path is empty and Line and Column (1-based) say where.
type InputError struct {
	// Path is the JSON path of the offending value ("" for syntax errors).
	Path string
	// Line and Column locate a syntax error (0 when Path is set).
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem with its location.
func (e *InputError) Error() string {
	switch {
	case e.Path != "":
		return e.Path + ": " + e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	default:
		return e.Msg
	}
}

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// under returns a copy of e with prefix prepended to its path.
func (e *InputError) under(prefix string) *InputError {
	c := *e
	switch {
	case prefix == "":
	case c.Path == "":
		c.Path = prefix
	case c.Path[0] == '[':
		c.Path = prefix + c.Path
	default:
		c.Path = prefix + "." + c.Path
	}
	return &c
}
