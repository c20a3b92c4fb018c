package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/canary"
	"github.com/kerf-cnc/kerf/jobs/canary/runmetrics"
)

// CanaryOptions configures live canary judging: a run whose job has a
// baseline (of the same machine profile) is judged against it while it
// runs, and aborted when the verdict is Fail.
type CanaryOptions struct {
	// Disabled turns live judging off.
	Disabled bool
	// Interval is how often the run so far is judged (default 10 s).
	Interval time.Duration
	// Window is the target length of a program window in the baseline's
	// time (default 3 s): the program is cut at source lines so that each
	// window took about this long in the baseline.
	Window time.Duration
	// MinSamples is the fewest samples a metric needs on each side for a
	// single window to be judged on it (default 5): fewer cannot reach
	// the judge's 98 % confidence.
	MinSamples int
	// Drift returns the drift checkpoints of a run (nil: no drift data;
	// z_drift_um is then left out).
	Drift func(ctx context.Context, run jobs.ID) ([]runmetrics.DriftSample, error)
}

func (o CanaryOptions) interval() time.Duration {
	if o.Interval > 0 {
		return o.Interval
	}
	return 10 * time.Second
}

func (o CanaryOptions) window() time.Duration {
	if o.Window > 0 {
		return o.Window
	}
	return 3 * time.Second
}

func (o CanaryOptions) minSamples() int {
	if o.MinSamples > 0 {
		return o.MinSamples
	}
	return 5
}

// StoreDrift returns a CanaryOptions.Drift that reads a run's drift
// checkpoints from the store (jobs.Store.Checkpoints): the measured ones,
// without the reference touches (drift 0 by definition) and the failed
// ones (no measurement).
func StoreDrift(store *jobs.Store) func(ctx context.Context, run jobs.ID) ([]runmetrics.DriftSample, error) {
	return func(ctx context.Context, run jobs.ID) ([]runmetrics.DriftSample, error) {
		cps, err := store.Checkpoints(ctx, run)
		if err != nil {
			return nil, err
		}
		return driftSamples(cps), nil
	}
}

// driftSamples converts measured, non-reference checkpoints.
func driftSamples(cps []jobs.Checkpoint) []runmetrics.DriftSample {
	var out []runmetrics.DriftSample
	for _, c := range cps {
		if c.Reference || !c.OK() {
			continue
		}
		out = append(out, runmetrics.DriftSample{Line: c.Line, T: c.Elapsed, DriftUM: c.DriftUM})
	}
	return out
}

// CanaryAbortError is the cause of a run the canary judge aborted.
type CanaryAbortError struct {
	// Line is the last executed source line when the verdict came.
	Line int
	// Baseline is the run judged against.
	Baseline jobs.ID
	// Window is the program window that failed ([0, 0) for the run so far
	// or the drift checkpoints).
	Window [2]int
	// Drift: the verdict judged the latest drift checkpoints alone, on
	// the arrival of a new one.
	Drift bool
	// Score is the failing score.
	Score float64
	// Metrics names the metrics that did not pass, with their label.
	Metrics []string
	// Reason is the judge's reason ("" when none).
	Reason string
}

func (e *CanaryAbortError) Error() string {
	where := "run so far"
	switch {
	case e.Drift:
		where = "latest drift checkpoints"
	case e.Window != [2]int{}:
		where = fmt.Sprintf("lines %d-%d", e.Window[0], e.Window[1]-1)
	}
	msg := fmt.Sprintf("canary verdict Fail at line %d (%s, score %.2f, against baseline run %s): %s", e.Line, where, e.Score, e.Baseline, strings.Join(e.Metrics, ", "))
	if e.Reason != "" {
		msg += " — " + e.Reason
	}
	return msg
}

// VerdictEvent is the data of run.verdict and run.warning events.
type VerdictEvent struct {
	Run  jobs.ID `json:"run"`
	Line int     `json:"line"`
	// Window is the program window judged alone ([start, end) source
	// lines); absent for the run so far.
	Window *[2]int `json:"window,omitempty"`
	// Muted names the timing metrics left out of some window because a
	// feed or rapid override was not 100 % (see runmetrics).
	Muted   []string        `json:"muted,omitempty"`
	Verdict json.RawMessage `json:"verdict"`
}

