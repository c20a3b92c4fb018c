package runner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/canary"
	"github.com/kerf-cnc/kerf/jobs/canary/runmetrics"
)

func window(start, end int, samples map[string][]float64) canary.Window {
	return canary.Window{Start: start, End: end, Samples: samples}
}

func seq(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestJudgeWindows(t *testing.T) {
	cfg, th, err := canary.DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	base := []canary.Window{window(0, 10, map[string][]float64{
		runmetrics.FeedRatio:   seq(12, func(i int) float64 { return 95 + float64(i%5) }),
		runmetrics.PlannerFill: seq(12, func(i int) float64 { return 100 - float64(i%3) }),
		runmetrics.AlarmErrors: {0},
	})}
	for _, tc := range []struct {
		name    string
		run     map[string][]float64
		min     int
		want    canary.Summary
		metrics []string // judged metrics
		failing string
	}{
		{"clean", map[string][]float64{
			runmetrics.FeedRatio:   seq(12, func(i int) float64 { return 95 + float64((i+2)%5) }),
			runmetrics.PlannerFill: seq(12, func(i int) float64 { return 100 - float64((i+1)%3) }),
		}, 5, canary.SummaryPass, []string{runmetrics.FeedRatio, runmetrics.PlannerFill}, ""},
		{"feed at 70 %", map[string][]float64{
			runmetrics.FeedRatio:   seq(12, func(i int) float64 { return 66 + float64(i%5) }),
			runmetrics.PlannerFill: seq(12, func(i int) float64 { return 100 - float64((i+1)%3) }),
		}, 5, canary.SummaryFail, []string{runmetrics.FeedRatio, runmetrics.PlannerFill}, runmetrics.FeedRatio},
		{"too few samples are left out", map[string][]float64{
			runmetrics.FeedRatio:   seq(3, func(i int) float64 { return 50 }),
			runmetrics.PlannerFill: seq(12, func(i int) float64 { return 100 - float64((i+1)%3) }),
		}, 5, canary.SummaryPass, []string{runmetrics.PlannerFill}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, ok, err := judgeWindows(cfg, th, base, []canary.Window{window(0, 10, tc.run)}, tc.min, nil)
			if err != nil || !ok {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			var judged []string
			for _, m := range res.Metrics {
				judged = append(judged, m.Name)
			}
			if res.Classification != tc.want || !slices.Equal(judged, tc.metrics) {
				t.Errorf("%s (score %v) on %v, want %s on %v", res.Classification, res.Score, judged, tc.want, tc.metrics)
			}
			if tc.failing != "" && (len(res.NotPassed()) != 1 || res.NotPassed()[0].Name != tc.failing) {
				t.Errorf("not passed: %+v, want %s", res.NotPassed(), tc.failing)
			}
			// Only the groups judged count, at their configured ratio.
			if tc.want == canary.SummaryPass && res.Score != 100 {
				t.Errorf("score %v with every judged metric passing", res.Score)
			}
		})
	}
	if _, ok, err := judgeWindows(cfg, th, base, []canary.Window{window(20, 30, nil)}, 5, nil); ok || err != nil {
		t.Errorf("a window the baseline lacks judged: ok=%v err=%v", ok, err)
	}
	// The drift series replaces the aligned one.
	drift := recentDrift(
		[]runmetrics.DriftSample{{DriftUM: 1}, {DriftUM: -2}, {DriftUM: 1.5}, {DriftUM: 0.5}, {DriftUM: -1}, {DriftUM: 2}, {DriftUM: 1}, {DriftUM: 0.2}, {DriftUM: -0.7}, {DriftUM: 1.1}, {DriftUM: 1.8}, {DriftUM: -1.2}},
		[]runmetrics.DriftSample{{DriftUM: 1}, {DriftUM: 17}, {DriftUM: 33}, {DriftUM: 49}})
	if drift == nil || !slices.Equal(drift.Experiment, []float64{17, 33, 49}) || len(drift.Control) != 12 || drift.Control[1] != runmetrics.DriftFloorUM {
		t.Fatalf("recent drift series %+v, want the baseline's readings at the %v µm floor", drift, runmetrics.DriftFloorUM)
	}
	// Readings under the floor are noise: a clean run of 0.6 µm readings
	// against a baseline of exact zeros (a simulator's plate) passes.
	exact := make([]runmetrics.DriftSample, 12)
	clean := recentDrift(exact, []runmetrics.DriftSample{{DriftUM: 0.6}, {DriftUM: -0.6}, {DriftUM: 0.6}})
	if res, ok, err := judgeWindows(onlyMetric(cfg, runmetrics.ZDrift), th, nil, nil, 3, clean); err != nil || !ok || res.Classification != canary.SummaryPass {
		t.Fatalf("sub-floor drift against exact zeros: %s %v %v, want Pass", res.Classification, ok, err)
	}
	res, ok, err := judgeWindows(cfg, th, base, base, 3, drift)
	if err != nil || !ok || res.Classification != canary.SummaryFail {
		t.Fatalf("drift of 17-49 µm: %s %v %v", res.Classification, ok, err)
	}
	if m, _ := cfg.Metric(runmetrics.ZDrift); !m.Critical || res.NotPassed()[0].Name != runmetrics.ZDrift || !res.NotPassed()[0].Critical {
		t.Errorf("not passed %+v, want critical z_drift_um", res.NotPassed())
	}
	if recentDrift(nil, []runmetrics.DriftSample{{}, {}, {}}) != nil || recentDrift([]runmetrics.DriftSample{{}, {}, {}}, []runmetrics.DriftSample{{}, {}}) != nil {
		t.Error("recent drift from fewer than 3 checkpoints")
	}
}

func TestPresentWeights(t *testing.T) {
	cfg := canary.Config{Metrics: []canary.MetricConfig{canary.NewMetricConfig("a", "motion"), canary.NewMetricConfig("b", "stream")},
		GroupWeights: map[string]float64{"motion": 40, "stream": 10, "z": 50}}
	w := presentWeights(cfg)
	if len(w) != 2 || math.Abs(w["motion"]-80) > 1e-9 || math.Abs(w["stream"]-20) > 1e-9 {
		t.Errorf("weights %v, want motion 80 stream 20", w)
	}
	cfg.Metrics = append(cfg.Metrics, canary.NewMetricConfig("c", "unweighted"))
	if w := presentWeights(cfg); w["z"] != 50 {
		t.Errorf("with an unweighted group the weights must stay as configured: %v", w)
	}
}

func TestCanaryAbortOutcome(t *testing.T) {
	cause := &CanaryAbortError{Line: 412, Window: [2]int{400, 420}, Score: 0,
		Metrics: []string{"feed_ratio (Low, critical, ratio 0.71)"}, Reason: "Canary Failed: The metric feed_ratio was classified as Low (Critical)"}
	err := &StopError{Line: 415, Cause: cause}
	state, reason := outcome(err)
	if state != jobs.StateAborted {
		t.Errorf("state %s, want aborted", state)
	}
	for _, want := range []string{"line 415", "canary verdict Fail at line 412", "lines 400-419", "feed_ratio (Low, critical, ratio 0.71)"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
	if !errors.As(err, new(*CanaryAbortError)) {
		t.Error("the cause is lost")
	}
}

// rtPort is a host port that reports when a given real-time byte is
// written.
type rtPort struct {
	io.ReadWriteCloser
	watch byte
	mu    sync.Mutex
	seen  chan time.Time
}

func (p *rtPort) Write(b []byte) (int, error) {
	n, err := p.ReadWriteCloser.Write(b)
	if len(b) == 1 && b[0] == p.watch {
		p.mu.Lock()
		ch := p.seen
		p.mu.Unlock()
		if ch != nil {
			select {
			case ch <- time.Now():
			default:
			}
		}
	}
	return n, err
}

// BenchmarkCanaryAbort measures the abort latency: from a Fail verdict
// handed to the live judge's abort to the feed-hold byte written to the
// serial port, through grbl.Conn's real-time path, on a simulated board in
// real time. Figures: abort-ms (mean) and max-abort-ms.
func BenchmarkCanaryAbort(b *testing.B) {
	m, err := sim.New(sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	raw, err := m.Connect()
	if err != nil {
		b.Fatal(err)
	}
	port := &rtPort{ReadWriteCloser: raw, watch: grbl.RTFeedHold}
	conn := grbl.NewConn(port, grbl.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := conn.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	svc := &Service{Logger: slog.New(slog.DiscardHandler)}
	v := verdict{res: canary.Result{Classification: canary.SummaryFail, Metrics: []canary.MetricResult{{Name: "feed_ratio", Classification: canary.Low, Critical: true, Ratio: 0.7, HasRatio: true}}}}
	var total, worst time.Duration
	b.ResetTimer()
	for range b.N {
		seen := make(chan time.Time, 1)
		port.mu.Lock()
		port.seen = seen
		port.mu.Unlock()
		cancelled := false
		lj := &liveJudge{s: svc, conn: conn, ar: &activeRun{cancel: func(error) { cancelled = true }}}
		start := time.Now()
		lj.abort(100, v)
		d := (<-seen).Sub(start)
		if !cancelled {
			b.Fatal("the run was not cancelled")
		}
		total += d
		worst = max(worst, d)
	}
	b.ReportMetric(float64(total)/float64(b.N)/1e6, "abort-ms")
	b.ReportMetric(float64(worst)/1e6, "max-abort-ms")
}

func TestDriftSamples(t *testing.T) {
	got := driftSamples([]jobs.Checkpoint{
		{Index: 0, Reference: true},
		{Index: 1, Line: 120, Elapsed: 40 * time.Second, DriftUM: -4},
		{Index: 2, Line: 300, Error: "ALARM:5 probe fail"},
		{Index: 3, Line: 410, Reference: true},
		{Index: 4, Line: 520, Elapsed: 3 * time.Minute, DriftUM: 22},
	})
	want := []runmetrics.DriftSample{{Line: 120, T: 40 * time.Second, DriftUM: -4}, {Line: 520, T: 3 * time.Minute, DriftUM: 22}}
	if !slices.Equal(got, want) {
		t.Errorf("drift samples %+v, want %+v (no references, no failed touches)", got, want)
	}
}

func TestLiveJudgeWatch(t *testing.T) {
	spans := []runmetrics.Span{{Start: 0, End: 10, Baseline: time.Second}, {Start: 10, End: 20, Baseline: time.Second}, {Start: 20, End: 30, Baseline: 2 * time.Second}}
	type smp struct {
		line int
		t    time.Duration
	}
	for _, tc := range []struct {
		name    string
		samples []smp
		want    []bool // a signal after each sample
	}{
		{"inside one window", []smp{{1, 0}, {5, 200 * time.Millisecond}, {9, 400 * time.Millisecond}}, []bool{false, false, false}},
		{"each window completes once", []smp{{1, 0}, {10, time.Second}, {12, 1200 * time.Millisecond}, {25, 2 * time.Second}, {29, 3 * time.Second}},
			[]bool{false, true, false, true, false}},
		{"skipping a window completes it", []smp{{1, 0}, {21, 500 * time.Millisecond}}, []bool{false, true}},
		{"past the last window", []smp{{25, 0}, {31, time.Second}, {32, 2 * time.Second}}, []bool{false, true, false}},
		{"overdue once at 1.5× the baseline", []smp{{1, 0}, {2, 1400 * time.Millisecond}, {3, 1500 * time.Millisecond}, {4, 3 * time.Second}, {10, 4 * time.Second}},
			[]bool{false, false, true, false, true}},
		{"overdue counts from entering", []smp{{1, 0}, {10, time.Second}, {11, 2400 * time.Millisecond}, {12, 2500 * time.Millisecond}},
			[]bool{false, true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lj := &liveJudge{x: &runmetrics.Extractor{Spans: spans}, cur: -1, windowEnd: make(chan struct{}, 1)}
			for i, s := range tc.samples {
				lj.add(jobs.Sample{SourceLine: int32(s.line), T: s.t})
				var got bool
				select {
				case <-lj.windowEnd:
					got = true
				default:
				}
				if got != tc.want[i] {
					t.Errorf("after sample %d (line %d at %v): signalled %v, want %v", i, s.line, s.t, got, tc.want[i])
				}
			}
		})
	}
}
