package jobs

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestCheckpointsRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	job := MustCreateJob(t, s, "a.nc", "G0 X1\n")
	run, err := s.CreateRun(ctx, Run{JobID: job.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Checkpoints(ctx, run.ID); err != nil || len(got) != 0 || got == nil {
		t.Fatalf("no checkpoints yet: %v, %v; want an empty slice", got, err)
	}
	at := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	want := []Checkpoint{
		{Run: run.ID, Index: 0, At: at, Z: -40.5, ReferenceZ: -40.5, LimitUM: 100},
		{Run: run.ID, Index: 1, Line: 12, At: at.Add(time.Minute), Elapsed: time.Minute, Z: -40.52, ReferenceZ: -40.5, DriftUM: -20, LimitUM: 100},
		{Run: run.ID, Index: 2, Line: 40, At: at.Add(2 * time.Minute), Elapsed: 2 * time.Minute, ReferenceZ: -40.5, LimitUM: 100, Error: "probe failed"},
	}
	for _, c := range want {
		if err := s.AddCheckpoint(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Checkpoints(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d checkpoints, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) {
			t.Errorf("checkpoint %d at %v, want %v", i, got[i].At, want[i].At)
		}
		got[i].At = want[i].At
		if got[i] != want[i] {
			t.Errorf("checkpoint %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[2].OK() || !got[1].OK() {
		t.Error("OK() does not follow Error")
	}
	// Deleting the job deletes the run's checkpoints with its telemetry.
	if _, err := s.UpdateRun(ctx, run.ID, func(r *Run) error { r.State = StateAborted; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	err = s.db.Load().View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketCheckpoints).Bucket(run.ID.key()) != nil {
			t.Error("checkpoints survived the job's deletion")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAddCheckpointRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	job := MustCreateJob(t, s, "a.nc", "G0 X1\n")
	run, err := s.CreateRun(ctx, Run{JobID: job.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddCheckpoint(ctx, Checkpoint{Run: run.ID, Index: 3}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    Checkpoint
		want error
	}{
		{"no run", Checkpoint{Index: 4}, ErrInvalid},
		{"unknown run", Checkpoint{Run: run.ID + 10, Index: 4}, ErrNotFound},
		{"negative index", Checkpoint{Run: run.ID, Index: -1}, ErrInvalid},
		{"negative line", Checkpoint{Run: run.ID, Index: 4, Line: -2}, ErrInvalid},
		{"NaN z", Checkpoint{Run: run.ID, Index: 4, Z: math.NaN()}, ErrInvalid},
		{"infinite drift", Checkpoint{Run: run.ID, Index: 4, DriftUM: math.Inf(1)}, ErrInvalid},
		{"index not after the last", Checkpoint{Run: run.ID, Index: 3}, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.AddCheckpoint(ctx, tt.c); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := s.Checkpoints(ctx, run.ID+10); !errors.Is(err, ErrNotFound) {
		t.Errorf("Checkpoints of an unknown run: %v, want ErrNotFound", err)
	}
}

func TestSetJobDrift(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	job := MustCreateJob(t, s, "a.nc", "G0 X1\n")
	if job.NoDrift {
		t.Fatal("a new job opts out of drift tracking")
	}
	j, err := s.SetJobDrift(ctx, job.ID, false)
	if err != nil || !j.NoDrift {
		t.Fatalf("SetJobDrift(false) = %+v, %v", j, err)
	}
	if j, err = s.Job(ctx, job.ID); err != nil || !j.NoDrift {
		t.Fatalf("stored job = %+v, %v; want NoDrift", j, err)
	}
	if _, err := s.SetJobDrift(ctx, job.ID+5, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}

func TestMigrationAddsCheckpointsToV1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := NewStore(dir)
	s.migrations = schemaMigrations()[:1] // a kerf from before drift tracking
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := MustOpenStoreAt(t, dir)
	err := s2.db.Load().View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketCheckpoints) == nil {
			t.Error("no checkpoints bucket after migrating a v1 file")
		}
		if v, want := schemaVersion(tx); v != latestVersion(schemaMigrations()) || want != nil {
			t.Errorf("schema version %d (%v), want %d", v, want, latestVersion(schemaMigrations()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReference(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	if _, err := s.Reference(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Reference before any: %v, want ErrNotFound", err)
	}
	at := time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)
	if err := s.SetReference(ctx, Reference{Z: -20.125, At: at, Run: 3}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Reference(ctx); err != nil || r.Z != -20.125 || !r.At.Equal(at) || r.Run != 3 {
		t.Fatalf("Reference = %+v, %v", r, err)
	}
	if err := s.SetReference(ctx, Reference{Z: math.NaN()}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NaN reference: %v, want ErrInvalid", err)
	}
}
