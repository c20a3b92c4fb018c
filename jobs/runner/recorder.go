package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// recorder turns a run's progress into store updates (at most once per
// ProgressInterval: each is an fsync), telemetry samples (one per status
// report, appended in batches) and events. Its loop goroutine is owned by
// Service.stream.
type recorder struct {
	s     *Service
	run   jobs.Run
	job   jobs.Job
	conn  *grbl.Conn
	start time.Time

	mu         sync.Mutex
	samples    []jobs.Sample
	last       Progress
	stored     Progress
	lastEvent  time.Time
	lastStatus time.Time
	lastState  grbl.State
	// held is the run time spent in Hold, Door or Sleep (by status
	// reports): the ETA's rate leaves it out.
	held time.Duration
	// profile is the checker's time estimate by line (nil: none).
	profile *TimeProfile
	pauseAt int // source line of an M0 sent and not yet paused at
	pauses  chan string
	pwm     pwmWarning // guarded by mu
	relay   relayRecord
	// stop, when set, stops the run (the stream's context) when the
	// record cannot be written.
	stop context.CancelCauseFunc
	// tap, when set, also receives every sample (the live canary judge).
	tap func(jobs.Sample)
}

func newRecorder(s *Service, run jobs.Run, job jobs.Job, conn *grbl.Conn) *recorder {
	start := s.now()
	return &recorder{s: s, run: run, job: job, conn: conn, start: start, pauses: make(chan string, 1), relay: relayRecord{start: start},
		profile: ProfileOf(job)}
}

func (r *recorder) interval() time.Duration {
	if r.s.ProgressInterval > 0 {
		return r.s.ProgressInterval
	}
	return time.Second
}

// progress is the Stream's OnProgress: it must not block.
func (r *recorder) progress(p Progress) {
	var warn string
	r.mu.Lock()
	r.last = p
	if p.HaveStatus && p.Status.At.After(r.lastStatus) {
		if !r.lastStatus.IsZero() && stopped(r.lastState) {
			r.held += p.Status.At.Sub(r.lastStatus)
		}
		r.lastStatus, r.lastState = p.Status.At, p.Status.State
		smp := r.sample(p)
		r.samples = append(r.samples, smp)
		if r.tap != nil {
			r.tap(smp)
		}
		warn = r.pwmCheck(p)
		// GRBL holds by itself at M0; its ok waits for cycle start.
		if r.pauseAt != 0 && p.Status.State == grbl.StateHold && p.Status.SubState == 0 {
			reason := "paused by M0 at line " + itoa(r.pauseAt)
			r.pauseAt = 0
			select {
			case r.pauses <- reason:
			default:
			}
		}
	}
	now := r.s.now()
	emit := now.Sub(r.lastEvent) >= 250*time.Millisecond
	if emit {
		r.lastEvent = now
	}
	held := r.held
	r.mu.Unlock()
	if warn != "" {
		r.s.log().Warn("router relay on PWM", "run", r.run.ID, "line", p.LastExecuted, "spindle_override", p.Status.Ov.Spindle, "speed", p.Status.Speed)
		r.s.publish("run.warning", WarningEvent{Run: r.run.ID, Job: r.job.ID, Line: p.LastExecuted, Message: warn})
	}
	if emit {
		r.s.publish("run.progress", r.event(p, held))
	}
}

// pwmCheck watches for a spindle override that puts the SSR on PWM in
// sense mode; r.mu is held.
func (r *recorder) pwmCheck(p Progress) string {
	if r.s.Relay == nil || r.s.Relay.Mode() != relay.ModeSense {
		return ""
	}
	set := r.conn.Settings()
	return r.pwm.check(p.Status, set[30], set[31])
}

// event is the run.progress event of p; held is the run time spent held
// so far. The ETA extrapolates the time spent moving (elapsed minus held:
// a pause is no slower machine) from the lines executed (acknowledged
// ones before the first status report says otherwise: they run ahead by
// GRBL's buffers): by the checker's time estimate of the lines done and
// left, once at least a second of it is done (the machine's pace against
// the estimate: overrides, a slower or faster board); by the share of
// lines otherwise. A program whose last lines are long moves is nearly
// all lines and far from done.
func (r *recorder) event(p Progress, held time.Duration) ProgressEvent {
	ev := ProgressEvent{Run: r.run.ID, Job: r.job.ID, Lines: r.job.Lines, LastSent: p.LastSent, LastAcked: p.LastAcked,
		LastExecuted: p.LastExecuted, ElapsedMs: p.Elapsed.Milliseconds()}
	line := p.LastExecuted
	if line <= r.run.FromLine {
		line = p.LastAcked
	}
	active := p.Elapsed - held
	if eta, ok := r.profile.Left(r.run.FromLine, line, active); ok {
		ev.EtaMs = eta.Milliseconds()
		return ev
	}
	if line > 0 && r.job.Lines > 0 {
		done := float64(line-r.run.FromLine) / float64(r.job.Lines-r.run.FromLine+1)
		if done > 0 && done <= 1 && active > 0 {
			ev.EtaMs = int64(float64(active.Milliseconds()) * (1 - done) / done)
		}
	}
	return ev
}

