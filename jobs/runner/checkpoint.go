package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/probe"
	"github.com/kerf-cnc/kerf/relay"
)

// DriftConfig turns on Z-drift tracking: a reference probe before each
// run, checkpoints at the program's safe points during it, and an
// absolute limit that aborts the run.
type DriftConfig struct {
	// Probe is the machine's reference probe (touch plate or tool setter).
	Probe probe.Setup
	// Interval is the least run time between two checkpoints; 0 probes at
	// every safe point. The safe point after the last cut is always
	// probed.
	Interval time.Duration
	// LimitUM is the absolute drift limit in micrometres: a checkpoint
	// beyond ±LimitUM aborts the run. 0 means no limit.
	LimitUM float64
	// SafeZ is the work Z (mm) at or above which the tool counts as
	// retracted between cuts (gcode.Options.SafeZ; 0: gcode.DefaultSafeZ).
	SafeZ float64
}

// ErrDriftLimit is matched by a *DriftLimitError: a checkpoint measured Z
// drift beyond the configured limit, and the run was aborted.
var ErrDriftLimit = errors.New("drift beyond the limit")

// DriftLimitError is a checkpoint beyond the absolute drift limit.
type DriftLimitError struct {
	Checkpoint jobs.Checkpoint
}

// Error gives the drift figures.
func (e *DriftLimitError) Error() string {
	c := e.Checkpoint
	return fmt.Sprintf("Z drift %+.0f µm at checkpoint %d (before line %d, %s into the run) is beyond the limit of ±%.0f µm: reference Z %.3f mm, now %.3f mm (machine)",
		c.DriftUM, c.Index, c.Line, c.Elapsed.Round(time.Second), c.LimitUM, c.ReferenceZ, c.Z)
}

// Is matches ErrDriftLimit.
func (e *DriftLimitError) Is(target error) bool { return target == ErrDriftLimit }

// CheckpointError is a checkpoint that could not measure (the probe did
// not touch, the router did not stop): the run fails, never reading it as
// zero drift.
type CheckpointError struct {
	Index int
	Line  int
	Err   error
}

// Error names the checkpoint and the line.
func (e *CheckpointError) Error() string {
	if e.Index == 0 {
		return fmt.Sprintf("drift reference probe before the job: %v", e.Err)
	}
	return fmt.Sprintf("drift checkpoint %d before line %d: %v", e.Index, e.Line, e.Err)
}

// Unwrap returns the cause (often a *machine.ProbeError).
func (e *CheckpointError) Unwrap() error { return e.Err }

// DriftEvent is the data of run.drift events: one per checkpoint, the
// reference probe included (checkpoint 0, drift 0). DzMM and DriftUM are
// the same figure in mm and µm; Error is set (and the figures 0) when the
// checkpoint failed.
type DriftEvent struct {
	Run        jobs.ID   `json:"run"`
	Checkpoint int       `json:"checkpoint"`
	Line       int       `json:"line"`
	DzMM       float64   `json:"dz_mm"`
	LimitMM    float64   `json:"limit_mm"`
	DriftUM    float64   `json:"drift_um"`
	ElapsedNS  int64     `json:"elapsed_ns"`
	At         time.Time `json:"at"`
	Error      string    `json:"error,omitempty"`
	// Reference: this touch is the reference from here on (drift 0).
	Reference bool `json:"reference,omitempty"`
}

// DriftEventOf turns a stored checkpoint into its event.
func DriftEventOf(c jobs.Checkpoint) DriftEvent {
	return DriftEvent{Run: c.Run, Checkpoint: c.Index, Line: c.Line, DzMM: c.DriftUM / 1000, LimitMM: c.LimitUM / 1000,
		DriftUM: c.DriftUM, ElapsedNS: int64(c.Elapsed), At: c.At, Error: c.Error, Reference: c.Reference}
}

// SafePointLines returns the source lines after which the tool is retracted
// between cuts (gcode's SafePoint analysis, every one of them), in order.
func SafePointLines(rep *gcode.Report) []int {
	lines := make([]int, 0, len(rep.SafePoints))
	for _, p := range rep.SafePoints {
		lines = append(lines, p.Line)
	}
	sort.Ints(lines)
	return lines
}

// maxSafePoints bounds the safe points kept for one run (each is an int).
const maxSafePoints = 1 << 20

// checkpointer carries out one run's drift checkpoints. It runs on the
// stream's sending goroutine only (AtLine), and before and after the
// stream on the run's goroutine: no locking.
type checkpointer struct {
	s     *Service
	cfg   DriftConfig
	run   jobs.Run
	conn  *grbl.Conn
	comp  *gcode.Compiler
	start time.Time

	safe    []int // safe point lines not yet passed
	last    int   // the last safe point line of the program (0: none)
	pending int   // a safe point passed and not yet checkpointed
	refZ    float64
	index   int
	lastAt  time.Time
	final   bool  // the safe point after the last cut was probed
	retool  bool  // a tool change was sent: take a new reference next
	lines   int   // the program's last source line
	err     error // the checkpoint error that stopped the run
}

