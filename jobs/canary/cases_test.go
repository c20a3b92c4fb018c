package canary

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// The reference cases in testdata/cases.json (see testdata/README.md).

type caseStats struct {
	Min, Max, Mean, Std float64
	Count               int
}

type caseMetricExpected struct {
	Classification       Classification
	Critical             bool
	ClassificationReason *string
	DecidedBy            string `json:"decided_by"`
	ControlMetadata      struct{ Stats caseStats }
	ExperimentMetadata   struct{ Stats caseStats }
	ResultMetadata       *struct{ Ratio *float64 }
	Muted                bool
}

type caseMannWhitney struct {
	MuMin   float64 `json:"mumin"`
	MuMax   float64 `json:"mumax"`
	Kayenta struct {
		ConfInt  [2]float64 `json:"conf_int"`
		Estimate float64
	}
}

type metricCase struct {
	ID               string
	ClassifierParams struct {
		Tolerance float64
		ConfLevel float64
	} `json:"classifier_params"`
	Input struct {
		MetricName             string
		Control, Experiment    []*float64
		AnalysisConfigurations json.RawMessage
	}
	MannWhitney *caseMannWhitney `json:"mann_whitney"`
	EffectSize  *struct {
		Measure string
		Value   *float64
	} `json:"effect_size"`
	Noise *struct {
		Added           bool
		NoisyControl    []float64 `json:"noisy_control"`
		NoisyExperiment []float64 `json:"noisy_experiment"`
	}
	Expected caseMetricExpected
}

type canaryCase struct {
	ID       string
	Input    json.RawMessage
	Expected struct {
		Results     map[string]caseMetricExpected
		GroupScores map[string]float64
		Score       struct {
			Score          float64
			Classification Summary
		}
	}
}

type caseFile struct {
	MetricCases []metricCase `json:"metric_cases"`
	CanaryCases []canaryCase `json:"canary_cases"`
}

func loadCases(tb testing.TB) caseFile {
	tb.Helper()
	data, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		tb.Fatal(err)
	}
	var cf caseFile
	if err := json.Unmarshal(data, &cf); err != nil {
		tb.Fatalf("parse cases.json: %v", err)
	}
	if len(cf.MetricCases) == 0 || len(cf.CanaryCases) == 0 {
		tb.Fatalf("cases.json: %d metric cases, %d canary cases", len(cf.MetricCases), len(cf.CanaryCases))
	}
	return cf
}

// closeRel reports whether got is within 1e-9 relative of want (absolute
// 1e-12 around zero). NaN equals NaN.
func closeRel(got, want float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	if want == 0 {
		return math.Abs(got) <= 1e-12
	}
	return math.Abs(got-want) <= 1e-9*math.Abs(want)
}

func checkStats(t *testing.T, side string, got Stats, want caseStats) {
	t.Helper()
	if got.Count != want.Count {
		t.Errorf("%s count=%d, want %d", side, got.Count, want.Count)
	}
	for _, f := range []struct {
		name      string
		got, want float64
	}{{"min", got.Min, want.Min}, {"max", got.Max, want.Max}, {"mean", got.Mean, want.Mean}, {"std", got.Std, want.Std}} {
		if !closeRel(f.got, f.want) {
			t.Errorf("%s %s=%.17g, want %.17g", side, f.name, f.got, f.want)
		}
	}
}

// checkMetric compares a result with an expected one; noisy results skip
// the noise-dependent ratio.
func checkMetric(t *testing.T, got MetricResult, want caseMetricExpected, noisy bool) {
	t.Helper()
	if got.Classification != want.Classification {
		t.Errorf("classification=%s, want %s (err %v)", got.Classification, want.Classification, got.Err)
	}
	if got.Critical != want.Critical {
		t.Errorf("critical=%v, want %v", got.Critical, want.Critical)
	}
	wantReason := ""
	if want.ClassificationReason != nil {
		wantReason = *want.ClassificationReason
	}
	if got.Reason != wantReason {
		t.Errorf("reason=%q, want %q", got.Reason, wantReason)
	}
	if want.DecidedBy != "" && string(got.DecidedBy) != want.DecidedBy {
		t.Errorf("decided by %s, want %s", got.DecidedBy, want.DecidedBy)
	}
	if got.Muted != want.Muted {
		t.Errorf("muted=%v, want %v", got.Muted, want.Muted)
	}
	checkStats(t, "control", got.ControlStats, want.ControlMetadata.Stats)
	checkStats(t, "experiment", got.ExperimentStats, want.ExperimentMetadata.Stats)
	if want.ResultMetadata == nil {
		if got.HasRatio {
			t.Errorf("ratio %v reported, want no resultMetadata", got.Ratio)
		}
		return
	}
	if !got.HasRatio {
		t.Fatalf("no ratio, want resultMetadata")
	}
	wantRatio := math.NaN()
	if want.ResultMetadata.Ratio != nil {
		wantRatio = *want.ResultMetadata.Ratio
	}
	if noisy && !math.IsNaN(wantRatio) {
		return
	}
	if !closeRel(got.Ratio, wantRatio) {
		t.Errorf("ratio=%.17g, want %.17g", got.Ratio, wantRatio)
	}
}

func toSamples(xs []*float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.NaN()
		if x != nil {
			out[i] = *x
		}
	}
	return out
}