// TimeProfile is the checker's run-time estimate of a job by source line
// (gcode.Report's estimated_seconds and time_profile, from jobs.Job.Check):
// what a progress display needs for an ETA that knows a program's last
// lines may be its longest moves.
type TimeProfile struct {
	total float64
	pts   []gcode.TimePoint // by line, ascending
}

// ProfileOf reads a job's time profile; nil when its check has none.
func ProfileOf(job jobs.Job) *TimeProfile {
	var rep struct {
		EstimatedSeconds float64           `json:"estimated_seconds"`
		TimeProfile      []gcode.TimePoint `json:"time_profile"`
	}
	if len(job.Check) == 0 || json.Unmarshal(job.Check, &rep) != nil || rep.EstimatedSeconds <= 0 || len(rep.TimeProfile) == 0 {
		return nil
	}
	pts := slices.Clone(rep.TimeProfile)
	slices.SortFunc(pts, func(a, b gcode.TimePoint) int { return a.Line - b.Line })
	if end := job.Lines + 1; pts[len(pts)-1].Line < end {
		// Past the last line the whole estimate has run.
		pts = append(pts, gcode.TimePoint{Line: end, Seconds: rep.EstimatedSeconds})
	}
	return &TimeProfile{total: rep.EstimatedSeconds, pts: pts}
}

// before is the estimated run time (s) before source line l, interpolated
// between the profile's points (from 0 at line 0; the total after the last
// line).
func (p *TimeProfile) before(l int) float64 {
	i := sort.Search(len(p.pts), func(i int) bool { return p.pts[i].Line >= l })
	switch {
	case i < len(p.pts) && p.pts[i].Line == l:
		return p.pts[i].Seconds
	case i == 0:
		return p.pts[0].Seconds * float64(max(l, 0)) / float64(max(p.pts[0].Line, 1))
	case i == len(p.pts):
		return p.total
	}
	a, b := p.pts[i-1], p.pts[i]
	return a.Seconds + (b.Seconds-a.Seconds)*float64(l-a.Line)/float64(b.Line-a.Line)
}

// paceAfter is how much of a job's estimate (s) a run must have done
// before its own pace scales the ETA (or a tenth of the estimate, when
// that is less): before, the start-up (homing, the spin-up dwell, a drift
// reference) weighs too much in too little.
const paceAfter = 30

// Left returns the time left of a run started at source line from that has
// executed line and spent active moving: the estimate of the lines left,
// at the run's pace against the estimate of the lines done once enough is
// done (paceAfter), as estimated before. false (no ETA) when p is nil or
// nothing has run.
func (p *TimeProfile) Left(from, line int, active time.Duration) (time.Duration, bool) {
	if p == nil || line <= 0 || active <= 0 {
		return 0, false
	}
	done := p.before(line+1) - p.before(from)
	left := p.total - p.before(line+1)
	if left < 0 {
		return 0, false
	}
	pace := 1.0
	if done > 0 && done >= min(paceAfter, p.total/10) {
		pace = active.Seconds() / done
	}
	return time.Duration(left * pace * float64(time.Second)), true
}

// stopped says whether a run's machine is standing still on purpose: held
// (feed hold, M0), door open, asleep.
func stopped(s grbl.State) bool {
	return s == grbl.StateHold || s == grbl.StateDoor || s == grbl.StateSleep
}

func (r *recorder) expectPause(line int) {
	r.mu.Lock()
	r.pauseAt = line
	r.mu.Unlock()
}

var stateCodes = map[grbl.State]uint8{
	grbl.StateIdle: 1, grbl.StateRun: 2, grbl.StateHold: 3, grbl.StateJog: 4, grbl.StateAlarm: 5,
	grbl.StateDoor: 6, grbl.StateCheck: 7, grbl.StateHome: 8, grbl.StateSleep: 9,
}

