package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
)

// canaryDaemon serves a real runner service over a real store holding a
// job of 60 one-millimetre cuts and two completed runs with telemetry: a
// good one (0001) and one cut at 70 % of the feed (0002).
func canaryDaemon(t *testing.T) (data string, job jobs.Job) {
	t.Helper()
	ctx := context.Background()
	st := jobs.NewStore(t.TempDir())
	if err := st.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	job, err = st.CreateJob(ctx, jobs.Job{Name: "cuts.nc", SHA256: sha, Size: size, Lines: 61})
	if err != nil {
		t.Fatal(err)
	}
	for _, speed := range []float64{1, 0.7} {
		r, err := st.CreateRun(ctx, jobs.Run{JobID: job.ID, Machine: "3018pro"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []jobs.RunState{jobs.StateRunning, jobs.StateCompleted} {
			if _, err := st.UpdateRun(ctx, r.ID, func(r *jobs.Run) error { r.State = s; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		var samples []jobs.Sample
		for i := 0; ; i++ {
			at := time.Duration(i) * 200 * time.Millisecond
			mm := 600 * speed * at.Minutes()
			if 2+int(mm) > 61 {
				break
			}
			samples = append(samples, jobs.Sample{T: at, State: 2, MPos: [3]int32{int32(mm * 1000)}, PlannerFree: 3,
				SourceLine: int32(2 + int(mm)), Ov: [3]uint8{100, 100, 100}})
		}
		if err := st.AppendTelemetry(ctx, r.ID, samples); err != nil {
			t.Fatal(err)
		}
	}
	return startDaemon(t, &web.Server{Jobs: svc, Runs: svc, Canary: svc}), job
}

func TestBaselineCommands(t *testing.T) {
	data, job := canaryDaemon(t)
	code, out, stderr := runKerf(t, "baseline", "show", job.ID.String(), "--data", data)
	if code != 0 || !strings.Contains(out, "baseline  none") || !strings.Contains(out, "kerf baseline set 0001") {
		t.Errorf("show before: code=%d out=%q stderr=%q", code, out, stderr)
	}
	code, out, stderr = runKerf(t, "baseline", "set", "0001", "--data", data)
	if code != 0 || out != "run 0001 is now the baseline of job 0001\n" {
		t.Errorf("set: code=%d out=%q stderr=%q", code, out, stderr)
	}
	code, out, _ = runKerf(t, "baseline", "show", job.ID.String(), "--json", "--data", data)
	var info jobs.BaselineInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil || code != 0 || info.Baseline == nil || info.Baseline.RunID != 1 {
		t.Errorf("show --json: code=%d %s err=%v", code, out, err)
	}
	code, _, stderr = runKerf(t, "baseline", "set", "0009", "--data", data)
	if code != 1 || !strings.Contains(stderr, "run 0009: not found") {
		t.Errorf("set unknown run: code=%d stderr=%q", code, stderr)
	}
	code, out, _ = runKerf(t, "baseline", "clear", job.ID.String(), "--data", data)
	if code != 0 || out != "job 0001 has no baseline now\n" {
		t.Errorf("clear: code=%d out=%q", code, out)
	}
	code, _, stderr = runKerf(t, "baseline", "clear", job.ID.String(), "--data", data)
	if code != 1 || !strings.Contains(stderr, "has no baseline") {
		t.Errorf("clear again: code=%d stderr=%q", code, stderr)
	}
	code, _, stderr = runKerf(t, "baseline", "show", "x!", "--data", data)
	if code != 1 || !strings.Contains(stderr, `job ID "x!"`) {
		t.Errorf("bad id: code=%d stderr=%q", code, stderr)
	}
}

func TestCanaryConfigCommand(t *testing.T) {
	data, job := canaryDaemon(t)
	code, out, _ := runKerf(t, "canary", "config", job.ID.String(), "--data", data)
	var doc jobs.CanaryConfigDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || doc.Custom || !strings.Contains(string(doc.Document), "planner_fill") {
		t.Fatalf("show default: code=%d err=%v", code, err)
	}
	good := writeJobFile(t, "strict.json", `{"canaryConfig": {"metrics": [{"name": "feed_ratio", "groups": ["motion"],
	  "analysisConfigurations": {"canary": {"direction": "decrease", "critical": true}}}], "classifier": {"groupWeights": {"motion": 100}}},
	  "scoreThresholds": {"pass": 95, "marginal": 80}}`)
	code, out, stderr := runKerf(t, "canary", "config", job.ID.String(), good, "--data", data)
	if code != 0 || !strings.Contains(out, "job 0001 is judged with") {
		t.Errorf("set: code=%d out=%q stderr=%q", code, out, stderr)
	}
	code, out, _ = runKerf(t, "canary", "config", job.ID.String(), "--data", data)
	if code != 0 || !strings.Contains(out, `"custom": true`) || !strings.Contains(out, `"pass": 95`) {
		t.Errorf("show override: code=%d out=%s", code, out)
	}
	bad := writeJobFile(t, "bad.json", `{"canaryConfig": {"metrics": [{"name": "x", "analysisConfigurations": {"canary": {"direction": 3}}}]}, "scoreThresholds": {"pass": 90, "marginal": 70}}`)
	code, _, stderr = runKerf(t, "canary", "config", job.ID.String(), bad, "--data", data)
	if code != 2 || !strings.Contains(stderr, "bad.json: canaryConfig.metrics[0].analysisConfigurations.canary.direction") {
		t.Errorf("invalid: code=%d stderr=%q, want exit 2 naming the file and JSON path", code, stderr)
	}
}

func TestCanaryReportCommand(t *testing.T) {
	data, job := canaryDaemon(t)
	code, _, stderr := runKerf(t, "canary", "report", "0002", "--data", data)
	if code != 1 || !strings.Contains(stderr, "has no baseline") {
		t.Errorf("without a baseline: code=%d stderr=%q", code, stderr)
	}
	if code, _, stderr := runKerf(t, "baseline", "set", "0001", "--data", data); code != 0 {
		t.Fatal(stderr)
	}
	code, out, stderr := runKerf(t, "canary", "report", "0002", "--data", data)
	if code != 0 {
		t.Fatalf("report: code=%d stderr=%q", code, stderr)
	}
	for _, want := range []string{
		"run 0002 against baseline run 0001 (judged now from the stored telemetry)",
		"METRIC", "feed_ratio", "Low (critical)", "0.7",
		"score:  0.00 Fail (Canary Failed: The metric feed_ratio was classified as Low (Critical))",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runKerf(t, "canary", "report", "0002", "--json", "--data", data)
	var rep jobs.CanaryReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Baseline != 1 || !strings.Contains(string(rep.Verdict), `"classification": "Fail"`) {
		t.Errorf("report --json: code=%d %s err=%v", code, out, err)
	}
	_ = job
}
