package jobs

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the store returns for one of these conditions
// wraps the sentinel with context naming the record (for example
// "job 00A7: not found"), so callers branch with errors.Is and show the
// message as it is.
var (
	// ErrNotFound: the job, run, body, baseline, setting or token does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the operation contradicts the record's current state, for
	// example deleting a job that has an active or queued run.
	ErrConflict = errors.New("conflict")
	// ErrBusy: a run would start while another run is active (one machine,
	// one run at a time).
	ErrBusy = errors.New("another run is active")
	// ErrTooLarge: a G-code body exceeds the configured size limit.
	ErrTooLarge = errors.New("too large")
	// ErrEmpty: a G-code body has no bytes.
	ErrEmpty = errors.New("empty")
	// ErrBadTransition: a run state change the state machine does not allow.
	// The concrete error is a *TransitionError naming both states.
	ErrBadTransition = errors.New("bad run state transition")
	// ErrInUse: another process (normally another kerf daemon) holds the
	// database lock of the data directory.
	ErrInUse = errors.New("data dir in use")
	// ErrNotWritable: the data directory cannot be written.
	ErrNotWritable = errors.New("not writable")
	// ErrCorrupt: the database file is not a valid kerf database. The store
	// never modifies such a file.
	ErrCorrupt = errors.New("database file is corrupt or not a kerf database")
	// ErrInvalid: an argument is malformed (bad ID, bad SHA-256, bad sample).
	ErrInvalid = errors.New("invalid argument")
	// ErrClosed: the store is not open.
	ErrClosed = errors.New("store is not open")
)

// TransitionError reports a run state change that the state machine
// forbids. It matches ErrBadTransition with errors.Is.
type TransitionError struct {
	From, To RunState
}

// Error names both states.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("run state cannot change from %s to %s", e.From, e.To)
}

// Is reports whether target is ErrBadTransition.
func (e *TransitionError) Is(target error) bool { return target == ErrBadTransition }
