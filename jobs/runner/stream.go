package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
)

// Program yields the wire lines to send; *gcode.Compiler satisfies it.
type Program interface {
	Next() (gcode.WireLine, error)
}

// Errors a Stream ends with, besides *grbl.Error, *grbl.Alarm and
// program errors (*gcode.DiagnosticError).
var (
	// ErrAborted: the stream's context was cancelled without a cause.
	ErrAborted = errors.New("aborted")
	// ErrUnexpectedReset: the board reset itself mid-stream (banner).
	ErrUnexpectedReset = errors.New("the board reset during the job (power glitch, USB reset or a reset from elsewhere)")
)

// StopError says why a stream stopped and at which source line.
type StopError struct {
	Line  int   // source line of the failing ack, or the last acknowledged line
	Cause error // *grbl.Error, *grbl.Alarm, ErrUnexpectedReset, grbl.ErrDisconnected, ErrAborted, …
}

func (e *StopError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Cause)
	}
	return e.Cause.Error()
}

func (e *StopError) Unwrap() error { return e.Cause }

// Progress is a stream's position, reported after every acknowledgement
// and status report.
type Progress struct {
	Sent, Acked   int64 // lines
	BytesSent     int64 // bytes written for lines, newlines included
	LastSent      int   // source line of the last line sent
	LastAcked     int   // source line of the last line acknowledged
	LastExecuted  int   // last source line known to have finished executing (estimated from planner occupancy)
	Status        grbl.Status
	HaveStatus    bool
	Elapsed       time.Duration
	PlannerStarve time.Duration // planner seen empty while lines were waiting (sampled by status reports)
}

// Result summarises a finished stream.
type Result struct {
	Progress
	// StreamTime is the time from the first line sent to the last
	// acknowledgement: the streaming phase, whose rate the wire, the board
	// or the motion bounds.
	StreamTime time.Duration
	// EndOverhead is the time from the last acknowledgement to the machine
	// reported Idle with an empty planner (the program's tail motion plus
	// the status round trip).
	EndOverhead time.Duration
}

// endPoll is how often the end of a stream asks for a status report while
// the tail of the program runs out.
const endPoll = 50 * time.Millisecond

// Stream sends one program through a Conn with character counting, maps
// acknowledgements back to source lines, and on any failure stops the
// machine safely: feed hold, then soft reset (GRBL keeps executing what is
// buffered after an error, so a hold alone is not enough).
type Stream struct {
	Conn    *grbl.Conn
	Signals *Signals
	Program Program

	// Skip drops lines whose source line is below it (start from line:
	// the caller sends the rebuilt modal state first).
	Skip int
	// Before is called, on the sending goroutine, before a line that has
	// Actions is sent, and may block (drain the planner, switch a relay,
	// wait for the operator). An error stops the stream.
	Before func(ctx context.Context, wl gcode.WireLine) error
	// AfterAck is called, on the acknowledgement goroutine, when a line
	// that has Actions has been acknowledged (it has executed, for
	// M3/M4/M5 which wait for the planner). It may block briefly (a sense
	// check); an error stops the stream.
	AfterAck func(ctx context.Context, wl gcode.WireLine) error
	// AtLine, when set, is called on the sending goroutine before every
	// program line (after Skip, before Before) and may block: the drift
	// checkpoints run here, between lines. An error stops the stream.
	AtLine func(ctx context.Context, wl gcode.WireLine) error
	// AtEnd, when set, is called on the sending goroutine after the last
	// line was sent and may block (the final drift checkpoint). An error
	// stops the stream like a failing line.
	AtEnd func(ctx context.Context) error
	// Extra, when set, returns lines to send right after a line that has
	// Actions (e.g. a spin-up dwell after M3); they carry the same source
	// line and no actions.
	Extra func(wl gcode.WireLine) []string
	// OnStop is called at once when the stream must stop abnormally,
	// before the feed hold and reset: switch the router off here.
	OnStop func(cause error)
	// OnProgress receives progress; it must not block.
	OnProgress func(Progress)
	// HoldTimeout bounds the wait for a feed hold to finish before the
	// soft reset (default 5 s).
	HoldTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	queue    []sent // lines in flight, in send order
	executed ring   // acknowledged motion lines, newest last
	prog     Progress
	started  time.Time
	firstAt  time.Time // first line written
	stopErr  error
	cancel   context.CancelCauseFunc
}

