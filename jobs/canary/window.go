package canary

import (
	"fmt"
	"math"
)

// Window holds the samples of one window of a program run: a range of the
// program's source lines, so a run and its baseline cover the same cuts in
// windows with the same range.
type Window struct {
	// Start and End delimit the source lines [Start, End) of the window.
	Start, End int
	// Samples maps a metric name to its samples in this window (usually
	// one value; several for metrics sampled at points, such as drift
	// checks).
	Samples map[string][]float64
}

// Align builds the series of every metric of cfg from the windows of a
// baseline run (control) and of the run being judged (experiment). Only
// windows present in both, matched by line range, are used, in the order of
// run, so a run in progress is judged against the baseline's same windows.
// When a window has samples of a metric on one side only, the other side
// gets as many NaN (missing) samples, as Kayenta's metric mixer pads a
// missing side. It returns an *InputError for a window with End < Start or
// a line range given twice on one side.
func Align(cfg Config, baseline, run []Window) ([]Series, error) {
	type key struct{ start, end int }
	index := func(side string, ws []Window) (map[key]int, error) {
		m := make(map[key]int, len(ws))
		for i, w := range ws {
			if w.End < w.Start {
				return nil, &InputError{Path: fmt.Sprintf("%s[%d]", side, i), Msg: fmt.Sprintf("window ends (line %d) before it starts (line %d)", w.End, w.Start)}
			}
			k := key{w.Start, w.End}
			if j, dup := m[k]; dup {
				return nil, &InputError{Path: fmt.Sprintf("%s[%d]", side, i), Msg: fmt.Sprintf("lines [%d, %d) already in %s[%d]", w.Start, w.End, side, j)}
			}
			m[k] = i
		}
		return m, nil
	}
	base, err := index("baseline", baseline)
	if err != nil {
		return nil, err
	}
	if _, err := index("run", run); err != nil {
		return nil, err
	}
	series := make([]Series, len(cfg.Metrics))
	for i, m := range cfg.Metrics {
		series[i].Metric = m.Name
	}
	for _, rw := range run {
		bi, ok := base[key{rw.Start, rw.End}]
		if !ok {
			continue
		}
		bw := baseline[bi]
		for i := range series {
			c, e := bw.Samples[series[i].Metric], rw.Samples[series[i].Metric]
			switch {
			case len(c) == 0 && len(e) > 0:
				c = nans(len(e))
			case len(e) == 0 && len(c) > 0:
				e = nans(len(c))
			}
			series[i].Control = append(series[i].Control, c...)
			series[i].Experiment = append(series[i].Experiment, e...)
		}
	}
	return series, nil
}

func nans(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

// Observed drops the metrics with no non-NaN sample on either side from
// cfg and data. Early in a run no aligned window may yet hold, say, a drift
// check; judged as is, such a critical metric would be a critical Nodata
// and fail the canary (Kayenta's rule). A metric with data on one side
// only is kept: that is missing data worth judging.
func Observed(cfg Config, data []Series) (Config, []Series) {
	seen := make(map[string]bool, len(data))
	for _, s := range data {
		seen[s.Metric] = seen[s.Metric] || hasNumber(s.Control) || hasNumber(s.Experiment)
	}
	var drop []string
	for _, m := range cfg.Metrics {
		if !seen[m.Name] {
			drop = append(drop, m.Name)
		}
	}
	kept := make([]Series, 0, len(data))
	for _, s := range data {
		if seen[s.Metric] {
			kept = append(kept, s)
		}
	}
	return cfg.Without(drop...), kept
}

func hasNumber(xs []float64) bool {
	for _, x := range xs {
		if !math.IsNaN(x) {
			return true
		}
	}
	return false
}
