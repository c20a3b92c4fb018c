package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// bucketCheckpoints holds the Z-drift checkpoints of runs: run ID key →
// bucket of checkpoint index (uint64 BE) → Checkpoint JSON. Created by
// schema migration 2.
var bucketCheckpoints = []byte("checkpoints")

// Checkpoint is one Z probe of a run: the reference probe before the job
// (Index 0), a drift checkpoint during or after it (Index 1, 2, …), or a
// new reference after a tool change (Reference set).
//
// Z values are machine coordinates from GRBL's [PRB:] report, in mm.
// Drift is Z − ReferenceZ in micrometres: negative when the probe touches
// lower in step count than at the start, which is what a Z axis that lost
// steps while cutting (the tool really sits higher than GRBL believes)
// shows.
type Checkpoint struct {
	// Run is the run probed.
	Run ID `json:"run"`
	// Index is 0 for the reference probe, then 1, 2, … in order.
	Index int `json:"index"`
	// Line is the source line the program continues from after the
	// checkpoint (0 for the reference probe before the first line).
	Line int `json:"line"`
	// At is the wall-clock time of the touch.
	At time.Time `json:"at"`
	// Elapsed is the run time from the start of streaming to the touch.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Z is the machine Z (mm) where the probe touched; meaningless when
	// Error is set.
	Z float64 `json:"z_mm"`
	// ReferenceZ is the reference probe's machine Z (mm).
	ReferenceZ float64 `json:"reference_z_mm"`
	// DriftUM is Z − ReferenceZ in micrometres (0 for the reference and for
	// failed checkpoints: look at Error, never read a failure as no drift).
	DriftUM float64 `json:"drift_um"`
	// Reference marks a touch that is the reference from here on: the
	// run's first (Index 0), or the first after a tool change (a new tool
	// has another length). Its drift is 0.
	Reference bool `json:"reference,omitempty"`
	// LimitUM is the absolute drift limit in force (µm).
	LimitUM float64 `json:"limit_um"`
	// Error says why the checkpoint failed (the probe never touched:
	// ALARM:5; the router did not stop…); empty when it succeeded.
	Error string `json:"error,omitempty"`
}

// OK reports whether the checkpoint measured a Z.
func (c Checkpoint) OK() bool { return c.Error == "" }

// validate checks the fields a caller sets.
func (c Checkpoint) validate() error {
	switch {
	case c.Run == 0:
		return fmt.Errorf("field run: missing: %w", ErrInvalid)
	case c.Index < 0:
		return fmt.Errorf("field index: %d is negative: %w", c.Index, ErrInvalid)
	case c.Line < 0:
		return fmt.Errorf("field line: %d is negative: %w", c.Line, ErrInvalid)
	case c.Elapsed < 0:
		return fmt.Errorf("field elapsed_ns: %v is negative: %w", c.Elapsed, ErrInvalid)
	case c.LimitUM < 0 || math.IsNaN(c.LimitUM):
		return fmt.Errorf("field limit_um: %v must be 0 or more: %w", c.LimitUM, ErrInvalid)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"z_mm", c.Z}, {"reference_z_mm", c.ReferenceZ}, {"drift_um", c.DriftUM}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("field %s: %v is not a finite number: %w", f.name, f.v, ErrInvalid)
		}
	}
	return nil
}

