package canary

import (
	"errors"
	"math"
	"math/rand/v2"
)

// Classification is a metric's label. The strings are Kayenta's.
type Classification string

// Metric classifications.
const (
	Pass             Classification = "Pass"
	High             Classification = "High"
	Low              Classification = "Low"
	Nodata           Classification = "Nodata"
	NodataFailMetric Classification = "NodataFailMetric"
	Error            Classification = "Error"
)

// Decision says which step of the classification produced the label.
type Decision string

// Decisions, in the order the steps run.
const (
	DecidedEmpty       Decision = "empty-data"
	DecidedIdentical   Decision = "identical-data"
	DecidedSingleValue Decision = "single-distinct-value"
	DecidedMannWhitney Decision = "mann-whitney"
	DecidedError       Decision = "error"
)

// Kayenta's fixed reason strings.
const (
	reasonIdentical       = "The Canary and Baseline data are identical"
	reasonClassifyFailure = "Metric Classification Failed"
)

// noiseFactor scales the Gaussian noise added to constant samples.
const noiseFactor = 1e-5

// MetricResult is the classification of one metric (Kayenta's
// CanaryAnalysisResult plus the test's numbers for reports).
type MetricResult struct {
	// Name and Groups come from the metric's config.
	Name   string
	Groups []string
	// Classification is the label; Reason is Kayenta's classificationReason
	// ("" when Kayenta leaves it null).
	Classification Classification
	Reason         string
	// Critical is set for a critical High/Low beyond the critical effect
	// size, and for a critical metric without data.
	Critical bool
	// Muted results take no part in scoring.
	Muted bool
	// ControlStats and ExperimentStats describe the transformed series.
	ControlStats, ExperimentStats Stats
	// Ratio is mean(experiment)/mean(control) (NaN if either mean is 0;
	// 1 for the early exits). HasRatio is false for Error results, which
	// carry no resultMetadata.
	Ratio    float64
	HasRatio bool
	// EffectSize is the value of the configured measure (NaN if not reached).
	EffectSize float64
	// Test is the Mann-Whitney outcome when that step decided.
	Test *MannWhitney
	// DecidedBy names the step that produced the classification.
	DecidedBy Decision
	// Err is the cause of an Error classification.
	Err error
}

// ClassifyMetric classifies one metric with a noise source seeded with a
// fixed seed, so that the same input always gives the same numbers. The
// classification itself does not depend on the noise. Samples may contain
// NaN (missing points); ±Inf gives Error.
func ClassifyMetric(cfg MetricConfig, control, experiment []float64) MetricResult {
	return classify(cfg, control, experiment, newDefaultRand(), judgeParams)
}

// params are the classifier constants; NetflixACAJudge always uses
// judgeParams.
type params struct {
	confLevel, tolerance float64
}

var judgeParams = params{confLevel: ConfidenceLevel, tolerance: Tolerance}

// newDefaultRand returns the noise source used when none is injected.
func newDefaultRand() *rand.Rand { return rand.New(rand.NewPCG(0x6b657266, 0x63616e61)) }

func classify(cfg MetricConfig, controlIn, experimentIn []float64, rng *rand.Rand, par params) MetricResult {
	res := MetricResult{
		Name: cfg.Name, Groups: cfg.Groups, Muted: cfg.Muted,
		EffectSize: math.NaN(), Ratio: 1, HasRatio: true,
	}
	fail := func(err error) MetricResult {
		res.Classification, res.Reason, res.Critical = Error, reasonClassifyFailure, false
		res.HasRatio, res.Ratio, res.Test, res.DecidedBy, res.Err = false, math.NaN(), nil, DecidedError, err
		return res
	}
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	if hasInf(controlIn) || hasInf(experimentIn) {
		return fail(errors.New("infinite sample"))
	}

	// 3.1 transform each side on its own.
	nan := cfg.NaNStrategy.resolve()
	control := applyNaNStrategy(controlIn, nan)
	experiment := applyNaNStrategy(experimentIn, nan)
	if cfg.Outliers.Strategy == OutliersRemove {
		control = removeOutliers(control, cfg.Outliers.Factor)
		experiment = removeOutliers(experiment, cfg.Outliers.Factor)
	}
	// 3.2 statistics of the transformed series.
	res.ControlStats, res.ExperimentStats = describe(control), describe(experiment)

	// 3.3 early exits.
	switch {
	case len(control) == 0 || len(experiment) == 0:
		res.DecidedBy = DecidedEmpty
		if nan == NaNReplace {
			res.Classification = Pass
			return res
		}
		res.Reason = "Missing data for " + cfg.Name
		if cfg.MustHaveData && !cfg.Critical {
			res.Classification = NodataFailMetric
			return res
		}
		res.Classification, res.Critical = Nodata, cfg.Critical
		return res
	case identical(control, experiment):
		res.Classification, res.Reason, res.DecidedBy = Pass, reasonIdentical, DecidedIdentical
		return res
	}
	cv, cSingle := singleValue(control)
	ev, eSingle := singleValue(experiment)
	if cSingle && eSingle && cv == ev {
		res.Classification, res.DecidedBy = Pass, DecidedSingleValue
		return res
	}

	// 3.4 degenerate data: noise on both sides (a zero side stays zero).
	if cSingle && eSingle {
		control = addNoise(control, cv*noiseFactor, rng)
		experiment = addNoise(experiment, ev*noiseFactor, rng)
	}

	// 3.5 Mann-Whitney.
	mw, err := mannWhitneyTest(control, experiment, zQuantile(par.confLevel))
	if err != nil {
		return fail(err)
	}
	res.Test, res.DecidedBy = &mw, DecidedMannWhitney

	// 3.6 effect size and ratio (on the noisy arrays if noise was added).
	res.Ratio = meanRatio(control, experiment)
	if cfg.Effect.Measure.resolve() == MeasureCLES {
		res.EffectSize = cles(control, experiment)
	} else {
		res.EffectSize = res.Ratio
	}
	eff, es := res.EffectSize, cfg.Effect
	effNaN := math.IsNaN(eff)

	// 3.7 High / Low.
	bound := par.tolerance * math.Abs(mw.Estimate)
	dir := cfg.Direction.resolve()
	isHigh := (dir == DirectionIncrease || dir == DirectionEither) && mw.Lower > bound && (effNaN || eff >= es.AllowedIncrease)
	isLow := (dir == DirectionDecrease || dir == DirectionEither) && mw.Upper < -bound && (effNaN || eff <= es.AllowedDecrease)
	switch {
	case isHigh:
		res.Classification = High
		if cfg.Critical && (effNaN || eff >= es.CriticalIncrease) {
			res.Critical = true
			res.Reason = "The metric " + cfg.Name + " was classified as High (Critical)"
		} else {
			res.Reason = cfg.Name + " was classified as High"
		}
	case isLow:
		res.Classification = Low
		if cfg.Critical && (effNaN || eff <= es.CriticalDecrease) {
			res.Critical = true
			res.Reason = "The metric " + cfg.Name + " was classified as Low (Critical)"
		} else {
			res.Reason = cfg.Name + " was classified as Low"
		}
	default:
		res.Classification = Pass
	}
	return res
}

func hasInf(xs []float64) bool {
	for _, x := range xs {
		if math.IsInf(x, 0) {
			return true
		}
	}
	return false
}

// addNoise returns xs with N(0, sd²) noise added to every point; sd = 0
// leaves the values exactly as they are.
func addNoise(xs []float64, sd float64, rng *rand.Rand) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		if sd == 0 {
			out[i] = x
			continue
		}
		out[i] = x + rng.NormFloat64()*sd
	}
	return out
}
