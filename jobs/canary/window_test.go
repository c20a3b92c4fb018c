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
	cfg := Config{Metrics: []MetricConfig{NewMetricConfig("a"), NewMetricConfig("b"), NewMetricConfig("c"), NewMetricConfig("d")}}
	data := []Series{
		{Metric: "a", Control: []float64{1}, Experiment: []float64{2}},
		{Metric: "b", Control: []float64{math.NaN()}, Experiment: nil},
		{Metric: "c", Control: []float64{3}},
	}
	var names []string
	for _, m := range cfg.Observed(data).Metrics {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"a", "c"}) {
		t.Errorf("Observed kept %v, want [a c]", names)
	}
}
