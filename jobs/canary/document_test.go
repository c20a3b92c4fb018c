package canary

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// doc builds a judgement request around a metrics array.
func doc(metrics string) string {
	return `{"canaryConfig": {"metrics": ` + metrics + `, "classifier": {"groupWeights": {"g": 100}}},
 "scoreThresholds": {"pass": 95, "marginal": 75}}`
}

const okMetric = `{"name": "m", "groups": ["g"], "analysisConfigurations": {"canary": {}}, "control": [1, 2], "experiment": [3, null]}`

func TestParseDocumentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"boolean given as a string", doc(`[` + okMetric + `, {"name": "a"}, {"name": "b", "analysisConfigurations": {"canary": {"critical": "true"}}}]`),
			`canaryConfig.metrics[2].analysisConfigurations.canary.critical: must be a boolean, got "true"`},
		{"muted as a number", doc(`[{"name": "a", "analysisConfigurations": {"canary": {"muted": 1}}}]`),
			`canaryConfig.metrics[0].analysisConfigurations.canary.muted: must be a boolean, got 1`},
		{"sample not a number", doc(`[{"name": "a", "control": [1, "x"], "experiment": []}]`),
			`canaryConfig.metrics[0].control[1]: must be a number or null, got "x"`},
		{"samples not an array", doc(`[{"name": "a", "control": 5, "experiment": []}]`),
			`canaryConfig.metrics[0].control: must be an array of numbers and nulls, got 5`},
		{"sample out of range", doc(`[{"name": "a", "control": [1e999], "experiment": []}]`),
			`canaryConfig.metrics[0].control[0]: number 1e999 is out of range`},
		{"metrics not an array", `{"canaryConfig": {"metrics": {}}, "scoreThresholds": {"pass": 1, "marginal": 1}}`,
			`canaryConfig.metrics: must be an array, got an object`},
		{"metrics missing", `{"canaryConfig": {}, "scoreThresholds": {"pass": 1, "marginal": 1}}`,
			`canaryConfig.metrics: required array is missing`},
		{"metric not an object", doc(`[[]]`), `canaryConfig.metrics[0]: must be an object, got an array`},
		{"metric name missing", doc(`[{"groups": ["g"]}]`), `canaryConfig.metrics[0].name: required non-empty string is missing`},
		{"metric name a number", doc(`[{"name": 7}]`), `canaryConfig.metrics[0].name: must be a string, got 7`},
		{"duplicate metric name", doc(`[{"name": "a"}, {"name": "a"}]`), `canaryConfig.metrics[1].name: duplicate metric name "a" (also canaryConfig.metrics[0])`},
		{"group not a string", doc(`[{"name": "a", "groups": ["g", 2]}]`), `canaryConfig.metrics[0].groups[1]: must be a string, got 2`},
		{"direction not a string", doc(`[{"name": "a", "analysisConfigurations": {"canary": {"direction": true}}}]`),
			`canaryConfig.metrics[0].analysisConfigurations.canary.direction: must be a string, got true`},
		{"canary not an object", doc(`[{"name": "a", "analysisConfigurations": {"canary": "x"}}]`),
			`canaryConfig.metrics[0].analysisConfigurations.canary: must be an object, got "x"`},
		{"effect size as a string", doc(`[{"name": "a", "analysisConfigurations": {"canary": {"effectSize": {"allowedIncrease": "1.1"}}}}]`),
			`canaryConfig.metrics[0].analysisConfigurations.canary.effectSize.allowedIncrease: must be a number, got "1.1"`},
		{"outlier factor zero with remove", doc(`[{"name": "a", "analysisConfigurations": {"canary": {"outliers": {"strategy": "remove", "outlierFactor": 0}}}}]`),
			`canaryConfig.metrics[0].analysisConfigurations.canary.outliers.outlierFactor: must be > 0 when strategy is remove, got 0 (Kayenta fails the whole judgement)`},
		{"group weight a string", `{"canaryConfig": {"metrics": [], "classifier": {"groupWeights": {"g": "50"}}}, "scoreThresholds": {"pass": 1, "marginal": 1}}`,
			`canaryConfig.classifier.groupWeights.g: must be a number, got "50"`},
		{"classifier not an object", `{"canaryConfig": {"metrics": [], "classifier": []}, "scoreThresholds": {"pass": 1, "marginal": 1}}`,
			`canaryConfig.classifier: must be an object, got an array`},
		{"thresholds missing", `{"canaryConfig": {"metrics": []}}`, `scoreThresholds: required`},
		{"config missing", `{"scoreThresholds": {"pass": 1, "marginal": 1}}`, `canaryConfig: required`},
		{"pass threshold a string", `{"canaryConfig": {"metrics": []}, "scoreThresholds": {"pass": "95", "marginal": 1}}`,
			`scoreThresholds.pass: must be a number, got "95"`},
		{"marginal threshold missing", `{"canaryConfig": {"metrics": []}, "scoreThresholds": {"pass": 95}}`,
			`scoreThresholds.marginal: required number is missing`},
		{"document not an object", `[1]`, `(document): must be an object, got an array`},
		{"syntax error", "{\n  \"canaryConfig\": ,\n}", `line 2, column 19: invalid JSON: invalid character ',' looking for beginning of value`},
		{"truncated", "{\"canaryConfig\": {", `line 1, column 19: invalid JSON: unexpected end of input`},
		{"trailing data", `{"canaryConfig": {"metrics": []}, "scoreThresholds": {"pass": 1, "marginal": 1}} {}`,
			`line 1, column 82: unexpected data after the JSON document`},
		{"empty", ``, `line 1, column 1: empty input: expected a JSON document`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseDocument([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("err=%q\nwant %q", err, tt.want)
			}
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err %T is not an *InputError", err)
			}
		})
	}
}

