package gcode

import (
	"errors"
	"fmt"
	"strconv"
)

// Severity ranks a Diagnostic.
type Severity int

// Severities of a Diagnostic.
const (
	// Error: GRBL would reject the line (or kerf cannot send it safely). A
	// program with an error is not streamable.
	Error Severity = iota
	// Warning: GRBL runs the line but the result may surprise.
	Warning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "error" or "warning".
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "error":
		*s = Error
	case "warning":
		*s = Warning
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Diagnostic is one message about a place in a program.
type Diagnostic struct {
	File string `json:"file"`
	// Line and Col are 1-based; Col counts bytes. Col is 0 for whole-file
	// diagnostics.
	Line     int      `json:"line"`
	Col      int      `json:"col"`
	Severity Severity `json:"severity"`
	// GrblError is the N GRBL 1.1 would answer (error:N), 0 if GRBL would not
	// answer with an error (kerf's own checks, warnings).
	GrblError int    `json:"grbl_error,omitempty"`
	Message   string `json:"message"`
}

// String formats the diagnostic compiler-style: "file:line:col: error: text".
func (d Diagnostic) String() string {
	b := make([]byte, 0, len(d.File)+len(d.Message)+32)
	b = append(b, d.File...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(d.Line), 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(d.Col), 10)
	b = append(b, ": "...)
	b = append(b, d.Severity.String()...)
	b = append(b, ": "...)
	b = append(b, d.Message...)
	return string(b)
}

// DiagnosticError is the error a Compiler returns for a line it cannot send.
type DiagnosticError struct {
	Diagnostic Diagnostic
}

// Error returns the diagnostic's text.
func (e *DiagnosticError) Error() string { return e.Diagnostic.String() }

// ErrNotStreamable is wrapped by every *DiagnosticError, so callers can test
// errors.Is(err, ErrNotStreamable) without unpacking the diagnostic.
var ErrNotStreamable = errors.New("program not streamable")

// Unwrap returns ErrNotStreamable.
func (e *DiagnosticError) Unwrap() error { return ErrNotStreamable }

// GrblErrorName returns GRBL 1.1's short name for error:N, or "" if unknown.
func GrblErrorName(code int) string {
	names := [...]string{
		1: "Expected command letter", 2: "Bad number format", 3: "Invalid statement",
		4: "Value < 0", 5: "Setting disabled", 6: "Value < 3 usec", 7: "EEPROM read fail",
		8: "Not idle", 9: "G-code lock", 10: "Homing not enabled", 11: "Line overflow",
		12: "Step rate > 30kHz", 13: "Check Door", 14: "Line length exceeded",
		15: "Travel exceeded", 16: "Invalid jog command", 17: "Setting disabled",
		20: "Unsupported command", 21: "Modal group violation", 22: "Undefined feed rate",
		23: "Command value not integer", 24: "Axis command conflict", 25: "Word repeated",
		26: "No axis words", 27: "Invalid line number", 28: "Value word missing",
		29: "G59.x WCS not supported", 30: "G53 only with G0 and G1", 31: "Axis words exist",
		32: "No axis words in plane", 33: "Invalid target", 34: "Arc radius error",
		35: "No offsets in plane", 36: "Unused words", 37: "G43.1 axis error",
		38: "Tool number > 255",
	}
	if code <= 0 || code >= len(names) {
		return ""
	}
	return names[code]
}
