package runner

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// fullDisk passes the first ok appends to the store and fails every later
// one as a write to a full disk does.
type fullDisk struct {
	store *jobs.Store
	mu    sync.Mutex
	ok    int
	fails int
}

func (d *fullDisk) AppendTelemetry(ctx context.Context, run jobs.ID, samples []jobs.Sample) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ok > 0 {
		d.ok--
		return d.store.AppendTelemetry(ctx, run, samples)
	}
	d.fails++
	return &os.PathError{Op: "write", Path: d.store.Path(), Err: syscall.ENOSPC}
}

// A telemetry write that fails (disk full) stops the run: router off, feed
// hold and reset, the run failed with the storage error and its lines, the
// samples stored before the failure kept.
func TestTelemetryWriteFailureStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var long strings.Builder
		long.WriteString("G21 G90\nM3 S1000\nG1 Z-1 F300\n")
		for i := 1; i <= 60; i++ {
			long.WriteString("G1 X-" + itoa(i%20+1) + " Y-" + itoa(i/3+1) + " F300\n")
		}
		long.WriteString("M5\nM30\n")
		f := mustService(t, sim.Options{}, relay.ModeDrive)
		disk := &fullDisk{store: f.store, ok: 2}
		f.svc.TelemetrySink = disk
		job := f.add(t, "long.nc", long.String())
		resetsBefore := f.rig.m.Stats().Resets
		run := f.runToEnd(t, job, 0)

		if run.State != jobs.StateFailed || !strings.Contains(run.Reason, ErrRecordLost.Error()) ||
			!strings.Contains(run.Reason, "no space left on device") {
			t.Fatalf("run = %s %q, want failed naming the lost record and ENOSPC", run.State, run.Reason)
		}
		if run.LastAckedLine == 0 || run.LastAckedLine >= 65 || run.LastExecutedLine > run.LastAckedLine {
			t.Fatalf("lines acked %d executed %d: want a mid-job stop recorded", run.LastAckedLine, run.LastExecutedLine)
		}
		if f.out.last() != 0 {
			t.Fatal("router relay left on")
		}
		st := f.rig.m.Stats()
		if st.Resets <= resetsBefore || st.State != "Idle" {
			t.Fatalf("board %s after %d resets (before %d): want held and reset", st.State, st.Resets, resetsBefore)
		}
		n := 0
		if err := f.store.Telemetry(context.Background(), run.ID, func(jobs.Sample) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("samples stored before the failure were lost")
		}
		// The service goes on: the next run (with the disk back) completes.
		f.svc.TelemetrySink = nil
		if next := f.runToEnd(t, f.add(t, "pocket.nc", pocket), 0); next.State != jobs.StateCompleted {
			t.Fatalf("next run = %s %q", next.State, next.Reason)
		}
		if disk.fails == 0 {
			t.Fatal("the failing sink was never written")
		}
	})
}

// A run stopped mid-job leaves answers to its lines in flight on the Conn
// (GRBL acknowledges what it had buffered, the reset fails the rest); the
// next run on the same link must not take them for its own. Before the
// fix the second run failed at once with "acknowledgement for no line in
// flight".
func TestNextRunAfterMidJobStop(t *testing.T) {
	var long strings.Builder
	long.WriteString("G21 G90 G1 F300\n")
	for i := 1; i <= 80; i++ {
		long.WriteString("X-" + itoa(i%30+1) + "\n")
	}
	for _, tc := range []struct {
		fault string
		state jobs.RunState
	}{
		{"error:line=30,code=33", jobs.StateFailed},
		{"reset:line=30", jobs.StateInterrupted},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fl, err := sim.ParseFault(tc.fault)
				if err != nil {
					t.Fatal(err)
				}
				f := mustService(t, sim.Options{Faults: []sim.Fault{fl}}, relay.ModeDrive)
				job := f.add(t, "long.nc", long.String())
				if first := f.runToEnd(t, job, 0); first.State != tc.state {
					t.Fatalf("first run = %s %q, want %s", first.State, first.Reason, tc.state)
				}
				second := f.runToEnd(t, job, 0)
				if second.State != jobs.StateCompleted || second.LastAckedLine != 81 {
					t.Fatalf("second run = %s %q acked %d, want completed to line 81", second.State, second.Reason, second.LastAckedLine)
				}
			})
		})
	}
}