func TestParseDocument(t *testing.T) {
	t.Parallel()
	d, err := ParseDocument([]byte(`{
 "canaryConfig": {
  "name": "c", "configVersion": "1", "applications": ["x"], "templates": {},
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "metrics": [
   {"name": "a", "groups": ["g", "h"], "query": {"type": "kerf"}, "scopeName": "default",
    "analysisConfigurations": {"canary": {"direction": "increase", "nanStrategy": "replace", "critical": true,
      "mustHaveData": true, "muted": false,
      "effectSize": {"measure": "cles", "allowedIncrease": 0.7},
      "outliers": {"strategy": "remove", "outlierFactor": 2}}},
    "control": [1, null, 2.5], "experiment": []},
   {"name": "b", "analysisConfigurations": {"canary": {"critical": null}}, "control": [1]}
  ],
  "classifier": {"groupWeights": {"g": 60, "h": 40}}},
 "scoreThresholds": {"pass": 95, "marginal": 75.5}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) != 0 {
		t.Errorf("warnings: %q", d.Warnings)
	}
	a := d.Config.Metrics[0]
	wantA := MetricConfig{
		Name: "a", Groups: []string{"g", "h"}, Direction: DirectionIncrease, NaNStrategy: NaNReplace,
		Critical: true, MustHaveData: true,
		Effect:   EffectSize{Measure: MeasureCLES, AllowedIncrease: 0.7, AllowedDecrease: 0.5, CriticalIncrease: 0.5, CriticalDecrease: 0.5},
		Outliers: Outliers{Strategy: OutliersRemove, Factor: 2},
	}
	if a.Name != wantA.Name || !slices.Equal(a.Groups, wantA.Groups) || a.Direction != wantA.Direction ||
		a.NaNStrategy != wantA.NaNStrategy || a.Critical != wantA.Critical || a.MustHaveData != wantA.MustHaveData ||
		a.Muted || a.Effect != wantA.Effect || a.Outliers != wantA.Outliers {
		t.Errorf("metric a=%+v\nwant %+v", a, wantA)
	}
	b := d.Config.Metrics[1]
	if want := NewMetricConfig("b"); b.Critical || b.Effect != want.Effect || b.Outliers != want.Outliers || b.Direction != want.Direction {
		t.Errorf("metric b=%+v, want defaults %+v", b, want)
	}
	if d.Config.Name != "c" || d.Config.GroupWeights["g"] != 60 || d.Config.GroupWeights["h"] != 40 {
		t.Errorf("config=%+v", d.Config)
	}
	if d.Thresholds != (Thresholds{Pass: 95, Marginal: 75.5}) {
		t.Errorf("thresholds=%+v", d.Thresholds)
	}
	if len(d.Series) != 2 || d.Series[0].Metric != "a" || len(d.Series[0].Control) != 3 || !math.IsNaN(d.Series[0].Control[1]) ||
		len(d.Series[0].Experiment) != 0 || d.Series[1].Experiment != nil {
		t.Errorf("series=%+v", d.Series)
	}
}

func TestParseDocumentWarnings(t *testing.T) {
	t.Parallel()
	d, err := ParseDocument([]byte(`{"canaryConfig": {"metrics": [
  {"name": "a", "analysisConfigurations": {"canary": {"critcal": true, "direction": "up",
     "effectSize": {"measure": "ratio"}, "outliers": {"strategy": "drop"}}}, "control": [1], "experiment": [1]},
  {"name": "b"}],
 "judge": {"name": "OtherJudge"},
 "classifier": {"groupWeights": {"g": 60}, "scoreThresholds": {"pass": 1}}},
 "scoreThresholds": {"pass": 50, "marginal": 75}, "extra": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`extra: unknown key, ignored`,
		`canaryConfig.judge.name: judge "OtherJudge" requested; judging with NetflixACAJudge-v1.0`,
		`canaryConfig.metrics[0].analysisConfigurations.canary.critcal: unknown key, ignored`,
		`canaryConfig.metrics[0].analysisConfigurations.canary.direction: unrecognised value "up" (expected one of increase, decrease, either); Kayenta treats it as "either"`,
		`canaryConfig.metrics[0].analysisConfigurations.canary.effectSize.measure: unrecognised value "ratio" (expected one of meanRatio, cles); Kayenta treats it as "meanRatio"`,
		`canaryConfig.metrics[0].analysisConfigurations.canary.outliers.strategy: unrecognised value "drop" (expected one of remove, keep); Kayenta treats it as "keep"`,
		`canaryConfig.metrics[1]: no control or experiment samples; b is judged without data`,
		`canaryConfig.classifier.scoreThresholds: ignored: the judge takes thresholds from the request's scoreThresholds`,
		`canaryConfig.classifier.groupWeights: weights total 60, not 100`,
		`scoreThresholds: marginal (75) is above pass (50): no score can be Marginal`,
	}
	if !slices.Equal(d.Warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(d.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if m := d.Config.Metrics[0]; m.Critical || m.Direction != DirectionEither || m.Outliers.Strategy != OutliersKeep || m.Effect.Measure != MeasureMeanRatio {
		t.Errorf("fallbacks not applied: %+v", m)
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	cfg, warnings, err := ParseConfig([]byte(`{"metrics": [{"name": "a", "control": [1]}], "classifier": {"groupWeights": {"g": 100}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Metrics) != 1 || !slices.Equal(warnings, []string{"metrics[0].control: unknown key, ignored"}) {
		t.Errorf("cfg=%+v warnings=%q", cfg, warnings)
	}
	_, _, err = ParseConfig([]byte(`{"metrics": [{"name": "a", "analysisConfigurations": {"canary": {"critical": "yes"}}}]}`))
	if err == nil || err.Error() != `metrics[0].analysisConfigurations.canary.critical: must be a boolean, got "yes"` {
		t.Errorf("err=%v", err)
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg, th, err := DefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDocument([]byte(defaultDocument))
	if err != nil || len(d.Series) != 0 {
		t.Fatalf("default document: err=%v series=%d", err, len(d.Series))
	}
	for _, w := range d.Warnings {
		// The only expected warnings: the default carries no samples.
		if !strings.Contains(w, "no control or experiment samples") {
			t.Errorf("default document warning: %s", w)
		}
	}
	var names []string
	for _, m := range cfg.Metrics {
		names = append(names, m.Name)
	}
	wantNames := []string{"feed_ratio", "segment_duration_ms", "window_duration_ms", "planner_fill", "spindle_on_mismatch", "router_sense_latency_ms", "z_drift_um", "alarm_error_count"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("metrics=%v, want %v", names, wantNames)
	}
	if z, ok := cfg.Metric("z_drift_um"); !ok || !z.Critical || z.Direction != DirectionIncrease {
		t.Errorf("z_drift_um=%+v, want critical increase", z)
	}
	var total float64
	for _, w := range cfg.GroupWeights {
		total += w
	}
	if total != 100 || th != (Thresholds{Pass: 90, Marginal: 70}) {
		t.Errorf("weights total %v, thresholds %+v", total, th)
	}
	without := cfg.Without("z_drift_um")
	if _, ok := without.Metric("z_drift_um"); ok || len(without.Metrics) != len(cfg.Metrics)-1 {
		t.Errorf("Without kept z_drift_um: %+v", without.Metrics)
	}
	without.GroupWeights["z"] = 0
	if cfg.GroupWeights["z"] != 15 {
		t.Errorf("Without shares the weights map with the original")
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cf struct {
		CanaryCases []struct{ Input json.RawMessage } `json:"canary_cases"`
	}
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	d, err := ParseDocument(cf.CanaryCases[1].Input)
	if err != nil {
		t.Fatal(err)
	}
	// Add a metric that ends in Error and one with a NaN ratio.
	d.Config.Metrics = append(d.Config.Metrics, NewMetricConfig("one_each", "extra"), NewMetricConfig("zero", "extra"))
	d.Series = append(d.Series, Series{Metric: "one_each", Control: []float64{1}, Experiment: []float64{2}},
		Series{Metric: "zero", Control: []float64{5, 6, 7}, Experiment: []float64{0, 0, 0}})
	res, err := Judge(d.Config, d.Thresholds, d.Series)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		JudgeName string
		Score     struct {
			Score                float64
			Classification       string
			ClassificationReason *string
		}
		GroupScores map[string]float64
		Results     map[string]struct {
			Classification       string
			ClassificationReason *string
			Critical, Muted      bool
			ControlMetadata      struct{ Stats map[string]float64 }
			ResultMetadata       *struct{ Ratio *float64 }
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.JudgeName != JudgeName || got.Score.Classification != string(res.Classification) || got.Score.ClassificationReason == nil {
		t.Errorf("score=%+v judge=%q", got.Score, got.JudgeName)
	}
	if len(got.GroupScores) != len(res.GroupScores) || len(got.Results) != len(res.Metrics) {
		t.Errorf("%d groups, %d results", len(got.GroupScores), len(got.Results))
	}
	if r := got.Results["one_each"]; r.Classification != "Error" || r.ResultMetadata != nil || *r.ClassificationReason != "Metric Classification Failed" {
		t.Errorf("Error result=%+v", r)
	}
	if r := got.Results["zero"]; r.ResultMetadata == nil || r.ResultMetadata.Ratio != nil {
		t.Errorf("NaN ratio not written as null: %+v", r)
	}
	if r := got.Results["spindle_vibration"]; r.ClassificationReason != nil || r.ControlMetadata.Stats["count"] != 60 {
		t.Errorf("Pass result=%+v", r)
	}
	if r := got.Results["axis_temp"]; !r.Muted {
		t.Errorf("muted flag lost: %+v", r)
	}
}
