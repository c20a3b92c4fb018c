package jobs

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestRelaySwitchesRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a.nc", "M3 S1000\nG1 X1 F100\nM5\n")
	run, err := s.CreateRun(ctx, Run{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.RelaySwitches(ctx, run.ID); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no switches yet: %v, %v; want an empty list", got, err)
	}
	on := true
	at := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	want := []RelaySwitch{
		{T: 1500 * time.Millisecond, At: at, On: true, Reason: "M3 at line 1", Sensed: &on, Confirmed: true, Latency: 180 * time.Millisecond},
		{T: 9 * time.Second, At: at.Add(9 * time.Second), On: false, Reason: "M5 at line 3", Sensed: &on, Mismatch: true},
	}
	if err := s.AppendRelaySwitches(ctx, run.ID, want[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendRelaySwitches(ctx, run.ID, want[1:]); err != nil {
		t.Fatal(err)
	}
	got, err := s.RelaySwitches(ctx, run.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("RelaySwitches = %+v, %v; want %+v", got, err, want)
	}

	if err := s.AppendRelaySwitches(ctx, 999, want); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v, want ErrNotFound", err)
	}
	if _, err := s.RelaySwitches(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v, want ErrNotFound", err)
	}
	bad := []RelaySwitch{{T: time.Second}, {T: -time.Second}}
	if err := s.AppendRelaySwitches(ctx, run.ID, bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "switch 1") {
		t.Errorf("negative time: %v, want ErrInvalid naming switch 1", err)
	}
	if got, _ := s.RelaySwitches(ctx, run.ID); len(got) != 2 {
		t.Errorf("a refused append stored something: %d switches", len(got))
	}

	// Deleting the job deletes its runs' switches with their telemetry.
	if _, err := s.UpdateRun(ctx, run.ID, func(r *Run) error { r.State = StateAborted; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteJob(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	err = s.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRelay).Bucket(run.ID.key()) != nil {
			t.Error("switches of a deleted run left behind")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A database written by schema version 1 gains the relay bucket on open.
func TestMigrateV1AddsRelaySwitches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	old := NewStore(dir)
	old.migrations = schemaMigrations()[:1]
	if err := old.Open(ctx); err != nil {
		t.Fatal(err)
	}
	j := MustCreateJob(t, old, "a.nc", "G0 X1\n")
	run, err := old.CreateRun(ctx, Run{JobID: j.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s := MustOpenStoreAt(t, dir)
	if err := s.AppendRelaySwitches(ctx, run.ID, []RelaySwitch{{T: time.Second, On: true, Reason: "M3"}}); err != nil {
		t.Fatalf("append after migrating a v1 file: %v", err)
	}
	if got, err := s.RelaySwitches(ctx, run.ID); err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestSummarizeRelaySwitches(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		in   []RelaySwitch
		want RelaySummary
	}{
		{"none", nil, RelaySummary{}},
		{"unconfirmed only", []RelaySwitch{{On: true}, {On: false}}, RelaySummary{Switches: 2}},
		{"mixed", []RelaySwitch{
			{On: true, Confirmed: true, Latency: 300 * ms},
			{On: false, Confirmed: true, Latency: 10 * ms},
			{On: true, Confirmed: true, Latency: 200 * ms},
			{On: false, Mismatch: true},
		}, RelaySummary{Switches: 4, Confirmed: 3, Mismatches: 1, SenseLatencyMean: 170 * ms, SenseLatencyMax: 300 * ms, OnLatencyMax: 300 * ms}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SummarizeRelaySwitches(tc.in); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
