package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/canary"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// The harness's web.CanaryService: baselines of its jobs, the default
// canary config, and canary reports judged by the real judge
// (jobs/canary) from the windows the control plane's POST /canary plays.

func (h *harness) canaryService() *webtest.CanaryService {
	return &webtest.CanaryService{T: h.t,
		BaselineFn: h.baseline, SetBaselineFn: h.setBaseline, ClearBaselineFn: h.clearBaseline,
		CanaryConfigFn: h.canaryConfig, SetCanaryConfigFn: h.setCanaryConfig, CanaryReportFn: h.canaryReport}
}

// hasJob reports whether the job exists; h.mu is held.
func (h *harness) hasJob(id jobs.ID) bool {
	return slices.ContainsFunc(h.jobList, func(j jobs.Job) bool { return j.ID == id })
}

func (h *harness) baseline(_ context.Context, job jobs.ID) (jobs.BaselineInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.hasJob(job) {
		return jobs.BaselineInfo{}, fmt.Errorf("job %s: %w", job, jobs.ErrNotFound)
	}
	info := jobs.BaselineInfo{Job: job}
	if b, ok := h.extra.baselines[job]; ok {
		info.Baseline = &b
		return info, nil
	}
	// The first completed run of the job is offered (h.runs is newest first).
	for _, x := range h.runs {
		if x.JobID == job && x.State == jobs.StateCompleted {
			info.Offered = x.ID
		}
	}
	return info, nil
}

func (h *harness) setBaseline(_ context.Context, job, run jobs.ID) (jobs.Baseline, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.hasJob(job) {
		return jobs.Baseline{}, fmt.Errorf("job %s: %w", job, jobs.ErrNotFound)
	}
	i := slices.IndexFunc(h.runs, func(x jobs.Run) bool { return x.ID == run })
	switch {
	case i < 0:
		return jobs.Baseline{}, fmt.Errorf("run %s: %w", run, jobs.ErrNotFound)
	case h.runs[i].JobID != job:
		return jobs.Baseline{}, fmt.Errorf("run %s belongs to job %s: %w", run, h.runs[i].JobID, jobs.ErrConflict)
	case h.runs[i].State != jobs.StateCompleted:
		return jobs.Baseline{}, fmt.Errorf("run %s is %s, not completed: %w", run, h.runs[i].State, jobs.ErrConflict)
	}
	b := jobs.Baseline{JobID: job, RunID: run, Set: time.Now().UTC()}
	h.extra.baselines[job] = b
	h.calls = append(h.calls, fmt.Sprintf("baseline job %s run %s", job, run))
	return b, nil
}

func (h *harness) clearBaseline(_ context.Context, job jobs.ID) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.hasJob(job) {
		return fmt.Errorf("job %s: %w", job, jobs.ErrNotFound)
	}
	if _, ok := h.extra.baselines[job]; !ok {
		return fmt.Errorf("job %s has no baseline: %w", job, jobs.ErrNotFound)
	}
	delete(h.extra.baselines, job)
	h.calls = append(h.calls, fmt.Sprintf("baseline job %s cleared", job))
	return nil
}

func (h *harness) canaryConfig(_ context.Context, job jobs.ID) (jobs.CanaryConfigDoc, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.hasJob(job) {
		return jobs.CanaryConfigDoc{}, fmt.Errorf("job %s: %w", job, jobs.ErrNotFound)
	}
	return jobs.CanaryConfigDoc{Document: canary.DefaultDocument()}, nil
}

// setCanaryConfig validates the document with the real parser; the harness
// keeps judging with the default config.
func (h *harness) setCanaryConfig(ctx context.Context, job jobs.ID, doc []byte) (jobs.CanaryConfigDoc, error) {
	if _, err := h.canaryConfig(ctx, job); err != nil {
		return jobs.CanaryConfigDoc{}, err
	}
	_, warns, err := canary.ParseConfig(doc)
	if err != nil {
		return jobs.CanaryConfigDoc{}, fmt.Errorf("canary config of job %s: %w", job, err)
	}
	return jobs.CanaryConfigDoc{Custom: true, Document: doc, Warnings: warns}, nil
}

