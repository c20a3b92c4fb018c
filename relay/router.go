package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Mode says how the router's relay is wired.
type Mode int

// The wiring modes.
const (
	// ModeNone: kerf neither switches nor watches the router.
	ModeNone Mode = iota
	// ModeSense: GRBL's spindle output switches the SSR; a GPIO input
	// watches it.
	ModeSense
	// ModeDrive: a GPIO output switches the SSR (optionally watched by a
	// sense input as well).
	ModeDrive
)

// String returns the mode's configuration name.
func (m Mode) String() string {
	switch m {
	case ModeNone:
		return "none"
	case ModeSense:
		return "sense"
	case ModeDrive:
		return "drive"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses a configuration value: none, sense or drive.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "none", "":
		return ModeNone, nil
	case "sense":
		return ModeSense, nil
	case "drive":
		return ModeDrive, nil
	}
	return ModeNone, fmt.Errorf("relay mode %q: want none, sense or drive", s)
}

// Output is a digital output line driving the SSR: 1 = router on.
// *gpiocdev.Line satisfies it.
type Output interface {
	SetValue(v int) error
	Close() error
}

// Errors callers branch on.
var (
	// ErrMismatch: the sensed router state differs from the commanded one
	// (router not starting, or stuck on).
	ErrMismatch = errors.New("router state mismatch")
	// ErrNoOutput: On was asked of a Router that has no output line.
	ErrNoOutput = errors.New("relay has no output line (mode is not drive)")
	// ErrClosed: the Router was closed.
	ErrClosed = errors.New("relay closed")
)

// MismatchError details an ErrMismatch.
type MismatchError struct {
	Want    bool          // commanded state
	Waited  time.Duration // how long kerf waited for the sense input
	Edges   uint64        // edges seen on the sense input so far
	Context string        // what was happening, e.g. "M3 at line 12"
}

func (e *MismatchError) Error() string {
	what := "router did not start"
	if !e.Want {
		what = "router did not stop"
	}
	s := fmt.Sprintf("%s: sense input still %s after %v", what, onOff(!e.Want), e.Waited)
	if e.Context != "" {
		s += " (" + e.Context + ")"
	}
	return s
}

// Unwrap makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Switch is one change of the commanded router state and what the sense
// input made of it.
type Switch struct {
	// Time is when the command was given: the GPIO write in drive mode,
	// GRBL's acknowledgement of M3/M4/M5 in sense mode (GRBL switches its
	// output just before it answers).
	Time time.Time `json:"time"`
	// On is the commanded state.
	On bool `json:"on"`
	// Reason says what commanded it ("M3 at line 12", "board reset", …).
	Reason string `json:"reason"`
	// Sensed is the sense input's reading: at the command, then, once
	// Verify has run, the state it confirmed. Nil without a sense input.
	Sensed *bool `json:"sensed,omitempty"`
	// Confirmed says the sense input followed the command within the
	// timeout; Latency is then set.
	Confirmed bool `json:"confirmed"`
	// Mismatch says it did not (router not starting, or stuck on).
	Mismatch bool `json:"mismatch,omitempty"`
	// Latency is from the command to the sense input's edge that confirmed
	// it: the rising edge that started the signal (steady or PWM) for on,
	// the last edge before it went quiet for off. Zero when the edge came
	// first (sense mode: GRBL switches before it acknowledges).
	Latency time.Duration `json:"latency_ns"`
}

// Status is the relay's state as the API and the relay.* events show it.
type Status struct {
	// Mode is "none", "sense" or "drive".
	Mode string `json:"mode"`
	// Commanded is the state kerf commanded (drive) or expects from the
	// program (sense); nil in mode none.
	Commanded *bool `json:"commanded,omitempty"`
	// Sensed is what the sense input reads now; nil without one.
	Sensed *bool `json:"sensed,omitempty"`
	// LastSwitch is the most recent switch; nil before the first.
	LastSwitch *Switch `json:"last_switch,omitempty"`
}

// EventKind says what an Event reports.
type EventKind string

