package canary

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Document is an offline judgement request, the input of
// `kerf canary judge`: a Kayenta canary config whose metrics also carry
// their samples, plus the score thresholds.
//
//	{"canaryConfig": {"metrics": [{"name": "…", "groups": ["…"],
//	   "analysisConfigurations": {"canary": {…}},
//	   "control": [1.5, null, …], "experiment": […]}],
//	  "classifier": {"groupWeights": {"…": 60}}},
//	 "scoreThresholds": {"pass": 95, "marginal": 75}}
//
// JSON null in control/experiment is a missing sample (NaN).
type Document struct {
	// Config is the canary config.
	Config Config
	// Thresholds are the request's score thresholds.
	Thresholds Thresholds
	// Series holds the samples of every metric that carried a control or an
	// experiment array.
	Series []Series
	// Warnings list input Kayenta accepts silently but that is probably a
	// mistake: unknown keys, unrecognised option strings (and the value
	// Kayenta falls back to), group weights not totalling 100. Each starts
	// with the JSON path it concerns.
	Warnings []string
}

// ParseDocument parses and validates a judgement request. Every problem is
// reported as an *InputError carrying the JSON path of the offending value
// (or the line and column of a syntax error).
func ParseDocument(data []byte) (Document, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return Document{}, err
	}
	p := &parser{}
	top, err := p.object(root, "")
	if err != nil {
		return Document{}, err
	}
	p.knownKeys(top, "", "canaryConfig", "scoreThresholds")
	var doc Document
	cc, ok := top["canaryConfig"]
	if !ok {
		return Document{}, &InputError{Path: "canaryConfig", Msg: "required"}
	}
	if doc.Config, doc.Series, err = p.config(cc, "canaryConfig", true); err != nil {
		return Document{}, err
	}
	st, ok := top["scoreThresholds"]
	if !ok {
		return Document{}, &InputError{Path: "scoreThresholds", Msg: "required"}
	}
	if doc.Thresholds, err = p.thresholds(st, "scoreThresholds"); err != nil {
		return Document{}, err
	}
	doc.Warnings = p.warnings
	return doc, nil
}

// ParseConfig parses and validates a bare Kayenta canary config (no
// samples, no thresholds), such as a per-job override. Paths in errors and
// warnings are relative to the config object.
func ParseConfig(data []byte) (Config, []string, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return Config{}, nil, err
	}
	p := &parser{}
	cfg, _, err := p.config(root, "", false)
	if err != nil {
		return Config{}, nil, err
	}
	return cfg, p.warnings, nil
}

// decodeJSON decodes exactly one JSON value, keeping numbers as text.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, syntaxError(data, dec, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		for end < int64(len(data)) && strings.IndexByte(" \t\r\n", data[end]) >= 0 {
			end++
		}
		line, col := lineColumn(data, end)
		return nil, &InputError{Line: line, Column: col, Msg: "unexpected data after the JSON document"}
	}
	return v, nil
}

func syntaxError(data []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	off := dec.InputOffset()
	msg := err.Error()
	switch {
	case errors.As(err, &se):
		off = se.Offset - 1 // Offset counts the offending byte
		msg = "invalid JSON: " + se.Error()
	case errors.Is(err, io.EOF):
		return &InputError{Line: 1, Column: 1, Msg: "empty input: expected a JSON document"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		off = int64(len(data))
		msg = "invalid JSON: unexpected end of input"
	}
	line, col := lineColumn(data, off)
	return &InputError{Line: line, Column: col, Msg: msg}
}

// lineColumn returns the 1-based line and column of the byte at index off
// (off = len(data) is just past the end).
func lineColumn(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// parser walks a decoded JSON tree and collects warnings.
type parser struct {
	warnings []string
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (p *parser) warnf(path, format string, args ...any) {
	p.warnings = append(p.warnings, path+": "+fmt.Sprintf(format, args...))
}

// knownKeys warns about keys of m that are not in known, in sorted order.
func (p *parser) knownKeys(m map[string]any, path string, known ...string) {
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		p.warnf(join(path, k), "unknown key, ignored")
	}
}

// describeJSON renders a decoded value for an error message.
func describeJSON(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case json.Number:
		return t.String()
	case string:
		if len(t) > 40 {
			t = t[:40] + "…"
		}
		return strconv.Quote(t)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func typeErr(path, want string, v any) error {
	return &InputError{Path: path, Msg: fmt.Sprintf("must be %s, got %s", want, describeJSON(v))}
}

func (p *parser) object(v any, path string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, typeErr(pathOrRoot(path), "an object", v)
	}
	return m, nil
}

func pathOrRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

// optObject returns m[key] as an object, or nil when absent or null.
func (p *parser) optObject(m map[string]any, key, path string) (map[string]any, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	return p.object(v, join(path, key))
}

func number(v any, path string) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, typeErr(path, "a number", v)
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, &InputError{Path: path, Msg: fmt.Sprintf("number %s is out of range", n)}
	}
	return f, nil
}

