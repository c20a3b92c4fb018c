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
