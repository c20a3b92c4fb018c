package webtest

import (
	"context"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

var _ web.CanaryService = (*CanaryService)(nil)

// CanaryService is a web.CanaryService whose methods call the func fields.
type CanaryService struct {
	T                 testing.TB
	BaselineFn        func(ctx context.Context, job jobs.ID) (jobs.BaselineInfo, error)
	SetBaselineFn     func(ctx context.Context, job, run jobs.ID) (jobs.Baseline, error)
	ClearBaselineFn   func(ctx context.Context, job jobs.ID) error
	CanaryConfigFn    func(ctx context.Context, job jobs.ID) (jobs.CanaryConfigDoc, error)
	SetCanaryConfigFn func(ctx context.Context, job jobs.ID, doc []byte) (jobs.CanaryConfigDoc, error)
	CanaryReportFn    func(ctx context.Context, run jobs.ID) (jobs.CanaryReport, error)
}

// Baseline calls BaselineFn.
func (f *CanaryService) Baseline(ctx context.Context, job jobs.ID) (jobs.BaselineInfo, error) {
	if f.BaselineFn == nil {
		return jobs.BaselineInfo{}, unset(f.T, "CanaryService.Baseline")
	}
	return f.BaselineFn(ctx, job)
}

// SetBaseline calls SetBaselineFn.
func (f *CanaryService) SetBaseline(ctx context.Context, job, run jobs.ID) (jobs.Baseline, error) {
	if f.SetBaselineFn == nil {
		return jobs.Baseline{}, unset(f.T, "CanaryService.SetBaseline")
	}
	return f.SetBaselineFn(ctx, job, run)
}

// ClearBaseline calls ClearBaselineFn.
func (f *CanaryService) ClearBaseline(ctx context.Context, job jobs.ID) error {
	if f.ClearBaselineFn == nil {
		return unset(f.T, "CanaryService.ClearBaseline")
	}
	return f.ClearBaselineFn(ctx, job)
}

// CanaryConfig calls CanaryConfigFn.
func (f *CanaryService) CanaryConfig(ctx context.Context, job jobs.ID) (jobs.CanaryConfigDoc, error) {
	if f.CanaryConfigFn == nil {
		return jobs.CanaryConfigDoc{}, unset(f.T, "CanaryService.CanaryConfig")
	}
	return f.CanaryConfigFn(ctx, job)
}

// SetCanaryConfig calls SetCanaryConfigFn.
func (f *CanaryService) SetCanaryConfig(ctx context.Context, job jobs.ID, doc []byte) (jobs.CanaryConfigDoc, error) {
	if f.SetCanaryConfigFn == nil {
		return jobs.CanaryConfigDoc{}, unset(f.T, "CanaryService.SetCanaryConfig")
	}
	return f.SetCanaryConfigFn(ctx, job, doc)
}

// CanaryReport calls CanaryReportFn.
func (f *CanaryService) CanaryReport(ctx context.Context, run jobs.ID) (jobs.CanaryReport, error) {
	if f.CanaryReportFn == nil {
		return jobs.CanaryReport{}, unset(f.T, "CanaryService.CanaryReport")
	}
	return f.CanaryReportFn(ctx, run)
}
