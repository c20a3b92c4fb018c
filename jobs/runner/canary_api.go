package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/canary"
	"github.com/kerf-cnc/kerf/jobs/canary/runmetrics"
)

// Baseline returns a job's baseline and the run offered as one. Errors:
// jobs.ErrNotFound for an unknown job.
func (s *Service) Baseline(ctx context.Context, jobID jobs.ID) (jobs.BaselineInfo, error) {
	info := jobs.BaselineInfo{Job: jobID}
	runs, err := s.Store.Runs(ctx, jobs.RunFilter{JobID: jobID, States: []jobs.RunState{jobs.StateCompleted}, Page: jobs.Page{Limit: 1000}})
	if err != nil {
		return info, err
	}
	for _, r := range slices.Backward(runs) { // oldest first
		if r.Machine == s.Machine {
			info.Offered = r.ID
			break
		}
	}
	b, err := s.Store.Baseline(ctx, jobID)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
	case err != nil:
		return info, err
	default:
		info.Baseline = &b
	}
	return info, nil
}

// SetBaseline makes a completed run the baseline of its job. Errors:
// jobs.ErrNotFound; jobs.ErrConflict for a run of another job, one not
// completed, or one on another machine profile.
func (s *Service) SetBaseline(ctx context.Context, jobID, runID jobs.ID) (jobs.Baseline, error) {
	r, err := s.Store.Run(ctx, runID)
	if err != nil {
		return jobs.Baseline{}, err
	}
	if r.Machine != s.Machine {
		return jobs.Baseline{}, fmt.Errorf("run %s was on machine profile %q, this daemon runs %q: %w", runID, r.Machine, s.Machine, jobs.ErrConflict)
	}
	return s.Store.SetBaseline(ctx, jobs.Baseline{JobID: jobID, RunID: runID})
}

// ClearBaseline removes a job's baseline. Errors: jobs.ErrNotFound.
func (s *Service) ClearBaseline(ctx context.Context, jobID jobs.ID) error {
	return s.Store.ClearBaseline(ctx, jobID)
}

// CanaryConfig returns the canary config a job is judged with. Errors:
// jobs.ErrNotFound for an unknown job.
func (s *Service) CanaryConfig(ctx context.Context, jobID jobs.ID) (jobs.CanaryConfigDoc, error) {
	if _, err := s.Store.Job(ctx, jobID); err != nil {
		return jobs.CanaryConfigDoc{}, err
	}
	doc, err := s.Store.CanaryConfig(ctx, jobID)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		return jobs.CanaryConfigDoc{Document: json.RawMessage(canary.DefaultDocument())}, nil
	case err != nil:
		return jobs.CanaryConfigDoc{}, err
	}
	return jobs.CanaryConfigDoc{Custom: true, Document: doc}, nil
}

// SetCanaryConfig validates and stores a job's canary config override.
// Errors: jobs.ErrNotFound; a *canary.InputError (errors.Is
// canary.ErrInvalidInput) naming the JSON path of the problem.
func (s *Service) SetCanaryConfig(ctx context.Context, jobID jobs.ID, doc []byte) (jobs.CanaryConfigDoc, error) {
	d, err := canary.ParseDocument(doc)
	if err != nil {
		return jobs.CanaryConfigDoc{}, err
	}
	if len(d.Series) > 0 {
		return jobs.CanaryConfigDoc{}, &canary.InputError{Path: "canaryConfig.metrics", Msg: "a config carries no control or experiment samples"}
	}
	if err := s.Store.SetCanaryConfig(ctx, jobID, doc); err != nil {
		return jobs.CanaryConfigDoc{}, err
	}
	return jobs.CanaryConfigDoc{Custom: true, Document: json.RawMessage(doc), Warnings: d.Warnings}, nil
}

// ClearCanaryConfig drops a job's override (back to the default).
// Errors: jobs.ErrNotFound when it has none.
func (s *Service) ClearCanaryConfig(ctx context.Context, jobID jobs.ID) error {
	return s.Store.ClearCanaryConfig(ctx, jobID)
}

// ErrNoVerdict: a run has no canary verdict and none can be computed (its
// job has no baseline, or the run is the baseline).
var ErrNoVerdict = errors.New("no canary verdict")

// jobs.CanaryReport returns a run's final verdict, or judges the stored
// telemetry against the job's baseline when live judging stored none.
// Errors: jobs.ErrNotFound (wrapping ErrNoVerdict when there is nothing to
// judge against).
func (s *Service) CanaryReport(ctx context.Context, runID jobs.ID) (jobs.CanaryReport, error) {
	run, err := s.Store.Run(ctx, runID)
	if err != nil {
		return jobs.CanaryReport{}, err
	}
	b, err := s.Store.Baseline(ctx, run.JobID)
	if len(run.Summary.Verdict) > 0 {
		rep := jobs.CanaryReport{Run: runID, Live: true, Verdict: run.Summary.Verdict}
		if err == nil {
			rep.Baseline = b.RunID
		}
		return rep, nil
	}
	if errors.Is(err, jobs.ErrNotFound) {
		return jobs.CanaryReport{}, fmt.Errorf("run %s: job %s has no baseline: %w: %w", runID, run.JobID, ErrNoVerdict, jobs.ErrNotFound)
	}
	if err != nil {
		return jobs.CanaryReport{}, err
	}
	if b.RunID == runID {
		return jobs.CanaryReport{}, fmt.Errorf("run %s is its job's baseline: %w: %w", runID, ErrNoVerdict, jobs.ErrNotFound)
	}
	job, err := s.Store.Job(ctx, run.JobID)
	if err != nil {
		return jobs.CanaryReport{}, err
	}
	x, base, baseDrift, err := s.baselineWindows(ctx, job, b.RunID, run.Machine, gcode.Options{}, 0)
	if err != nil {
		return jobs.CanaryReport{}, fmt.Errorf("run %s: %w", runID, err)
	}
	cfg, th, err := LoadCanaryConfig(ctx, s.Store, job.ID)
	if err != nil {
		return jobs.CanaryReport{}, err
	}
	var samples []jobs.Sample
	if err := s.Store.Telemetry(ctx, runID, func(smp jobs.Sample) error { samples = append(samples, smp); return nil }); err != nil {
		return jobs.CanaryReport{}, err
	}
	var drift []runmetrics.DriftSample
	if s.Canary.Drift != nil {
		if drift, err = s.Canary.Drift(ctx, runID); err != nil {
			return jobs.CanaryReport{}, err
		}
	} else {
		cfg = cfg.Without(runmetrics.ZDrift)
	}
	ws := x.Windows(samples, drift, run.State == jobs.StateCompleted)
	res, ok, err := judgeWindows(cfg, th, windowMeans(base), windowMeans(runmetrics.Plain(ws)), cumulativeMinSamples, recentDrift(baseDrift, drift))
	if err != nil {
		return jobs.CanaryReport{}, err
	}
	if !ok {
		return jobs.CanaryReport{}, fmt.Errorf("run %s: no metric has data on both sides: %w: %w", runID, ErrNoVerdict, jobs.ErrNotFound)
	}
	data, err := json.Marshal(res)
	if err != nil {
		return jobs.CanaryReport{}, err
	}
	return jobs.CanaryReport{Run: runID, Baseline: b.RunID, Muted: mutedIn(ws), Verdict: data}, nil
}
