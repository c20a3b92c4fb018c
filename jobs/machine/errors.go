package machine

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotConnected: no board is connected right now. The concrete error
	// is a *NotConnectedError naming the port and the last failure.
	ErrNotConnected = errors.New("no board connected")
	// ErrBusy: the machine is leased (a run streams) or a manual command is
	// under way. The concrete error is a *BusyError naming the owner.
	ErrBusy = errors.New("machine busy")
	// ErrHomingDisabled: $H was asked of a board with $22=0.
	ErrHomingDisabled = errors.New("homing is disabled on the board ($22=0)")
	// ErrJogLimit: GRBL refused a jog whose target lies beyond the machine's
	// travel (error:15, soft limits on). The jog was skipped; no alarm.
	ErrJogLimit = errors.New("jog target is beyond the machine's travel")
	// ErrInvalid: an argument is malformed (jog axes or feed, override
	// target or op, setting number or value). The message names the field.
	ErrInvalid = errors.New("invalid argument")
	// ErrClosed: the Machine was closed (or never opened).
	ErrClosed = errors.New("machine closed")
)

// NotConnectedError says that no board is connected, on which port, when
// kerf tries again and why the last attempt failed. It matches
// ErrNotConnected.
type NotConnectedError struct {
	// Port is the serial port path, or "sim".
	Port string
	// Retry is the reconnect interval.
	Retry time.Duration
	// Cause is why the link went down or the last connect attempt failed
	// (nil before the first attempt).
	Cause error
}

// Error names the port, what to check and the retry period.
func (e *NotConnectedError) Error() string {
	s := fmt.Sprintf("no board connected (port %s): check the cable; kerf retries every %v", e.Port, e.Retry)
	if e.Cause != nil {
		s += " (last error: " + e.Cause.Error() + ")"
	}
	return s
}

// Is reports whether target is ErrNotConnected.
func (e *NotConnectedError) Is(target error) bool { return target == ErrNotConnected }

// Unwrap returns the last failure, so errors.Is(err, grbl.ErrDisconnected)
// holds after a yanked cable.
func (e *NotConnectedError) Unwrap() error { return e.Cause }

// BusyError says who holds the machine. It matches ErrBusy.
type BusyError struct {
	// Owner is the lease holder ("run 00A7") or the manual command under
	// way ("manual home").
	Owner string
	// Op is what was refused ("jog", "acquire").
	Op string
}

// Error names the refused operation and the owner.
func (e *BusyError) Error() string {
	return fmt.Sprintf("%s refused: the machine is in use by %s", e.Op, e.Owner)
}

// Is reports whether target is ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// errorf returns an ErrInvalid error naming the field.
func errorf(field, format string, a ...any) error {
	return fmt.Errorf("field %s: %s: %w", field, fmt.Sprintf(format, a...), ErrInvalid)
}