// mutedIn returns the metrics muted in any of ws, sorted.
func mutedIn(ws []runmetrics.Window) []string {
	var out []string
	for _, w := range ws {
		for _, m := range w.Muted {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return out
}

// LoadCanaryConfig returns the canary config a job is judged with: its
// override (jobs.Store.CanaryConfig) or the default, and the thresholds.
func LoadCanaryConfig(ctx context.Context, store *jobs.Store, jobID jobs.ID) (canary.Config, canary.Thresholds, error) {
	doc, err := store.CanaryConfig(ctx, jobID)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		return canary.DefaultConfig()
	case err != nil:
		return canary.Config{}, canary.Thresholds{}, err
	}
	d, err := canary.ParseDocument(doc)
	if err != nil {
		return canary.Config{}, canary.Thresholds{}, fmt.Errorf("canary config of job %s: %w", jobID, err)
	}
	return d.Config, d.Thresholds, nil
}

// liveJudge judges one run against its baseline while it runs. Its loop
// goroutine is owned by Service.stream (started by startJudge, stopped
// and waited for by finish).
type liveJudge struct {
	s    *Service
	ar   *activeRun
	conn *grbl.Conn
	run  jobs.Run
	opts CanaryOptions
	x    *runmetrics.Extractor
	cfg  canary.Config
	th   canary.Thresholds
	base []canary.Window
	// pooled is base with planner_fill pooled by stream demand
	// (runmetrics.PoolByDemand): a window is judged alone against it.
	pooled   []canary.Window
	baseDrft []runmetrics.DriftSample // the baseline's drift checkpoints
	baseline jobs.ID

	mu      sync.Mutex
	samples []jobs.Sample
	judged  map[[2]int]bool
	failed  *verdict // the verdict the run was aborted for
	// driftSeen is how many drift checkpoints the last pass saw (loop
	// goroutine only): a new one is judged at the next pass.
	driftSeen int

	// The recorder's side of the window watch (guarded by mu): the span
	// the latest sample is in, when it was entered, and whether it was
	// already signalled overdue.
	cur       int
	curAt     time.Duration
	curLate   bool
	windowEnd chan struct{} // buffered (1): a window completed or became overdue

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// halt stops the judging loop and waits for it; it is safe on nil, and
// more than once (finish halts it, and the stream defers it for the paths
// that end the run before finish is reached).
func (lj *liveJudge) halt() {
	if lj == nil {
		return
	}
	lj.stopOnce.Do(func() { close(lj.stop) })
	lj.wg.Wait()
}

// startJudge prepares live judging of run when its job has a usable
// baseline and starts the judging loop; it returns nil (no judging) when
// there is none. Problems preparing it are logged, never fatal to the run.
func (s *Service) startJudge(ctx context.Context, ar *activeRun, conn *grbl.Conn, job jobs.Job, run jobs.Run, gopts gcode.Options) *liveJudge {
	if s.Canary.Disabled {
		return nil
	}
	lj, err := s.prepareJudge(ctx, conn, job, run, gopts)
	if err != nil {
		s.log().Warn("canary judging off for this run", "run", run.ID, "job", job.ID, "err", err)
		return nil
	}
	if lj == nil {
		return nil
	}
	lj.ar = ar
	lj.wg.Add(1)
	go func() { defer lj.wg.Done(); lj.loop(ctx) }()
	return lj
}

// errNoBaseline: the job has no baseline for this machine profile.
var errNoBaseline = errors.New("no baseline")

func (s *Service) prepareJudge(ctx context.Context, conn *grbl.Conn, job jobs.Job, run jobs.Run, gopts gcode.Options) (*liveJudge, error) {
	b, err := s.Store.Baseline(ctx, job.ID)
	if errors.Is(err, jobs.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	x, base, baseDrift, err := s.baselineWindows(ctx, job, b.RunID, run.Machine, gopts, conn.Info().PlannerBlocks)
	if errors.Is(err, errNoBaseline) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfg, th, err := LoadCanaryConfig(ctx, s.Store, job.ID)
	if err != nil {
		return nil, err
	}
	if s.Canary.Drift == nil {
		cfg = cfg.Without(runmetrics.ZDrift)
	}
	return &liveJudge{s: s, conn: conn, run: run, opts: s.Canary, x: x, cfg: cfg, th: th, base: base, pooled: x.PoolByDemand(base, runmetrics.PlannerFill), baseDrft: baseDrift, baseline: b.RunID,
		judged: map[[2]int]bool{}, stop: make(chan struct{}), cur: -1, windowEnd: make(chan struct{}, 1)}, nil
}

// baselineWindows reads the baseline run's telemetry and cuts the program
// into windows; it also returns the baseline's drift checkpoints. blocks
// is the board's planner size (0: GRBL's 15).
func (s *Service) baselineWindows(ctx context.Context, job jobs.Job, baseID jobs.ID, machine string, gopts gcode.Options, blocks int) (*runmetrics.Extractor, []canary.Window, []runmetrics.DriftSample, error) {
	br, err := s.Store.Run(ctx, baseID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("baseline run: %w", err)
	}
	if br.Machine != machine {
		return nil, nil, nil, fmt.Errorf("baseline run %s was on machine profile %q, this run is on %q: %w", br.ID, br.Machine, machine, errNoBaseline)
	}
	var samples []jobs.Sample
	if err := s.Store.Telemetry(ctx, baseID, func(smp jobs.Sample) error { samples = append(samples, smp); return nil }); err != nil {
		return nil, nil, nil, fmt.Errorf("baseline telemetry: %w", err)
	}
	if len(samples) == 0 {
		return nil, nil, nil, fmt.Errorf("baseline run %s has no telemetry", baseID)
	}
	f, err := s.Store.OpenBody(job.SHA256)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	prog, err := runmetrics.NewProgram(f, job.Name, gopts)
	if err != nil {
		return nil, nil, nil, err
	}
	var drift []runmetrics.DriftSample
	if s.Canary.Drift != nil {
		if drift, err = s.Canary.Drift(ctx, baseID); err != nil {
			return nil, nil, nil, fmt.Errorf("baseline drift: %w", err)
		}
	}
	x := &runmetrics.Extractor{Program: prog, Spans: runmetrics.Partition(samples, prog, s.Canary.window()), PlannerBlocks: blocks}
	return x, runmetrics.Plain(x.Windows(samples, drift, true)), drift, nil
}

// add receives each telemetry sample of the run (the recorder's tap). It
// never blocks on the judge: when the sample shows that a program window
// has completed (the run got past its last line) or become overdue, it
// signals the judging loop through a buffered channel of one, so a burst
// of completions is coalesced into one judge pass.
func (lj *liveJudge) add(smp jobs.Sample) {
	if lj == nil {
		return
	}
	lj.mu.Lock()
	lj.samples = append(lj.samples, smp)
	due := lj.watch(smp)
	lj.mu.Unlock()
	if due {
		select {
		case lj.windowEnd <- struct{}{}:
		default: // a pass is already pending; it will see this sample
		}
	}
}

// watch follows the span the run is in (mu held) and reports whether a
// window just completed or just became overdue, the two moments the
// extractor's Windows first returns it.
func (lj *liveJudge) watch(smp jobs.Sample) bool {
	spans := lj.x.Spans
	line := int(smp.SourceLine)
	i := sort.Search(len(spans), func(i int) bool { return spans[i].End > line })
	if i == len(spans) || line < spans[i].Start {
		i = -1
	}
	switch {
	case i == lj.cur:
		if i < 0 || lj.curLate || spans[i].Baseline <= 0 {
			return false
		}
		if float64(smp.T-lj.curAt) >= lj.x.OverdueFactor()*float64(spans[i].Baseline) {
			lj.curLate = true
			return true
		}
		return false
	case i < 0:
		// Past the last window (or before the first): the window it was
		// in, if any, is complete.
		left := lj.cur >= 0
		lj.cur = -1
		return left
	default:
		left := lj.cur >= 0 && i > lj.cur
		lj.cur, lj.curAt, lj.curLate = i, smp.T, false
		return left
	}
}

func (lj *liveJudge) loop(ctx context.Context) {
	t := time.NewTicker(lj.opts.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lj.stop:
			return
		case <-lj.windowEnd:
			if lj.pass(ctx, false) {
				return
			}
		case <-t.C:
			if lj.pass(ctx, true) {
				return
			}
		}
	}
}

// verdict is one judgement of a window or of the run so far.
type verdict struct {
	window *[2]int
	// drift: the latest drift checkpoints judged alone (on a window
	// signal), not the run so far.
	drift bool
	res   canary.Result
	muted []string // timing metrics left out for overrides ≠ 100 %
}

// pass judges once; true when it aborted the run. A pass on a window
// signal judges the windows that completed or became overdue since the
// last pass; an interval tick (soFar) also judges the run so far and
// publishes its verdict.
func (lj *liveJudge) pass(ctx context.Context, soFar bool) bool {
	vs, line, err := lj.judge(ctx, false, soFar)
	if err != nil {
		lj.s.log().Error("canary judgement failed", "run", lj.run.ID, "err", err)
		return false
	}
	for _, v := range vs {
		if v.res.Classification == canary.SummaryFail {
			lj.abort(line, v)
			lj.publish("run.verdict", line, v)
			return true
		}
	}
	for _, v := range vs {
		if v.window == nil && !v.drift {
			lj.publish("run.verdict", line, v)
		}
		if v.res.Classification == canary.SummaryMarginal {
			lj.publish("run.warning", line, v)
		}
	}
	return false
}

// judge judges every window that completed (or is overdue) since the last
// call on its own, then, when soFar, the run so far; the run-so-far
// verdict is last. A complete window is judged once; an overdue one again
// on each call until it completes.
func (lj *liveJudge) judge(ctx context.Context, ended, soFar bool) ([]verdict, int, error) {
	lj.mu.Lock()
	samples := lj.samples[:len(lj.samples):len(lj.samples)]
	lj.mu.Unlock()
	var drift []runmetrics.DriftSample
	if lj.opts.Drift != nil {
		var err error
		if drift, err = lj.opts.Drift(ctx, lj.run.ID); err != nil {
			return nil, 0, fmt.Errorf("drift checkpoints: %w", err)
		}
	}
	line := 0
	if len(samples) > 0 {
		line = int(samples[len(samples)-1].SourceLine)
	}
	ws := lj.x.Windows(samples, drift, ended)
	var out []verdict
	for _, w := range ws {
		key := [2]int{w.Start, w.End}
		if lj.judged[key] {
			continue
		}
		if w.Complete {
			lj.judged[key] = true
		}
		res, ok, err := judgeWindows(lj.cfg, lj.th, lj.pooled, []canary.Window{w.Window}, lj.opts.minSamples(), nil)
		if err != nil {
			return nil, line, err
		}
		if ok {
			out = append(out, verdict{window: &key, res: res, muted: w.Muted})
		}
	}
	if !soFar {
		if len(drift) > lj.driftSeen {
			// A new drift checkpoint: judge the latest ones against the
			// baseline's now rather than at the next interval tick.
			lj.driftSeen = len(drift)
			if rd := recentDrift(lj.baseDrft, drift); rd != nil {
				res, ok, err := judgeWindows(onlyMetric(lj.cfg, runmetrics.ZDrift), lj.th, nil, nil, recentDriftN, rd)
				if err != nil {
					return nil, line, err
				}
				// Judged alone, any High would score 0; only a critical
				// one fails the run whatever the other groups say. A
				// milder shift weighs in at the next tick's run-so-far
				// judgement, with the z group's weight.
				if ok && criticalFail(res) {
					out = append(out, verdict{res: res, drift: true})
				}
			}
		}
		return out, line, nil
	}
	lj.driftSeen = len(drift)
	res, ok, err := judgeWindows(lj.cfg, lj.th, windowMeans(lj.base), windowMeans(runmetrics.Plain(ws)), cumulativeMinSamples, recentDrift(lj.baseDrft, drift))
	if err != nil {
		return nil, line, err
	}
	if ok {
		out = append(out, verdict{res: res, muted: mutedIn(ws)})
	}
	return out, line, nil
}

// criticalFail reports whether a metric of res failed critically (the run
// fails whatever its score).
func criticalFail(res canary.Result) bool {
	if res.Classification != canary.SummaryFail {
		return false
	}
	for _, m := range res.NotPassed() {
		if m.Critical {
			return true
		}
	}
	return false
}

// onlyMetric returns cfg with the named metric alone (no metric when cfg
// has not got it).
func onlyMetric(cfg canary.Config, name string) canary.Config {
	var others []string
	for _, m := range cfg.Metrics {
		if m.Name != name {
			others = append(others, m.Name)
		}
	}
	return cfg.Without(others...)
}

// recentDriftN is how many of the run's latest drift checkpoints the
// run-so-far judgement takes: the fewest with which the judge's 98 %
// interval can separate them from a baseline's (2 cannot, whatever the
// values).
const recentDriftN = 3

// recentDrift returns the z_drift_um series the run-so-far judgement uses:
// the run's latest recentDriftN checkpoints against all of the baseline's
// (nil when either side has fewer than recentDriftN). Z drift is not tied
// to a place in the program (a healthy machine's probe readings are noise
// around 0 everywhere), and judged over the run so far it would be diluted
// by the checkpoints taken before the steps were lost.
func recentDrift(base, run []runmetrics.DriftSample) *canary.Series {
	if len(base) < recentDriftN || len(run) < recentDriftN {
		return nil
	}
	s := &canary.Series{Metric: runmetrics.ZDrift}
	for _, d := range base {
		s.Control = append(s.Control, runmetrics.DriftMagnitude(d.DriftUM))
	}
	for _, d := range run[len(run)-recentDriftN:] {
		s.Experiment = append(s.Experiment, runmetrics.DriftMagnitude(d.DriftUM))
	}
	return s
}

// windowMeans returns ws with each metric's samples replaced by their mean
// (missing samples left out; a metric with none keeps a missing sample).
// The run-so-far judgement compares windows, one value per window and
// metric: a window's own samples were judged when it ended, and the cost
// stays proportional to the number of windows, not of status reports,
// however long the job.
func windowMeans(ws []canary.Window) []canary.Window {
	out := make([]canary.Window, len(ws))
	for i, w := range ws {
		out[i] = canary.Window{Start: w.Start, End: w.End, Samples: make(map[string][]float64, len(w.Samples))}
		for m, xs := range w.Samples {
			sum, n := 0.0, 0
			for _, x := range xs {
				if !math.IsNaN(x) {
					sum += x
					n++
				}
			}
			if n == 0 {
				out[i].Samples[m] = []float64{math.NaN()}
				continue
			}
			out[i].Samples[m] = []float64{sum / float64(n)}
		}
	}
	return out
}

// cumulativeMinSamples is the fewest windows per side a metric needs in
// the run-so-far judgement: 1 vs 1 cannot be tested (Kayenta's Error), and
// a metric seen on one side only is not evidence of a fault.
const cumulativeMinSamples = 3

// judgeWindows aligns run windows with the baseline's and judges the
// metrics that have at least minSamples non-missing samples on each side
// (metrics with none anywhere are dropped as canary.Observed does); replace,
// when set, stands in for its metric's aligned series. ok is false when no
// metric is left.
func judgeWindows(cfg canary.Config, th canary.Thresholds, base, run []canary.Window, minSamples int, replace *canary.Series) (canary.Result, bool, error) {
	series, err := canary.Align(cfg, base, run)
	if err != nil {
		return canary.Result{}, false, err
	}
	if replace != nil {
		for i := range series {
			if series[i].Metric == replace.Metric {
				series[i] = *replace
			}
		}
	}
	var drop []string
	kept := series[:0:0]
	for _, s := range series {
		if count(s.Control) < minSamples || count(s.Experiment) < minSamples {
			drop = append(drop, s.Metric)
			continue
		}
		kept = append(kept, s)
	}
	cfg, kept = canary.Observed(cfg.Without(drop...), kept)
	if len(cfg.Metrics) == 0 {
		return canary.Result{}, false, nil
	}
	cfg.GroupWeights = presentWeights(cfg)
	res, err := canary.Judge(cfg, th, kept)
	if err != nil {
		return canary.Result{}, false, err
	}
	return res, true, nil
}

// presentWeights rescales the group weights of the groups that still have
// metrics to total 100, so that groups left out for lack of data neither
// count as passed nor drag the score down (Kayenta sums only the groups
// present, with their configured weights).
func presentWeights(cfg canary.Config) map[string]float64 {
	present := map[string]bool{}
	for _, m := range cfg.Metrics {
		for _, g := range m.Groups {
			present[g] = true
		}
	}
	total := 0.0
	for g := range present {
		w, ok := cfg.GroupWeights[g]
		if !ok {
			return cfg.GroupWeights // unweighted groups share the rest already
		}
		total += w
	}
	if total <= 0 {
		return cfg.GroupWeights
	}
	out := make(map[string]float64, len(present))
	for g := range present {
		out[g] = cfg.GroupWeights[g] * 100 / total
	}
	return out
}

func count(xs []float64) int {
	n := 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			n++
		}
	}
	return n
}

