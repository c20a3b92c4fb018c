package canary

import (
	"fmt"
	"testing"
)

// benchInput is a canary of nMetrics metrics with nPoints points per side,
// a fifth of them shifted by +8 %.
func benchInput(nMetrics, nPoints int) (Config, []Series) {
	cfg := Config{GroupWeights: map[string]float64{"motion": 50, "spindle": 50}}
	data := make([]Series, nMetrics)
	for i := range nMetrics {
		name := fmt.Sprintf("metric_%02d", i)
		group := "motion"
		if i%2 == 1 {
			group = "spindle"
		}
		m := NewMetricConfig(name, group)
		if i%3 == 0 {
			m.Outliers = Outliers{Strategy: OutliersRemove, Factor: 3}
		}
		cfg.Metrics = append(cfg.Metrics, m)
		shift := 1.0
		if i%5 == 0 {
			shift = 1.08
		}
		data[i] = Series{
			Metric:     name,
			Control:    normal(uint64(2*i), nPoints, 100, 3),
			Experiment: normal(uint64(2*i+1), nPoints, 100*shift, 3),
		}
	}
	return cfg, data
}

// BenchmarkJudge judges 50 metrics × 100 points per side.
//
//	go test ./jobs/canary -run '^$' -bench BenchmarkJudge -benchmem
func BenchmarkJudge(b *testing.B) {
	cfg, data := benchInput(50, 100)
	th := Thresholds{Pass: 90, Marginal: 70}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Judge(cfg, th, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/50, "µs/metric")
}

// BenchmarkMannWhitney is the test on its own for 100 vs 100 points.
func BenchmarkMannWhitney(b *testing.B) {
	control, experiment := normal(1, 100, 100, 3), normal(2, 100, 103, 3)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MannWhitneyTest(control, experiment); err != nil {
			b.Fatal(err)
		}
	}
}
