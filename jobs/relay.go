package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// bucketRelay holds each run's router relay switches: run ID key → bucket
// of seq (uint64 BE) → RelaySwitch JSON. Schema version 2 creates it.
var bucketRelay = []byte("relayswitches")

// RelaySwitch is one switch of the router relay during a run: what was
// commanded, when, and what the sense input made of it. It is part of the
// run's telemetry, next to the status-report Samples.
type RelaySwitch struct {
	// T is the time since the run started, on the same clock as Sample.T.
	T time.Duration `json:"t_ns"`
	// At is the wall-clock time of the command.
	At time.Time `json:"at"`
	// On is the commanded state.
	On bool `json:"on"`
	// Reason says what commanded it ("M3 at line 12", "run stopping", …).
	Reason string `json:"reason"`
	// Sensed is what the sense input showed (after the check, when there
	// was one); nil without a sense input.
	Sensed *bool `json:"sensed,omitempty"`
	// Confirmed says the sense input followed the command in time.
	Confirmed bool `json:"confirmed"`
	// Mismatch says it did not: the router did not start or did not stop.
	Mismatch bool `json:"mismatch,omitempty"`
	// Latency is from the command to the sense input's edge (confirmed
	// switches only).
	Latency time.Duration `json:"latency_ns"`
}

// RelaySummary sums up a run's relay switches; the runner stores it in
// RunSummary.Relay when the run ends. The sense latency is the health
// figure of the relay chain (SSR, router, optocoupler): a slow or missing
// edge shows here first.
type RelaySummary struct {
	// Switches counts commanded changes.
	Switches int `json:"switches"`
	// Confirmed counts switches the sense input confirmed.
	Confirmed int `json:"confirmed"`
	// Mismatches counts switches the sense input did not follow.
	Mismatches int `json:"mismatches"`
	// SenseLatencyMean and SenseLatencyMax are over confirmed switches:
	// from the command to the sense edge. Zero without any.
	SenseLatencyMean time.Duration `json:"sense_latency_mean_ns"`
	SenseLatencyMax  time.Duration `json:"sense_latency_max_ns"`
	// OnLatencyMax is the largest latency of a switch-on (relay closed to
	// router running, as sensed).
	OnLatencyMax time.Duration `json:"on_latency_max_ns"`
}

// SummarizeRelaySwitches computes a RelaySummary.
func SummarizeRelaySwitches(sw []RelaySwitch) RelaySummary {
	var s RelaySummary
	var total time.Duration
	for _, x := range sw {
		s.Switches++
		if x.Mismatch {
			s.Mismatches++
		}
		if !x.Confirmed {
			continue
		}
		s.Confirmed++
		total += x.Latency
		s.SenseLatencyMax = max(s.SenseLatencyMax, x.Latency)
		if x.On {
			s.OnLatencyMax = max(s.OnLatencyMax, x.Latency)
		}
	}
	if s.Confirmed > 0 {
		s.SenseLatencyMean = total / time.Duration(s.Confirmed)
	}
	return s
}

// AppendRelaySwitches stores switches of a run, after those stored before.
// Errors: ErrNotFound for an unknown run; ErrInvalid for a negative time
// (naming the switch). Nothing is stored on error.
func (s *Store) AppendRelaySwitches(ctx context.Context, runID ID, sw []RelaySwitch) error {
	if len(sw) == 0 {
		return nil
	}
	for i, x := range sw {
		if x.T < 0 {
			return fmt.Errorf("append relay switches to run %s: switch %d: time %v is negative: %w", runID, i, x.T, ErrInvalid)
		}
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		b, err := tx.Bucket(bucketRelay).CreateBucketIfNotExists(runID.key())
		if err != nil {
			return err
		}
		for _, x := range sw {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := putJSON(b, u64(seq), x); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append relay switches to run %s: %w", runID, err)
	}
	return nil
}

// RelaySwitches returns a run's relay switches in the order stored (none:
// an empty list). Errors: ErrNotFound for an unknown run; ErrCorrupt naming
// the record for a damaged one.
func (s *Store) RelaySwitches(ctx context.Context, runID ID) ([]RelaySwitch, error) {
	out := []RelaySwitch{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		b := tx.Bucket(bucketRelay).Bucket(runID.key())
		if b == nil {
			return nil
		}
		i := 0
		return b.ForEach(func(k, v []byte) error {
			var x RelaySwitch
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("relay switch %d: %w: %w", i, ErrCorrupt, err)
			}
			out = append(out, x)
			i++
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("relay switches of run %s: %w", runID, err)
	}
	return out, nil
}

// deleteRelaySwitches removes a run's relay switches, if any.
func deleteRelaySwitches(tx *bolt.Tx, runID ID) error {
	err := tx.Bucket(bucketRelay).DeleteBucket(runID.key())
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return nil
}