// The kinds of Event.
const (
	// KindSwitch: the commanded state changed (Status.LastSwitch is the
	// new switch, not yet confirmed).
	KindSwitch EventKind = "switch"
	// KindSensed: the sense input confirmed the last switch (its Latency
	// is set).
	KindSensed EventKind = "sensed"
	// KindMismatch: the sense input did not follow the last switch within
	// the timeout.
	KindMismatch EventKind = "mismatch"
)

// Event is one change of the relay: its kind and the relay's Status right
// after it. Its JSON is a Status with a "kind" field.
type Event struct {
	Kind EventKind `json:"kind"`
	Status
}

// Router switches and checks the router. Build it with New; the zero value
// is not usable.
type Router struct {
	mode   Mode
	out    Output  // nil unless ModeDrive
	sensor *Sensor // nil without a sense input

	// SenseTimeout bounds how long Verify waits for the sense input to
	// follow a command. Zero means 2 s.
	SenseTimeout time.Duration
	// OnEvent, when set, receives every Event (the daemon publishes them).
	// It must not block and must not call the Router. Set it before use.
	OnEvent func(Event)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	commanded bool
	closed    bool
	last      *Switch // most recent switch; nil before the first

	subMu  sync.Mutex
	subs   map[int]func(Event)
	nextID int
}

// New returns a Router in mode with the given lines (either may be nil
// where the mode needs none). In drive mode the output is switched off at
// once, even though hardware.OpenOutput requests it off already: off is
// the only safe start.
func New(mode Mode, out Output, sensor *Sensor) (*Router, error) {
	switch mode {
	case ModeDrive:
		if out == nil {
			return nil, fmt.Errorf("relay mode drive: %w", ErrNoOutput)
		}
		if err := out.SetValue(0); err != nil {
			return nil, fmt.Errorf("relay: switch off at start: %w", err)
		}
	case ModeSense:
		if sensor == nil {
			return nil, errors.New("relay mode sense needs a sense input")
		}
	}
	if mode != ModeDrive {
		out = nil
	}
	return &Router{mode: mode, out: out, sensor: sensor}, nil
}

// Mode returns the wiring mode.
func (r *Router) Mode() Mode { return r.mode }

// Drives reports whether kerf switches the router itself.
func (r *Router) Drives() bool { return r.mode == ModeDrive }

// HasSense reports whether a sense input is present.
func (r *Router) HasSense() bool { return r.sensor != nil }

func (r *Router) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Router) timeout() time.Duration {
	if r.SenseTimeout > 0 {
		return r.SenseTimeout
	}
	return 2 * time.Second
}

// State returns the commanded state and, with a sense input, the sensed one.
func (r *Router) State() (commanded bool, sensed *bool) {
	r.mu.Lock()
	commanded = r.commanded
	r.mu.Unlock()
	return commanded, r.sensed()
}

func (r *Router) sensed() *bool {
	if r.sensor == nil {
		return nil
	}
	on := r.sensor.On()
	return &on
}

// Status returns the relay's state for the API.
func (r *Router) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.statusLocked()
}

// statusLocked snapshots the state; r.mu is held. The sensor has its own
// lock and never calls back.
func (r *Router) statusLocked() Status {
	st := Status{Mode: r.mode.String(), Sensed: r.sensed()}
	if r.mode != ModeNone {
		c := r.commanded
		st.Commanded = &c
	}
	if r.last != nil {
		sw := *r.last
		if sw.Sensed != nil {
			v := *sw.Sensed
			sw.Sensed = &v
		}
		st.LastSwitch = &sw
	}
	return st
}

// Subscribe registers fn to receive every Event from now on, as OnEvent
// does, until the returned function is called. fn must not block and must
// not call the Router. The runner subscribes for the length of a run to
// record the run's switches.
func (r *Router) Subscribe(fn func(Event)) (unsubscribe func()) {
	r.subMu.Lock()
	defer r.subMu.Unlock()
	if r.subs == nil {
		r.subs = map[int]func(Event){}
	}
	id := r.nextID
	r.nextID++
	r.subs[id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			r.subMu.Lock()
			delete(r.subs, id)
			r.subMu.Unlock()
		})
	}
}

// switchLocked records a new commanded state; r.mu is held.
func (r *Router) switchLocked(on bool, reason string) Event {
	r.commanded = on
	r.last = &Switch{Time: r.now(), On: on, Reason: reason, Sensed: r.sensed()}
	return Event{Kind: KindSwitch, Status: r.statusLocked()}
}

