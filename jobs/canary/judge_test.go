package canary

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func mr(name string, c Classification, groups ...string) MetricResult {
	return MetricResult{Name: name, Classification: c, Groups: groups}
}

func TestScore(t *testing.T) {
	t.Parallel()
	critHigh := mr("z", High, "z")
	critHigh.Critical, critHigh.Reason = true, "The metric z was classified as High (Critical)"
	critNodata := mr("z", Nodata, "z")
	critNodata.Critical, critNodata.Reason = true, "Missing data for z"
	mutedCrit := critHigh
	mutedCrit.Muted = true
	mutedNodata := mr("n", Nodata, "a")
	mutedNodata.Muted = true

	tests := []struct {
		name       string
		results    []MetricResult
		weights    map[string]float64
		wantScore  float64
		wantReason string
		wantGroups map[string]float64
		wantNoData []string
	}{
		{
			name:       "critical failure zeroes the score",
			results:    []MetricResult{mr("a", Pass, "a"), critHigh},
			weights:    map[string]float64{"a": 50, "z": 50},
			wantReason: "Canary Failed: The metric z was classified as High (Critical)",
			wantGroups: map[string]float64{"a": 100, "z": 0},
		},
		{
			name:       "critical metric without data zeroes the score",
			results:    []MetricResult{mr("a", Pass, "a"), mr("b", Pass, "a"), mr("c", Pass, "a"), critNodata},
			weights:    map[string]float64{"a": 50, "z": 50},
			wantReason: "Canary Failed: Missing data for z",
			wantGroups: map[string]float64{"a": 100, "z": 0},
			wantNoData: []string{"z"},
		},
		{
			name:       "muted critical failure is ignored",
			results:    []MetricResult{mr("a", Pass, "a"), mutedCrit},
			weights:    map[string]float64{"a": 100},
			wantScore:  100,
			wantGroups: map[string]float64{"a": 100},
		},
		{
			name:       "half Nodata zeroes the score",
			results:    []MetricResult{mr("a", Pass, "a"), mr("b", Nodata, "b")},
			wantReason: "Canary Failed: 50% or more metrics returned NODATA",
			wantGroups: map[string]float64{"a": 100, "b": 0},
			wantNoData: []string{"b"},
		},
		{
			name:       "muted Nodata does not count towards the Nodata share",
			results:    []MetricResult{mr("a", Pass, "a"), mutedNodata},
			wantScore:  100,
			wantGroups: map[string]float64{"a": 100},
		},
		{
			name:       "a third Nodata: group of only Nodata counts as 100",
			results:    []MetricResult{mr("a", Pass, "a"), mr("b", High, "a"), mr("c", Nodata, "c")},
			weights:    map[string]float64{"a": 50, "c": 50},
			wantScore:  75,
			wantGroups: map[string]float64{"a": 50, "c": 0},
			wantNoData: []string{"c"},
		},
		{
			name:       "Error is excluded from the group",
			results:    []MetricResult{mr("a", Pass, "a"), mr("b", Error, "a")},
			wantScore:  100,
			wantGroups: map[string]float64{"a": 100},
		},
		{
			name:       "NodataFailMetric counts as a failure",
			results:    []MetricResult{mr("a", Pass, "a"), mr("b", NodataFailMetric, "a")},
			wantScore:  50,
			wantGroups: map[string]float64{"a": 50},
		},
		{
			name:       "unweighted groups share the rest of 100",
			results:    []MetricResult{mr("a", Pass, "a"), mr("b", Low, "b"), mr("c", Pass, "c")},
			weights:    map[string]float64{"a": 40},
			wantScore:  40 + 0 + 30,
			wantGroups: map[string]float64{"a": 100, "b": 0, "c": 100},
		},
		{
			name:       "a weighted group without metrics lowers the maximum",
			results:    []MetricResult{mr("a", Pass, "a")},
			weights:    map[string]float64{"a": 60, "ghost": 40},
			wantScore:  60,
			wantGroups: map[string]float64{"a": 100},
		},
		{
			name:       "a metric in two groups counts in both",
			results:    []MetricResult{mr("a", High, "a", "b"), mr("b", Pass, "b")},
			weights:    map[string]float64{"a": 50, "b": 50},
			wantScore:  25,
			wantGroups: map[string]float64{"a": 0, "b": 50},
		},
		{
			name:       "no groups at all scores 0",
			results:    []MetricResult{mr("a", Pass), mr("b", Pass)},
			wantGroups: map[string]float64{},
		},
		{
			name:       "no results scores 0 without an override",
			wantGroups: map[string]float64{},
		},
		{
			name:       "rounded half-up to 2 decimals",
			results:    []MetricResult{mr("a", Pass, "a"), mr("b", Pass, "a"), mr("c", High, "a")},
			weights:    map[string]float64{"a": 100},
			wantScore:  66.67,
			wantGroups: map[string]float64{"a": pct(2, 3)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			groups, got, reason := score(tt.results, tt.weights)
			if got != tt.wantScore || reason != tt.wantReason {
				t.Errorf("score=%v reason=%q, want %v %q", got, reason, tt.wantScore, tt.wantReason)
			}
			if len(groups) != len(tt.wantGroups) {
				t.Fatalf("groups=%+v, want %v", groups, tt.wantGroups)
			}
			for _, g := range groups {
				if w, ok := tt.wantGroups[g.Name]; !ok || g.Score != w {
					t.Errorf("group %s=%v, want %v", g.Name, g.Score, tt.wantGroups[g.Name])
				}
				wantNoData := false
				for _, n := range tt.wantNoData {
					wantNoData = wantNoData || n == g.Name
				}
				if g.NoData != wantNoData {
					t.Errorf("group %s noData=%v, want %v", g.Name, g.NoData, wantNoData)
				}
			}
		})
	}
}