// optNumber sets *dst from m[key] when present and not null.
func (p *parser) optNumber(m map[string]any, key, path string, dst *float64) error {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	f, err := number(v, join(path, key))
	if err != nil {
		return err
	}
	*dst = f
	return nil
}

func (p *parser) reqNumber(m map[string]any, key, path string) (float64, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, &InputError{Path: join(path, key), Msg: "required number is missing"}
	}
	return number(v, join(path, key))
}

// optBool sets *dst from m[key] when present and not null. Strings such as
// "true" are errors: Kayenta's cast fails and the whole judgement with it.
func (p *parser) optBool(m map[string]any, key, path string, dst *bool) error {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		return typeErr(join(path, key), "a boolean", v)
	}
	*dst = b
	return nil
}

func (p *parser) optString(m map[string]any, key, path string) (string, bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, typeErr(join(path, key), "a string", v)
	}
	return s, true, nil
}

// enum reads a Kayenta option string. Unrecognised values fall back as in
// Kayenta (case-sensitive matching), with a warning.
func (p *parser) enum(m map[string]any, key, path string, allowed []string, fallback string) (string, error) {
	s, ok, err := p.optString(m, key, path)
	if err != nil || !ok {
		return fallback, err
	}
	if slices.Contains(allowed, s) {
		return s, nil
	}
	p.warnf(join(path, key), "unrecognised value %q (expected one of %s); Kayenta treats it as %q", s, strings.Join(allowed, ", "), fallback)
	return fallback, nil
}

// config parses a canary config at path; with data, metrics may carry
// control/experiment samples, returned as series.
func (p *parser) config(v any, path string, data bool) (Config, []Series, error) {
	m, err := p.object(v, path)
	if err != nil {
		return Config{}, nil, err
	}
	p.knownKeys(m, path, "id", "name", "description", "configVersion", "applications", "judge",
		"metrics", "templates", "classifier", "createdTimestamp", "updatedTimestamp",
		"createdTimestampIso", "updatedTimestampIso")
	var cfg Config
	if cfg.Name, _, err = p.optString(m, "name", path); err != nil {
		return Config{}, nil, err
	}
	judge, err := p.optObject(m, "judge", path)
	if err != nil {
		return Config{}, nil, err
	}
	if judge != nil {
		name, ok, err := p.optString(judge, "name", join(path, "judge"))
		if err != nil {
			return Config{}, nil, err
		}
		if ok && name != JudgeName {
			p.warnf(join(path, "judge.name"), "judge %q requested; judging with %s", name, JudgeName)
		}
	}
	rawMetrics, ok := m["metrics"]
	if !ok {
		return Config{}, nil, &InputError{Path: join(path, "metrics"), Msg: "required array is missing"}
	}
	list, ok := rawMetrics.([]any)
	if !ok {
		return Config{}, nil, typeErr(join(path, "metrics"), "an array", rawMetrics)
	}
	var series []Series
	seen := map[string]int{}
	for i, raw := range list {
		mpath := fmt.Sprintf("%s[%d]", join(path, "metrics"), i)
		mc, s, err := p.metric(raw, mpath, data)
		if err != nil {
			return Config{}, nil, err
		}
		if j, dup := seen[mc.Name]; dup {
			return Config{}, nil, &InputError{Path: join(mpath, "name"), Msg: fmt.Sprintf("duplicate metric name %q (also %s[%d])", mc.Name, join(path, "metrics"), j)}
		}
		seen[mc.Name] = i
		cfg.Metrics = append(cfg.Metrics, mc)
		if s != nil {
			series = append(series, *s)
		}
	}
	if cfg.GroupWeights, err = p.classifier(m, path); err != nil {
		return Config{}, nil, err
	}
	if err := cfg.Validate(); err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return Config{}, nil, ie.under(path)
		}
		return Config{}, nil, fmt.Errorf("%s: %w", pathOrRoot(path), err)
	}
	return cfg, series, nil
}

