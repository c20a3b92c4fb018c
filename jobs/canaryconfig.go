package jobs

import (
	"context"
	"encoding/json"
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

// BaselineInfo is a job's baseline, if any, and the run offered as one:
// the first completed run of the job on the daemon's machine profile.
type BaselineInfo struct {
	Job      ID        `json:"job"`
	Baseline *Baseline `json:"baseline"`
	// Offered is the first completed run on this machine profile (0: none
	// yet), offered as the baseline when there is none.
	Offered ID `json:"offered,omitempty"`
}

// CanaryConfigDoc is a job's canary config as a Kayenta-shaped document
// ({"canaryConfig": …, "scoreThresholds": …}).
type CanaryConfigDoc struct {
	// Custom is true for a per-job override, false for the default.
	Custom   bool            `json:"custom"`
	Document json.RawMessage `json:"document"`
	// Warnings are what Kayenta would accept silently (unknown keys, …).
	Warnings []string `json:"warnings,omitempty"`
}

// CanaryReport is a run's canary verdict (Kayenta's result JSON) with the
// runs it compares.
type CanaryReport struct {
	Run      ID `json:"run"`
	Baseline ID `json:"baseline"`
	// Live is true when the verdict was stored by live judging; false
	// when it was computed now from the stored telemetry.
	Live bool `json:"live"`
	// Muted names the timing metrics left out of some window because a
	// feed or rapid override was not 100 % (only for a verdict judged now).
	Muted   []string        `json:"muted,omitempty"`
	Verdict json.RawMessage `json:"verdict"`
}
