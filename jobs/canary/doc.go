// Package canary judges a CNC run against a baseline run of the same job
// with a port of Kayenta's NetflixACAJudge-v1.0 (spinnaker/kayenta), the
// judge Spinnaker uses to compare a canary deployment with its baseline.
//
// # What it does
//
// Each metric's control (baseline) and experiment (run) samples are
// classified on their own: NaN handling (remove or replace by 0), optional
// outlier removal (IQR fences floored at the 1st/99th R-7 percentiles),
// descriptive statistics, early exits (missing data, identical data, a
// single distinct value), Gaussian noise for constant samples, then the
// Mann-Whitney confidence interval (98 %) and estimate of the shift
// experiment − control exactly as Kayenta computes them: normal
// approximation with continuity correction (kept in the estimate too),
// tie-corrected σ and R's zeroin Brent root finder with absolute tolerance
// 1e-4. A metric is High when the interval's lower end exceeds 0.25·|estimate|
// and the effect size (mean ratio or CLES) reaches the allowed increase, Low
// symmetrically, else Pass; a critical metric beyond its critical effect
// size is flagged critical. Missing data is Nodata (or NodataFailMetric with
// mustHaveData); a failure inside the test (all observations tied, 1 vs 1)
// is Error.
//
// Scoring follows Kayenta: muted metrics are dropped, each group scores the
// percentage of its counted metrics (Pass, High, Low, NodataFailMetric) that
// passed, groups combine by weight (unweighted groups share what is left of
// 100), and the sum is rounded half-up to 2 decimals. A critical failure,
// or 50 % or more Nodata results, forces the score to 0. The score is then
// compared with the request's thresholds: Pass, Marginal or Fail. Kayenta
// excludes Error and Nodata results from group scores; callers that stop a
// machine should look at Result.Metrics too (see MetricResult).
//
// Every label and reason string is Kayenta's. The reference cases in
// testdata/cases.json (with their origin in testdata/README.md) pin the
// behaviour down to the numbers.
//
// # Usage
//
// Live judging (the job runner): collect each metric's samples per window
// of the program (a range of source lines) for the run and for its
// baseline, align them and judge:
//
//	cfg, th, err := canary.DefaultConfig()
//	series, err := canary.Align(cfg, baselineWindows, runWindowsSoFar)
//	cfg, series = canary.Observed(cfg, series) // metrics without samples yet
//	res, err := canary.Judge(cfg, th, series)
//	if res.Classification == canary.SummaryFail {
//		// abort, naming res.NotPassed() in the reason
//	}
//
// ClassifyMetric classifies a single metric on its own.
//
// Offline (`kerf canary judge FILE`): ParseDocument reads Kayenta's canary
// config whose metrics carry "control" and "experiment" arrays (null = a
// missing sample), plus "scoreThresholds"; Result marshals to Kayenta's
// result shape. ParseConfig reads a bare canary config (a per-job override).
// Invalid input is an *InputError naming the JSON path of the problem, for
// example
//
//	canaryConfig.metrics[2].analysisConfigurations.canary.critical: must be a boolean, got "true"
//
// Things Kayenta accepts silently (unknown keys, an unrecognised option
// string and the value it falls back to, weights not totalling 100) are
// returned as warnings instead.
//
// # Units
//
// Because the root finder stops within 1e-4 absolute, metrics must be
// expressed in units where a meaningful shift is far above 1e-4: percent
// rather than fractions, milliseconds rather than seconds, micrometres
// rather than millimetres. Keep metrics positive (the mean ratio of negative
// means is meaningless).
//
// # Randomness
//
// Kayenta adds unseeded noise (sd = value × 1e-5) when each side is a single
// distinct value. Here the noise comes from a *rand.Rand: a fixed-seed
// source per call by default, or one injected with WithRand. The
// classification does not depend on the draw; the interval, estimate and
// ratio of such metrics do, slightly.
//
// # Concurrency
//
// The package starts no goroutines and holds no shared state: Judge,
// ClassifyMetric and the parsers may be called concurrently, except that a
// *rand.Rand given to WithRand must not be shared between concurrent calls.
package canary
