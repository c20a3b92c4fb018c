package runmetrics

import (
	"math"
	"sort"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/canary"
)

// Metric names, as the default canary config (jobs/canary's
// cnc_default.json) names them. Units keep real shifts far above the
// judge's 1e-4 root tolerance.
const (
	// FeedRatio: percent, achieved path feed between two status reports
	// over the programmed feed of the move executing (feed override
	// divided out). One sample per pair of reports in Run during a feed
	// move.
	FeedRatio = "feed_ratio"
	// SegmentDuration: milliseconds per executed source line: at each
	// report where the executed line advanced, the time since it last
	// advanced over the lines advanced (scaled by the feed override).
	SegmentDuration = "segment_duration_ms"
	// WindowDuration: milliseconds the window took (scaled by the feed
	// override); one sample per window. Its mean ratio is the window
	// duration ratio of the run over the baseline.
	WindowDuration = "window_duration_ms"
	// PlannerFill: percent of GRBL's planner blocks in use (Bf) over
	// each pair of reports in Run or Idle while program lines are still
	// pending (before the program's last motion line). A starving stream
	// (planner empty while lines wait) drives it towards 0; a healthy
	// stream keeps it near 100, so the judge's mean ratio is meaningful
	// (a starvation share would be 0 in a good baseline).
	PlannerFill = "planner_fill"
	// SpindleMismatch: milliseconds of a report interval in which the
	// sensed router state differed from the commanded one (sense mode).
	SpindleMismatch = "spindle_on_mismatch"
	// SenseLatency: milliseconds from a change of the commanded router
	// state to the first report where the sense input agrees (sense mode;
	// report resolution).
	SenseLatency = "router_sense_latency_ms"
	// AlarmErrors: alarms entered in the window (one sample per window).
	AlarmErrors = "alarm_error_count"
	// ZDrift: |Z drift| in micrometres at the drift checkpoints of the
	// window.
	ZDrift = "z_drift_um"
)

// Machine state codes and relay bits of jobs.Sample, as jobs/runner
// records them.
const (
	stateIdle  = 1
	stateRun   = 2
	stateAlarm = 5

	relayCommanded = 1 << 0
	relaySensed    = 1 << 1
	relayHasSense  = 1 << 2
)

// Span is one window of a program: the source lines [Start, End), and how
// long the baseline run took over them.
type Span struct {
	Start, End int
	Baseline   time.Duration
}

// DriftSample is one drift checkpoint: where in the program it was taken,
// when, and the Z drift found. It mirrors the drift checkpoints the job
// store keeps, declared here so this package depends on the shape only.
type DriftSample struct {
	Line    int
	T       time.Duration
	DriftUM float64
}

// Partition cuts a program into windows of about target of the baseline
// run's time, each cut at a source-line boundary reported in telemetry, so
// that a run and its baseline are compared over the same cuts. A window
// also ends early (once it is target/4 long) where the program changes
// regime — from rapids to cutting, or to another programmed feed — so that
// a plunge, a roughing pass and a finishing pass of short segments are
// judged apart rather than mixed. prog may be nil (time cuts only). The
// last span ends past the last line the baseline reported (it is complete
// only when the run ends). It returns nil for a baseline without samples.
func Partition(baseline []jobs.Sample, prog *Program, target time.Duration) []Span {
	if len(baseline) == 0 {
		return nil
	}
	var spans []Span
	start, startT := 0, baseline[0].T
	last := 0
	for _, s := range baseline {
		line := int(s.SourceLine)
		last = max(last, line)
		if line <= start {
			continue
		}
		d := s.T - startT
		if d >= target || (d >= target/4 && prog.FeedAfter(line) != prog.FeedAfter(start)) {
			spans = append(spans, Span{Start: start, End: line, Baseline: d})
			start, startT = line, s.T
		}
	}
	end := baseline[len(baseline)-1].T
	if d := end - startT; len(spans) > 0 && d < target/4 {
		// A short tail joins the window before it.
		spans[len(spans)-1].End = last + 1
		spans[len(spans)-1].Baseline += d
	} else {
		spans = append(spans, Span{Start: start, End: last + 1, Baseline: d})
	}
	return spans
}

