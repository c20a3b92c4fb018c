package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// ErrRelayOff is the cause of a run stopped because the operator switched
// the router off (cutting on with a stopped router breaks the bit).
var ErrRelayOff = errors.New("the router was switched off by the operator")

// RelayRefusedError says why a manual switch-on was refused. It matches
// jobs.ErrConflict (the API answers 409 with Reason).
type RelayRefusedError struct {
	// Reason is why, in the operator's words.
	Reason string
}

func (e *RelayRefusedError) Error() string { return "router on refused: " + e.Reason }

// Unwrap makes errors.Is(err, jobs.ErrConflict) true.
func (e *RelayRefusedError) Unwrap() error { return jobs.ErrConflict }

// operatorReason is the reason manual switches carry.
const (
	operatorOn  = "switched on by the operator"
	operatorOff = "switched off by the operator"
)

// RelayStatus returns the router relay's state (mode none without a
// relay).
func (s *Service) RelayStatus() relay.Status {
	if s.Relay == nil {
		return relay.Status{Mode: relay.ModeNone.String()}
	}
	return s.Relay.Status()
}

// RelayOn switches the router on by hand: in drive mode the relay output,
// in sense mode GRBL's spindle output with M3 at S = $30 (steady high, not
// PWM). It is refused with a *RelayRefusedError unless a relay is wired
// (mode drive or sense), no run is active, nothing else holds the machine
// and the board is connected and Idle. With a sense input it waits for the
// router to show as running; if it does not, the router is switched off
// again and the *relay.MismatchError returned.
func (s *Service) RelayOn(ctx context.Context) (relay.Status, error) {
	refuse := func(format string, a ...any) (relay.Status, error) {
		return s.RelayStatus(), &RelayRefusedError{Reason: fmt.Sprintf(format, a...)}
	}
	if s.Relay == nil || s.Relay.Mode() == relay.ModeNone {
		return refuse("relay mode is none: kerf neither switches nor watches the router (set relay.mode to drive or sense)")
	}
	if id := s.ActiveRun(); id != 0 {
		return refuse("run %s is active: its program switches the router", id)
	}
	release, err := s.Link.Acquire(ctx, "router relay on")
	if err != nil {
		return refuse("the machine is busy: %v", err)
	}
	defer release()
	if id := s.ActiveRun(); id != 0 { // started before the lease was ours
		return refuse("run %s is active: its program switches the router", id)
	}
	conn, _, err := s.Link.Conn()
	if err != nil {
		return refuse("no machine: %v", err)
	}
	if err := conn.CheckIdle(ctx); err != nil {
		return refuse("the machine must be Idle: %v", err)
	}
	switch s.Relay.Mode() {
	case relay.ModeDrive:
		if err := s.Relay.On(operatorOn); err != nil {
			return s.RelayStatus(), err
		}
		if err := s.Relay.Verify(ctx, operatorOn); err != nil {
			s.relayOff("the router did not start")
			return s.RelayStatus(), err
		}
	case relay.ModeSense:
		speed := conn.Settings()[30]
		if speed <= 0 {
			speed = 1000 // GRBL's default $30
		}
		if _, err := conn.Command(ctx, "M3S"+gcodeNum(speed)); err != nil {
			return s.RelayStatus(), fmt.Errorf("router on: M3: %w", err)
		}
		s.Relay.SetCommanded(true, operatorOn)
		if err := s.Relay.Verify(ctx, operatorOn); err != nil {
			if _, m5err := conn.Command(context.WithoutCancel(ctx), "M5"); m5err != nil {
				err = errors.Join(err, fmt.Errorf("router off again: M5: %w", m5err))
			}
			s.Relay.SetCommanded(false, "the router did not start")
			return s.RelayStatus(), err
		}
	}
	return s.RelayStatus(), nil
}

// RelayOff switches the router off by hand. It is always allowed: in
// drive mode the output goes off at once; a run that is active is then
// stopped (feed hold, soft reset — which also drops GRBL's own spindle
// output in sense mode) and recorded as aborted with ErrRelayOff; without a
// run, sense mode sends M5 (unless the board is in alarm, which has stopped
// the spindle already). With a sense input it then checks that the router
// stopped and returns a *relay.MismatchError if not. Mode none does nothing.
func (s *Service) RelayOff(ctx context.Context) (relay.Status, error) {
	if s.Relay == nil || s.Relay.Mode() == relay.ModeNone {
		return s.RelayStatus(), nil
	}
	var errs []error
	if err := s.Relay.Off(operatorOff); err != nil {
		errs = append(errs, err)
	}
	s.mu.Lock()
	ar := s.active
	s.mu.Unlock()
	switch {
	case ar != nil:
		ar.cancel(ErrRelayOff)
		select {
		case <-ar.done:
		case <-ctx.Done():
			return s.RelayStatus(), errors.Join(append(errs, ctx.Err())...)
		}
	case s.Relay.Mode() == relay.ModeSense:
		if conn, _, err := s.Link.Conn(); err == nil && conn.Status().State != grbl.StateAlarm && conn.AlarmError() == nil {
			if _, err := conn.Command(ctx, "M5"); err != nil {
				errs = append(errs, fmt.Errorf("router off: M5: %w", err))
			}
		}
	}
	if len(errs) == 0 {
		if err := s.Relay.Verify(ctx, operatorOff); err != nil {
			errs = append(errs, err)
		}
	}
	return s.RelayStatus(), errors.Join(errs...)
}