type sent struct {
	wl     gcode.WireLine
	bytes  int
	action bool
}

// ring keeps the last few acknowledged motion source lines.
type ring struct {
	buf [64]int
	n   int
}

func (r *ring) push(v int) { r.buf[r.n%len(r.buf)] = v; r.n++ }

// back returns the k-th newest entry (0 = newest), or 0 when there is none.
func (r *ring) back(k int) int {
	if k < 0 || k >= r.n || k >= len(r.buf) {
		return 0
	}
	return r.buf[(r.n-1-k)%len(r.buf)]
}

func (s *Stream) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// fail records the first cause and stops the sender.
func (s *Stream) fail(line int, cause error) {
	s.mu.Lock()
	if s.stopErr != nil {
		s.mu.Unlock()
		return
	}
	if line == 0 {
		line = s.prog.LastAcked
	}
	var se *StopError
	if !errors.As(cause, &se) {
		cause = &StopError{Line: line, Cause: cause}
	}
	s.stopErr = cause
	cancel := s.cancel
	s.mu.Unlock()
	if s.OnStop != nil {
		s.OnStop(cause)
	}
	cancel(cause)
}

func (s *Stream) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopErr
}

// Progress returns the current position.
func (s *Stream) Progress() Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.prog
	if !s.started.IsZero() {
		p.Elapsed = s.now().Sub(s.started)
	}
	return p
}

// Run streams the whole program and returns when the machine is Idle
// after the last line, or when the stream stopped: then the error is a
// *StopError and the machine has been stopped (feed hold and soft reset
// where the link allows). Cancelling ctx aborts (the cause, if any, is
// reported; ErrAborted otherwise).
func (s *Stream) Run(ctx context.Context) (Result, error) {
	if s.Signals == nil {
		s.Signals = &Signals{}
	}
	s.Signals.Drain()
	s.discardStaleAcks()
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	s.cancel = cancel
	s.started = s.now()
	s.mu.Unlock()

	sendDone := make(chan struct{}) // closed when every line was sent
	var wg sync.WaitGroup
	wg.Add(1)
	var lastAckAt time.Time
	go func() {
		defer wg.Done()
		defer func() {
			// A panic (in a hook) stops the stream like any fault: router
			// off, feed hold, reset.
			if p := recover(); p != nil {
				s.fail(0, newPanicError(p))
			}
		}()
		lastAckAt = s.watch(sctx, sendDone)
	}()

	sendErr := s.sendRecover(sctx)
	if sendErr != nil {
		s.fail(0, sendErr)
	}
	close(sendDone)
	wg.Wait()

	var res Result
	res.Progress = s.Progress()
	if err := s.err(); err != nil {
		s.safeStop(ctx, err)
		return res, err
	}
	if !lastAckAt.IsZero() {
		res.EndOverhead = s.now().Sub(lastAckAt)
		s.mu.Lock()
		if !s.firstAt.IsZero() {
			res.StreamTime = lastAckAt.Sub(s.firstAt)
		}
		s.mu.Unlock()
	}
	return res, nil
}

// discardStaleAcks drops the acknowledgements an earlier stream on this
// Conn left behind: the lines it had in flight when it stopped are
// answered by the board or failed by the reset that followed, after that
// stream stopped reading. This stream has sent nothing yet, so every ack
// waiting now belongs to nobody; read as its own, the first would fail it
// ("acknowledgement for no line in flight") or shift its line mapping.
// The Conn's reader delivers a reset's failures before it handles any
// later reply, so once a status round trip (CheckIdle) has completed
// since the reset they are all waiting here.
func (s *Stream) discardStaleAcks() {
	for {
		select {
		case _, ok := <-s.Conn.Acks():
			if !ok {
				return // the link is gone; watch reports it
			}
		default:
			return
		}
	}
}