// Extractor computes the metrics of a run per window.
type Extractor struct {
	// Program gives the programmed feeds (nil: no feed_ratio).
	Program *Program
	// Spans are the windows (from Partition of the baseline).
	Spans []Span
	// PlannerBlocks is GRBL's planner size (default 15).
	PlannerBlocks int
	// Overdue: an unfinished window is reported once it has taken this
	// many times its baseline duration (default 1.5), so a run that stops
	// progressing is judged instead of waiting for a window that never
	// ends.
	Overdue float64
}

// Window is a canary.Window with what the extraction knows about it.
type Window struct {
	canary.Window
	// Complete: the run got past the window's last line (or ended).
	Complete bool
	// Duration is how long the run took over the window (so far).
	Duration time.Duration
	// Entered is the run time at which the window started.
	Entered time.Duration
	// Muted lists timing metrics left out because overrides ≠ 100 %.
	Muted []string
}

// OverdueFactor returns Overdue, or its default 1.5 when unset.
func (x *Extractor) OverdueFactor() float64 {
	if x.Overdue > 0 {
		return x.Overdue
	}
	return 1.5
}

// Windows returns the windows of run samples (ordered by time) that are
// complete or overdue, with their metric samples. ended says the run has
// finished, which completes the window it ended in. Windows the run never
// entered (a run started from a later line, or not there yet) are absent.
func (x *Extractor) Windows(samples []jobs.Sample, drift []DriftSample, ended bool) []Window {
	if len(x.Spans) == 0 || len(samples) == 0 {
		return nil
	}
	blocks := x.PlannerBlocks
	if blocks <= 0 {
		blocks = 15
	}
	overdue := x.OverdueFactor()
	type acc struct {
		w                       Window
		entered, left           bool
		exitT                   time.Duration
		ovChanged, rapidChanged bool
		alarms                  float64
	}
	ws := make([]acc, len(x.Spans))
	for i, sp := range x.Spans {
		ws[i].w.Start, ws[i].w.End = sp.Start, sp.End
		ws[i].w.Samples = map[string][]float64{}
	}
	find := func(line int) int {
		i := sort.Search(len(x.Spans), func(i int) bool { return x.Spans[i].End > line })
		if i == len(x.Spans) || line < x.Spans[i].Start {
			return -1
		}
		return i
	}
	add := func(i int, metric string, v float64) {
		ws[i].w.Samples[metric] = append(ws[i].w.Samples[metric], v)
	}
	lastMotion := x.Program.LastMotion()
	var edgeAt time.Duration
	edgeWin, edgeWant := -1, false
	lastAdvance := time.Duration(-1) // when the executed line last advanced
	cur := -1
	for k, s := range samples {
		line := int(s.SourceLine)
		i := find(line)
		if i != cur {
			if cur >= 0 && i > cur {
				for j := cur; j < i; j++ {
					if ws[j].entered && !ws[j].left {
						ws[j].left, ws[j].exitT = true, s.T
					}
				}
			}
			if i >= 0 && !ws[i].entered {
				ws[i].entered, ws[i].w.Entered = true, s.T
			}
			cur = i
		}
		if i >= 0 && s.State == stateAlarm && (k == 0 || samples[k-1].State != stateAlarm) {
			ws[i].alarms++
		}
		if k == 0 {
			continue
		}
		p := samples[k-1]
		pi := find(int(p.SourceLine))
		if pi < 0 {
			continue
		}
		dt := s.T - p.T
		if dt <= 0 {
			continue
		}
		ovFeed := ovPercent(p.Ov[0])
		ovRapid := ovPercent(p.Ov[1])
		if ovFeed != 100 {
			ws[pi].ovChanged = true
		}
		if ovRapid != 100 {
			ws[pi].rapidChanged = true
		}
		// feed_ratio
		if p.State == stateRun && s.State == stateRun {
			if f := x.Program.FeedAfter(int(p.SourceLine)); f > 0 {
				dist := math.Sqrt(sq(s.MPos[0]-p.MPos[0])+sq(s.MPos[1]-p.MPos[1])+sq(s.MPos[2]-p.MPos[2])) / 1000
				achieved := dist / dt.Minutes()
				add(pi, FeedRatio, 100*achieved/(f*ovFeed/100))
			}
		}
		// segment_duration_ms (feed override scaled; muted under a
		// rapid override, which changes rapids by an unknown share).
		if adv := int(s.SourceLine - p.SourceLine); adv > 0 {
			since := s.T - lastAdvance
			if lastAdvance < 0 {
				since = dt
			}
			lastAdvance = s.T
			if ovRapid == 100 {
				add(pi, SegmentDuration, ms(since)/float64(adv)*ovFeed/100)
			}
		}
		// planner_fill
		if (p.State == stateRun || p.State == stateIdle) && int(p.SourceLine) < lastMotion && p.PlannerFree <= uint8(min(blocks, 255)) {
			add(pi, PlannerFill, 100*float64(blocks-int(p.PlannerFree))/float64(blocks))
		}
		// spindle_on_mismatch and router_sense_latency_ms
		if p.Relay&relayHasSense != 0 {
			cmd, sensed := p.Relay&relayCommanded != 0, p.Relay&relaySensed != 0
			v := 0.0
			if cmd != sensed {
				v = ms(dt)
			}
			add(pi, SpindleMismatch, v)
			if c := s.Relay&relayCommanded != 0; c != cmd {
				edgeAt, edgeWin, edgeWant = s.T, find(int(s.SourceLine)), c
			}
			if edgeWin >= 0 && s.Relay&relayHasSense != 0 && (s.Relay&relaySensed != 0) == edgeWant && (s.Relay&relayCommanded != 0) == edgeWant {
				add(edgeWin, SenseLatency, ms(s.T-edgeAt))
				edgeWin = -1
			}
		}
	}
	for _, d := range drift {
		if i := find(d.Line); i >= 0 {
			add(i, ZDrift, DriftMagnitude(d.DriftUM))
		}
	}
	lastT := samples[len(samples)-1].T
	var out []Window
	for i := range ws {
		a := &ws[i]
		if !a.entered {
			continue
		}
		switch {
		case a.left:
			a.w.Complete, a.w.Duration = true, a.exitT-a.w.Entered
		case ended:
			a.w.Complete, a.w.Duration = true, lastT-a.w.Entered
		default:
			a.w.Duration = lastT - a.w.Entered
			if float64(a.w.Duration) < overdue*float64(x.Spans[i].Baseline) || x.Spans[i].Baseline <= 0 {
				continue // in progress, not late yet
			}
		}
		switch {
		case a.rapidChanged:
			a.w.Muted = append(a.w.Muted, WindowDuration, SegmentDuration)
		case a.ovChanged:
			// Durations are scaled per report interval; the window's
			// total cannot be, reliably.
			a.w.Muted = append(a.w.Muted, WindowDuration)
		default:
			a.w.Samples[WindowDuration] = []float64{ms(a.w.Duration)}
		}
		a.w.Samples[AlarmErrors] = []float64{a.alarms}
		out = append(out, a.w)
	}
	return out
}

// DriftFloorUM is the smallest |Z drift| the metrics tell apart (µm): a
// hobby touch plate repeats to a few µm and a LongMill's Z step is 5 µm,
// so smaller readings are noise. Without a floor a baseline of near-exact
// zeros (a simulator, a fine plate) would make any reading of a clean run,
// say 0.6 µm against 0.1, a sixfold critical increase.
const DriftFloorUM = 5

// DriftMagnitude is the z_drift_um sample of a drift reading: |drift|,
// at least DriftFloorUM.
func DriftMagnitude(um float64) float64 { return max(math.Abs(um), DriftFloorUM) }

// Plain returns the canary windows of ws.
func Plain(ws []Window) []canary.Window {
	out := make([]canary.Window, len(ws))
	for i, w := range ws {
		out[i] = w.Window
	}
	return out
}

func ovPercent(v uint8) float64 {
	if v == 0 {
		return 100 // no override field reported yet
	}
	return float64(v)
}

func sq(d int32) float64 { return float64(d) * float64(d) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