func (p *parser) classifier(m map[string]any, path string) (map[string]float64, error) {
	cl, err := p.optObject(m, "classifier", path)
	if err != nil || cl == nil {
		return nil, err
	}
	cpath := join(path, "classifier")
	p.knownKeys(cl, cpath, "groupWeights", "scoreThresholds")
	if _, ok := cl["scoreThresholds"]; ok {
		p.warnf(join(cpath, "scoreThresholds"), "ignored: the judge takes thresholds from the request's scoreThresholds")
	}
	gw, err := p.optObject(cl, "groupWeights", cpath)
	if err != nil || gw == nil {
		return nil, err
	}
	weights := make(map[string]float64, len(gw))
	var total float64
	names := make([]string, 0, len(gw))
	for g := range gw {
		names = append(names, g)
	}
	slices.Sort(names)
	for _, g := range names {
		w, err := number(gw[g], join(cpath, "groupWeights."+g))
		if err != nil {
			return nil, err
		}
		weights[g] = w
		total += w
	}
	if len(weights) > 0 && math.Abs(total-100) > 1e-9 {
		p.warnf(join(cpath, "groupWeights"), "weights total %g, not 100", total)
	}
	return weights, nil
}

func (p *parser) metric(v any, path string, data bool) (MetricConfig, *Series, error) {
	m, err := p.object(v, path)
	if err != nil {
		return MetricConfig{}, nil, err
	}
	known := []string{"name", "query", "groups", "scopeName", "analysisConfigurations"}
	if data {
		known = append(known, "control", "experiment")
	}
	p.knownKeys(m, path, known...)
	name, ok, err := p.optString(m, "name", path)
	if err != nil {
		return MetricConfig{}, nil, err
	}
	if !ok || name == "" {
		return MetricConfig{}, nil, &InputError{Path: join(path, "name"), Msg: "required non-empty string is missing"}
	}
	mc := NewMetricConfig(name)
	if g, ok := m["groups"]; ok && g != nil {
		list, ok := g.([]any)
		if !ok {
			return MetricConfig{}, nil, typeErr(join(path, "groups"), "an array of strings", g)
		}
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				return MetricConfig{}, nil, typeErr(fmt.Sprintf("%s[%d]", join(path, "groups"), i), "a string", e)
			}
			mc.Groups = append(mc.Groups, s)
		}
	}
	if _, _, err := p.optString(m, "scopeName", path); err != nil {
		return MetricConfig{}, nil, err
	}
	if _, err := p.optObject(m, "query", path); err != nil {
		return MetricConfig{}, nil, err
	}
	ac, err := p.optObject(m, "analysisConfigurations", path)
	if err != nil {
		return MetricConfig{}, nil, err
	}
	if ac != nil {
		canary, err := p.optObject(ac, "canary", join(path, "analysisConfigurations"))
		if err != nil {
			return MetricConfig{}, nil, err
		}
		if canary != nil {
			if err := p.canary(canary, join(path, "analysisConfigurations.canary"), &mc); err != nil {
				return MetricConfig{}, nil, err
			}
		}
	}
	if !data {
		return mc, nil, nil
	}
	c, hasC := m["control"]
	e, hasE := m["experiment"]
	if !hasC && !hasE {
		p.warnf(path, "no control or experiment samples; %s is judged without data", name)
		return mc, nil, nil
	}
	s := &Series{Metric: name}
	if s.Control, err = samples(c, join(path, "control")); err != nil {
		return MetricConfig{}, nil, err
	}
	if s.Experiment, err = samples(e, join(path, "experiment")); err != nil {
		return MetricConfig{}, nil, err
	}
	return mc, s, nil
}

