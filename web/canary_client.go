package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/kerf-cnc/kerf/jobs"
)

// Baseline returns a job's baseline (nil when none) and the run offered as
// one.
func (c *Client) Baseline(ctx context.Context, job jobs.ID) (jobs.BaselineInfo, error) {
	var b jobs.BaselineInfo
	err := c.call(ctx, http.MethodGet, "/api/v1/jobs/"+job.String()+"/baseline", nil, nil, &b)
	return b, err
}

// SetBaseline makes run the baseline of job.
func (c *Client) SetBaseline(ctx context.Context, job, run jobs.ID) (jobs.Baseline, error) {
	var b jobs.Baseline
	err := c.call(ctx, http.MethodPut, "/api/v1/jobs/"+job.String()+"/baseline", nil, BaselineRequest{Run: run}, &b)
	return b, err
}

// ClearBaseline removes a job's baseline.
func (c *Client) ClearBaseline(ctx context.Context, job jobs.ID) error {
	return c.call(ctx, http.MethodDelete, "/api/v1/jobs/"+job.String()+"/baseline", nil, nil, nil)
}

// CanaryConfig returns the canary config a job is judged with.
func (c *Client) CanaryConfig(ctx context.Context, job jobs.ID) (jobs.CanaryConfigDoc, error) {
	var d jobs.CanaryConfigDoc
	err := c.call(ctx, http.MethodGet, "/api/v1/jobs/"+job.String()+"/canary-config", nil, nil, &d)
	return d, err
}

// SetCanaryConfig stores a job's canary config override (the document as
// is). An invalid document fails with an *APIError (422) naming the JSON
// path of the problem.
func (c *Client) SetCanaryConfig(ctx context.Context, job jobs.ID, doc []byte) (jobs.CanaryConfigDoc, error) {
	path := "/api/v1/jobs/" + job.String() + "/canary-config"
	resp, err := c.request(ctx, http.MethodPut, path, nil, bytes.NewReader(doc), "application/json")
	if err != nil {
		return jobs.CanaryConfigDoc{}, err
	}
	defer resp.Body.Close()
	var d jobs.CanaryConfigDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return jobs.CanaryConfigDoc{}, fmt.Errorf("PUT %s: decode answer: %w", path, err)
	}
	return d, nil
}

// CanaryReport returns a run's canary verdict against its job's baseline.
func (c *Client) CanaryReport(ctx context.Context, run jobs.ID) (jobs.CanaryReport, error) {
	var r jobs.CanaryReport
	err := c.call(ctx, http.MethodGet, "/api/v1/runs/"+run.String()+"/canary", nil, nil, &r)
	return r, err
}
