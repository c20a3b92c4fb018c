package canary

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Constants of NetflixACAJudge-v1.0. They are hard-coded in Kayenta's judge
// and are not configurable there either.
const (
	// ConfidenceLevel is the level of the Mann-Whitney confidence interval.
	ConfidenceLevel = 0.98
	// Tolerance is the fraction of |estimate| the interval must clear.
	Tolerance = 0.25
	// RootTolerance is the absolute tolerance of the Brent root finder.
	RootTolerance = 1e-4

	// zq is Φ⁻¹((1-ConfidenceLevel)/2), the value commons-math returns.
	zq = -2.3263478740408408
	// brentEPS is DBL_EPSILON as used by R's zeroin.
	brentEPS = 2.220446049250313e-16
	// brentMaxPasses is R's uniroot maxiter (1000) plus one.
	brentMaxPasses = 1001
)

// ErrAllTied is returned by the Mann-Whitney step when every observation of
// the shifted ranking is tied (the spread σ is zero). Kayenta throws here and
// the metric is classified Error.
var ErrAllTied = errors.New("cannot compute confidence interval when all observations are tied")

// ErrRange is returned by the Mann-Whitney step when the differences
// between the samples overflow float64 (or the samples hold NaN or ±Inf),
// so no interval can be computed. The metric is classified Error.
var ErrRange = errors.New("samples out of the computable range")

// MannWhitney is the outcome of the Mann-Whitney step for one metric:
// the confidence interval of the location shift experiment − control and
// Kayenta's estimate of that shift.
type MannWhitney struct {
	// Lower and Upper are the ends of the 98 % confidence interval.
	Lower, Upper float64
	// Estimate is the root of W(d) = 0, with the continuity correction kept.
	Estimate float64
	// MuMin and MuMax are the ends of the search interval.
	MuMin, MuMax float64
}

// wilcoxon evaluates W(d) for a fixed pair of samples. xs and ys are sorted
// ascending; shifting every x by the same d keeps xs sorted, so the ranking
// of (x − d) ++ y is a linear merge.
type wilcoxon struct {
	xs, ys []float64
}

// rank returns the rank sum of the x sample in the ranking of (x − d) ++ y
// (ascending, average ranks for exact ties) and Σ(t³ − t) over tie groups.
func (w wilcoxon) rank(d float64) (rankSum, ties float64) {
	xs, ys := w.xs, w.ys
	i, j, pos := 0, 0, 0 // pos: number of elements already ranked
	for i < len(xs) || j < len(ys) {
		// Smallest remaining value.
		var v float64
		switch {
		case i >= len(xs):
			v = ys[j]
		case j >= len(ys):
			v = xs[i] - d
		default:
			v = min(xs[i]-d, ys[j])
		}
		nx := 0
		for i < len(xs) && xs[i]-d == v {
			i++
			nx++
		}
		ny := 0
		for j < len(ys) && ys[j] == v {
			j++
			ny++
		}
		t := nx + ny
		if t == 0 {
			// Only reachable with NaN input, which callers exclude.
			// Advance anyway so the loop always terminates.
			if i < len(xs) {
				i++
				nx = 1
			} else {
				j++
			}
			t = 1
		}
		// Ranks pos+1 … pos+t share the average (2·pos + t + 1)/2.
		avg := float64(2*pos+t+1) / 2
		rankSum += float64(nx) * avg
		if t > 1 {
			ft := float64(t)
			ties += ft*ft*ft - ft
		}
		pos += t
	}
	return rankSum, ties
}

// diff is f(d; z) = W(d) − z with Kayenta's continuity correction.
func (w wilcoxon) diff(d, z float64) (float64, error) {
	nx, ny := float64(len(w.xs)), float64(len(w.ys))
	rankSum, ties := w.rank(d)
	dz := rankSum - nx*(nx+1)/2 - nx*ny/2
	cc := 0.0
	switch {
	case dz > 0:
		cc = 0.5
	case dz < 0:
		cc = -0.5
	}
	sigma := math.Sqrt((nx * ny / 12) * ((nx + ny + 1) - ties/((nx+ny)*(nx+ny-1))))
	if sigma == 0 {
		return 0, fmt.Errorf("mann-whitney at shift %g: %w", d, ErrAllTied)
	}
	return (dz-cc)/sigma - z, nil
}

// MannWhitneyTest computes Kayenta's confidence interval and estimate for the
// location shift experiment − control. Both samples must be non-empty and
// free of NaN and ±Inf. It returns ErrAllTied (wrapped) when σ = 0, which in
// practice means one point per side, and ErrRange (wrapped) when the
// search interval is not finite.
func MannWhitneyTest(control, experiment []float64) (MannWhitney, error) {
	return mannWhitneyTest(control, experiment, zq)
}

