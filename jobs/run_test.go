package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// MustRunInState creates a run of job and walks it to state st through
// valid transitions.
func MustRunInState(tb testing.TB, s *Store, job ID, st RunState) Run {
	tb.Helper()
	ctx := context.Background()
	r, err := s.CreateRun(ctx, Run{JobID: job})
	if err != nil {
		tb.Fatal(err)
	}
	var path []RunState
	switch st {
	case StateQueued:
	case StateRunning, StateCompleted, StateInterrupted:
		path = []RunState{StateRunning, st}
	case StatePaused:
		path = []RunState{StateRunning, StatePaused}
	case StateAborted, StateFailed:
		path = []RunState{st}
	}
	for _, next := range path {
		if next == r.State {
			continue
		}
		r, err = s.UpdateRun(ctx, r.ID, func(r *Run) error { r.State = next; return nil })
		if err != nil {
			tb.Fatalf("run %s to %s: %v", r.ID, next, err)
		}
	}
	return r
}

func setState(st RunState) func(*Run) error {
	return func(r *Run) error { r.State = st; return nil }
}

func TestCreateRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\nG0 X2\nG0 X3\n")
	r, err := s.CreateRun(ctx, Run{JobID: j.ID, FromLine: 2, Machine: "3018pro", State: StateCompleted, LastAckedLine: 9})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateQueued || r.FromLine != 2 || r.Machine != "3018pro" || r.LastAckedLine != 0 || r.Created.IsZero() || r.ID == 0 {
		t.Errorf("created run=%+v", r)
	}
	tests := []struct {
		name    string
		run     Run
		wantIs  error
		wantMsg string
	}{
		{"unknown job", Run{JobID: 77}, ErrNotFound, "job 002D: not found"},
		{"negative from line", Run{JobID: j.ID, FromLine: -1}, ErrInvalid, "field from_line"},
		{"from line beyond program", Run{JobID: j.ID, FromLine: 4}, ErrInvalid, "beyond the program's 3 lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateRun(ctx, tt.run)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("CreateRun: err=%v, want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
}

func TestUpdateRunLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	r := MustRunInState(t, s, j.ID, StateQueued)

	r, err := s.UpdateRun(ctx, r.ID, setState(StateRunning))
	if err != nil {
		t.Fatal(err)
	}
	started := r.Started
	if started.IsZero() || !r.Ended.IsZero() {
		t.Fatalf("after start: %+v", r)
	}
	r, err = s.UpdateRun(ctx, r.ID, func(r *Run) error {
		r.State = StatePaused
		r.Reason = "M0"
		r.LastAckedLine, r.LastExecutedLine = 10, 8
		r.ID, r.JobID, r.FromLine = 999, 999, 999 // ignored
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == 999 || r.JobID != j.ID || r.FromLine != 0 || r.LastAckedLine != 10 || r.Reason != "M0" {
		t.Errorf("after pause: %+v", r)
	}
	r, err = s.UpdateRun(ctx, r.ID, setState(StateRunning))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Started.Equal(started) {
		t.Errorf("resume changed Started from %v to %v", started, r.Started)
	}
	r, err = s.UpdateRun(ctx, r.ID, func(r *Run) error { r.State = StateCompleted; r.Summary.LinesSent = 1; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if r.Ended.IsZero() || !r.Ended.After(r.Started) {
		t.Errorf("after completion: %+v", r)
	}
	stored, err := s.Run(ctx, r.ID)
	if err != nil || stored.State != StateCompleted || stored.Summary.LinesSent != 1 || !stored.Ended.Equal(r.Ended) {
		t.Errorf("stored run=%+v, %v", stored, err)
	}
	if _, err := s.ActiveRun(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("ActiveRun after completion: err=%v", err)
	}

	_, err = s.UpdateRun(ctx, r.ID, setState(StateRunning))
	var te *TransitionError
	if !errors.As(err, &te) || te.From != StateCompleted || te.To != StateRunning {
		t.Errorf("completed→running: err=%v, want TransitionError", err)
	}
}

func TestUpdateRunErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	r := MustRunInState(t, s, j.ID, StateQueued)

	if _, err := s.UpdateRun(ctx, 4242, setState(StateRunning)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: err=%v", err)
	}
	boom := errors.New("boom")
	_, err := s.UpdateRun(ctx, r.ID, func(r *Run) error { r.State = StateRunning; return boom })
	if !errors.Is(err, boom) {
		t.Errorf("fn error: err=%v", err)
	}
	if got, _ := s.Run(ctx, r.ID); got.State != StateQueued {
		t.Errorf("fn error still changed the state to %s", got.State)
	}
	if _, err := s.UpdateRun(ctx, r.ID, setState(StateCompleted)); !errors.Is(err, ErrBadTransition) {
		t.Errorf("queued→completed: err=%v", err)
	}
	if _, err := s.UpdateRun(ctx, r.ID, setState("warp")); !errors.Is(err, ErrBadTransition) {
		t.Errorf("queued→warp: err=%v", err)
	}
}

func TestOneActiveRunAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	first := MustRunInState(t, s, j.ID, StatePaused)
	second := MustRunInState(t, s, j.ID, StateQueued)
	_, err := s.UpdateRun(ctx, second.ID, setState(StateRunning))
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), first.ID.String()) {
		t.Fatalf("second start: err=%v, want ErrBusy naming %s", err, first.ID)
	}
	if active, err := s.ActiveRun(ctx); err != nil || active.ID != first.ID {
		t.Errorf("ActiveRun=%v, %v; want %s", active.ID, err, first.ID)
	}
	// The paused run may resume; the queued one may still be cancelled.
	if _, err := s.UpdateRun(ctx, first.ID, setState(StateRunning)); err != nil {
		t.Errorf("resume active run: %v", err)
	}
	if _, err := s.UpdateRun(ctx, second.ID, setState(StateAborted)); err != nil {
		t.Errorf("abort queued run while another is active: %v", err)
	}
	if _, err := s.UpdateRun(ctx, first.ID, setState(StateFailed)); err != nil {
		t.Fatal(err)
	}
	third := MustRunInState(t, s, j.ID, StateQueued)
	if _, err := s.UpdateRun(ctx, third.ID, setState(StateRunning)); err != nil {
		t.Errorf("start after the active run failed: %v", err)
	}
}