// abort stops the run at once: feed hold through the real-time path
// first, then the router off, then the stream is cancelled with the
// verdict as cause (its safe stop holds again, waits for the hold and
// soft-resets) and the run ends aborted.
func (lj *liveJudge) abort(line int, v verdict) {
	_ = lj.conn.FeedHold()
	lj.s.relayOff("canary verdict Fail")
	cause := &CanaryAbortError{Line: line, Baseline: lj.baseline, Score: v.res.Score, Reason: v.res.Reason, Drift: v.drift}
	if v.window != nil {
		cause.Window = *v.window
	}
	for _, m := range v.res.NotPassed() {
		label := string(m.Classification)
		if m.Critical {
			label += ", critical"
		}
		ratio := ""
		if m.HasRatio && !math.IsNaN(m.Ratio) {
			ratio = fmt.Sprintf(", ratio %.3g", m.Ratio)
		}
		cause.Metrics = append(cause.Metrics, fmt.Sprintf("%s (%s%s)", m.Name, label, ratio))
	}
	lj.mu.Lock()
	lj.failed = &v
	lj.mu.Unlock()
	lj.s.log().Warn("canary Fail: aborting the run", "run", lj.run.ID, "reason", cause.Error())
	lj.ar.cancel(cause)
}

func (lj *liveJudge) publish(topic string, line int, v verdict) {
	data, err := json.Marshal(v.res)
	if err != nil {
		lj.s.log().Error("canary verdict to JSON", "run", lj.run.ID, "err", err)
		return
	}
	lj.s.publish(topic, VerdictEvent{Run: lj.run.ID, Line: line, Window: v.window, Muted: v.muted, Verdict: data})
}

