package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// With homing enabled ($22=1, the 3018 PRO's stock settings) a job starts
// only once the machine is homed: an unlocked ($X) machine is refused with
// ErrNotHomed and no run is recorded; after $H it runs; a reset while
// moving (ALARM:3) loses the position and the next start is refused again.
func TestStartNeedsHoming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{Profile: "3018pro"}, relay.ModeNone) // the rig unlocks with $X
		ctx := context.Background()
		job := f.add(t, "pocket.nc", pocket)

		_, err := f.svc.StartJob(ctx, job.ID, 0)
		if !errors.Is(err, grbl.ErrNotHomed) || !strings.Contains(err.Error(), "kerf machine home") {
			t.Fatalf("start on an unhomed machine = %v, want ErrNotHomed saying what to do", err)
		}
		if runs, _ := f.store.Runs(ctx, jobs.RunFilter{JobID: job.ID}); len(runs) != 0 {
			t.Fatalf("a refused start recorded %d runs", len(runs))
		}

		if _, err := f.rig.conn.Command(ctx, "$H"); err != nil {
			t.Fatal(err)
		}
		if run := f.runToEnd(t, job, 0); run.State != jobs.StateCompleted {
			t.Fatalf("run after homing = %s %q", run.State, run.Reason)
		}

		// Lose the position: reset while moving.
		if _, err := f.rig.conn.Command(ctx, "G91G1X-20F300"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.rig.conn.WaitStatus(ctx, func(st grbl.Status) bool { return st.State == grbl.StateRun }); err != nil {
			t.Fatal(err)
		}
		if err := f.rig.conn.SoftReset(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.rig.conn.Command(ctx, "$X"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.StartJob(ctx, job.ID, 0); !errors.Is(err, grbl.ErrNotHomed) {
			t.Fatalf("start after ALARM:3 and $X = %v, want ErrNotHomed", err)
		}
	})
}

// noBoard is a Link with no board connected.
type noBoard struct{}

func (noBoard) Conn() (*grbl.Conn, *Signals, error) {
	return nil, nil, errors.New("no board connected")
}

func (noBoard) Acquire(context.Context, string) (func(), error) { return func() {}, nil }

// AddJob holds a program against the connected machine's travel; with no
// board connected it checks only what every GRBL 1.1 refuses, since the
// travel is not known (it is checked at start).
func TestAddJobChecksAgainstTheMachine(t *testing.T) {
	wide := "G21 G90\nG0 X0 Y0\nG1 X-400 F1000\nG0 X0\n" // 400 mm in X
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{Profile: "3018pro"}, relay.ModeNone) // X travel 300 mm
		_, err := f.svc.AddJob(context.Background(), "wide.nc", strings.NewReader(wide))
		var pe *ProgramError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "$130") || pe.Diags[0].Line != 2 {
			t.Fatalf("AddJob of a 400 mm program on a 300 mm machine = %v, want a ProgramError at line 2 (where the span starts) naming $130", err)
		}

		f.svc.Link = noBoard{}
		job, err := f.svc.AddJob(context.Background(), "wide.nc", strings.NewReader(wide))
		if err != nil || job.Lines != 4 {
			t.Fatalf("AddJob with no board = %+v, %v; want it stored (the travel is checked at start)", job, err)
		}
		if _, err := f.svc.AddJob(context.Background(), "bad.nc", strings.NewReader("G21\nG1 X1 Y\n")); !errors.As(err, &pe) {
			t.Fatalf("AddJob of a GRBL error with no board = %v, want a ProgramError", err)
		}
	})
}
