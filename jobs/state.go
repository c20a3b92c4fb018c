package jobs

import "fmt"

// RunState is the state of a run. The zero value is not a valid state.
//
//	queued ─▶ running ⇄ paused
//	  │          │         │
//	  │          ▼         ▼
//	  └────▶ completed | aborted | failed | interrupted
//
// A queued run can also end without running (aborted from the queue, or
// failed in preflight); completed is reached only from running. The four
// end states are terminal.
type RunState string

// The run states.
const (
	StateQueued      RunState = "queued"
	StateRunning     RunState = "running"
	StatePaused      RunState = "paused"
	StateCompleted   RunState = "completed"
	StateAborted     RunState = "aborted"
	StateFailed      RunState = "failed"
	StateInterrupted RunState = "interrupted"
)

// RunStates lists every valid state in lifecycle order.
func RunStates() []RunState {
	return []RunState{StateQueued, StateRunning, StatePaused, StateCompleted, StateAborted, StateFailed, StateInterrupted}
}

// Valid reports whether s is one of the defined states.
func (s RunState) Valid() bool {
	switch s {
	case StateQueued, StateRunning, StatePaused, StateCompleted, StateAborted, StateFailed, StateInterrupted:
		return true
	}
	return false
}

// Active reports whether a run in state s holds the machine (running or
// paused). At most one run is active at a time.
func (s RunState) Active() bool { return s == StateRunning || s == StatePaused }

// Terminal reports whether s is an end state.
func (s RunState) Terminal() bool {
	switch s {
	case StateCompleted, StateAborted, StateFailed, StateInterrupted:
		return true
	}
	return false
}

// Can reports whether the state machine allows a change from s to to.
// Staying in the same state is not a transition and reports false.
func (s RunState) Can(to RunState) bool {
	switch s {
	case StateQueued:
		return to == StateRunning || to == StateAborted || to == StateFailed
	case StateRunning:
		return to == StatePaused || to == StateCompleted || to == StateAborted || to == StateFailed || to == StateInterrupted
	case StatePaused:
		return to == StateRunning || to == StateAborted || to == StateFailed || to == StateInterrupted
	}
	return false
}

// Transition returns to when s.Can(to), and otherwise a *TransitionError
// (matching ErrBadTransition) naming both states.
func (s RunState) Transition(to RunState) (RunState, error) {
	if !s.Can(to) {
		return s, &TransitionError{From: s, To: to}
	}
	return to, nil
}

// UnmarshalText rejects unknown states so a damaged record or a bad API
// request is reported rather than carried along.
func (s *RunState) UnmarshalText(b []byte) error {
	v := RunState(b)
	if !v.Valid() {
		return fmt.Errorf("unknown run state %q: %w", string(b), ErrInvalid)
	}
	*s = v
	return nil
}