// routerOffAtStart makes sure a run starts with the router off, whatever
// was switched by hand before: the program's own M3 switches it on.
func (s *Service) routerOffAtStart(ctx context.Context, conn *grbl.Conn) error {
	if s.Relay == nil {
		return nil
	}
	if c, _ := s.Relay.State(); !c {
		return nil
	}
	if s.Relay.Mode() == relay.ModeSense {
		if _, err := conn.Command(ctx, "M5"); err != nil {
			return fmt.Errorf("router off before the run: M5: %w", err)
		}
	}
	return s.Relay.Off("run start")
}

// relayRecord collects a run's relay switches from the Router's events
// and stores them as the run's telemetry. A switch is stored once it is
// settled — confirmed or mismatched by the sense input, superseded by a
// later switch, or made without a sense input — so that its stored record
// is final; the end of the run stores the rest.
type relayRecord struct {
	start time.Time

	// storeMu serialises store: the recorder's ticker and the end of the
	// run both store, and two stores must not take the same switches.
	storeMu sync.Mutex
	mu      sync.Mutex
	pending []jobs.RelaySwitch
	stored  int
}

// on is the Router subscription: it must not block.
func (rr *relayRecord) on(ev relay.Event) {
	sw := ev.LastSwitch
	if sw == nil {
		return
	}
	rec := jobs.RelaySwitch{T: max(sw.Time.Sub(rr.start), 0), At: sw.Time, On: sw.On, Reason: sw.Reason, Sensed: sw.Sensed,
		Confirmed: sw.Confirmed, Mismatch: sw.Mismatch, Latency: sw.Latency}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if ev.Kind != relay.KindSwitch {
		for i := len(rr.pending) - 1; i >= 0; i-- {
			if rr.pending[i].At.Equal(sw.Time) && rr.pending[i].On == sw.On {
				rr.pending[i] = rec
				return
			}
		}
		return // settled after being stored as superseded: the record stays
	}
	rr.pending = append(rr.pending, rec)
}

func settled(sw jobs.RelaySwitch) bool { return sw.Sensed == nil || sw.Confirmed || sw.Mismatch }

// store appends the settled switches (all of them when final).
func (rr *relayRecord) store(ctx context.Context, st *jobs.Store, run jobs.ID, final bool) error {
	rr.storeMu.Lock()
	defer rr.storeMu.Unlock()
	rr.mu.Lock()
	n := len(rr.pending)
	if !final && n > 0 && !settled(rr.pending[n-1]) {
		n-- // only the newest can be unsettled: a later switch settles the others
	}
	batch := append([]jobs.RelaySwitch(nil), rr.pending[:n]...)
	rr.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := st.AppendRelaySwitches(ctx, run, batch); err != nil {
		return err
	}
	rr.mu.Lock()
	rr.pending = rr.pending[n:]
	rr.stored += n
	rr.mu.Unlock()
	return nil
}

// pwmWarning reports, once per episode, that a spindle override below
// 100 % puts the SSR on PWM during a run in sense mode: GRBL's spindle
// output is steady high only while the speed it computes (S times the
// override) is at least $30.
type pwmWarning struct {
	active bool
}

// check returns a warning when st starts such an episode.
func (w *pwmWarning) check(st grbl.Status, maxRPM, minRPM float64) string {
	pwm := st.Speed > 0 && st.Ov.Spindle > 0 && st.Ov.Spindle < 100 && minRPM < maxRPM && st.Speed < maxRPM
	start := pwm && !w.active
	w.active = pwm
	if !start {
		return ""
	}
	return fmt.Sprintf("spindle override %d %% brings the spindle speed to %g, below $30=%g: GRBL's spindle output is now ~1 kHz PWM and the router's SSR is switched on and off with it; set the spindle override back to 100 %%",
		st.Ov.Spindle, st.Speed, maxRPM)
}

// WarningEvent is the data of run.warning events.
type WarningEvent struct {
	Run     jobs.ID `json:"run"`
	Job     jobs.ID `json:"job"`
	Line    int     `json:"line"`
	Message string  `json:"message"`
}

// storeRelaySwitches stores the run's remaining switches and their summary
// (RunSummary.Relay) once the run has stopped switching.
func (s *Service) storeRelaySwitches(ctx context.Context, rec *recorder) {
	if err := rec.relay.store(ctx, s.Store, rec.run.ID, true); err != nil {
		s.log().Error("relay switches dropped", "run", rec.run.ID, "err", err)
		return
	}
	sw, err := s.Store.RelaySwitches(ctx, rec.run.ID)
	if err != nil || len(sw) == 0 {
		if err != nil {
			s.log().Error("relay summary", "run", rec.run.ID, "err", err)
		}
		return
	}
	sum := jobs.SummarizeRelaySwitches(sw)
	if _, err := s.Store.UpdateRun(ctx, rec.run.ID, func(r *jobs.Run) error { r.Summary.Relay = &sum; return nil }); err != nil {
		s.log().Error("relay summary", "run", rec.run.ID, "err", err)
	}
}

// recoverRun is the last line of defence of a run's goroutine: a panic
// outside the Stream (which recovers its own) switches the router off,
// stops the machine and records the run as failed instead of taking the
// daemon down with the relay possibly on.
func (s *Service) recoverRun(ctx context.Context, id jobs.ID, conn *grbl.Conn) {
	p := recover()
	if p == nil {
		return
	}
	pe := newPanicError(p)
	s.relayOff("runner panic")
	s.log().Error("run stopped by a panic", "run", id, "panic", fmt.Sprint(p), "stack", string(pe.Stack))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = conn.FeedHold()
	_ = conn.SoftReset(sctx)
	s.finish(sctx, id, jobs.StateFailed, pe.Error(), nil)
}
