package runner

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
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

// TestProgressETAFromEstimate: with the checker's time profile the ETA
// follows the estimate of the lines left, at the machine's pace against
// it. The job's last 4 of 100 lines are long moves, half its estimated
// 200 s: at line 96, 96 % of the lines but half the time is done.
func TestProgressETAFromEstimate(t *testing.T) {
	var pts []gcode.TimePoint
	for l := 1; l <= 97; l++ {
		pts = append(pts, gcode.TimePoint{Line: l, Seconds: float64(l-1) * 100 / 96})
	}
	pts = append(pts, gcode.TimePoint{Line: 98, Seconds: 125}, gcode.TimePoint{Line: 99, Seconds: 150}, gcode.TimePoint{Line: 100, Seconds: 175})
	check, err := json.Marshal(gcode.Report{EstimatedSeconds: 200, TimeProfile: pts})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := &Service{Now: func() time.Time { return base }}
	r := newRecorder(s, jobs.Run{ID: 1}, jobs.Job{ID: 1, Lines: 100, Check: check}, nil)
	for _, tc := range []struct {
		name     string
		elapsed  time.Duration
		executed int
		etaSec   float64
	}{
		// No status report yet: the acknowledged line 10 stands in; 10.4 s
		// of estimate done is under a tenth of it: no pace yet, the
		// estimate of what is left as is.
		{"acked only", 500 * time.Millisecond, 0, 200 - 1000.0/96},
		// 50 s of estimate in 25 s: twice as fast as estimated.
		{"half the short lines", 25 * time.Second, 48, (200 - 50) / 2.0},
		{"all the short lines", 50 * time.Second, 96, (200 - 100) / 2.0},
		{"one long move left", 87500 * time.Millisecond, 99, (200 - 175) / 2.0},
		{"done", 112 * time.Second, 100, 0},
	} {
		p := Progress{LastExecuted: tc.executed, LastAcked: 10, Elapsed: tc.elapsed}
		if got := float64(r.event(p, 0).EtaMs) / 1000; got < tc.etaSec-0.01 || got > tc.etaSec+0.01 {
			t.Errorf("%s: ETA %.3f s, want %.3f s", tc.name, got, tc.etaSec)
		}
	}
}
