package canary

import (
	"math"
	"slices"
	"testing"
)

func TestAlign(t *testing.T) {
	t.Parallel()
	cfg := Config{Metrics: []MetricConfig{NewMetricConfig("feed_ratio"), NewMetricConfig("z_drift_um")}}
	baseline := []Window{
		{Start: 0, End: 10, Samples: map[string][]float64{"feed_ratio": {100}, "z_drift_um": {2, 3}}},
		{Start: 10, End: 20, Samples: map[string][]float64{"feed_ratio": {99}}},
		{Start: 20, End: 30, Samples: map[string][]float64{"feed_ratio": {101}}},
	}
	run := []Window{
		{Start: 10, End: 20, Samples: map[string][]float64{"feed_ratio": {70}, "z_drift_um": {40}}},
		{Start: 0, End: 10, Samples: map[string][]float64{"feed_ratio": {98}, "z_drift_um": {4}}},
		{Start: 30, End: 40, Samples: map[string][]float64{"feed_ratio": {50}}}, // not in the baseline
	}
	got, err := Align(cfg, baseline, run)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Metric != "feed_ratio" || got[1].Metric != "z_drift_um" {
		t.Fatalf("series=%+v", got)
	}
	if !slices.Equal(got[0].Control, []float64{99, 100}) || !slices.Equal(got[0].Experiment, []float64{70, 98}) {
		t.Errorf("feed_ratio=%+v", got[0])
	}
	z := got[1]
	if len(z.Control) != 3 || !math.IsNaN(z.Control[0]) || z.Control[1] != 2 || z.Control[2] != 3 {
		t.Errorf("z control=%v, want [NaN 2 3]", z.Control)
	}
	if !slices.Equal(z.Experiment, []float64{40, 4}) {
		t.Errorf("z experiment=%v, want [40 4]", z.Experiment)
	}
}

func TestAlignErrors(t *testing.T) {
	t.Parallel()
	cfg := Config{Metrics: []MetricConfig{NewMetricConfig("m")}}
	tests := []struct {
		name          string
		baseline, run []Window
		want          string
	}{
		{"backwards window", []Window{{Start: 5, End: 1}}, nil, "baseline[0]: window ends (line 1) before it starts (line 5)"},
		{"duplicate range", nil, []Window{{Start: 0, End: 5}, {Start: 0, End: 5}}, "run[1]: lines [0, 5) already in run[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Align(cfg, tt.baseline, tt.run); err == nil || err.Error() != tt.want {
				t.Errorf("err=%v, want %q", err, tt.want)
			}
		})
	}
}

func TestNotPassed(t *testing.T) {
	t.Parallel()
	muted := mr("d", High)
	muted.Muted = true
	r := Result{Metrics: []MetricResult{mr("a", Pass), mr("b", Nodata), mr("c", Error), muted, mr("e", Low)}}
	var names []string
	for _, m := range r.NotPassed() {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"b", "c", "e"}) {
		t.Errorf("NotPassed=%v", names)
	}
}

func TestObserved(t *testing.T) {
	t.Parallel()
	cfg := Config{Metrics: []MetricConfig{NewMetricConfig("a", "g"), NewMetricConfig("b", "g"), NewMetricConfig("c", "g"), NewMetricConfig("d", "g")}}
	cfg.Metrics[1].Critical = true
	baseline := []Window{{Start: 0, End: 5, Samples: map[string][]float64{"a": {1, 2, 3}, "c": {3}, "d": {5, 6}}}}
	run := []Window{{Start: 0, End: 5, Samples: map[string][]float64{"a": {1, 2, 3}, "d": {6, 5}}}}
	series, err := Align(cfg, baseline, run)
	if err != nil {
		t.Fatal(err)
	}
	obsCfg, obsSeries := Observed(cfg, series)
	var names, snames []string
	for _, m := range obsCfg.Metrics {
		names = append(names, m.Name)
	}
	for _, s := range obsSeries {
		snames = append(snames, s.Metric)
	}
	if !slices.Equal(names, []string{"a", "c", "d"}) || !slices.Equal(snames, names) {
		t.Fatalf("Observed kept metrics %v, series %v, want [a c d]", names, snames)
	}
	res, err := Judge(obsCfg, Thresholds{Pass: 90, Marginal: 70}, obsSeries)
	if err != nil {
		t.Fatal(err)
	}
	// "b" (critical, no data yet) no longer fails the canary; "c" has data
	// in the baseline only and is judged Nodata.
	if res.Reason != "" || res.Score != 100 || res.Metrics[1].Classification != Nodata {
		t.Errorf("result %+v", res)
	}
}