// PanicError is a panic in the runner (a hook, the program source) turned
// into the failure of the run: the router is switched off and the machine
// stopped as for any other fault, and the daemon keeps running.
type PanicError struct {
	// Value is what was passed to panic.
	Value any
	// Stack is the panicking goroutine's stack.
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("internal error: panic: %v", e.Value) }

func newPanicError(v any) *PanicError { return &PanicError{Value: v, Stack: debug.Stack()} }

// sendRecover is send with a panic turned into a *PanicError.
func (s *Stream) sendRecover(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = newPanicError(p)
		}
	}()
	return s.send(ctx)
}

// send is the sending loop.
func (s *Stream) send(ctx context.Context) error {
	for {
		wl, err := s.Program.Next()
		if err == io.EOF {
			if s.AtEnd != nil {
				if err := s.AtEnd(ctx); err != nil {
					return causeOr(ctx, err)
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
		if wl.Source < s.Skip {
			continue
		}
		if s.AtLine != nil {
			if err := s.AtLine(ctx, wl); err != nil {
				return causeOr(ctx, err)
			}
		}
		action := wl.Actions != 0
		if action && s.Before != nil {
			if err := s.Before(ctx, wl); err != nil {
				return causeOr(ctx, err)
			}
		}
		if wl.Text != "" { // empty: an action-only line (M6), nothing goes to the board
			if err := s.sendLine(ctx, wl, action); err != nil {
				return err
			}
		}
		if action && s.Extra != nil {
			for _, x := range s.Extra(wl) {
				if err := s.sendLine(ctx, gcode.WireLine{Text: x, Source: wl.Source}, false); err != nil {
					return err
				}
			}
		}
	}
}

func (s *Stream) sendLine(ctx context.Context, wl gcode.WireLine, action bool) error {
	n := len(wl.Text) + 1
	s.mu.Lock()
	s.queue = append(s.queue, sent{wl: wl, bytes: n, action: action})
	s.mu.Unlock()
	if err := s.Conn.Send(ctx, wl.Text, int64(wl.Source)); err != nil {
		s.mu.Lock()
		s.queue = s.queue[:len(s.queue)-1]
		s.mu.Unlock()
		return causeOr(ctx, err)
	}
	s.mu.Lock()
	if s.firstAt.IsZero() {
		s.firstAt = s.now()
	}
	s.prog.Sent++
	s.prog.BytesSent += int64(n)
	s.prog.LastSent = wl.Source
	s.mu.Unlock()
	return nil
}

// causeOr prefers the context's cause (the real reason the stream is
// stopping) over the error a cancelled call returned.
func causeOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return c
		}
		return ErrAborted
	}
	return err
}

// watch consumes acknowledgements and the board's signals until every line
// is acknowledged and the machine is Idle, or the stream fails. It returns
// when the last acknowledgement arrived.
func (s *Stream) watch(ctx context.Context, sendDone <-chan struct{}) (lastAck time.Time) {
	blocks := s.Conn.Info().PlannerBlocks
	if blocks == 0 {
		blocks = 15
	}
	var lastStatusAt time.Time
	sendFinished := false
	var endTick *time.Ticker // runs once every line is acknowledged
	defer func() {
		if endTick != nil {
			endTick.Stop()
		}
	}()
	for {
		var endTickC <-chan time.Time
		if sendFinished && s.allAcked() {
			if endTick == nil {
				// Ask for reports now and often rather than waiting for
				// the poller: the end of the job is detected sooner.
				_ = s.Conn.Realtime(grbl.RTStatus)
				endTick = time.NewTicker(endPoll)
			}
			endTickC = endTick.C
		}
		var sendDoneCh <-chan struct{}
		if !sendFinished {
			sendDoneCh = sendDone
		}
		select {
		case <-ctx.Done():
			s.fail(0, causeOr(ctx, ctx.Err()))
			return lastAck
		case <-sendDoneCh:
			sendFinished = true
		case <-endTickC:
			_ = s.Conn.Realtime(grbl.RTStatus)
		case a, ok := <-s.Conn.Acks():
			if !ok {
				s.fail(0, s.Conn.Err())
				return lastAck
			}
			lastAck = a.At
			if err := s.onAck(ctx, a); err != nil {
				s.fail(int(a.Tag), err)
				return lastAck
			}
		case al := <-s.Signals.Alarms():
			s.fail(0, al)
			return lastAck
		case <-s.Signals.Resets():
			s.fail(0, ErrUnexpectedReset)
			return lastAck
		case <-s.Conn.Done():
			s.fail(0, s.Conn.Err())
			return lastAck
		case st := <-s.Signals.Statuses():
			s.onStatus(st, blocks, lastStatusAt, sendFinished)
			lastStatusAt = st.At
			if sendFinished && s.allAcked() && st.State == grbl.StateIdle && (!st.HasBuffer || st.PlannerFree >= blocks) {
				s.mu.Lock()
				s.prog.LastExecuted = s.prog.LastAcked
				p := s.prog
				s.mu.Unlock()
				s.report(p)
				return lastAck
			}
		}
	}
}

