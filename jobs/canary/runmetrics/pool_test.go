package runmetrics

import (
	"cmp"
	"math"
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
	got := sortedPools(x.PoolByDemand(base, PlannerFill))
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

// TestPoolByDemandBand: windows of one demand whose baseline planner fill
// differs by more than PoolBand are not pooled: the program's draining
// tail (the planner empties once every line is sent) is not held to the
// full planner of the laps before it.
func TestPoolByDemandBand(t *testing.T) {
	src := "G21 G90\nG1 X1 F1500\n"
	for range 100 {
		src += "X2\n"
	}
	x := &Extractor{Program: mustProgram(t, src), Spans: []Span{
		{Start: 0, End: 10, Baseline: time.Second},
		{Start: 10, End: 20, Baseline: time.Second},
		{Start: 20, End: 30, Baseline: time.Second},
		{Start: 30, End: 40, Baseline: time.Second},
	}}
	fills := [][]float64{{100, 100, 100}, {100, 93.3, 100}, {66.7, 60, 53.3}, {40, 26.7, 13.3, math.NaN()}}
	base := make([]canary.Window, len(x.Spans))
	for i, sp := range x.Spans {
		base[i] = canary.Window{Start: sp.Start, End: sp.End, Samples: map[string][]float64{PlannerFill: fills[i]}}
	}
	got := sortedPools(x.PoolByDemand(base, PlannerFill))
	want := [][]float64{
		{93.3, 100, 100, 100, 100, 100}, // the two full windows
		{93.3, 100, 100, 100, 100, 100},
		{53.3, 60, 66.7},             // draining (60 %): alone
		{math.NaN(), 13.3, 26.7, 40}, // nearly drained (27 %): alone
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for i, w := range got {
		if !slices.EqualFunc(w.Samples[PlannerFill], want[i], same) {
			t.Errorf("window %d planner_fill %v, want %v", i, w.Samples[PlannerFill], want[i])
		}
	}
}

// sortedPools sorts each window's planner_fill (the judge does not care
// about order; PoolByDemand puts the window's own first, then the nearest).
func sortedPools(ws []canary.Window) []canary.Window {
	for _, w := range ws {
		slices.SortFunc(w.Samples[PlannerFill], func(a, b float64) int {
			switch {
			case math.IsNaN(a) && math.IsNaN(b):
				return 0
			case math.IsNaN(a):
				return -1
			case math.IsNaN(b):
				return 1
			}
			return cmp.Compare(a, b)
		})
	}
	return ws
}

// TestPoolByDemandCap: a long job of one kind of cut pools, for each
// window, its own samples and those of the nearest windows of its kind up
// to PoolCap, not the whole baseline (which grows with the square of the
// job's length).
func TestPoolByDemandCap(t *testing.T) {
	src := "G21 G90\nG1 X1 F1500\n"
	for range 600 {
		src += "X2\n"
	}
	x := &Extractor{Program: mustProgram(t, src)}
	var base []canary.Window
	for i := range 50 {
		x.Spans = append(x.Spans, Span{Start: 2 + 10*i, End: 12 + 10*i, Baseline: time.Second})
		v := 95 + float64(i)/10 // all within the band
		base = append(base, canary.Window{Start: 2 + 10*i, End: 12 + 10*i, Samples: map[string][]float64{PlannerFill: {v, v, v, v, v}}})
	}
	got := x.PoolByDemand(base, PlannerFill)
	pool := got[25].Samples[PlannerFill]
	if len(pool) != PoolCap {
		t.Fatalf("window 25 pooled %d samples, want %d", len(pool), PoolCap)
	}
	// Its own 5, then windows 24, 26, 23, 27, … 15: windows 15-34.
	for _, v := range pool {
		if w := int(math.Round((v - 95) * 10)); w < 15 || w > 34 {
			t.Fatalf("window 25 pooled a sample of window %d, want only windows 15-34 (the nearest)", w)
		}
	}
	if p := got[0].Samples[PlannerFill]; len(p) != PoolCap || p[0] != 95 {
		t.Errorf("window 0 pooled %d samples starting %v, want %d starting with its own", len(p), p[:1], PoolCap)
	}
}