func (h *harness) canaryReport(_ context.Context, run jobs.ID) (jobs.CanaryReport, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rep, ok := h.extra.reports[run]; ok {
		return rep, nil
	}
	if !slices.ContainsFunc(h.runs, func(x jobs.Run) bool { return x.ID == run }) {
		return jobs.CanaryReport{}, fmt.Errorf("run %s: %w", run, jobs.ErrNotFound)
	}
	return jobs.CanaryReport{}, fmt.Errorf("run %s has no canary verdict: its job had no baseline: %w", run, jobs.ErrNotFound)
}

// canaryWindows are the per-window samples of the played baseline and run
// (eight windows of 50 source lines, a drift check in each). The run cuts
// slower and slower per line than its baseline (+4 % to +25 %); everything
// else matches closely. So the judge passes the run so far up to its
// seventh window, then finds segment_duration_ms High and the run
// Marginal.
func canaryWindows(run bool) []canary.Window {
	base := map[string][]float64{
		"feed_ratio":              {98.1, 99.0, 97.6, 98.8, 99.2, 98.4, 97.9, 98.7},
		"segment_duration_ms":     {120, 118, 125, 122, 119, 121, 124, 120},
		"window_duration_ms":      {4100, 3980, 4230, 4060, 4010, 4150, 4090, 4120},
		"planner_fill":            {88, 91, 86, 90, 89, 87, 92, 88},
		"spindle_on_mismatch":     {12, 15, 11, 14, 13, 12, 16, 13},
		"router_sense_latency_ms": {38, 41, 40, 39, 42, 40, 38, 41},
		"z_drift_um":              {1.2, 1.8, 1.1, 1.5, 1.3, 1.6, 1.4, 1.2},
		"alarm_error_count":       {0, 0, 0, 0, 0, 0, 0, 0},
	}
	exp := map[string][]float64{
		"feed_ratio":              {98.4, 98.7, 97.9, 99.1, 98.9, 98.2, 98.3, 98.5},
		"segment_duration_ms":     {126, 125, 133, 138, 142, 146, 150, 152},
		"window_duration_ms":      {4180, 4020, 4300, 4110, 4050, 4200, 4140, 4170},
		"planner_fill":            {89, 90, 87, 91, 88, 88, 90, 89},
		"spindle_on_mismatch":     {13, 14, 12, 15, 12, 13, 15, 14},
		"router_sense_latency_ms": {39, 40, 41, 40, 41, 39, 40, 42},
		"z_drift_um":              {1.4, 1.3, 1.7, 1.2, 1.5, 1.1, 1.6, 1.3},
		"alarm_error_count":       {0, 0, 0, 0, 0, 0, 0, 0},
	}
	src := base
	if run {
		src = exp
	}
	out := make([]canary.Window, 8)
	for i := range out {
		out[i] = canary.Window{Start: 1 + 50*i, End: 51 + 50*i, Samples: map[string][]float64{}}
		for name, xs := range src {
			out[i].Samples[name] = []float64{xs[i]}
		}
	}
	return out
}

// judgeWindows judges the run's first n windows against the baseline as
// live judging does: aligned by line range, metrics without data dropped
// (every metric has data here, so the runner's rescaling of the group
// weights left changes nothing).
func judgeWindows(n int) (canary.Result, error) {
	cfg, th, err := canary.DefaultConfig()
	if err != nil {
		return canary.Result{}, err
	}
	series, err := canary.Align(cfg, canaryWindows(false), canaryWindows(true)[:n])
	if err != nil {
		return canary.Result{}, fmt.Errorf("align windows: %w", err)
	}
	cfg, series = canary.Observed(cfg, series)
	return canary.Judge(cfg, th, series)
}