// SetCommanded records what the program commands without switching
// anything: in sense mode GRBL switches the SSR itself, and the runner calls
// this when M3/M4/M5 executes so that Verify and the telemetry know what to
// expect. Only a change of state is a switch.
func (r *Router) SetCommanded(on bool, reason string) {
	r.mu.Lock()
	if r.commanded == on && r.last != nil {
		r.mu.Unlock()
		return
	}
	ev := r.switchLocked(on, reason)
	r.mu.Unlock()
	r.emit(ev)
}

// On switches the router on (drive mode). It does not wait for spin-up:
// the runner dwells. On while on writes the line again but is no new
// switch.
func (r *Router) On(reason string) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	if r.out == nil {
		r.mu.Unlock()
		return ErrNoOutput
	}
	if err := r.out.SetValue(1); err != nil {
		// A failed switch-on must not leave the line in doubt.
		_ = r.out.SetValue(0)
		r.commanded = false
		r.mu.Unlock()
		return fmt.Errorf("relay on: %w", err)
	}
	if r.commanded {
		r.mu.Unlock()
		return nil // already on: not a switch
	}
	ev := r.switchLocked(true, reason)
	r.mu.Unlock()
	r.emit(ev)
	return nil
}

// Off switches the router off. It ignores cancellation, is idempotent and
// safe after Close; in sense and none modes it only records the command.
func (r *Router) Off(reason string) error {
	r.mu.Lock()
	was := r.commanded
	var err error
	if r.out != nil && !r.closed {
		if err = r.out.SetValue(0); err != nil {
			err = fmt.Errorf("relay off: %w", err)
		}
	}
	if !was && err == nil {
		r.mu.Unlock()
		return nil
	}
	ev := r.switchLocked(false, reason)
	r.mu.Unlock()
	r.emit(ev)
	return err
}

// Verify waits, up to SenseTimeout, for the sense input to show the
// commanded state, and returns a *MismatchError if it does not. Without a
// sense input it returns nil at once. The last switch, if it is the one
// being checked, is marked confirmed (with its latency) or mismatched.
func (r *Router) Verify(ctx context.Context, what string) error {
	if r.sensor == nil {
		return nil
	}
	r.mu.Lock()
	want := r.commanded
	r.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	at, err := r.sensor.Wait(wctx, want)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.settle(want, func(sw *Switch) { sw.Mismatch = true }, KindMismatch)
		return &MismatchError{Want: want, Waited: r.timeout(), Edges: r.sensor.Edges(), Context: what}
	}
	r.settle(want, func(sw *Switch) {
		sw.Confirmed = true
		v := want
		sw.Sensed = &v
		if d := at.Sub(sw.Time); d > 0 {
			sw.Latency = d
		}
	}, KindSensed)
	return nil
}

// settle applies fn to the last switch if it commanded want and is not
// settled yet, and emits kind.
func (r *Router) settle(want bool, fn func(*Switch), kind EventKind) {
	r.mu.Lock()
	sw := r.last
	if sw == nil || sw.On != want || sw.Confirmed || sw.Mismatch || r.commanded != want {
		r.mu.Unlock()
		return
	}
	next := *sw
	fn(&next)
	r.last = &next
	ev := Event{Kind: kind, Status: r.statusLocked()}
	r.mu.Unlock()
	r.emit(ev)
}

// Close switches the output off and releases the lines. It is idempotent.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.commanded = false
	var errs []error
	if r.out != nil {
		if err := r.out.SetValue(0); err != nil {
			errs = append(errs, fmt.Errorf("relay off at close: %w", err))
		}
		if err := r.out.Close(); err != nil {
			errs = append(errs, fmt.Errorf("release relay output: %w", err))
		}
	}
	return errors.Join(errs...)
}

// emit delivers ev to OnEvent and the subscribers; no lock is held.
func (r *Router) emit(ev Event) {
	if r.OnEvent != nil {
		r.OnEvent(ev)
	}
	r.subMu.Lock()
	fns := make([]func(Event), 0, len(r.subs))
	for _, fn := range r.subs {
		fns = append(fns, fn)
	}
	r.subMu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}