func (s *Stream) allAcked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) == 0
}

func (s *Stream) onAck(ctx context.Context, a grbl.Ack) error {
	s.mu.Lock()
	if len(s.queue) == 0 {
		s.mu.Unlock()
		return fmt.Errorf("acknowledgement for no line in flight (%q)", a.Line)
	}
	head := s.queue[0]
	s.queue = s.queue[1:]
	if a.Err != nil {
		s.mu.Unlock()
		return a.Err
	}
	s.prog.Acked++
	s.prog.LastAcked = head.wl.Source
	if head.wl.Motion {
		s.executed.push(head.wl.Source)
	}
	p := s.prog
	s.mu.Unlock()
	s.report(p)
	if head.action && s.AfterAck != nil {
		if err := s.AfterAck(ctx, head.wl); err != nil {
			return err
		}
	}
	return nil
}

// onStatus updates the executed-line estimate and planner starvation.
func (s *Stream) onStatus(st grbl.Status, blocks int, prevAt time.Time, sendFinished bool) {
	s.mu.Lock()
	s.prog.Status, s.prog.HaveStatus = st, true
	if st.HasBuffer {
		queued := blocks - st.PlannerFree
		if queued < 0 {
			queued = 0
		}
		// Each queued planner block is at least one acknowledged motion
		// line not yet finished (arcs are many blocks, which only makes
		// this estimate lag).
		if ex := s.executed.back(queued); ex > s.prog.LastExecuted {
			s.prog.LastExecuted = ex
		}
		waiting := !sendFinished || len(s.queue) > 0
		if queued == 0 && waiting && st.State == grbl.StateRun && !prevAt.IsZero() {
			s.prog.PlannerStarve += st.At.Sub(prevAt)
		}
	}
	p := s.prog
	s.mu.Unlock()
	s.report(p)
}

func (s *Stream) report(p Progress) {
	if s.OnProgress == nil {
		return
	}
	if !s.started.IsZero() {
		p.Elapsed = s.now().Sub(s.started)
	}
	s.OnProgress(p)
}

// safeStop brings the machine to rest after a failure: feed hold, wait
// for the hold to complete (bounded), soft reset. It ignores the caller's
// cancellation: this must run.
func (s *Stream) safeStop(ctx context.Context, cause error) {
	var al *grbl.Alarm
	switch {
	case errors.As(cause, &al):
		return // GRBL stopped itself; the alarm state holds it
	case errors.Is(cause, ErrUnexpectedReset), errors.Is(cause, grbl.ErrDisconnected), errors.Is(cause, grbl.ErrClosed):
		return // nothing left to stop, or no way to reach it
	}
	select {
	case <-s.Conn.Done():
		return
	default:
	}
	hold := s.HoldTimeout
	if hold <= 0 {
		hold = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hold+5*time.Second)
	defer cancel()
	_ = s.Conn.FeedHold()
	hctx, hcancel := context.WithTimeout(sctx, hold)
	_, _ = s.Conn.WaitStatus(hctx, func(st grbl.Status) bool {
		return (st.State == grbl.StateHold && st.SubState == 0) || st.State == grbl.StateIdle || st.State == grbl.StateAlarm
	})
	hcancel()
	_ = s.Conn.SoftReset(sctx)
}
