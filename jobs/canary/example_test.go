package canary_test

import (
	"fmt"

	"github.com/kerf-cnc/kerf/jobs/canary"
)

// A run whose feed collapses to 70 % of the baseline's fails on a critical
// metric.
func ExampleJudge() {
	feed := canary.NewMetricConfig("feed_ratio", "motion")
	feed.Direction, feed.Critical = canary.DirectionDecrease, true
	feed.Effect.AllowedDecrease, feed.Effect.CriticalDecrease = 0.95, 0.8
	cfg := canary.Config{Metrics: []canary.MetricConfig{feed}, GroupWeights: map[string]float64{"motion": 100}}

	res, err := canary.Judge(cfg, canary.Thresholds{Pass: 90, Marginal: 70}, []canary.Series{{
		Metric:     "feed_ratio",
		Control:    []float64{100.1, 99.8, 100.3, 99.9, 100.2, 100.0, 99.7, 100.4},
		Experiment: []float64{71.0, 70.4, 69.9, 70.8, 70.1, 70.6, 69.8, 70.2},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Score, res.Classification)
	fmt.Println(res.Reason)
	m := res.Metrics[0]
	fmt.Printf("%s critical=%v ratio=%.3f\n", m.Classification, m.Critical, m.Ratio)
	// Output:
	// 0 Fail
	// Canary Failed: The metric feed_ratio was classified as Low (Critical)
	// Low critical=true ratio=0.703
}

// ClassifyMetric reproduces §8 of the specification: three points per side,
// fully separated.
func ExampleClassifyMetric() {
	r := canary.ClassifyMetric(canary.NewMetricConfig("spindle_load"), []float64{10, 11, 12}, []float64{20, 21, 22})
	fmt.Println(r.Classification, r.Reason)
	fmt.Println(r.Test.Lower, r.Test.Upper, r.Test.Estimate)
	// Output:
	// High spindle_load was classified as High
	// 8 12 10
}
