package relay

import (
	"context"
	"sync"
	"time"
)

// DefaultPWMWindow is how long after the last edge a sense input still
// counts as switched on. GRBL's default spindle PWM runs at about 977 Hz
// (a period of ~1 ms), so 20 ms spans many periods while an "off" is still
// seen promptly.
const DefaultPWMWindow = 20 * time.Millisecond

// Input is a digital input line: the level now, and Close to release it.
// Edges are delivered separately, to Sensor.HandleEdge, by whatever opened
// the line (hardware.OpenInput takes the handler).
type Input interface {
	Value() (int, error)
	Close() error
}

// Sensor interprets a sense input that may carry a PWM signal. The input is
// "on" while edges keep arriving (PWM) or while the level is steadily high,
// and "off" when it has been low with no edge for the PWM window.
type Sensor struct {
	// Window is how long after an edge the input still counts as active
	// PWM. Zero means DefaultPWMWindow.
	Window time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	level    bool      // level after the last edge (or the initial read)
	lastEdge time.Time // zero until the first edge
	onSince  time.Time // the edge that began the current "on" (zero: on from the start)
	edges    uint64
	changed  chan struct{} // closed and replaced on every edge
}

// NewSensor returns a Sensor whose initial level is initial (read it from
// the line when it is opened).
func NewSensor(initial bool) *Sensor {
	return &Sensor{level: initial, changed: make(chan struct{})}
}

func (s *Sensor) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sensor) window() time.Duration {
	if s.Window > 0 {
		return s.Window
	}
	return DefaultPWMWindow
}

// HandleEdge records one edge of the input. at is when the edge happened;
// the zero time means now. It never blocks.
func (s *Sensor) HandleEdge(rising bool, at time.Time) {
	if at.IsZero() {
		at = s.now()
	}
	s.mu.Lock()
	if rising && !s.onLocked(at) {
		s.onSince = at
	}
	s.level = rising
	s.lastEdge = at
	s.edges++
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

// On reports whether the sensed signal is on now.
func (s *Sensor) On() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.onLocked(s.now())
}

func (s *Sensor) onLocked(now time.Time) bool {
	if s.level {
		return true
	}
	return !s.lastEdge.IsZero() && now.Sub(s.lastEdge) < s.window()
}

// Edges reports how many edges have been seen.
func (s *Sensor) Edges() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.edges
}

// Wait blocks until the sensed state equals want and returns the time of
// the edge that brought that state about — the rising edge that began the
// signal (steady or PWM) for on, the last edge before the input went quiet
// for off — or now when no edge did (the initial level). Reaching "off" takes
// the PWM window after the last edge, since a PWM signal is low between its
// pulses, but the time returned is the edge's. Errors: ctx's.
func (s *Sensor) Wait(ctx context.Context, want bool) (time.Time, error) {
	for {
		s.mu.Lock()
		now := s.now()
		on := s.onLocked(now)
		changed := s.changed
		var recheck time.Duration
		if !s.level && !s.lastEdge.IsZero() {
			// Low after an edge: "on" until the window since that edge ends.
			if rest := s.window() - now.Sub(s.lastEdge); rest > 0 {
				recheck = rest
			}
		}
		since := now
		switch {
		case on && !s.onSince.IsZero():
			since = s.onSince
		case !on && !s.lastEdge.IsZero():
			since = s.lastEdge
		}
		s.mu.Unlock()
		if on == want {
			return since, nil
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if recheck > 0 {
			timer = time.NewTimer(recheck)
			fire = timer.C
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
	}
}
