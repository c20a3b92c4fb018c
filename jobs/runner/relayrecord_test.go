package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// The recorder's ticker and the end of the run both store a run's relay
// switches, and may do so at the same time (the final flush runs on the
// stream's goroutine before the recorder is stopped). Both used to copy the
// same pending switches — stored twice — and the second then cut pending
// past its end: a panic with the record's lock held, recovered by the
// recorder's goroutine, after which the run's last store waited on that
// lock for ever and the run never ended (found by cmd's TestPanelOnSim).
func TestRelayRecordConcurrentStores(t *testing.T) {
	ctx := context.Background()
	st := jobs.NewStore(t.TempDir())
	if err := st.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sha, size, err := st.PutBody(ctx, strings.NewReader("M3 S1000\nM5\nM3\n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	job, err := st.CreateJob(ctx, jobs.Job{Name: "relay.nc", SHA256: sha, Size: size, Lines: 3})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	for trial := range 10 {
		t.Run(fmt.Sprint("trial ", trial), func(t *testing.T) {
			run, err := st.CreateRun(ctx, jobs.Run{JobID: job.ID})
			if err != nil {
				t.Fatal(err)
			}
			rr := &relayRecord{start: t0}
			for i := range 3 {
				// No sense input: each switch is settled at once.
				rr.on(relay.Event{Kind: relay.KindSwitch, Status: relay.Status{
					LastSwitch: &relay.Switch{Time: t0.Add(time.Duration(i+1) * time.Second), On: i%2 == 0, Reason: "M3/M5"}}})
			}
			start := make(chan struct{})
			errs := make(chan error, 2)
			var wg sync.WaitGroup
			for range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() {
						if p := recover(); p != nil {
							errs <- fmt.Errorf("store panicked: %v", p)
						}
					}()
					<-start
					errs <- rr.store(ctx, st, run.ID, false)
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if !rr.mu.TryLock() {
				t.Fatal("the record's lock is still held after both stores returned")
			}
			rr.mu.Unlock()
			if err := rr.store(ctx, st, run.ID, true); err != nil {
				t.Fatal(err)
			}
			got, err := st.RelaySwitches(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 || rr.stored != 3 || len(rr.pending) != 0 {
				t.Fatalf("stored %d switches (record counts %d, %d pending), want each of the 3 once", len(got), rr.stored, len(rr.pending))
			}
			for i, sw := range got {
				if want := time.Duration(i+1) * time.Second; sw.T != want {
					t.Errorf("switch %d at %v, want %v", i, sw.T, want)
				}
			}
		})
	}
}
