package jobs

import (
	"context"
	"fmt"
)

// canaryConfigKey is the settings key of a job's canary config override.
func canaryConfigKey(jobID ID) string { return "canary/config/job/" + jobID.String() }

// SetCanaryConfig stores a job's canary config override (a Kayenta-shaped
// JSON document the caller has validated). Errors: ErrNotFound for an
// unknown job.
func (s *Store) SetCanaryConfig(ctx context.Context, jobID ID, doc []byte) error {
	if _, err := s.Job(ctx, jobID); err != nil {
		return fmt.Errorf("set canary config: %w", err)
	}
	return s.SetSetting(ctx, canaryConfigKey(jobID), doc)
}

// CanaryConfig returns a job's canary config override, or ErrNotFound when
// the job has none (it is judged with the default config).
func (s *Store) CanaryConfig(ctx context.Context, jobID ID) ([]byte, error) {
	v, err := s.Setting(ctx, canaryConfigKey(jobID))
	if err != nil {
		return nil, fmt.Errorf("canary config of job %s: %w", jobID, err)
	}
	return v, nil
}

// ClearCanaryConfig removes a job's override (back to the default).
// Errors: ErrNotFound when it has none.
func (s *Store) ClearCanaryConfig(ctx context.Context, jobID ID) error {
	if err := s.DeleteSetting(ctx, canaryConfigKey(jobID)); err != nil {
		return fmt.Errorf("clear canary config of job %s: %w", jobID, err)
	}
	return nil
}