func TestRoundHalfUp2(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want float64 }{
		{75, 75}, {0.125, 0.13}, {1.005, 1.01}, {2.675, 2.68}, {66.666666, 66.67},
		{99.995, 100}, {9.999, 10}, {-1.005, -1.01}, {1e-7, 0}, {33.334999, 33.33}, {0.994999, 0.99},
	}
	for _, tt := range tests {
		if got := roundHalfUp2(tt.in); got != tt.want {
			t.Errorf("roundHalfUp2(%v)=%v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestThresholds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		th    Thresholds
		score float64
		want  Summary
	}{
		{Thresholds{Pass: 75, Marginal: 50}, 75, SummaryPass},
		{Thresholds{Pass: 75, Marginal: 50}, 74.99, SummaryMarginal},
		{Thresholds{Pass: 75, Marginal: 50}, 50, SummaryMarginal},
		{Thresholds{Pass: 75, Marginal: 50}, 49.99, SummaryFail},
		{Thresholds{Pass: 75, Marginal: 0}, 0, SummaryMarginal},
	}
	for _, tt := range tests {
		if got := tt.th.classify(tt.score); got != tt.want {
			t.Errorf("%+v classify(%v)=%s, want %s", tt.th, tt.score, got, tt.want)
		}
	}
}

// normal returns n seeded samples of N(mu, sd²).
func normal(seed uint64, n int, mu, sd float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]float64, n)
	for i := range out {
		out[i] = mu + sd*r.NormFloat64()
	}
	return out
}

