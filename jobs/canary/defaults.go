package canary

import (
	_ "embed"
	"fmt"
	"maps"
	"slices"
)

// defaultDocument is the default CNC canary (cnc_default.json): a Kayenta
// canary config plus score thresholds, without samples.
//
//go:embed cnc_default.json
var defaultDocument string

// DefaultConfig returns kerf's default canary config for CNC runs and its
// score thresholds, parsed from the embedded cnc_default.json by the same
// parser as user configs. Metrics (units chosen so real shifts are ≫ 1e-4):
//
//   - feed_ratio (percent, motion, critical): achieved path feed between
//     two status reports over the programmed feed × 100; Low when ≤ 95 % of
//     the baseline's mean, critical at ≤ 80 %.
//   - segment_duration_ms (ms, motion): time per executed source line;
//     High at ≥ +10 %; outliers removed.
//   - window_duration_ms (ms, motion): time over the window's lines; its
//     mean ratio is the window duration ratio; High at ≥ +10 %.
//   - planner_fill (percent, stream, critical): planner blocks in use while
//     lines were pending, the starvation measure; Low at ≤ 80 % of the
//     baseline, critical at ≤ 60 %.
//   - spindle_on_mismatch (ms, spindle, critical): time the sensed router
//     state differs from the commanded one; critical at ≥ 3× the baseline.
//   - router_sense_latency_ms (ms, spindle): command → sense agreement.
//   - z_drift_um (µm, z, critical): |Z drift| at drift checkpoints; a
//     healthy machine reads probe noise (1–2 µm), so High at ≥ 3× and
//     critical at ≥ 5× the baseline's mean. A critical metric without data fails
//     the canary (Kayenta's rule): live judging drops metrics without data
//     with Observed.
//   - alarm_error_count (count, controller): alarms entered.
//
// jobs/canary/runmetrics computes these from a run's telemetry.
//
// Group weights: motion 40, stream 15, spindle 20, z 15, controller 10.
// Thresholds: pass 90, marginal 70.
func DefaultConfig() (Config, Thresholds, error) {
	doc, err := ParseDocument([]byte(defaultDocument))
	if err != nil {
		return Config{}, Thresholds{}, fmt.Errorf("default canary config: %w", err)
	}
	return doc.Config, doc.Thresholds, nil
}

// Without returns a copy of c without the named metrics (for example
// z_drift_um when a run has no drift checks). Unknown names are ignored.
func (c Config) Without(names ...string) Config {
	out := Config{Name: c.Name, GroupWeights: maps.Clone(c.GroupWeights)}
	for _, m := range c.Metrics {
		if !slices.Contains(names, m.Name) {
			out.Metrics = append(out.Metrics, m)
		}
	}
	return out
}

// Metric returns the config of the named metric.
func (c Config) Metric(name string) (MetricConfig, bool) {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return MetricConfig{}, false
}

// DefaultDocument returns the default canary config document
// (cnc_default.json): what a per-job override replaces.
func DefaultDocument() []byte { return []byte(defaultDocument) }
