package runner

import (
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
)

// TestProgressETA: the ETA extrapolates the time spent moving over the
// lines executed; a feed hold is no slower machine, so the 31 s held here
// neither grow the ETA while it lasts nor inflate it after the resume.
func TestProgressETA(t *testing.T) {
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	now := base
	var last ProgressEvent
	s := &Service{Now: func() time.Time { return now }, Publish: func(topic string, data any) {
		if topic == "run.progress" {
			last = data.(ProgressEvent)
		}
	}}
	r := newRecorder(s, jobs.Run{ID: 1}, jobs.Job{ID: 1, Lines: 99}, nil)
	at := func(sec int, state grbl.State, executed int) ProgressEvent {
		t.Helper()
		now = base.Add(time.Duration(sec) * time.Second)
		r.progress(Progress{LastExecuted: executed, LastAcked: executed + 10, HaveStatus: true,
			Status: grbl.Status{State: state, At: now}, Elapsed: now.Sub(base)})
		return last
	}
	for _, tc := range []struct {
		name     string
		sec      int
		state    grbl.State
		executed int
		etaSec   float64
	}{
		{"start: no line executed, acked ones count", 0, grbl.StateRun, 0, 0}, // elapsed 0: no rate yet
		{"a fifth done in 10 s", 10, grbl.StateRun, 20, 40},
		{"held", 11, grbl.StateHold, 22, 11 * 78.0 / 22},
		{"still held 30 s later: unchanged", 41, grbl.StateHold, 22, 11 * 78.0 / 22},
		// A report interval counts as the state it began in: 11–42 s held.
		{"resumed", 42, grbl.StateRun, 24, 11 * 76.0 / 24},
		{"half done: 20 s of motion", 51, grbl.StateRun, 50, 20 * 50.0 / 50},
	} {
		ev := at(tc.sec, tc.state, tc.executed)
		if got := float64(ev.EtaMs) / 1000; got < tc.etaSec-0.01 || got > tc.etaSec+0.01 {
			t.Errorf("%s: ETA %.3f s, want %.3f s", tc.name, got, tc.etaSec)
		}
	}
}