// newCheckpointer plans a run's checkpoints from the program's safe points
// (read with gopts; the safe points before the run's first line are
// dropped).
func (s *Service) newCheckpointer(job jobs.Job, run jobs.Run, conn *grbl.Conn, comp *gcode.Compiler, gopts gcode.Options) (*checkpointer, error) {
	f, err := s.Store.OpenBody(job.SHA256)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o := gopts
	o.SafeZ = s.Drift.SafeZ
	o.MaxEvents = maxSafePoints
	rep, err := gcode.Check(f, job.Name, o)
	if err != nil {
		return nil, fmt.Errorf("drift: safe points of %s: %w", job.Name, err)
	}
	lines := SafePointLines(rep)
	cp := &checkpointer{s: s, cfg: *s.Drift, run: run, conn: conn, comp: comp, start: s.now(), lines: job.Lines}
	if len(lines) > 0 {
		cp.last = lines[len(lines)-1]
	}
	for len(lines) > 0 && lines[0] < run.FromLine {
		lines = lines[1:]
	}
	cp.safe = lines
	return cp, nil
}

// reference probes the reference Z before the first line; the tool comes
// back to where it was.
func (c *checkpointer) reference(ctx context.Context) error {
	if err := c.s.drainIdle(ctx, c.conn); err != nil {
		return &CheckpointError{Index: 0, Err: err}
	}
	st := c.conn.Status()
	res, err := probe.Run(ctx, c.conn, c.cfg.Probe, c.probeOptions(st, 0))
	cpt := jobs.Checkpoint{Run: c.run.ID, Index: 0, At: c.s.now(), Elapsed: c.s.now().Sub(c.start), LimitUM: c.cfg.LimitUM, Reference: true}
	if err != nil {
		cpt.Error = err.Error()
		c.record(ctx, cpt)
		return &CheckpointError{Index: 0, Err: err}
	}
	c.refZ = res.Z
	cpt.Z, cpt.ReferenceZ = res.Z, res.Z
	c.lastAt = c.s.now()
	c.record(ctx, cpt)
	if err := c.s.Store.SetReference(context.WithoutCancel(ctx), jobs.Reference{Z: res.Z, At: cpt.At, Run: c.run.ID}); err != nil {
		c.s.log().Error("store the machine's drift reference", "run", c.run.ID, "err", err)
	}
	return nil
}

func (c *checkpointer) probeOptions(st grbl.Status, line int) probe.Options {
	var o probe.Options
	if c.s.Relay != nil {
		o.Router = c.s.Relay
	}
	if len(st.MPos) == 3 {
		o.ReturnTo = &[3]float64{st.MPos[0], st.MPos[1], st.MPos[2]}
	}
	if line > 0 && c.comp != nil {
		if r := c.comp.ResumeBefore(line); r.Feed > 0 {
			o.Feed = r.Feed
		}
	}
	return o
}

// atLine is the stream's AtLine hook: it checkpoints before wl when due,
// and takes a new reference before the first line after a tool change
// (the new tool's length moves every touch).
func (c *checkpointer) atLine(ctx context.Context, wl gcode.WireLine) error {
	if c.retool {
		c.retool = false
		c.pending = 0
		for len(c.safe) > 0 && c.safe[0] < wl.Source {
			c.safe = c.safe[1:]
		}
		if err := c.checkpoint(ctx, wl, true); err != nil {
			return err
		}
	} else if due, last := c.due(wl); due {
		if err := c.checkpoint(ctx, wl, false); err != nil {
			return err
		}
		if last {
			c.final = true
		}
	}
	if wl.Actions.Has(gcode.ActionToolChange) {
		c.retool = true
	}
	return nil
}

// due decides whether to checkpoint before wl: only once the program has
// passed a safe point (the tool retracted between cuts, every line up to
// it sent and none after), when the interval since the last checkpoint
// has passed or the safe point is the program's last, and never in a
// modal arc (GRBL cannot be put back in G2/G3 without an arc move). A safe
// point that is not probed is dropped: the next one decides again.
func (c *checkpointer) due(wl gcode.WireLine) (due, last bool) {
	for len(c.safe) > 0 && c.safe[0] < wl.Source {
		c.pending = c.safe[0]
		c.safe = c.safe[1:]
	}
	if c.pending == 0 {
		return false, false
	}
	at := c.pending
	c.pending = 0
	last = at == c.last
	if !last && c.cfg.Interval > 0 && c.s.now().Sub(c.lastAt) < c.cfg.Interval {
		return false, false
	}
	if c.comp.ResumeBefore(wl.Source).Arc {
		return false, false
	}
	return true, last
}

// finish is the stream's AtEnd hook: the final checkpoint after the last
// line when the safe point after the last cut was not probed during the
// stream (the program ended right there, or has no safe point at all).
func (c *checkpointer) finish(ctx context.Context) error {
	if c.retool { // the program ended with a tool change: nothing to compare
		c.retool = false
		return nil
	}
	if c.final {
		return nil
	}
	c.final = true
	return c.checkpoint(ctx, gcode.WireLine{Source: c.lines}, false)
}

