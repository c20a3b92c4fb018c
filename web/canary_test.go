package web_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
)

// canaryFixture is a real runner service over a real store with one job
// (60 one-millimetre cuts at 600 mm/min) and two completed runs with
// telemetry: a good one and one that cut at 70 % of the feed.
type canaryFixture struct {
	c                *web.Client
	store            *jobs.Store
	job              jobs.Job
	good, slow, live jobs.ID
}

// cutSamples is the telemetry of the job cut at speed × the programmed
// feed: status reports every 200 ms, 3 planner blocks free.
func cutSamples(speed float64) []jobs.Sample {
	var out []jobs.Sample
	for i := 0; ; i++ {
		t := time.Duration(i) * 200 * time.Millisecond
		mm := 600 * speed * t.Minutes()
		line := 2 + int(mm)
		if line > 61 {
			break
		}
		out = append(out, jobs.Sample{T: t, State: 2, MPos: [3]int32{int32(mm * 1000), 0, 0}, Feed: int32(600 * speed),
			PlannerFree: 3, SourceLine: int32(line), Ov: [3]uint8{100, 100, 100}})
	}
	return out
}

func newCanaryFixture(t *testing.T) *canaryFixture {
	t.Helper()
	ctx := t.Context()
	st := mustOpenStore(t)
	var prog strings.Builder
	prog.WriteString("G21 G90\n")
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&prog, "G1 X%d F600\n", i)
	}
	svc := &runner.Service{Store: st, Machine: "3018pro", Canary: runner.CanaryOptions{Window: 500 * time.Millisecond}}
	// The job straight into the store: AddJob checks against a connected
	// board, and these tests have none.
	sha, size, err := st.PutBody(ctx, strings.NewReader(prog.String()), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	job, err := st.CreateJob(ctx, jobs.Job{Name: "cuts.nc", SHA256: sha, Size: size, Lines: 61})
	if err != nil {
		t.Fatal(err)
	}
	f := &canaryFixture{store: st, job: job}
	run := func(speed float64, end jobs.RunState) jobs.ID {
		r, err := st.CreateRun(ctx, jobs.Run{JobID: job.ID, Machine: "3018pro"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []jobs.RunState{jobs.StateRunning, end} {
			if _, err := st.UpdateRun(ctx, r.ID, func(r *jobs.Run) error { r.State = s; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.AppendTelemetry(ctx, r.ID, cutSamples(speed)); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	f.good = run(1, jobs.StateCompleted)
	f.slow = run(0.7, jobs.StateCompleted)
	f.live = run(1, jobs.StateAborted)
	if _, err := st.UpdateRun(ctx, f.live, func(r *jobs.Run) error {
		r.Summary.Verdict = json.RawMessage(`{"score":{"score":100,"classification":"Pass"}}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.c = MustOpenServer(t, &web.Server{Runs: svc, Jobs: svc, Canary: svc})
	return f
}

func TestCanaryBaselineRoutes(t *testing.T) {
	f := newCanaryFixture(t)
	ctx := t.Context()
	info, err := f.c.Baseline(ctx, f.job.ID)
	if err != nil || info.Baseline != nil || info.Offered != f.good {
		t.Fatalf("Baseline before any = %+v, %v; want none, run %s offered", info, err, f.good)
	}
	b, err := f.c.SetBaseline(ctx, f.job.ID, f.good)
	if err != nil || b.RunID != f.good || b.JobID != f.job.ID {
		t.Fatalf("SetBaseline = %+v, %v", b, err)
	}
	if info, err := f.c.Baseline(ctx, f.job.ID); err != nil || info.Baseline == nil || info.Baseline.RunID != f.good {
		t.Fatalf("Baseline after set = %+v, %v", info, err)
	}
	for _, tc := range []struct {
		name   string
		job    jobs.ID
		run    jobs.ID
		status int
		want   string
	}{
		{"unknown job", 99, f.good, 404, "job 0033"},
		{"unknown run", f.job.ID, 99, 404, "run 0033"},
		{"aborted run", f.job.ID, f.live, 409, "only a completed run can be a baseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.SetBaseline(ctx, tc.job, tc.run)
			var ae *web.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetBaseline err=%v, want %d mentioning %q", err, tc.status, tc.want)
			}
		})
	}
	if err := f.c.ClearBaseline(ctx, f.job.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ClearBaseline(ctx, f.job.ID); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("second ClearBaseline err=%v, want 404", err)
	}
}

func TestCanaryConfigRoutes(t *testing.T) {
	f := newCanaryFixture(t)
	ctx := t.Context()
	doc, err := f.c.CanaryConfig(ctx, f.job.ID)
	if err != nil || doc.Custom || !strings.Contains(string(doc.Document), `"feed_ratio"`) {
		t.Fatalf("default config = custom %v, %v", doc.Custom, err)
	}
	mine := `{"canaryConfig": {"metrics": [{"name": "feed_ratio", "groups": ["motion"], "colour": 1,
	  "analysisConfigurations": {"canary": {"direction": "decrease", "critical": true}}}],
	  "classifier": {"groupWeights": {"motion": 100}}}, "scoreThresholds": {"pass": 95, "marginal": 75}}`
	doc, err = f.c.SetCanaryConfig(ctx, f.job.ID, []byte(mine))
	if err != nil || !doc.Custom || len(doc.Warnings) == 0 {
		t.Fatalf("SetCanaryConfig = %+v, %v; want custom with a warning for the unknown key", doc, err)
	}
	if got, err := f.c.CanaryConfig(ctx, f.job.ID); err != nil || !got.Custom || !strings.Contains(string(got.Document), `"pass": 95`) {
		t.Fatalf("config after set = %s, %v", got.Document, err)
	}
	for _, tc := range []struct {
		name, body string
		job        jobs.ID
		status     int
		want       string
	}{
		{"bad type", `{"canaryConfig": {"metrics": [{"name": "x", "analysisConfigurations": {"canary": {"critical": "true"}}}]}, "scoreThresholds": {"pass": 90, "marginal": 70}}`,
			f.job.ID, 422, "canaryConfig.metrics[0].analysisConfigurations.canary.critical: must be a boolean"},
		{"syntax", `{"canaryConfig": `, f.job.ID, 422, "line 1"},
		{"samples", `{"canaryConfig": {"metrics": [{"name": "x", "control": [1], "experiment": [2]}]}, "scoreThresholds": {"pass": 90, "marginal": 70}}`,
			f.job.ID, 422, "no control or experiment samples"},
		{"unknown job", mine, 99, 404, "job 0033"},
		{"empty", "", f.job.ID, 400, "empty body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.c.SetCanaryConfig(ctx, tc.job, []byte(tc.body))
			var ae *web.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err=%v, want %d mentioning %q", err, tc.status, tc.want)
			}
		})
	}
}

func TestCanaryReportRoute(t *testing.T) {
	f := newCanaryFixture(t)
	ctx := t.Context()
	if _, err := f.c.CanaryReport(ctx, f.slow); !errors.Is(err, jobs.ErrNotFound) || !strings.Contains(err.Error(), "no baseline") {
		t.Fatalf("report without a baseline: %v, want 404 naming the missing baseline", err)
	}
	if _, err := f.c.SetBaseline(ctx, f.job.ID, f.good); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.CanaryReport(ctx, f.good); !errors.Is(err, jobs.ErrNotFound) || !strings.Contains(err.Error(), "is its job's baseline") {
		t.Errorf("report of the baseline itself: %v, want 404", err)
	}
	rep, err := f.c.CanaryReport(ctx, f.slow)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Score   struct{ Classification string }
		Results map[string]struct {
			Classification string
			Critical       bool
		}
	}
	if err := json.Unmarshal(rep.Verdict, &v); err != nil {
		t.Fatal(err)
	}
	if rep.Live || rep.Baseline != f.good || v.Score.Classification != "Fail" || v.Results["feed_ratio"].Classification != "Low" || !v.Results["feed_ratio"].Critical {
		t.Errorf("report of the slow run = %+v %s", rep, rep.Verdict)
	}
	rep, err = f.c.CanaryReport(ctx, f.live)
	if err != nil || !rep.Live || !strings.Contains(string(rep.Verdict), `"Pass"`) {
		t.Errorf("stored verdict = %+v, %v", rep, err)
	}
	if _, err := f.c.CanaryReport(ctx, 99); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
}