// finish stops the loop, judges the whole run (completed: ended) and
// stores the final verdict in the run's summary: the run-so-far verdict,
// or for a run the judge aborted the verdict it was aborted for.
func (lj *liveJudge) finish(ctx context.Context, ended bool) {
	if lj == nil {
		return
	}
	lj.halt()
	vs, line, err := lj.judge(ctx, ended, true)
	if err != nil {
		lj.s.log().Error("final canary judgement failed", "run", lj.run.ID, "err", err)
		return
	}
	var final *verdict
	for i := range vs {
		if vs[i].window == nil && !vs[i].drift {
			final = &vs[i]
		}
	}
	lj.mu.Lock()
	if lj.failed != nil {
		final = lj.failed // the run ends with the verdict that stopped it
	}
	lj.mu.Unlock()
	if final == nil {
		return
	}
	data, err := json.Marshal(final.res)
	if err != nil {
		lj.s.log().Error("canary verdict to JSON", "run", lj.run.ID, "err", err)
		return
	}
	if _, err := lj.s.Store.UpdateRun(ctx, lj.run.ID, func(r *jobs.Run) error {
		r.Summary.Verdict = bytes.Clone(data)
		return nil
	}); err != nil {
		lj.s.log().Error("store the canary verdict", "run", lj.run.ID, "err", err)
	}
	lj.publish("run.verdict", line, *final)
}