func TestQueueIsFIFO(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	a := MustCreateJob(t, s, "a", "G0 X1\n")
	b := MustCreateJob(t, s, "b", "G0 X2\n")
	if _, err := s.NextQueued(ctx); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "queue is empty") {
		t.Errorf("empty queue: err=%v", err)
	}
	var want []ID
	for _, job := range []ID{b.ID, a.ID, b.ID, a.ID} {
		want = append(want, MustRunInState(t, s, job, StateQueued).ID)
	}
	// Cancelling the second queued run removes it from the queue.
	if _, err := s.UpdateRun(ctx, want[1], setState(StateAborted)); err != nil {
		t.Fatal(err)
	}
	want = append(want[:1], want[2:]...)
	var got []ID
	for {
		r, err := s.NextQueued(ctx)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.ID)
		if _, err := s.UpdateRun(ctx, r.ID, setState(StateRunning)); err != nil {
			t.Fatal(err)
		}
		if next, err := s.NextQueued(ctx); err == nil && next.ID == r.ID {
			t.Fatalf("run %s still queued after starting", r.ID)
		}
		if _, err := s.UpdateRun(ctx, r.ID, setState(StateCompleted)); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("dequeued %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dequeued %v, want %v", got, want)
		}
	}
}

func TestRunsFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	a := MustCreateJob(t, s, "a", "G0 X1\n")
	b := MustCreateJob(t, s, "b", "G0 X2\n")
	r1 := MustRunInState(t, s, a.ID, StateCompleted)
	r2 := MustRunInState(t, s, b.ID, StateFailed)
	r3 := MustRunInState(t, s, a.ID, StateAborted)
	r4 := MustRunInState(t, s, a.ID, StateQueued)
	ids := func(rs []Run) []ID {
		var out []ID
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    RunFilter
		want []ID
	}{
		{"all", RunFilter{}, []ID{r4.ID, r3.ID, r2.ID, r1.ID}},
		{"job a", RunFilter{JobID: a.ID}, []ID{r4.ID, r3.ID, r1.ID}},
		{"job a, ended", RunFilter{JobID: a.ID, States: []RunState{StateCompleted, StateAborted}}, []ID{r3.ID, r1.ID}},
		{"failed", RunFilter{States: []RunState{StateFailed}}, []ID{r2.ID}},
		{"page", RunFilter{Page: Page{Before: r4.ID, Limit: 2}}, []ID{r3.ID, r2.ID}},
		{"job a page", RunFilter{JobID: a.ID, Page: Page{Before: r3.ID}}, []ID{r1.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := s.Runs(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(rs)
			if len(got) != len(tt.want) {
				t.Fatalf("Runs=%v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Runs=%v, want %v", got, tt.want)
				}
			}
		})
	}
	if _, err := s.Runs(ctx, RunFilter{JobID: 500}); !errors.Is(err, ErrNotFound) {
		t.Errorf("runs of unknown job: err=%v", err)
	}
	if _, err := s.Runs(ctx, RunFilter{States: []RunState{"nope"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown state filter: err=%v", err)
	}
}

func TestRecoverInterrupted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := NewStore(dir)
	s.Now = fixedClock()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	done := MustRunInState(t, s, j.ID, StateCompleted)
	crashed := MustRunInState(t, s, j.ID, StateRunning)
	if _, err := s.UpdateRun(ctx, crashed.ID, func(r *Run) error {
		r.LastAckedLine, r.LastExecutedLine = 1200, 1187
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	queued := MustRunInState(t, s, j.ID, StateQueued)
	// Simulate the crash: the process goes away without touching the runs.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := MustOpenStoreAt(t, dir)
	got, err := s2.RecoverInterrupted(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != crashed.ID {
		t.Fatalf("recovered=%+v, want run %s only", got, crashed.ID)
	}
	r, err := s2.Run(ctx, crashed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != StateInterrupted || r.Reason != ReasonDaemonStopped || r.LastAckedLine != 1200 || r.LastExecutedLine != 1187 || r.Ended.IsZero() {
		t.Errorf("recovered run=%+v", r)
	}
	if _, err := s2.ActiveRun(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("active run after recovery: err=%v", err)
	}
	for id, want := range map[ID]RunState{done.ID: StateCompleted, queued.ID: StateQueued} {
		if r, _ := s2.Run(ctx, id); r.State != want {
			t.Errorf("run %s state=%s, want %s", id, r.State, want)
		}
	}
	if again, err := s2.RecoverInterrupted(ctx); err != nil || len(again) != 0 {
		t.Errorf("second recovery=%v, %v; want nothing", again, err)
	}
}

// BenchmarkUpdateRunProgress measures one durable progress update (a write
// transaction with fsync), which bounds how often the runner should persist
// progress; live progress goes through the event hub instead.
func BenchmarkUpdateRunProgress(b *testing.B) {
	ctx := context.Background()
	s := MustOpenStore(b)
	j := MustCreateJob(b, s, "a", "G0 X1\n")
	r := MustRunInState(b, s, j.ID, StateRunning)
	line := 0
	for b.Loop() {
		line++
		if _, err := s.UpdateRun(ctx, r.ID, func(r *Run) error {
			r.LastAckedLine, r.LastExecutedLine = line, line-5
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