// checkpoint drains the machine, probes, comes back, restarts the router
// as it was, records the drift and judges it; with newRef the touch
// becomes the reference instead (after a tool change). wl is the line the
// program continues with (its Source is the program's last line after the
// end).
func (c *checkpointer) checkpoint(ctx context.Context, wl gcode.WireLine, newRef bool) error {
	c.index++
	idx := c.index
	line := wl.Source
	fail := func(err error) error {
		cpt := jobs.Checkpoint{Run: c.run.ID, Index: idx, Line: line, At: c.s.now(), Elapsed: c.s.now().Sub(c.start),
			ReferenceZ: c.refZ, LimitUM: c.cfg.LimitUM, Error: err.Error()}
		c.record(context.WithoutCancel(ctx), cpt)
		c.err = &CheckpointError{Index: idx, Line: line, Err: err}
		return c.err
	}
	if err := c.s.drainIdle(ctx, c.conn); err != nil {
		return err // the stream is stopping for its own reason
	}
	st := c.conn.Status()
	po := c.probeOptions(st, line)
	if !newRef {
		// The same tool as the reference: start the first touch just
		// above it (probe.Setup.Approach), and stay at the plate when the
		// touch is beyond the limit (the run stops there).
		ref := c.refZ
		po.Expect = &ref
		po.GoBack = func(z float64) bool { return !c.beyond(z) }
	}
	res, err := probe.Run(ctx, c.conn, c.cfg.Probe, po)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, probe.ErrFailed) {
			return err
		}
		return fail(err)
	}
	now := c.s.now()
	if newRef {
		c.refZ = res.Z
	}
	cpt := jobs.Checkpoint{Run: c.run.ID, Index: idx, Line: line, At: now, Elapsed: now.Sub(c.start),
		Z: res.Z, ReferenceZ: c.refZ, DriftUM: c.driftUM(res.Z), LimitUM: c.cfg.LimitUM, Reference: newRef}
	c.lastAt = now
	c.record(ctx, cpt)
	if !newRef && c.beyond(res.Z) {
		// Router off (it is), tool retracted above the work: stop here.
		return &DriftLimitError{Checkpoint: cpt}
	}
	if wl.Actions&(gcode.ActionSpindleOff|gcode.ActionProgramEnd|gcode.ActionToolChange) != 0 {
		return nil // the next line stops the router anyway
	}
	if m := res.Modal.Spindle; m == "M3" || m == "M4" {
		if err := c.routerOn(ctx, m, res.Modal.Speed, fmt.Sprintf("after drift checkpoint %d", idx)); err != nil {
			if ctx.Err() != nil {
				return err
			}
			c.err = &CheckpointError{Index: idx, Line: line, Err: fmt.Errorf("measured, but the router did not restart: %w", err)}
			return c.err
		}
	}
	return nil
}

// driftUM is the drift of a touch at machine Z z from the reference, in
// µm rounded to 0.1 µm (as checkpoints store it).
func (c *checkpointer) driftUM(z float64) float64 { return math.Round((z-c.refZ)*1e4) / 10 }

// beyond says whether a touch at machine Z z is beyond the drift limit.
func (c *checkpointer) beyond(z float64) bool {
	return c.cfg.LimitUM > 0 && math.Abs(c.driftUM(z)) > c.cfg.LimitUM
}

// routerOn restarts the router as it was before the checkpoint: relay (drive
// mode) or M3/M4 (GRBL's own output), confirmation, spin-up dwell.
func (c *checkpointer) routerOn(ctx context.Context, m string, speed float64, what string) error {
	s := c.s
	if s.Relay != nil && s.Relay.Drives() {
		if err := s.Relay.On(what); err != nil {
			return err
		}
	}
	if _, err := c.conn.Command(ctx, m+"S"+gcodeNum(speed)); err != nil {
		return fmt.Errorf("%s: spindle on: %w", what, err)
	}
	if s.Relay != nil && s.Relay.Mode() == relay.ModeSense {
		s.Relay.SetCommanded(true, what)
	}
	if s.Relay != nil {
		if err := s.Relay.Verify(ctx, what); err != nil {
			return err
		}
	}
	if d := s.spinUp(); d > 0 {
		if _, err := c.conn.Command(ctx, dwell(d)); err != nil {
			return fmt.Errorf("%s: spin-up dwell: %w", what, err)
		}
	}
	return nil
}

// record stores and publishes a checkpoint. A store failure is logged: the
// measurement still judges the run.
func (c *checkpointer) record(ctx context.Context, cpt jobs.Checkpoint) {
	if err := c.s.Store.AddCheckpoint(context.WithoutCancel(ctx), cpt); err != nil {
		c.s.log().Error("store a drift checkpoint", "run", cpt.Run, "checkpoint", cpt.Index, "err", err)
	}
	c.s.publish("run.drift", DriftEventOf(cpt))
	c.s.log().Info("drift checkpoint", "run", cpt.Run, "checkpoint", cpt.Index, "line", cpt.Line, "z", cpt.Z, "drift_um", cpt.DriftUM, "err", cpt.Error)
}

// driftEnabled says whether a run of job tracks drift.
func (s *Service) driftEnabled(job jobs.Job) bool { return s.Drift != nil && !job.NoDrift }