// metricDocument wraps a metric case in a judgement request, so the cases
// also run through the parser.
func metricDocument(tb testing.TB, c metricCase) Document {
	tb.Helper()
	doc := map[string]any{
		"canaryConfig": map[string]any{"metrics": []any{map[string]any{
			"name": c.Input.MetricName, "groups": []string{"g"},
			"analysisConfigurations": c.Input.AnalysisConfigurations,
			"control":                c.Input.Control, "experiment": c.Input.Experiment,
		}}},
		"scoreThresholds": map[string]any{"pass": 95, "marginal": 75},
	}
	data, err := json.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := ParseDocument(data)
	if err != nil {
		tb.Fatalf("ParseDocument: %v", err)
	}
	if len(d.Warnings) != 0 {
		tb.Errorf("warnings: %v", d.Warnings)
	}
	return d
}

func TestMetricCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).MetricCases {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			doc := metricDocument(t, c)
			cfg := doc.Config.Metrics[0]
			control, experiment := toSamples(c.Input.Control), toSamples(c.Input.Experiment)
			if s := doc.Series[0]; !equalNaN(s.Control, control) || !equalNaN(s.Experiment, experiment) {
				t.Fatalf("parsed series differ from the case's samples")
			}
			noisy := c.Noise != nil && c.Noise.Added
			par := params{confLevel: c.ClassifierParams.ConfLevel, tolerance: c.ClassifierParams.Tolerance}
			got := classify(cfg, control, experiment, newDefaultRand(), par)
			if par == judgeParams {
				if pub := ClassifyMetric(cfg, control, experiment); pub.Classification != got.Classification {
					t.Errorf("ClassifyMetric=%s, classify=%s", pub.Classification, got.Classification)
				}
			}
			checkMetric(t, got, c.Expected, noisy)

			if c.MannWhitney == nil {
				if got.Test != nil {
					t.Errorf("Mann-Whitney ran (%+v), want an early exit", *got.Test)
				}
				return
			}
			mw := got.Test
			if noisy {
				// The oracle's numbers come from its own noise draw:
				// recompute the test on exactly those samples.
				r, err := mannWhitneyTest(c.Noise.NoisyControl, c.Noise.NoisyExperiment, zQuantile(par.confLevel))
				if err != nil {
					t.Fatalf("MannWhitneyTest on the oracle's noisy samples: %v", err)
				}
				mw = &r
			}
			if mw == nil {
				t.Fatalf("no Mann-Whitney result")
			}
			want := c.MannWhitney
			for _, f := range []struct {
				name      string
				got, want float64
			}{
				{"mumin", mw.MuMin, want.MuMin}, {"mumax", mw.MuMax, want.MuMax},
				{"ci lower", mw.Lower, want.Kayenta.ConfInt[0]}, {"ci upper", mw.Upper, want.Kayenta.ConfInt[1]},
				{"estimate", mw.Estimate, want.Kayenta.Estimate},
			} {
				if !closeRel(f.got, f.want) {
					t.Errorf("%s=%.17g, want %.17g", f.name, f.got, f.want)
				}
			}
			if c.EffectSize != nil && !noisy {
				wantEff := math.NaN()
				if c.EffectSize.Value != nil {
					wantEff = *c.EffectSize.Value
				}
				if !closeRel(got.EffectSize, wantEff) {
					t.Errorf("effect size (%s)=%.17g, want %.17g", c.EffectSize.Measure, got.EffectSize, wantEff)
				}
			}
		})
	}
}

// TestNoiseCasesStable checks that the classification of the noise cases
// does not depend on the noise draw (Kayenta's is unseeded).
func TestNoiseCasesStable(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).MetricCases {
		if c.Noise == nil || !c.Noise.Added {
			continue
		}
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			cfg := metricDocument(t, c).Config.Metrics[0]
			for seed := range uint64(200) {
				par := params{confLevel: c.ClassifierParams.ConfLevel, tolerance: c.ClassifierParams.Tolerance}
				got := classify(cfg, toSamples(c.Input.Control), toSamples(c.Input.Experiment), rand.New(rand.NewPCG(seed, 1)), par)
				if got.Classification != c.Expected.Classification || got.Critical != c.Expected.Critical {
					t.Fatalf("seed %d: %s critical=%v, want %s critical=%v", seed, got.Classification, got.Critical, c.Expected.Classification, c.Expected.Critical)
				}
			}
		})
	}
}

func TestCanaryCases(t *testing.T) {
	t.Parallel()
	for _, c := range loadCases(t).CanaryCases {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			doc, err := ParseDocument(c.Input)
			if err != nil {
				t.Fatalf("ParseDocument: %v", err)
			}
			res, err := Judge(doc.Config, doc.Thresholds, doc.Series)
			if err != nil {
				t.Fatalf("Judge: %v", err)
			}
			if res.Score != c.Expected.Score.Score {
				t.Errorf("score=%v, want %v", res.Score, c.Expected.Score.Score)
			}
			if res.Classification != c.Expected.Score.Classification {
				t.Errorf("classification=%s, want %s", res.Classification, c.Expected.Score.Classification)
			}
			gotGroups := map[string]float64{}
			for _, g := range res.GroupScores {
				gotGroups[g.Name] = g.Score
			}
			if fmt.Sprint(gotGroups) != fmt.Sprint(c.Expected.GroupScores) {
				t.Errorf("group scores=%v, want %v", gotGroups, c.Expected.GroupScores)
			}
			if len(res.Metrics) != len(c.Expected.Results) {
				t.Fatalf("%d results, want %d", len(res.Metrics), len(c.Expected.Results))
			}
			for _, m := range res.Metrics {
				want, ok := c.Expected.Results[m.Name]
				if !ok {
					t.Errorf("unexpected result %q", m.Name)
					continue
				}
				t.Run(m.Name, func(t *testing.T) { checkMetric(t, m, want, false) })
			}
		})
	}
}

func equalNaN(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}
