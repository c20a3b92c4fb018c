package runmetrics

import (
	"slices"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs/canary"
)

func TestPoolByDemand(t *testing.T) {
	// Lines 1-2 rapid; 3.. G1 F1500. Windows: a rapid one, two "roughing"
	// ones of 10 lines/s, two "finishing" ones of 80 lines/s, and one of
	// 12 lines/s (within 1.25 of 10) and one of 13 (not).
	src := "G21 G90\nG0 X1\nG0 X2\nG1 X3 F1500\n"
	for range 400 {
		src += "X4\n"
	}
	x := &Extractor{Program: mustProgram(t, src), Spans: []Span{
		{Start: 0, End: 3, Baseline: time.Second},     // rapid
		{Start: 3, End: 13, Baseline: time.Second},    // 10/s
		{Start: 13, End: 93, Baseline: time.Second},   // 80/s
		{Start: 93, End: 103, Baseline: time.Second},  // 10/s
		{Start: 103, End: 183, Baseline: time.Second}, // 80/s
		{Start: 183, End: 195, Baseline: time.Second}, // 12/s
		{Start: 195, End: 208, Baseline: time.Second}, // 13/s
		{Start: 208, End: 209, Baseline: 0},           // no baseline time
	}}
	base := make([]canary.Window, len(x.Spans))
	for i, sp := range x.Spans {
		base[i] = canary.Window{Start: sp.Start, End: sp.End, Samples: map[string][]float64{
			PlannerFill: {float64(i)},
			FeedRatio:   {100 + float64(i)},
		}}
	}
	got := x.PoolByDemand(base, PlannerFill)
	want := [][]float64{
		{0},          // the rapid window: feed 0 (the next motion is a rapid) alone
		{1, 3, 5},    // 10/s with 10/s and 12/s
		{2, 4},       // 80/s
		{1, 3, 5},    // 10/s
		{2, 4},       // 80/s
		{1, 3, 5, 6}, // 12/s: 10/s (×1.2), 12/s and 13/s (×1.08)
		{5, 6},       // 13/s: 12/s; 10/s is ×1.3 away
		{7},          // no baseline duration: its own samples
	}
	for i, w := range got {
		if !slices.Equal(w.Samples[PlannerFill], want[i]) {
			t.Errorf("window %d [%d,%d) planner_fill %v, want %v", i, w.Start, w.End, w.Samples[PlannerFill], want[i])
		}
		if f := w.Samples[FeedRatio]; len(f) != 1 || f[0] != 100+float64(i) {
			t.Errorf("window %d feed_ratio %v, want its own sample only", i, f)
		}
	}
	if base[1].Samples[PlannerFill][0] != 1 || len(base[1].Samples[PlannerFill]) != 1 {
		t.Error("PoolByDemand changed its input")
	}
}
