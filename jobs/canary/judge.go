package canary

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// JudgeName is the judge this package ports.
const JudgeName = "NetflixACAJudge-v1.0"

// Summary is the canary's overall label.
type Summary string

// Summary labels.
const (
	SummaryPass     Summary = "Pass"
	SummaryMarginal Summary = "Marginal"
	SummaryFail     Summary = "Fail"
)

// nodataFailPercent is the share of Nodata results that forces a 0 score.
const nodataFailPercent = 50

// Series is the data of one metric: control (baseline) and experiment
// (canary) samples. NaN marks a missing sample.
type Series struct {
	// Metric names the configured metric the samples belong to.
	Metric string
	// Control holds the baseline's samples, Experiment the judged run's.
	Control, Experiment []float64
}

// GroupScore is the score of one metric group.
type GroupScore struct {
	Name string
	// Score is the percentage of the group's counted metrics that passed.
	Score float64
	// NoData is set when no metric of the group was counted (only Nodata
	// or Error results); such a group counts as 100 in the summary.
	NoData bool
}

// Result is a whole judgement (Kayenta's CanaryJudgeResult).
type Result struct {
	// Score is the summary score, 0–100, rounded half-up to 2 decimals.
	Score float64
	// Classification compares Score with the thresholds.
	Classification Summary
	// Reason is "" or "Canary Failed: …" when an override zeroed the score.
	Reason string
	// GroupScores in order of first appearance in Metrics.
	GroupScores []GroupScore
	// Metrics has one result per configured metric, in config order.
	Metrics []MetricResult
}

// Option configures Judge.
type Option func(*judgeOptions)

type judgeOptions struct {
	rng *rand.Rand
}

// WithRand sets the noise source used for degenerate (constant) samples.
// The default is a fixed-seed source created per call, so results are
// reproducible. A *rand.Rand is not safe for concurrent use: do not share
// one between concurrent Judge calls.
func WithRand(r *rand.Rand) Option {
	return func(o *judgeOptions) { o.rng = r }
}

// Judge classifies every metric of cfg with its series and scores the
// canary. A configured metric without a series is judged with no data
// (Nodata). It returns an *InputError (errors.Is ErrInvalidInput) for an
// invalid config or thresholds, a series naming no configured metric, a
// metric given twice, or an infinite sample.
func Judge(cfg Config, th Thresholds, data []Series, opts ...Option) (Result, error) {
	o := judgeOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.rng == nil {
		o.rng = newDefaultRand()
	}
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("canary config: %w", err)
	}
	if err := th.Validate(); err != nil {
		return Result{}, fmt.Errorf("canary thresholds: %w", err)
	}
	index := make(map[string]int, len(cfg.Metrics))
	for i, m := range cfg.Metrics {
		index[m.Name] = i
	}
	bySeries := make([]*Series, len(cfg.Metrics))
	for i := range data {
		s := &data[i]
		j, ok := index[s.Metric]
		if !ok {
			return Result{}, &InputError{Path: fmt.Sprintf("series[%d].metric", i), Msg: fmt.Sprintf("no metric %q in the canary config", s.Metric)}
		}
		if bySeries[j] != nil {
			return Result{}, &InputError{Path: fmt.Sprintf("series[%d].metric", i), Msg: fmt.Sprintf("metric %q given twice", s.Metric)}
		}
		for _, side := range []struct {
			name string
			xs   []float64
		}{{"control", s.Control}, {"experiment", s.Experiment}} {
			for k, x := range side.xs {
				if math.IsInf(x, 0) {
					return Result{}, &InputError{Path: fmt.Sprintf("series[%d].%s[%d]", i, side.name, k), Msg: fmt.Sprintf("must be finite, got %v", x)}
				}
			}
		}
		bySeries[j] = s
	}
	res := Result{Metrics: make([]MetricResult, len(cfg.Metrics))}
	for i, m := range cfg.Metrics {
		var control, experiment []float64
		if s := bySeries[i]; s != nil {
			control, experiment = s.Control, s.Experiment
		}
		res.Metrics[i] = classify(m, control, experiment, o.rng, judgeParams)
	}
	res.GroupScores, res.Score, res.Reason = score(res.Metrics, cfg.GroupWeights)
	res.Classification = th.classify(res.Score)
	return res, nil
}

