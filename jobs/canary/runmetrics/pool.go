package runmetrics

import (
	"github.com/kerf-cnc/kerf/jobs/canary"
)

// DemandFactor bounds how far apart two windows' baseline line rates may
// be for PoolByDemand to count them as the same stream demand.
const DemandFactor = 1.25

// PoolByDemand returns a copy of base, the baseline's windows (one per
// span of x, matched by line range), in which each window's samples of the
// named metrics are replaced by those of every baseline window of the same
// stream demand: the same programmed feed where the window starts, and a
// baseline line rate (source lines per second) within DemandFactor of its
// own. Other metrics keep the window's own samples.
//
// This is for planner_fill. Whether the host keeps GRBL's planner fed
// depends on how many lines a second the program asks for, not on which
// cut it is. A finishing pass of short segments takes the baseline about a
// second: four or five status reports. Alone, that is too few to tell a
// starved pass from a healthy one once a report or two fall on the edge
// where the planner drains. The same pass is compared with all of the
// baseline's passes of that demand, which is every report of the baseline
// that asked the stream for as much. Metrics that depend on the geometry
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
	out := make([]canary.Window, len(base))
	for i, w := range base {
		out[i] = canary.Window{Start: w.Start, End: w.End, Samples: make(map[string][]float64, len(w.Samples))}
		for m, xs := range w.Samples {
			out[i].Samples[m] = xs
		}
		di := byKey[[2]int{w.Start, w.End}]
		if !di.ok {
			continue
		}
		for _, m := range metrics {
			var pooled []float64
			for _, v := range base {
				dv := byKey[[2]int{v.Start, v.End}]
				if !dv.ok || dv.feed != di.feed || dv.rate > di.rate*DemandFactor || dv.rate*DemandFactor < di.rate {
					continue
				}
				pooled = append(pooled, v.Samples[m]...)
			}
			out[i].Samples[m] = pooled
		}
	}
	return out
}
