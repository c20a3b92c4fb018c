package canary

import (
	"errors"
	"fmt"
	"math"
)

// Direction says which way a metric may fail.
type Direction string

// Directions. Any other value behaves like DirectionEither, as in Kayenta.
const (
	DirectionIncrease Direction = "increase"
	DirectionDecrease Direction = "decrease"
	DirectionEither   Direction = "either"
)

func (d Direction) resolve() Direction {
	switch d {
	case DirectionIncrease, DirectionDecrease:
		return d
	}
	return DirectionEither
}

// NaNStrategy says what happens to missing (NaN) samples.
type NaNStrategy string

// NaN strategies. Any other value behaves like NaNRemove.
const (
	NaNRemove  NaNStrategy = "remove"
	NaNReplace NaNStrategy = "replace"
)

func (s NaNStrategy) resolve() NaNStrategy {
	if s == NaNReplace {
		return s
	}
	return NaNRemove
}

// OutlierStrategy says whether outliers are removed before the test.
type OutlierStrategy string

// Outlier strategies. Any other value behaves like OutliersKeep.
const (
	OutliersRemove OutlierStrategy = "remove"
	OutliersKeep   OutlierStrategy = "keep"
)

// EffectMeasure selects the effect size the allowed/critical gates use.
type EffectMeasure string

// Effect measures. Any other value behaves like MeasureMeanRatio.
const (
	MeasureMeanRatio EffectMeasure = "meanRatio"
	MeasureCLES      EffectMeasure = "cles"
)

func (m EffectMeasure) resolve() EffectMeasure {
	if m == MeasureCLES {
		return m
	}
	return MeasureMeanRatio
}

// DefaultOutlierFactor is Kayenta's default IQR multiplier.
const DefaultOutlierFactor = 3.0

// EffectSize holds the effect-size gates of a metric
// (analysisConfigurations.canary.effectSize).
type EffectSize struct {
	// Measure is meanRatio (mean(experiment)/mean(control)) or cles.
	Measure EffectMeasure
	// AllowedIncrease: a High needs effect ≥ AllowedIncrease.
	AllowedIncrease float64
	// AllowedDecrease: a Low needs effect ≤ AllowedDecrease.
	AllowedDecrease float64
	// CriticalIncrease: a critical metric's High is critical when effect ≥ this.
	CriticalIncrease float64
	// CriticalDecrease: a critical metric's Low is critical when effect ≤ this.
	CriticalDecrease float64
}

// DefaultEffectSize returns Kayenta's defaults for measure: every gate 1.0
// for meanRatio and 0.5 for cles.
func DefaultEffectSize(measure EffectMeasure) EffectSize {
	v := 1.0
	if measure.resolve() == MeasureCLES {
		v = 0.5
	}
	return EffectSize{Measure: measure, AllowedIncrease: v, AllowedDecrease: v, CriticalIncrease: v, CriticalDecrease: v}
}

// Outliers holds analysisConfigurations.canary.outliers.
type Outliers struct {
	// Strategy is remove or keep.
	Strategy OutlierStrategy
	// Factor is the IQR multiplier; it must be > 0 when Strategy is remove.
	Factor float64
}

// MetricConfig is one metric of a canary config: its name and groups plus
// Kayenta's analysisConfigurations.canary. Build one with NewMetricConfig,
// which fills Kayenta's defaults; the zero value's effect-size gates of 0
// would disable Low detection.
type MetricConfig struct {
	// Name identifies the metric; results and series are matched by it.
	Name string
	// Groups the metric is scored in (it counts in each; none = unscored).
	Groups []string
	// Direction is increase, decrease or either.
	Direction Direction
	// NaNStrategy is remove or replace (NaN → 0).
	NaNStrategy NaNStrategy
	// Critical: a High/Low beyond the critical effect size fails the canary,
	// and so does missing data.
	Critical bool
	// MustHaveData: missing data is NodataFailMetric (counted as a failure)
	// instead of Nodata. Ignored when Critical is set.
	MustHaveData bool
	// Muted results are reported but not scored.
	Muted bool
	// Effect holds the effect-size gates.
	Effect EffectSize
	// Outliers holds the outlier removal settings.
	Outliers Outliers
}