func TestJudge(t *testing.T) {
	t.Parallel()
	feed := NewMetricConfig("feed_ratio", "motion")
	feed.Direction, feed.Critical = DirectionDecrease, true
	feed.Effect.AllowedDecrease, feed.Effect.CriticalDecrease = 0.95, 0.8
	seg := NewMetricConfig("segment_duration_ms", "motion")
	cfg := Config{Metrics: []MetricConfig{feed, seg}, GroupWeights: map[string]float64{"motion": 100}}
	th := Thresholds{Pass: 90, Marginal: 70}

	tests := []struct {
		name      string
		data      []Series
		wantClass Summary
		wantScore float64
		wantErr   string
	}{
		{
			name: "clean run passes",
			data: []Series{
				{Metric: "feed_ratio", Control: normal(1, 40, 100, 2), Experiment: normal(2, 40, 100, 2)},
				{Metric: "segment_duration_ms", Control: normal(3, 40, 250, 10), Experiment: normal(4, 40, 250, 10)},
			},
			wantClass: SummaryPass, wantScore: 100,
		},
		{
			name: "30 % feed stall is a critical failure",
			data: []Series{
				{Metric: "feed_ratio", Control: normal(1, 40, 100, 2), Experiment: normal(2, 40, 70, 2)},
				{Metric: "segment_duration_ms", Control: normal(3, 40, 250, 10), Experiment: normal(4, 40, 250, 10)},
			},
			wantClass: SummaryFail, wantScore: 0,
		},
		{
			name: "10 % feed dip fails the metric but not critically",
			data: []Series{
				{Metric: "feed_ratio", Control: normal(1, 40, 100, 2), Experiment: normal(2, 40, 90, 2)},
				{Metric: "segment_duration_ms", Control: normal(3, 40, 250, 10), Experiment: normal(4, 40, 250, 10)},
			},
			wantClass: SummaryFail, wantScore: 50,
		},
		{
			name: "a missing series is judged without data",
			data: []Series{
				{Metric: "segment_duration_ms", Control: normal(3, 40, 250, 10), Experiment: normal(4, 40, 250, 10)},
			},
			wantClass: SummaryFail, wantScore: 0,
		},
		{
			name:    "unknown metric",
			data:    []Series{{Metric: "nope", Control: []float64{1}, Experiment: []float64{1}}},
			wantErr: `series[0].metric: no metric "nope" in the canary config`,
		},
		{
			name: "metric given twice",
			data: []Series{
				{Metric: "feed_ratio", Control: []float64{1}, Experiment: []float64{1}},
				{Metric: "feed_ratio", Control: []float64{1}, Experiment: []float64{1}},
			},
			wantErr: `series[1].metric: metric "feed_ratio" given twice`,
		},
		{
			name:    "infinite sample",
			data:    []Series{{Metric: "feed_ratio", Control: []float64{1}, Experiment: []float64{1, math.Inf(1)}}},
			wantErr: `series[0].experiment[1]: must be finite, got +Inf`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Judge(cfg, th, tt.data)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("err=%v, want %q (ErrInvalidInput)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Classification != tt.wantClass || res.Score != tt.wantScore {
				t.Errorf("%s %v, want %s %v (%+v)", res.Classification, res.Score, tt.wantClass, tt.wantScore, res.Metrics)
			}
		})
	}
}

func TestJudgeInvalidConfig(t *testing.T) {
	t.Parallel()
	bad := NewMetricConfig("m")
	bad.Outliers = Outliers{Strategy: OutliersRemove, Factor: 0}
	tests := []struct {
		name string
		cfg  Config
		th   Thresholds
		want string
	}{
		{"outlier factor", Config{Metrics: []MetricConfig{bad}}, Thresholds{90, 70},
			"canary config: metrics[0].analysisConfigurations.canary.outliers.outlierFactor: must be > 0 when strategy is remove, got 0"},
		{"duplicate", Config{Metrics: []MetricConfig{NewMetricConfig("m"), NewMetricConfig("m")}}, Thresholds{90, 70},
			`canary config: metrics[1].name: duplicate metric name "m" (also metrics[0])`},
		{"empty name", Config{Metrics: []MetricConfig{NewMetricConfig("")}}, Thresholds{90, 70},
			"canary config: metrics[0].name: must not be empty"},
		{"NaN weight", Config{GroupWeights: map[string]float64{"g": math.NaN()}}, Thresholds{90, 70},
			"canary config: classifier.groupWeights.g: must be a finite number, got NaN"},
		{"NaN threshold", Config{}, Thresholds{math.NaN(), 70},
			"canary thresholds: scoreThresholds.pass: must be a finite number, got NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Judge(tt.cfg, tt.th, nil)
			if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("err=%v, want %q", err, tt.want)
			}
		})
	}
}

func TestJudgeSeededNoiseReproducible(t *testing.T) {
	t.Parallel()
	cfg := Config{Metrics: []MetricConfig{NewMetricConfig("c", "g")}}
	data := []Series{{Metric: "c", Control: []float64{10, 10, 10, 10}, Experiment: []float64{12, 12, 12, 12}}}
	run := func(seed uint64) MetricResult {
		res, err := Judge(cfg, Thresholds{90, 70}, data, WithRand(rand.New(rand.NewPCG(seed, seed))))
		if err != nil {
			t.Fatal(err)
		}
		return res.Metrics[0]
	}
	a, b, c := run(1), run(1), run(2)
	if a.Ratio != b.Ratio || *a.Test != *b.Test {
		t.Errorf("same seed, different numbers: %v %v", a.Ratio, b.Ratio)
	}
	if a.Ratio == c.Ratio {
		t.Errorf("different seeds, same noisy ratio %v", a.Ratio)
	}
	if a.Classification != High || c.Classification != High {
		t.Errorf("classifications %s %s, want High", a.Classification, c.Classification)
	}
}

// pct computes pass/total·100 at run time, in float64 like the scorer.
func pct(pass, total int) float64 { return float64(pass) / float64(total) * 100 }
