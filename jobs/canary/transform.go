package canary

import (
	"math"
	"slices"
)

// Stats are the descriptive statistics Kayenta reports for each side of a
// metric, computed on the transformed series (after NaN handling and outlier
// removal, before any degenerate-data noise).
type Stats struct {
	// Min, Max and Mean of the series; 0 for an empty series.
	Min, Max, Mean float64
	// Std is the sample standard deviation (n − 1); 0 when Count ≤ 1.
	Std float64
	// Count is the number of points.
	Count int
}

// describe computes Stats the way commons-math does (corrected two-pass
// mean and variance).
func describe(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	s := Stats{Min: xs[0], Max: xs[0], Count: len(xs)}
	for _, x := range xs {
		s.Min = min(s.Min, x)
		s.Max = max(s.Max, x)
	}
	s.Mean = mean(xs)
	if len(xs) > 1 {
		var acc, acc2 float64
		for _, x := range xs {
			d := x - s.Mean
			acc += d * d
			acc2 += d
		}
		n := float64(len(xs))
		s.Std = math.Sqrt((acc - acc2*acc2/n) / (n - 1))
	}
	return s
}

// mean is commons-math's corrected two-pass mean: sum/n plus the mean of
// the residuals. NaN for an empty slice.
func mean(xs []float64) float64 {
	n := float64(len(xs))
	if n == 0 {
		return math.NaN()
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	m := sum / n
	var corr float64
	for _, x := range xs {
		corr += x - m
	}
	return m + corr/n
}

// applyNaNStrategy returns a new slice with NaN removed or replaced by 0.
func applyNaNStrategy(xs []float64, s NaNStrategy) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if math.IsNaN(x) {
			if s.resolve() == NaNReplace {
				out = append(out, 0)
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// percentileR7 is the R-7 (linear interpolation) percentile of sorted,
// q in (0, 100], computed as commons-math does: p = q/100 first.
func percentileR7(sorted []float64, q float64) float64 {
	n := len(sorted)
	p := q / 100
	var pos float64
	if p == 1 {
		pos = float64(n)
	} else {
		pos = 1 + float64(n-1)*p
	}
	if pos < 1 {
		return sorted[0]
	}
	if pos >= float64(n) {
		return sorted[n-1]
	}
	fpos := math.Floor(pos)
	i := int(fpos) // 1-based index of the lower neighbour
	lower, upper := sorted[i-1], sorted[i]
	return lower + (pos-fpos)*(upper-lower)
}

// removeOutliers drops points strictly outside Kayenta's fences:
// lower = min(P1, P25 − f·IQR), upper = max(P99, P75 + f·IQR).
// The order of the remaining points is kept. An empty series is returned
// unchanged.
func removeOutliers(xs []float64, factor float64) []float64 {
	if len(xs) == 0 {
		return xs
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	p1 := percentileR7(sorted, 1)
	p25 := percentileR7(sorted, 25)
	p75 := percentileR7(sorted, 75)
	p99 := percentileR7(sorted, 99)
	iqr := p75 - p25
	lowerFence := min(p1, p25-factor*iqr)
	upperFence := max(p99, p75+factor*iqr)
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if x > upperFence || x < lowerFence {
			continue
		}
		out = append(out, x)
	}
	return out
}

// distinct reports whether xs holds exactly one distinct value, and which.
func singleValue(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	for _, x := range xs[1:] {
		if x != xs[0] {
			return 0, false
		}
	}
	return xs[0], true
}

// identical reports whether a and b have the same length and equal sorted
// elements.
func identical(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb)
}

// meanRatio is mean(experiment)/mean(control), NaN if either mean is 0.
func meanRatio(control, experiment []float64) float64 {
	mc, me := mean(control), mean(experiment)
	if mc == 0 || me == 0 {
		return math.NaN()
	}
	return me / mc
}

// cles is the common-language effect size P(X > Y) + ½·P(X = Y), from the
// rank sum of the experiment in the ranking of experiment ++ control.
func cles(control, experiment []float64) float64 {
	w := wilcoxon{xs: slices.Clone(experiment), ys: slices.Clone(control)}
	slices.Sort(w.xs)
	slices.Sort(w.ys)
	r1, _ := w.rank(0)
	nx, ny := float64(len(experiment)), float64(len(control))
	return (2*r1 - nx*(nx+1)) / (2 * nx * ny)
}