// samples parses an array of numbers and nulls (NaN). Absent or null
// means no samples.
func samples(v any, path string) ([]float64, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, typeErr(path, "an array of numbers and nulls", v)
	}
	out := make([]float64, len(list))
	for i, e := range list {
		if e == nil {
			out[i] = math.NaN()
			continue
		}
		n, ok := e.(json.Number)
		if !ok {
			return nil, typeErr(fmt.Sprintf("%s[%d]", path, i), "a number or null", e)
		}
		f, err := number(n, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// canary parses analysisConfigurations.canary into mc.
func (p *parser) canary(m map[string]any, path string, mc *MetricConfig) error {
	p.knownKeys(m, path, "direction", "nanStrategy", "critical", "mustHaveData", "muted", "effectSize", "outliers")
	dir, err := p.enum(m, "direction", path, []string{"increase", "decrease", "either"}, string(DirectionEither))
	if err != nil {
		return err
	}
	mc.Direction = Direction(dir)
	nan, err := p.enum(m, "nanStrategy", path, []string{"remove", "replace"}, string(NaNRemove))
	if err != nil {
		return err
	}
	mc.NaNStrategy = NaNStrategy(nan)
	for _, b := range []struct {
		key string
		dst *bool
	}{{"critical", &mc.Critical}, {"mustHaveData", &mc.MustHaveData}, {"muted", &mc.Muted}} {
		if err := p.optBool(m, b.key, path, b.dst); err != nil {
			return err
		}
	}
	es, err := p.optObject(m, "effectSize", path)
	if err != nil {
		return err
	}
	if es != nil {
		epath := join(path, "effectSize")
		p.knownKeys(es, epath, "measure", "allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease")
		measure, err := p.enum(es, "measure", epath, []string{"meanRatio", "cles"}, string(MeasureMeanRatio))
		if err != nil {
			return err
		}
		mc.Effect = DefaultEffectSize(EffectMeasure(measure))
		for _, f := range []struct {
			key string
			dst *float64
		}{
			{"allowedIncrease", &mc.Effect.AllowedIncrease}, {"allowedDecrease", &mc.Effect.AllowedDecrease},
			{"criticalIncrease", &mc.Effect.CriticalIncrease}, {"criticalDecrease", &mc.Effect.CriticalDecrease},
		} {
			if err := p.optNumber(es, f.key, epath, f.dst); err != nil {
				return err
			}
		}
	}
	out, err := p.optObject(m, "outliers", path)
	if err != nil {
		return err
	}
	if out != nil {
		opath := join(path, "outliers")
		p.knownKeys(out, opath, "strategy", "outlierFactor")
		strategy, err := p.enum(out, "strategy", opath, []string{"remove", "keep"}, string(OutliersKeep))
		if err != nil {
			return err
		}
		mc.Outliers.Strategy = OutlierStrategy(strategy)
		if err := p.optNumber(out, "outlierFactor", opath, &mc.Outliers.Factor); err != nil {
			return err
		}
		if mc.Outliers.Strategy == OutliersRemove && !(mc.Outliers.Factor > 0) {
			return &InputError{Path: join(opath, "outlierFactor"), Msg: fmt.Sprintf("must be > 0 when strategy is remove, got %g (Kayenta fails the whole judgement)", mc.Outliers.Factor)}
		}
	}
	return nil
}

func (p *parser) thresholds(v any, path string) (Thresholds, error) {
	m, err := p.object(v, path)
	if err != nil {
		return Thresholds{}, err
	}
	p.knownKeys(m, path, "pass", "marginal")
	var th Thresholds
	if th.Pass, err = p.reqNumber(m, "pass", path); err != nil {
		return Thresholds{}, err
	}
	if th.Marginal, err = p.reqNumber(m, "marginal", path); err != nil {
		return Thresholds{}, err
	}
	if th.Marginal > th.Pass {
		p.warnf(path, "marginal (%g) is above pass (%g): no score can be Marginal", th.Marginal, th.Pass)
	}
	return th, nil
}