// NewMetricConfig returns a metric config with Kayenta's defaults: direction
// either, NaN removed, outliers kept (factor 3), meanRatio gates of 1.0.
func NewMetricConfig(name string, groups ...string) MetricConfig {
	return MetricConfig{
		Name:        name,
		Groups:      groups,
		Direction:   DirectionEither,
		NaNStrategy: NaNRemove,
		Effect:      DefaultEffectSize(MeasureMeanRatio),
		Outliers:    Outliers{Strategy: OutliersKeep, Factor: DefaultOutlierFactor},
	}
}

// Validate reports configuration that makes Kayenta's whole judgement fail
// (outlier removal with a factor ≤ 0) and values no judgement can use
// (an empty name, non-finite gates).
func (m MetricConfig) Validate() error {
	if m.Name == "" {
		return &InputError{Path: "name", Msg: "must not be empty"}
	}
	if m.Outliers.Strategy == OutliersRemove && !(m.Outliers.Factor > 0) {
		return &InputError{Path: "analysisConfigurations.canary.outliers.outlierFactor",
			Msg: fmt.Sprintf("must be > 0 when strategy is remove, got %v", m.Outliers.Factor)}
	}
	for _, g := range []struct {
		name string
		v    float64
	}{
		{"allowedIncrease", m.Effect.AllowedIncrease}, {"allowedDecrease", m.Effect.AllowedDecrease},
		{"criticalIncrease", m.Effect.CriticalIncrease}, {"criticalDecrease", m.Effect.CriticalDecrease},
	} {
		if math.IsNaN(g.v) || math.IsInf(g.v, 0) {
			return &InputError{Path: "analysisConfigurations.canary.effectSize." + g.name, Msg: fmt.Sprintf("must be a finite number, got %v", g.v)}
		}
	}
	return nil
}

// Config is a canary config: its metrics and the classifier's group
// weights (percentages that should total 100; nothing enforces it).
type Config struct {
	// Name of the config (informational).
	Name string
	// Metrics in the order results are reported.
	Metrics []MetricConfig
	// GroupWeights maps group name to weight. Groups present in results
	// without a weight share what is left of 100 equally.
	GroupWeights map[string]float64
}

// Validate checks every metric, rejects duplicate metric names and
// non-finite weights. Errors are *InputError with the path of the problem.
func (c Config) Validate() error {
	seen := make(map[string]int, len(c.Metrics))
	for i, m := range c.Metrics {
		if err := m.Validate(); err != nil {
			var ie *InputError
			if errors.As(err, &ie) {
				return ie.under(fmt.Sprintf("metrics[%d]", i))
			}
			return fmt.Errorf("metrics[%d]: %w", i, err)
		}
		if j, dup := seen[m.Name]; dup {
			return &InputError{Path: fmt.Sprintf("metrics[%d].name", i), Msg: fmt.Sprintf("duplicate metric name %q (also metrics[%d])", m.Name, j)}
		}
		seen[m.Name] = i
	}
	for g, w := range c.GroupWeights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return &InputError{Path: "classifier.groupWeights." + g, Msg: fmt.Sprintf("must be a finite number, got %v", w)}
		}
	}
	return nil
}

// Thresholds are the score thresholds of a judgement request (not part of
// the canary config): score ≥ Pass is Pass, else score ≥ Marginal is
// Marginal, else Fail.
type Thresholds struct {
	// Pass is the lowest passing score, Marginal the lowest marginal one.
	Pass, Marginal float64
}

// Validate rejects non-finite thresholds.
func (t Thresholds) Validate() error {
	if math.IsNaN(t.Pass) || math.IsInf(t.Pass, 0) {
		return &InputError{Path: "scoreThresholds.pass", Msg: fmt.Sprintf("must be a finite number, got %v", t.Pass)}
	}
	if math.IsNaN(t.Marginal) || math.IsInf(t.Marginal, 0) {
		return &InputError{Path: "scoreThresholds.marginal", Msg: fmt.Sprintf("must be a finite number, got %v", t.Marginal)}
	}
	return nil
}