// AddCheckpoint stores a checkpoint of its run. Indexes must grow: a
// checkpoint whose Index is not above the run's last one is ErrConflict
// (nothing is overwritten). Errors: ErrNotFound for an unknown run;
// ErrInvalid naming the field.
func (s *Store) AddCheckpoint(ctx context.Context, c Checkpoint) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("add checkpoint %d of run %s: %w", c.Index, c.Run, err)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getRun(tx, c.Run); err != nil {
			return err
		}
		root := tx.Bucket(bucketCheckpoints)
		if root == nil {
			return fmt.Errorf("checkpoints bucket missing (schema not migrated): %w", ErrCorrupt)
		}
		b, err := root.CreateBucketIfNotExists(c.Run.key())
		if err != nil {
			return err
		}
		if k, _ := b.Cursor().Last(); len(k) == 8 && int(idFromKey(k)) >= c.Index {
			return fmt.Errorf("index %d is not after the last stored (%d): %w", c.Index, idFromKey(k), ErrConflict)
		}
		c.At = c.At.UTC()
		return putJSON(b, u64(uint64(c.Index)), c)
	})
	if err != nil {
		return fmt.Errorf("add checkpoint %d of run %s: %w", c.Index, c.Run, err)
	}
	return nil
}

// Checkpoints returns a run's checkpoints in index order (reference
// first); a run without any gives an empty slice. Errors: ErrNotFound for
// an unknown run.
func (s *Store) Checkpoints(ctx context.Context, runID ID) ([]Checkpoint, error) {
	out := []Checkpoint{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		root := tx.Bucket(bucketCheckpoints)
		if root == nil {
			return nil
		}
		b := root.Bucket(runID.key())
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var c Checkpoint
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("checkpoint %x: %w: %w", k, ErrCorrupt, err)
			}
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoints of run %s: %w", runID, err)
	}
	return out, nil
}

// SetJobDrift turns drift tracking on or off for one job (the per-job
// opt-out of `kerf job add --no-drift`) and returns the job. Errors:
// ErrNotFound.
func (s *Store) SetJobDrift(ctx context.Context, id ID, enabled bool) (Job, error) {
	var j Job
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if j, err = getJob(tx, id); err != nil {
			return err
		}
		j.NoDrift = !enabled
		return putJSON(tx.Bucket(bucketJobs), id.key(), j)
	})
	if err != nil {
		return Job{}, fmt.Errorf("set drift tracking of job %s: %w", id, err)
	}
	return j, nil
}

// deleteCheckpoints removes a run's checkpoints (with its telemetry).
func deleteCheckpoints(tx *bolt.Tx, runID ID) error {
	root := tx.Bucket(bucketCheckpoints)
	if root == nil {
		return nil
	}
	err := root.DeleteBucket(runID.key())
	if err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
		return err
	}
	return nil
}

// settingReference is the settings key of the machine's last reference.
const settingReference = "drift.reference"

// Reference is the last reference Z measured on the machine (a run's
// reference probe or a manual `kerf machine probe`), kept so that a one-off
// probe can say how far Z has moved since.
type Reference struct {
	// Z is the machine Z (mm) of the touch.
	Z float64 `json:"z_mm"`
	// At is when it was measured.
	At time.Time `json:"at"`
	// Run is the run whose reference probe it was (0: a manual probe).
	Run ID `json:"run,omitempty"`
}

// SetReference records the machine's latest reference Z. Errors:
// ErrInvalid for a Z that is not a finite number.
func (s *Store) SetReference(ctx context.Context, r Reference) error {
	if math.IsNaN(r.Z) || math.IsInf(r.Z, 0) {
		return fmt.Errorf("set drift reference: field z_mm: %v is not a finite number: %w", r.Z, ErrInvalid)
	}
	r.At = r.At.UTC()
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("set drift reference: %w", err)
	}
	return s.SetSetting(ctx, settingReference, raw)
}

// Reference returns the machine's latest reference Z. Errors: ErrNotFound
// before the first one; ErrCorrupt for an unreadable record.
func (s *Store) Reference(ctx context.Context) (Reference, error) {
	raw, err := s.Setting(ctx, settingReference)
	if err != nil {
		return Reference{}, fmt.Errorf("drift reference: %w", err)
	}
	var r Reference
	if err := json.Unmarshal(raw, &r); err != nil {
		return Reference{}, fmt.Errorf("drift reference: %w: %w", ErrCorrupt, err)
	}
	return r, nil
}
