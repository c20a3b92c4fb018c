package runner

import (
	"sync"

	"github.com/kerf-cnc/kerf/grbl"
)

// Signals carries the board's unsolicited messages — alarms, resets
// (banners) and status reports — to whoever streams. Install Handle as
// grbl.Options.OnMessage (or call it from the handler there). Handle never
// blocks: each channel keeps the earliest undelivered alarm/reset and the
// latest status.
type Signals struct {
	// Next, when set, receives every message after Signals has looked at
	// it (e.g. to publish events). It must not block.
	Next func(grbl.Message)

	once   sync.Once
	alarms chan *grbl.Alarm
	resets chan grbl.Banner
	status chan grbl.Status
	msgs   chan grbl.Feedback
}

func (s *Signals) init() {
	s.once.Do(func() {
		s.alarms = make(chan *grbl.Alarm, 1)
		s.resets = make(chan grbl.Banner, 1)
		s.status = make(chan grbl.Status, 1)
		s.msgs = make(chan grbl.Feedback, 8)
	})
}

// Handle routes one message. It is safe to call from the grbl reader
// goroutine.
func (s *Signals) Handle(m grbl.Message) {
	s.init()
	switch m := m.(type) {
	case *grbl.Alarm:
		select {
		case s.alarms <- m:
		default: // the first alarm is the one that matters
		}
	case grbl.Banner:
		select {
		case s.resets <- m:
		default:
		}
	case grbl.Status:
		// Latest wins: drop a stale one first.
		select {
		case <-s.status:
		default:
		}
		select {
		case s.status <- m:
		default:
		}
	case grbl.Feedback:
		select {
		case s.msgs <- m:
		default:
		}
	}
	if s.Next != nil {
		s.Next(m)
	}
}

// Alarms delivers ALARM:N messages.
func (s *Signals) Alarms() <-chan *grbl.Alarm { s.init(); return s.alarms }

// Resets delivers banners: the board (re)started.
func (s *Signals) Resets() <-chan grbl.Banner { s.init(); return s.resets }

// Statuses delivers the latest status report.
func (s *Signals) Statuses() <-chan grbl.Status { s.init(); return s.status }

// Feedback delivers [MSG:…] lines (e.g. "Pgm End").
func (s *Signals) Feedback() <-chan grbl.Feedback { s.init(); return s.msgs }

// Drain discards anything pending, so that a new stream does not see an
// earlier one's alarm or reset.
func (s *Signals) Drain() {
	s.init()
	for {
		select {
		case <-s.alarms:
		case <-s.resets:
		case <-s.status:
		case <-s.msgs:
		default:
			return
		}
	}
}
