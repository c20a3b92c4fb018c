package ui_test

import (
	"fmt"
	"testing"

	"github.com/kerf-cnc/kerf/jobs/canary"
)

// TestCanaryWindows pins what the real judge makes of the harness's played
// run, which the browser tests assert on the panel: a Pass while the run
// is close to its baseline, then segment_duration_ms High (the run ends up
// ~25 % slower per line), every other metric Pass, and the run Marginal.
func TestCanaryWindows(t *testing.T) {
	tests := []struct {
		windows int
		want    canary.Summary
		score   float64
		high    bool // segment_duration_ms High, the rest Pass
	}{
		{windows: 3, want: canary.SummaryPass, score: 100},
		{windows: 7, want: canary.SummaryPass, score: 100},
		{windows: 8, want: canary.SummaryMarginal, score: 86.67, high: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d windows", tc.windows), func(t *testing.T) {
			res, err := judgeWindows(tc.windows)
			if err != nil {
				t.Fatalf("judge: %v", err)
			}
			if res.Classification != tc.want || res.Score != tc.score {
				t.Errorf("verdict %s %.2f, want %s %.2f", res.Classification, res.Score, tc.want, tc.score)
			}
			if len(res.Metrics) != 8 {
				t.Errorf("%d metrics judged, want all 8 of the default config", len(res.Metrics))
			}
			for _, m := range res.Metrics {
				want := canary.Pass
				if tc.high && m.Name == "segment_duration_ms" {
					want = canary.High
				}
				if m.Classification != want {
					t.Errorf("%s: %s (%s), want %s", m.Name, m.Classification, m.Reason, want)
				}
			}
		})
	}
}
