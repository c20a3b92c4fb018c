package jobs

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Baseline names the run of a job that later runs are judged against, and
// the canary config to judge with.
type Baseline struct {
	// JobID is the job.
	JobID ID `json:"job_id"`
	// RunID is a completed run of that job.
	RunID ID `json:"run_id"`
	// CanaryConfig names the canary config (empty: the default config).
	CanaryConfig string `json:"canary_config,omitempty"`
	// Set is when the baseline was chosen.
	Set time.Time `json:"set"`
}

// SetBaseline makes b.RunID the baseline of b.JobID (replacing any earlier
// one) and returns the stored record. Errors: ErrNotFound for an unknown job
// or run; ErrConflict when the run belongs to another job or has not
// completed.
func (s *Store) SetBaseline(ctx context.Context, b Baseline) (Baseline, error) {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getJob(tx, b.JobID); err != nil {
			return err
		}
		r, err := getRun(tx, b.RunID)
		if err != nil {
			return err
		}
		if r.JobID != b.JobID {
			return fmt.Errorf("run %s belongs to job %s: %w", r.ID, r.JobID, ErrConflict)
		}
		if r.State != StateCompleted {
			return fmt.Errorf("run %s is %s, only a completed run can be a baseline: %w", r.ID, r.State, ErrConflict)
		}
		b.Set = s.Now().UTC()
		return putJSON(tx.Bucket(bucketBaselines), b.JobID.key(), b)
	})
	if err != nil {
		return Baseline{}, fmt.Errorf("set baseline of job %s: %w", b.JobID, err)
	}
	return b, nil
}

// Baseline returns the baseline of a job, or ErrNotFound when the job has
// none (or does not exist).
func (s *Store) Baseline(ctx context.Context, jobID ID) (Baseline, error) {
	var b Baseline
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketBaselines), jobID.key(), &b)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("job %s has no baseline: %w", jobID, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return Baseline{}, fmt.Errorf("baseline: %w", err)
	}
	return b, nil
}

// ClearBaseline removes a job's baseline. Errors: ErrNotFound when the job
// has none.
func (s *Store) ClearBaseline(ctx context.Context, jobID ID) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBaselines)
		if b.Get(jobID.key()) == nil {
			return fmt.Errorf("job %s has no baseline: %w", jobID, ErrNotFound)
		}
		return b.Delete(jobID.key())
	})
	if err != nil {
		return fmt.Errorf("clear baseline: %w", err)
	}
	return nil
}
