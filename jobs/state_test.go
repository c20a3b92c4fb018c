package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRunStateCan(t *testing.T) {
	t.Parallel()
	allowed := map[[2]RunState]bool{
		{StateQueued, StateRunning}:      true,
		{StateQueued, StateAborted}:      true,
		{StateQueued, StateFailed}:       true,
		{StateRunning, StatePaused}:      true,
		{StateRunning, StateCompleted}:   true,
		{StateRunning, StateAborted}:     true,
		{StateRunning, StateFailed}:      true,
		{StateRunning, StateInterrupted}: true,
		{StatePaused, StateRunning}:      true,
		{StatePaused, StateAborted}:      true,
		{StatePaused, StateFailed}:       true,
		{StatePaused, StateInterrupted}:  true,
	}
	states := append(RunStates(), RunState(""), RunState("bogus"))
	for _, from := range states {
		for _, to := range states {
			want := allowed[[2]RunState{from, to}]
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				if got := from.Can(to); got != want {
					t.Errorf("%q.Can(%q)=%v, want %v", from, to, got, want)
				}
				got, err := from.Transition(to)
				if want {
					if err != nil || got != to {
						t.Errorf("Transition=%q, %v; want %q", got, err, to)
					}
					return
				}
				var te *TransitionError
				if !errors.Is(err, ErrBadTransition) || !errors.As(err, &te) || te.From != from || te.To != to {
					t.Fatalf("Transition err=%v, want *TransitionError{%q, %q}", err, from, to)
				}
				if got != from {
					t.Errorf("Transition on error returned %q, want the unchanged %q", got, from)
				}
			})
		}
	}
}

func TestTransitionErrorNamesBothStates(t *testing.T) {
	t.Parallel()
	_, err := StateCompleted.Transition(StateRunning)
	if err == nil || !strings.Contains(err.Error(), "completed") || !strings.Contains(err.Error(), "running") {
		t.Errorf("err=%v, want both states named", err)
	}
}

func TestRunStateClasses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s                       RunState
		valid, active, terminal bool
	}{
		{StateQueued, true, false, false},
		{StateRunning, true, true, false},
		{StatePaused, true, true, false},
		{StateCompleted, true, false, true},
		{StateAborted, true, false, true},
		{StateFailed, true, false, true},
		{StateInterrupted, true, false, true},
		{"", false, false, false},
		{"Running", false, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.s), func(t *testing.T) {
			if tt.s.Valid() != tt.valid || tt.s.Active() != tt.active || tt.s.Terminal() != tt.terminal {
				t.Errorf("%q: valid/active/terminal=%v/%v/%v, want %v/%v/%v", tt.s,
					tt.s.Valid(), tt.s.Active(), tt.s.Terminal(), tt.valid, tt.active, tt.terminal)
			}
		})
	}
}

func TestRunStateUnmarshalRejectsUnknown(t *testing.T) {
	t.Parallel()
	var r Run
	err := json.Unmarshal([]byte(`{"state":"exploded"}`), &r)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "exploded") {
		t.Errorf("err=%v, want ErrInvalid naming the state", err)
	}
}
