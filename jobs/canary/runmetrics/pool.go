package runmetrics

import (
	"math"
	"slices"

	"github.com/kerf-cnc/kerf/jobs/canary"
)

// DemandFactor bounds how far apart two windows' baseline line rates may
// be for PoolByDemand to count them as the same stream demand.
const DemandFactor = 1.25

// PoolCap bounds a pooled window's samples: the nearest windows of its
// kind in the program are taken until it has this many. A long job of one
// kind of cut would otherwise give every window the whole baseline's
// samples (memory and judging time growing with the square of the job's
// length), and a near pool also follows slow changes over a long job.
const PoolCap = 100

// PoolBand bounds how far apart (in the metric's units: percentage points
// of planner fill) two windows' baseline medians may be for PoolByDemand to
// pool them.
const PoolBand = 10.0

// PoolByDemand returns a copy of base, the baseline's windows (one per
// span of x, matched by line range), in which each window's samples of the
// named metrics are replaced by those of every baseline window of the same
// stream demand: the same programmed feed where the window starts, and a
// baseline line rate (source lines per second) within DemandFactor of its
// own, and a baseline median of the metric within PoolBand of its own
// (the median: one report on the edge of a drain must not move a window of
// five); the nearest such windows first, up to PoolCap samples.
// Other metrics keep the window's own samples.
//
// This is for planner_fill. Whether the host keeps GRBL's planner fed
// depends on how many lines a second the program asks for, not on which
// cut it is. A finishing pass of short segments takes the baseline about a
// second: four or five status reports. Alone, that is too few to tell a
// starved pass from a healthy one once a report or two fall on the edge
// where the planner drains. The same pass is compared with all of the
// baseline's passes of that demand, which is every report of the baseline
// that asked the stream for as much. The band keeps apart the windows
// where the baseline's planner ran low for its own reasons: the program's
// tail, once every line is sent and the planner drains; the moves before
// a spindle change or a dwell, which GRBL lets finish first. Held to the
// full planner of the windows before them, a clean rerun's drain would
// read as starvation. Metrics that depend on the geometry
// of the cut (feed_ratio, segment_duration_ms) or are totals of a window
// (window_duration_ms, alarm_error_count) must not be pooled.
func (x *Extractor) PoolByDemand(base []canary.Window, metrics ...string) []canary.Window {
	type demand struct {
		feed, rate float64
		ok         bool
	}
	byKey := make(map[[2]int]demand, len(x.Spans))
	for _, sp := range x.Spans {
		d := demand{feed: x.Program.FeedAfter(sp.Start)}
		if sp.Baseline > 0 && sp.End > sp.Start {
			d.rate, d.ok = float64(sp.End-sp.Start)/sp.Baseline.Seconds(), true
		}
		byKey[[2]int{sp.Start, sp.End}] = d
	}
	// Each window's demand and median, once: the pairing below looks at
	// them many times.
	dem := make([]demand, len(base))
	for i, w := range base {
		dem[i] = byKey[[2]int{w.Start, w.End}]
	}
	out := make([]canary.Window, len(base))
	for i, w := range base {
		out[i] = canary.Window{Start: w.Start, End: w.End, Samples: make(map[string][]float64, len(w.Samples))}
		for m, xs := range w.Samples {
			out[i].Samples[m] = xs
		}
	}
	med := make([]float64, len(base))
	hasMed := make([]bool, len(base))
	for _, m := range metrics {
		for i, w := range base {
			med[i], hasMed[i] = medianOf(w.Samples[m])
		}
		same := func(i, j int) bool {
			di, dj := dem[i], dem[j]
			return dj.ok && hasMed[j] && dj.feed == di.feed && dj.rate <= di.rate*DemandFactor && dj.rate*DemandFactor >= di.rate &&
				math.Abs(med[j]-med[i]) <= PoolBand
		}
		for i, w := range base {
			if !dem[i].ok || !hasMed[i] {
				continue
			}
			// The window's own samples, then those of the nearest windows
			// of its kind, before and after it in turn, up to PoolCap.
			pooled := slices.Clone(w.Samples[m])
			for d := 1; len(pooled) < PoolCap && (i-d >= 0 || i+d < len(base)); d++ {
				for _, j := range [2]int{i - d, i + d} {
					if j >= 0 && j < len(base) && len(pooled) < PoolCap && same(i, j) {
						pooled = append(pooled, base[j].Samples[m]...)
					}
				}
			}
			out[i].Samples[m] = pooled
		}
	}
	return out
}

// medianOf is the median of the non-NaN xs; false when there are none.
func medianOf(xs []float64) (float64, bool) {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2, true
	}
	return v[len(v)/2], true
}