// Relay flag bits in jobs.Sample.Relay.
const (
	RelayCommanded uint8 = 1 << iota
	RelaySensed
	RelayHasSense
)

func clampI32(v float64) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(math.Round(v))
}

func (r *recorder) sample(p Progress) jobs.Sample {
	st := p.Status
	sm := jobs.Sample{T: st.At.Sub(r.start), State: stateCodes[st.State], Feed: clampI32(st.Feed), Spindle: clampI32(st.Speed),
		SourceLine: int32(p.LastExecuted)}
	if sm.T < 0 {
		sm.T = 0
	}
	for i := 0; i < 3 && i < len(st.MPos); i++ {
		sm.MPos[i] = clampI32(st.MPos[i] * 1000)
	}
	if st.HasBuffer {
		sm.PlannerFree = uint8(min(max(st.PlannerFree, 0), 255))
		sm.RxFree = uint16(min(max(st.RXFree, 0), 65535))
	}
	sm.Ov = [3]uint8{uint8(min(st.Ov.Feed, 255)), uint8(min(st.Ov.Rapid, 255)), uint8(min(st.Ov.Spindle, 255))}
	if r.s.Relay != nil {
		c, sensed := r.s.Relay.State()
		if c {
			sm.Relay |= RelayCommanded
		}
		if sensed != nil {
			sm.Relay |= RelayHasSense
			if *sensed {
				sm.Relay |= RelaySensed
			}
		}
	}
	return sm
}

// loop flushes progress and telemetry every interval and records M0
// pauses, until ctx ends.
func (r *recorder) loop(ctx context.Context) {
	t := time.NewTicker(r.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case reason := <-r.pauses:
			_ = r.setPaused(ctx, reason)
		case <-t.C:
			r.mu.Lock()
			p := r.last
			r.mu.Unlock()
			r.flush(ctx, p)
		}
	}
}

// setPaused records that the run waits for the operator.
func (r *recorder) setPaused(ctx context.Context, reason string) error {
	run, err := r.s.Store.UpdateRun(ctx, r.run.ID, func(rr *jobs.Run) error {
		if rr.State == jobs.StatePaused {
			rr.Reason = reason
			return nil
		}
		rr.State, rr.Reason = jobs.StatePaused, reason
		return nil
	})
	if err != nil {
		return err
	}
	r.s.publish("run.state", runEvent(run))
	return nil
}

// flush writes the buffered telemetry and, when it moved, the progress.
func (r *recorder) flush(ctx context.Context, p Progress) {
	r.mu.Lock()
	samples := r.samples
	r.samples = nil
	moved := p.LastAcked != r.stored.LastAcked || p.LastExecuted != r.stored.LastExecuted
	r.stored = p
	r.mu.Unlock()
	if err := r.relay.store(ctx, r.s.Store, r.run.ID, false); err != nil {
		r.s.log().Error("relay switches not stored yet", "run", r.run.ID, "err", err)
	}
	if len(samples) > 0 {
		var tw TelemetryWriter = r.s.Store
		if r.s.TelemetrySink != nil {
			tw = r.s.TelemetrySink
		}
		if err := tw.AppendTelemetry(ctx, r.run.ID, samples); err != nil {
			r.s.log().Error("telemetry append failed; samples dropped, stopping the run", "run", r.run.ID, "samples", len(samples), "err", err)
			r.recordLost(fmt.Errorf("telemetry: %w", err))
		}
	}
	if moved {
		_, err := r.s.Store.UpdateRun(ctx, r.run.ID, func(rr *jobs.Run) error {
			rr.LastAckedLine = max(rr.LastAckedLine, p.LastAcked)
			rr.LastExecutedLine = max(rr.LastExecutedLine, p.LastExecuted)
			rr.Summary.LinesSent = int(p.Sent)
			return nil
		})
		if err != nil {
			r.s.log().Error("progress update failed, stopping the run", "run", r.run.ID, "err", err)
			r.recordLost(fmt.Errorf("progress: %w", err))
		}
	}
}

// recordLost stops the run because its record cannot be written. A
// cancelled context is the run ending anyway, not a storage failure.
func (r *recorder) recordLost(err error) {
	if r.stop == nil || errors.Is(err, context.Canceled) {
		return
	}
	r.stop(fmt.Errorf("%w: %w", ErrRecordLost, err))
}
