// Package runmetrics turns a CNC run's telemetry into the canary judge's
// samples, per window of the program.
//
// # Windows
//
// A window is a range of source lines [Start, End). Partition cuts the
// program using the baseline run's telemetry: a window ends once it has
// taken about the target time in the baseline, or earlier (after a
// quarter of it) where the program changes regime — from rapids to
// cutting, or to another programmed feed — so that a plunge, a roughing
// pass and a finishing pass are judged apart. The run being judged is cut
// at the same lines, so both sides of a window cover the same cuts.
//
// # Executed lines
//
// GRBL does not report which line it executes. The runner infers it: each
// "ok" acknowledges a line once its blocks are in the planner; a status
// report's planner fill (Bf) says how many of the acknowledged motion
// blocks are still queued, so the last executed line is the acknowledged
// motion line that many back (arcs are many blocks, which only makes the
// estimate lag). Each telemetry sample carries that line (SourceLine) and
// the machine position; a sample belongs to the window holding its line.
// A window is complete once the run reports a line at or past its End (or
// the run ended in it); a window the run stays in for Overdue × its
// baseline time is reported incomplete, so a machine that stops
// progressing is judged rather than waited for.
//
// # Metrics
//
// Per pair of consecutive samples in the window: feed_ratio (achieved path
// feed over the programmed feed of the move executing, percent),
// planner_fill (percent of planner blocks in use while lines are pending:
// the starvation measure), spindle_on_mismatch (ms with the sensed router
// state different from the commanded one); at each advance of the executed
// line, segment_duration_ms (ms per line); per window, window_duration_ms
// (whose mean ratio is the window duration ratio) and alarm_error_count;
// per commanded router change, router_sense_latency_ms; per drift
// checkpoint, z_drift_um. Units keep real shifts far above the judge's
// 1e-4 root tolerance, and every metric is positive with a non-zero mean in
// a healthy run where possible, so the judge's mean ratio means something.
//
// # Overrides
//
// feed_ratio divides the feed override out. segment_duration_ms is scaled
// by the feed override (exact for feed-bound moves) and muted (no sample)
// under a rapid override ≠ 100 %. window_duration_ms is muted in a window
// where either override was ≠ 100 % (Window.Muted says so).
//
// # Concurrency
//
// The package starts no goroutines and holds no shared state; an Extractor
// may be used by several goroutines at once.
package runmetrics
