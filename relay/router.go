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

// Event is one change of the relay: a switch command or a sense edge
// confirmation. Events go to Router.OnEvent.
type Event struct {
	Time      time.Time     `json:"time"`
	Commanded bool          `json:"commanded"`
	Sensed    *bool         `json:"sensed,omitempty"` // nil without a sense input
	Latency   time.Duration `json:"latency_ns,omitempty"`
	Reason    string        `json:"reason"`
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
	// OnEvent, when set, receives every Event. It must not block.
	OnEvent func(Event)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	commanded bool
	closed    bool
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
	if r.sensor != nil {
		on := r.sensor.On()
		sensed = &on
	}
	return commanded, sensed
}

// SetCommanded records what the program commands without switching
// anything: in sense mode GRBL switches the SSR itself, and the runner calls
// this when M3/M4/M5 executes so that Verify and the telemetry know what to
// expect.
func (r *Router) SetCommanded(on bool, reason string) {
	r.mu.Lock()
	r.commanded = on
	r.mu.Unlock()
	r.emit(on, reason, 0)
}

// On switches the router on (drive mode). It does not wait for spin-up:
// the runner dwells.
func (r *Router) On(reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.out == nil {
		return ErrNoOutput
	}
	if err := r.out.SetValue(1); err != nil {
		// A failed switch-on must not leave the line in doubt.
		_ = r.out.SetValue(0)
		r.commanded = false
		return fmt.Errorf("relay on: %w", err)
	}
	r.commanded = true
	r.emit(true, reason, 0)
	return nil
}

// Off switches the router off. It ignores cancellation, is idempotent and
// safe after Close; in sense and none modes it only records the command.
func (r *Router) Off(reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	was := r.commanded
	r.commanded = false
	var err error
	if r.out != nil && !r.closed {
		if err = r.out.SetValue(0); err != nil {
			err = fmt.Errorf("relay off: %w", err)
		}
	}
	if was || err != nil {
		r.emit(false, reason, 0)
	}
	return err
}

// Verify waits, up to SenseTimeout, for the sense input to show the
// commanded state, and returns a *MismatchError if it does not. Without a
// sense input it returns nil at once.
func (r *Router) Verify(ctx context.Context, what string) error {
	if r.sensor == nil {
		return nil
	}
	r.mu.Lock()
	want := r.commanded
	r.mu.Unlock()
	start := r.now()
	wctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	at, err := r.sensor.Wait(wctx, want)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &MismatchError{Want: want, Waited: r.timeout(), Edges: r.sensor.Edges(), Context: what}
	}
	r.emit(want, "sensed", at.Sub(start))
	return nil
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

func (r *Router) emit(commanded bool, reason string, latency time.Duration) {
	if r.OnEvent == nil {
		return
	}
	ev := Event{Time: r.now(), Commanded: commanded, Reason: reason, Latency: latency}
	if r.sensor != nil {
		on := r.sensor.On()
		ev.Sensed = &on
	}
	r.OnEvent(ev)
}
