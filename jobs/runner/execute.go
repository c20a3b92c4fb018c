package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// execute streams one run to its end and records how it ended. The router
// is off whenever it returns.
func (s *Service) execute(ctx context.Context, ar *activeRun, job jobs.Job, run jobs.Run, conn *grbl.Conn, sig *Signals, gopts gcode.Options) {
	res, err := s.stream(ctx, ar, job, run, conn, sig, gopts)
	s.relayOff("run ended")
	if pe := (*PanicError)(nil); errors.As(err, &pe) {
		s.log().Error("run stopped by a panic", "run", run.ID, "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	}
	if err == nil && res != nil {
		// Completed: every line has run, the trailing comments and blank
		// lines that send nothing included.
		res.LastAcked, res.LastExecuted = job.Lines, job.Lines
	}
	state, reason := outcome(err)
	s.finish(context.WithoutCancel(ctx), run.ID, state, reason, res)
}

// outcome maps how a stream ended to the run's final state.
func outcome(err error) (jobs.RunState, string) {
	var (
		gerr *grbl.Error
		al   *grbl.Alarm
	)
	switch {
	case err == nil:
		return jobs.StateCompleted, ""
	case errors.Is(err, ErrRelayOff):
		return jobs.StateAborted, ErrRelayOff.Error()
	case errors.Is(err, ErrUserAbort):
		return jobs.StateAborted, ErrUserAbort.Error()
	case errors.Is(err, ErrDriftLimit), errors.As(err, new(*CanaryAbortError)):
		return jobs.StateAborted, err.Error()
	case errors.Is(err, ErrShutdown), errors.Is(err, grbl.ErrDisconnected), errors.Is(err, grbl.ErrClosed),
		errors.Is(err, ErrUnexpectedReset), errors.Is(err, grbl.ErrReset):
		return jobs.StateInterrupted, err.Error()
	case errors.As(err, &gerr), errors.As(err, &al):
		return jobs.StateFailed, err.Error()
	default:
		return jobs.StateFailed, err.Error()
	}
}

func (s *Service) relayOff(reason string) {
	if s.Relay == nil {
		return
	}
	if err := s.Relay.Off(reason); err != nil {
		s.log().Error("relay off failed", "reason", reason, "err", err)
	}
}

func (s *Service) spinUp() time.Duration {
	if s.SpinUp > 0 {
		return s.SpinUp
	}
	return 0
}

func dwell(d time.Duration) string {
	return "G4P" + gcodeNum(d.Seconds())
}

func gcodeNum(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}

func (s *Service) stream(ctx context.Context, ar *activeRun, job jobs.Job, run jobs.Run, conn *grbl.Conn, sig *Signals, gopts gcode.Options) (*Result, error) {
	f, err := s.Store.OpenBody(job.SHA256)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := s.routerOffAtStart(ctx, conn); err != nil {
		return nil, err
	}
	// The wire form starts from the board's own modal state (board.go).
	copts := gopts
	copts.Board = s.boardState(ctx, conn, s.driftEnabled(job))
	comp := gcode.NewCompiler(f, job.Name, copts)
	var prog Program = comp
	if run.FromLine > 1 {
		prog, err = s.resumeProgram(comp, run.FromLine)
		if err != nil {
			return nil, err
		}
	}

	if s.Relay != nil && s.Relay.Mode() == relay.ModeSense && s.spinUp() > 0 {
		prog = &spinUpDwell{prog: prog, spinUp: s.spinUp()}
	}

	rec := newRecorder(s, run, job, conn)
	rec.stop = ar.cancel
	judge := s.startJudge(ctx, ar, conn, job, run, gopts) // nil: no baseline
	// The early returns below (checkpoint set-up) end the run too.
	defer judge.halt()
	if judge != nil {
		rec.tap = judge.add
	}
	if s.Relay != nil {
		unsubscribe := s.Relay.Subscribe(rec.relay.on)
		defer func() { unsubscribe(); s.storeRelaySwitches(context.WithoutCancel(ctx), rec) }()
	}
	var recWG sync.WaitGroup
	recCtx, stopRec := context.WithCancel(context.WithoutCancel(ctx))
	recWG.Add(1)
	go func() {
		defer recWG.Done()
		defer func() {
			if p := recover(); p != nil {
				ar.cancel(newPanicError(p)) // the stream stops on it: router off, machine stopped
			}
		}()
		rec.loop(recCtx)
	}()
	defer func() { stopRec(); recWG.Wait() }()

	var cp *checkpointer // Z-drift checkpoints (checkpoint.go)
	if s.driftEnabled(job) {
		if cp, err = s.newCheckpointer(job, run, conn, comp, gopts); err != nil {
			return nil, err
		}
		if err := cp.reference(ctx); err != nil {
			return nil, err
		}
	}

	st := &Stream{
		Conn:    conn,
		Signals: sig,
		Program: prog,
		Before: func(ctx context.Context, wl gcode.WireLine) error {
			return s.before(ctx, ar, conn, rec, wl)
		},
		AfterAck: func(ctx context.Context, wl gcode.WireLine) error {
			return s.afterAck(ctx, wl)
		},
		OnStop:     func(error) { s.relayOff("run stopping") },
		OnProgress: rec.progress,
		Now:        s.Now,
	}
	if cp != nil {
		st.AtLine, st.AtEnd = cp.atLine, cp.finish
	}
	res, err := st.Run(ctx)
	if cp != nil && cp.err != nil {
		err = cp.err // the checkpoint's own account, not the ALARM:5 it caused
	}
	rec.flush(context.WithoutCancel(ctx), res.Progress)
	judge.finish(context.WithoutCancel(ctx), err == nil)
	return &res, err
}

// before runs on the sending goroutine before a line with actions.
func (s *Service) before(ctx context.Context, ar *activeRun, conn *grbl.Conn, rec *recorder, wl gcode.WireLine) error {
	drive := s.Relay != nil && s.Relay.Drives()
	switch {
	case wl.Actions.Has(gcode.ActionToolChange):
		return s.toolChange(ctx, ar, conn, rec, wl)
	case wl.Actions.Has(gcode.ActionSpindleOn) && drive:
		if err := s.drainIdle(ctx, conn); err != nil {
			return err
		}
		if err := s.Relay.On(fmt.Sprintf("M3/M4 at line %d", wl.Source)); err != nil {
			return err
		}
		if err := s.Relay.Verify(ctx, fmt.Sprintf("M3 at line %d", wl.Source)); err != nil {
			return err
		}
		if d := s.spinUp(); d > 0 {
			if _, err := conn.Command(ctx, dwell(d)); err != nil {
				return fmt.Errorf("spin-up dwell: %w", err)
			}
		}
	case (wl.Actions.Has(gcode.ActionSpindleOff) || wl.Actions.Has(gcode.ActionProgramEnd)) && drive:
		if err := s.drainIdle(ctx, conn); err != nil {
			return err
		}
		if err := s.Relay.Off(fmt.Sprintf("M5 at line %d", wl.Source)); err != nil {
			return err
		}
		if err := s.Relay.Verify(ctx, fmt.Sprintf("M5 at line %d", wl.Source)); err != nil {
			return err
		}
	}
	if wl.Actions.Has(gcode.ActionPause) {
		rec.expectPause(wl.Source)
	}
	return nil
}

// afterAck checks the sense input once GRBL has executed M3/M4/M5 (their
// ok comes only after the planner has drained and the output switched).
func (s *Service) afterAck(ctx context.Context, wl gcode.WireLine) error {
	if s.Relay == nil || s.Relay.Mode() != relay.ModeSense {
		return nil
	}
	switch {
	case wl.Actions.Has(gcode.ActionSpindleOn):
		s.Relay.SetCommanded(true, fmt.Sprintf("M3 at line %d", wl.Source))
		return s.Relay.Verify(ctx, fmt.Sprintf("M3 at line %d", wl.Source))
	case wl.Actions.Has(gcode.ActionSpindleOff), wl.Actions.Has(gcode.ActionProgramEnd):
		s.Relay.SetCommanded(false, fmt.Sprintf("M5 at line %d", wl.Source))
		return s.Relay.Verify(ctx, fmt.Sprintf("M5 at line %d", wl.Source))
	}
	return nil
}

// drainIdle waits until every line sent has executed: all acknowledged,
// the machine Idle and the planner empty.
func (s *Service) drainIdle(ctx context.Context, conn *grbl.Conn) error {
	if err := conn.Drain(ctx); err != nil {
		return err
	}
	blocks := conn.Info().PlannerBlocks
	_, err := conn.WaitStatus(ctx, func(st grbl.Status) bool {
		return st.State == grbl.StateIdle && (!st.HasBuffer || blocks == 0 || st.PlannerFree >= blocks)
	})
	return err
}

// toolChange carries out M6, which GRBL refuses: stop the router, retract,
// go to the tool-change position, wait for the operator, come back above
// where the tool was, restart the router with its spin-up, continue.
func (s *Service) toolChange(ctx context.Context, ar *activeRun, conn *grbl.Conn, rec *recorder, wl gcode.WireLine) error {
	if err := s.drainIdle(ctx, conn); err != nil {
		return err
	}
	st := conn.Status()
	back := st.MPos
	spindleOn := st.Acc.SpindleCW || st.Acc.SpindleCCW
	if s.Relay != nil {
		if c, _ := s.Relay.State(); c {
			spindleOn = true
		}
	}
	speed := st.Speed
	what := fmt.Sprintf("tool change at line %d", wl.Source)
	if s.Relay != nil && s.Relay.Drives() {
		if err := s.Relay.Off(what); err != nil {
			return err
		}
	}
	if _, err := conn.Command(ctx, "M5"); err != nil {
		return fmt.Errorf("%s: stop spindle: %w", what, err)
	}
	if s.Relay != nil && s.Relay.Mode() == relay.ModeSense {
		s.Relay.SetCommanded(false, what)
	}
	if s.Relay != nil {
		if err := s.Relay.Verify(ctx, what); err != nil {
			return err
		}
	}
	moves := []string{"G53G0Z" + gcodeNum(s.SafeZ)}
	if s.ToolChange != nil {
		tc := *s.ToolChange
		moves = append(moves, "G53G0X"+gcodeNum(tc[0])+"Y"+gcodeNum(tc[1]), "G53G0Z"+gcodeNum(tc[2]))
	}
	for _, m := range moves {
		if _, err := conn.Command(ctx, m); err != nil {
			return fmt.Errorf("%s: %s: %w", what, m, err)
		}
	}
	if err := s.drainIdle(ctx, conn); err != nil {
		return err
	}

	// Wait for the operator.
	s.mu.Lock()
	ar.waiting = true
	s.mu.Unlock()
	reason := fmt.Sprintf("tool change at line %d: load tool %d, then resume", wl.Source, wl.Tool)
	if err := rec.setPaused(ctx, reason); err != nil {
		return err
	}
	select {
	case <-ar.resume:
	case <-ctx.Done():
		return causeOr(ctx, ctx.Err())
	}
	s.mu.Lock()
	ar.waiting = false
	s.mu.Unlock()

	// Back above where the tool was; the program brings it down.
	if len(back) == 3 {
		for _, m := range []string{"G53G0Z" + gcodeNum(s.SafeZ), "G53G0X" + gcodeNum(back[0]) + "Y" + gcodeNum(back[1])} {
			if _, err := conn.Command(ctx, m); err != nil {
				return fmt.Errorf("%s: return: %w", what, err)
			}
		}
	}
	if spindleOn {
		if err := s.spindleOn(ctx, conn, speed, what); err != nil {
			return err
		}
	}
	return nil
}

// spindleOn restarts the router outside the program's own M3 (after a
// tool change or for a restart): relay or M3, then the spin-up dwell.
func (s *Service) spindleOn(ctx context.Context, conn *grbl.Conn, speed float64, what string) error {
	if s.Relay != nil && s.Relay.Drives() {
		if err := s.drainIdle(ctx, conn); err != nil {
			return err
		}
		if err := s.Relay.On(what); err != nil {
			return err
		}
	}
	if _, err := conn.Command(ctx, "M3S"+gcodeNum(speed)); err != nil {
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
		if _, err := conn.Command(ctx, dwell(d)); err != nil {
			return fmt.Errorf("%s: spin-up dwell: %w", what, err)
		}
	}
	return nil
}

// resumeProgram starts a program at source line from: it reads the lines
// before it without sending them, then sends the modal state and a safe
// approach, then the rest of the program.
func (s *Service) resumeProgram(comp *gcode.Compiler, from int) (Program, error) {
	for {
		wl, err := comp.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("start from line %d: no line to send from there: %w", from, jobs.ErrInvalid)
		}
		if err != nil {
			return nil, err
		}
		if wl.Source < from {
			continue
		}
		r := comp.ResumeBefore(wl.Source)
		if r.Arc && !hasArcWord(wl.Text) {
			return nil, fmt.Errorf("start from line %d: the line continues an arc in modal G2/G3; start from a line with its own motion word: %w", wl.Source, jobs.ErrInvalid)
		}
		pre := []gcode.WireLine{{Text: "G21G90G94G17G49", Source: from}}
		pre = append(pre,
			gcode.WireLine{Text: "G53G0Z" + gcodeNum(s.SafeZ), Source: from, Motion: true},
			gcode.WireLine{Text: "G53G0X" + gcodeNum(r.Machine[0]) + "Y" + gcodeNum(r.Machine[1]), Source: from, Motion: true},
		)
		if r.SpindleOn {
			m := "M3"
			if r.SpindleCCW {
				m = "M4"
			}
			pre = append(pre, gcode.WireLine{Text: m + "S" + gcodeNum(r.Speed), Source: from, Actions: gcode.ActionSpindleOn, Spindle: r.Speed})
			if (s.Relay == nil || s.Relay.Mode() == relay.ModeNone) && s.spinUp() > 0 {
				// Nobody else dwells for spin-up before the plunge.
				pre = append(pre, gcode.WireLine{Text: dwell(s.spinUp()), Source: from})
			}
		}
		if r.Flood {
			pre = append(pre, gcode.WireLine{Text: "M8", Source: from})
		}
		feed := r.Feed
		if feed <= 0 {
			feed = 100
		}
		pre = append(pre, gcode.WireLine{Text: "G53G1Z" + gcodeNum(r.Machine[2]) + "F" + gcodeNum(feed), Source: from, Motion: true})
		for _, o := range r.Offsets {
			pre = append(pre, gcode.WireLine{Text: o, Source: from})
		}
		for _, m := range r.Modal {
			pre = append(pre, gcode.WireLine{Text: m, Source: from})
		}
		return &prefixed{pre: append(pre, wl), rest: comp}, nil
	}
}

func hasArcWord(text string) bool {
	for i := 0; i+1 < len(text); i++ {
		if text[i] == 'G' && (text[i+1] == '2' || text[i+1] == '3') && (i+2 == len(text) || text[i+2] < '0' || text[i+2] > '9') {
			return true
		}
	}
	return false
}

// prefixed yields some lines, then the rest of a program.
type prefixed struct {
	pre  []gcode.WireLine
	rest Program
}

func (p *prefixed) Next() (gcode.WireLine, error) {
	if len(p.pre) > 0 {
		wl := p.pre[0]
		p.pre = p.pre[1:]
		return wl, nil
	}
	return p.rest.Next()
}