func (t Thresholds) classify(score float64) Summary {
	switch {
	case score >= t.Pass:
		return SummaryPass
	case score >= t.Marginal:
		return SummaryMarginal
	default:
		return SummaryFail
	}
}

// score implements Kayenta's ScoringHelper and WeightedSumScorer.
func score(results []MetricResult, weights map[string]float64) ([]GroupScore, float64, string) {
	type counts struct{ pass, counted int }
	var order []string
	byGroup := map[string]*counts{}
	var scored, nodata int
	var criticalReason string
	criticalFound := false
	for _, r := range results {
		if r.Muted {
			continue
		}
		scored++
		if r.Classification == Nodata {
			nodata++
		}
		if r.Critical && r.Classification != Pass && !criticalFound {
			criticalFound, criticalReason = true, r.Reason
		}
		for _, g := range r.Groups {
			c, ok := byGroup[g]
			if !ok {
				c = &counts{}
				byGroup[g] = c
				order = append(order, g)
			}
			switch r.Classification {
			case Pass:
				c.pass++
				c.counted++
			case High, Low, NodataFailMetric:
				c.counted++
			}
		}
	}
	groups := make([]GroupScore, len(order))
	for i, g := range order {
		c := byGroup[g]
		gs := GroupScore{Name: g}
		if c.counted == 0 {
			gs.NoData = true
		} else {
			gs.Score = float64(c.pass) / float64(c.counted) * 100
		}
		groups[i] = gs
	}
	if criticalFound {
		return groups, 0, "Canary Failed: " + criticalReason
	}
	if scored > 0 && float64(nodata)/float64(scored)*100 >= nodataFailPercent {
		return groups, 0, "Canary Failed: 50% or more metrics returned NODATA"
	}
	var configured float64
	for _, w := range weights {
		configured += w
	}
	var unweighted int
	for _, g := range order {
		if _, ok := weights[g]; !ok {
			unweighted++
		}
	}
	var sum float64
	for _, gs := range groups {
		w, ok := weights[gs.Name]
		if !ok {
			w = (100 - configured) / float64(unweighted)
		}
		effective := gs.Score
		if gs.NoData {
			effective = 100
		}
		sum += effective * w / 100
	}
	return groups, roundHalfUp2(sum), ""
}

// roundHalfUp2 rounds x to 2 decimals, half away from zero, on the shortest
// decimal form of the double (commons-math Precision.round(x, 2)).
func roundHalfUp2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	s := strconv.FormatFloat(math.Abs(x), 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) <= 2 {
		return x
	}
	digits := []byte(intPart + frac[:2])
	if frac[2] >= '5' {
		// Propagate the carry through the decimal digits.
		i := len(digits) - 1
		for ; i >= 0; i-- {
			if digits[i] == '9' {
				digits[i] = '0'
				continue
			}
			digits[i]++
			break
		}
		if i < 0 {
			digits = append([]byte{'1'}, digits...)
		}
	}
	n := len(digits)
	out, err := strconv.ParseFloat(string(digits[:n-2])+"."+string(digits[n-2:]), 64)
	if err != nil {
		return x // unreachable: digits are always a valid number
	}
	return math.Copysign(out, x)
}

// NotPassed returns the scored (not muted) metric results whose
// classification is not Pass, in config order: High, Low, Nodata,
// NodataFailMetric and Error. Kayenta's score ignores Nodata and Error; a
// controller that stops a machine may want to treat them as failures.
func (r Result) NotPassed() []MetricResult {
	var out []MetricResult
	for _, m := range r.Metrics {
		if !m.Muted && m.Classification != Pass {
			out = append(out, m)
		}
	}
	return out
}