// verdictEvent is the data of run.verdict and run.warning events
// (jobs/runner.VerdictEvent).
type verdictEvent struct {
	Run     jobs.ID         `json:"run"`
	Line    int             `json:"line"`
	Window  *[2]int         `json:"window,omitempty"`
	Verdict json.RawMessage `json:"verdict"`
}

// playCanary plays a judged run of job as the runner does with a baseline:
// a completed baseline run is set as the job's baseline, then a new run
// starts, gets a run-so-far verdict after each window from the third on
// (a run.warning too while it is Marginal), completes, and keeps its final
// verdict as its report.
func (h *harness) playCanary(job jobs.ID) (jobs.CanaryReport, error) {
	h.mu.Lock()
	if !h.hasJob(job) {
		h.mu.Unlock()
		return jobs.CanaryReport{}, fmt.Errorf("job %s: %w", job, jobs.ErrNotFound)
	}
	if h.status.ActiveRun != 0 {
		h.mu.Unlock()
		return jobs.CanaryReport{}, fmt.Errorf("run %s is active: %w", h.status.ActiveRun, jobs.ErrBusy)
	}
	now := time.Now().UTC()
	base := jobs.Run{ID: h.nextID, JobID: job, Machine: "sim", State: jobs.StateCompleted,
		Created: now.Add(-2 * time.Hour), Started: now.Add(-2 * time.Hour), Ended: now.Add(-2*time.Hour + 33*time.Minute)}
	run := jobs.Run{ID: h.nextID + 1, JobID: job, Machine: "sim", State: jobs.StateRunning, Created: now.Add(-31 * time.Minute), Started: now.Add(-31 * time.Minute)}
	h.nextID += 2
	h.runs = append([]jobs.Run{run, base}, h.runs...)
	h.extra.baselines[job] = jobs.Baseline{JobID: job, RunID: base.ID, Set: now}
	h.status.State, h.status.ActiveRun = "Run", run.ID
	st := h.snapshot()
	h.mu.Unlock()
	h.publishRun(run)
	h.hub.Publish("machine.status", report(st))

	var final json.RawMessage
	for n := 3; n <= 8; n++ {
		res, err := judgeWindows(n)
		if err != nil {
			return jobs.CanaryReport{}, fmt.Errorf("judge %d windows: %w", n, err)
		}
		data, err := json.Marshal(res)
		if err != nil {
			return jobs.CanaryReport{}, fmt.Errorf("verdict to JSON: %w", err)
		}
		ev := verdictEvent{Run: run.ID, Line: 50 * n, Verdict: data}
		h.hub.Publish("run.verdict", ev)
		if res.Classification == canary.SummaryMarginal {
			h.hub.Publish("run.warning", ev)
		}
		final = data
	}

	h.mu.Lock()
	i := slices.IndexFunc(h.runs, func(x jobs.Run) bool { return x.ID == run.ID })
	r := &h.runs[i]
	r.State, r.Ended, r.LastAckedLine, r.LastExecutedLine = jobs.StateCompleted, time.Now().UTC(), 400, 400
	r.Summary.Verdict = final
	rep := jobs.CanaryReport{Run: run.ID, Baseline: base.ID, Live: true, Verdict: final}
	h.extra.reports[run.ID] = rep
	h.status.State, h.status.ActiveRun = "Idle", 0
	done, st := *r, h.snapshot()
	h.mu.Unlock()
	h.publishRun(done)
	h.hub.Publish("machine.status", report(st))
	return rep, nil
}

// canaryControl adds to the control plane:
//
//	POST /canary {"job":ID}   play a judged run of the job (playCanary);
//	                          answers its jobs.CanaryReport
func (h *harness) canaryControl(mux *http.ServeMux) {
	mux.HandleFunc("POST /canary", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Job jobs.ID `json:"job"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "canary: "+err.Error(), http.StatusBadRequest)
			return
		}
		rep, err := h.playCanary(req.Job)
		if err != nil {
			http.Error(w, "canary: "+err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, rep)
	})
}