// zQuantile returns Φ⁻¹((1 − confLevel)/2): the commons-math constant for
// the judge's level, the inverse error function otherwise (tests use other
// levels to cross-check with Kayenta's own suite).
func zQuantile(confLevel float64) float64 {
	if confLevel == ConfidenceLevel {
		return zq
	}
	return -math.Sqrt2 * math.Erfcinv(1-confLevel)
}

// mannWhitneyTest is MannWhitneyTest for the quantile z = Φ⁻¹(α/2) < 0.
func mannWhitneyTest(control, experiment []float64, z float64) (MannWhitney, error) {
	if len(control) == 0 || len(experiment) == 0 {
		return MannWhitney{}, errors.New("mann-whitney: empty sample")
	}
	w := wilcoxon{xs: slices.Clone(experiment), ys: slices.Clone(control)}
	slices.Sort(w.xs)
	slices.Sort(w.ys)
	res := MannWhitney{
		MuMin: w.xs[0] - w.ys[len(w.ys)-1],
		MuMax: w.xs[len(w.xs)-1] - w.ys[0],
	}
	if math.IsInf(res.MuMin, 0) || math.IsInf(res.MuMax, 0) || math.IsNaN(res.MuMin) || math.IsNaN(res.MuMax) {
		return MannWhitney{}, fmt.Errorf("mann-whitney: search interval [%g, %g]: %w", res.MuMin, res.MuMax, ErrRange)
	}
	var err error
	if res.Lower, err = w.root(res.MuMin, res.MuMax, -z); err != nil {
		return MannWhitney{}, err
	}
	if res.Upper, err = w.root(res.MuMin, res.MuMax, z); err != nil {
		return MannWhitney{}, err
	}
	fa, err := w.diff(res.MuMin, 0)
	if err != nil {
		return MannWhitney{}, err
	}
	fb, err := w.diff(res.MuMax, 0)
	if err != nil {
		return MannWhitney{}, err
	}
	if res.Estimate, err = zeroin(res.MuMin, res.MuMax, fa, fb, func(d float64) (float64, error) { return w.diff(d, 0) }); err != nil {
		return MannWhitney{}, err
	}
	return res, nil
}

// root is R's wilcox.test root(): the end points when W never crosses z
// inside the interval, Brent otherwise.
func (w wilcoxon) root(lo, hi, z float64) (float64, error) {
	fLo, err := w.diff(lo, z)
	if err != nil {
		return 0, err
	}
	fHi, err := w.diff(hi, z)
	if err != nil {
		return 0, err
	}
	if fLo <= 0 {
		return lo, nil
	}
	if fHi >= 0 {
		return hi, nil
	}
	return zeroin(lo, hi, fLo, fHi, func(d float64) (float64, error) { return w.diff(d, z) })
}

// zeroin is R's R_zeroin2 (Brent's method as written by Oleg Keselyov),
// which Kayenta's solver reproduces, with absolute tolerance RootTolerance
// and at most brentMaxPasses passes. The first error from f stops it.
func zeroin(a, b, fa, fb float64, f func(float64) (float64, error)) (float64, error) {
	const tol = RootTolerance
	c, fc := a, fa
	if fa == 0 {
		return a, nil
	}
	if fb == 0 {
		return b, nil
	}
	for range brentMaxPasses {
		prev := b - a
		if math.Abs(fc) < math.Abs(fb) {
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tolAct := 2*brentEPS*math.Abs(b) + tol/2
		step := (c - b) / 2
		if math.Abs(step) <= tolAct || fb == 0 {
			return b, nil
		}
		if math.Abs(prev) >= tolAct && math.Abs(fa) > math.Abs(fb) {
			var p, q float64
			cb := c - b
			if a == c {
				t1 := fb / fa
				p = cb * t1
				q = 1 - t1
			} else {
				q = fa / fc
				t1 := fb / fc
				t2 := fb / fa
				p = t2 * (cb*q*(q-t1) - (b-a)*(t1-1))
				q = (q - 1) * (t1 - 1) * (t2 - 1)
			}
			if p > 0 {
				q = -q
			} else {
				p = -p
			}
			if p < 0.75*cb*q-math.Abs(tolAct*q)/2 && p < math.Abs(prev*q/2) {
				step = p / q
			}
		}
		if math.Abs(step) < tolAct {
			if step > 0 {
				step = tolAct
			} else {
				step = -tolAct
			}
		}
		a, fa = b, fb
		b += step
		var err error
		if fb, err = f(b); err != nil {
			return 0, err
		}
		if (fb > 0 && fc > 0) || (fb < 0 && fc < 0) {
			c, fc = a, fa
		}
	}
	return b, nil
}
