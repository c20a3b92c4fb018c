package events

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultRingSize   = 1024
	DefaultBufferSize = 256
)

// Errors a Subscription's Err or Subscribe report.
var (
	// ErrSlow: the subscriber's buffer was full when an event arrived, so it
	// was dropped. Resume with Subscribe(lastSeenSeq) while the ring still
	// holds the events after it.
	ErrSlow = errors.New("subscriber too slow")
	// ErrClosed: the hub is closed.
	ErrClosed = errors.New("event hub closed")
	// ErrGap: the events after the requested sequence number are no longer
	// in the ring (or never existed). The concrete error is a *GapError.
	ErrGap = errors.New("events no longer available")
	// ErrBadTopic: a topic pattern is malformed.
	ErrBadTopic = errors.New("bad topic pattern")
)

// Event is one state change. Seq numbers start at 1 and increase by one per
// published event, across all topics.
type Event struct {
	// Seq is the event's sequence number.
	Seq uint64 `json:"seq"`
	// Time is when the event was published.
	Time time.Time `json:"time"`
	// Topic names the kind of event, dot-separated ("run.progress").
	Topic string `json:"topic"`
	// Data is the payload. It is shared by every subscriber and must not be
	// modified after Publish.
	Data any `json:"data,omitempty"`
}

// GapError reports a resume request the ring cannot satisfy. It matches
// ErrGap with errors.Is.
type GapError struct {
	// Since is the sequence number asked for.
	Since uint64
	// Oldest is the oldest sequence number still held (0 when none is).
	Oldest uint64
	// Latest is the newest sequence number published.
	Latest uint64
}

// Error says what is missing and what is available.
func (e *GapError) Error() string {
	if e.Since > e.Latest {
		return fmt.Sprintf("events since %d: ahead of the latest event %d (the daemon restarted?)", e.Since, e.Latest)
	}
	return fmt.Sprintf("events since %d: no longer buffered; the oldest available is %d", e.Since, e.Oldest)
}

// Is reports whether target is ErrGap.
func (e *GapError) Is(target error) bool { return target == ErrGap }

// Options configure a Hub.
type Options struct {
	// RingSize is how many recent events are kept for resuming.
	RingSize int
	// BufferSize is each subscriber's channel capacity for live events.
	BufferSize int
	// Now stamps events. Defaults to time.Now.
	Now func() time.Time
}

// Hub fans events out to subscribers. Create it with NewHub.
type Hub struct {
	ringSize   int
	bufferSize int
	now        func() time.Time

	mu     sync.Mutex
	seq    uint64
	ring   []Event // circular; ring[head] is the oldest once full
	head   int
	subs   map[*Subscription]struct{}
	closed bool
}

// NewHub returns a hub with o's settings (zero fields take the defaults).
func NewHub(o Options) *Hub {
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Hub{
		ringSize:   o.RingSize,
		bufferSize: o.BufferSize,
		now:        o.Now,
		ring:       make([]Event, 0, o.RingSize),
		subs:       map[*Subscription]struct{}{},
	}
}

// Publish stamps an event with the next sequence number and the time,
// keeps it in the ring and offers it to every matching subscriber without
// blocking: a subscriber whose buffer is full is dropped (its channel
// closed, Err reporting ErrSlow). It returns the event. After Close it
// does nothing and returns the zero Event.
func (h *Hub) Publish(topic string, data any) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return Event{}
	}
	h.seq++
	ev := Event{Seq: h.seq, Time: h.now(), Topic: topic, Data: data}
	if len(h.ring) < h.ringSize {
		h.ring = append(h.ring, ev)
	} else {
		h.ring[h.head] = ev
		h.head = (h.head + 1) % h.ringSize
	}
	for sub := range h.subs {
		if !sub.matches(topic) {
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			h.end(sub, fmt.Errorf("dropped at event %d: buffer of %d events full: %w", ev.Seq, cap(sub.ch), ErrSlow))
		}
	}
	return ev
}

// Seq returns the sequence number of the latest event (0 before the first).
func (h *Hub) Seq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// oldest returns the sequence number of the oldest event in the ring, or
// seq+1 when the ring is empty.
func (h *Hub) oldest() uint64 {
	return h.seq - uint64(len(h.ring)) + 1
}

// Subscribe returns a subscription to the events whose topic matches one of
// topics (none: all topics). A topic is matched exactly, or by prefix when
// the pattern ends in "*" ("run.*", or "*" for everything).
//
// since = 0 delivers only events published from now on. since > 0 first
// delivers the ring's events after since, then live ones, with no gap and no
// duplicate; a *GapError (ErrGap) says when the ring no longer holds event
// since+1, or since is ahead of the latest event.
//
// Errors: ErrBadTopic naming the pattern, *GapError, ErrClosed.
func (h *Hub) Subscribe(since uint64, topics ...string) (*Subscription, error) {
	for _, t := range topics {
		if err := validPattern(t); err != nil {
			return nil, err
		}
	}
	sub := &Subscription{hub: h, topics: topics}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	var replay []Event
	if since > 0 {
		if since > h.seq || since+1 < h.oldest() {
			gap := &GapError{Since: since, Latest: h.seq}
			if len(h.ring) > 0 {
				gap.Oldest = h.oldest()
			}
			return nil, gap
		}
		for i := range h.ring {
			ev := h.ring[(h.head+i)%len(h.ring)]
			if ev.Seq > since && sub.matches(ev.Topic) {
				replay = append(replay, ev)
			}
		}
	}
	sub.ch = make(chan Event, h.bufferSize+len(replay))
	for _, ev := range replay {
		sub.ch <- ev
	}
	h.subs[sub] = struct{}{}
	return sub, nil
}

// Close ends every subscription (Err reports ErrClosed) and makes later
// Publish calls no-ops and Subscribe calls fail. It is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for sub := range h.subs {
		h.end(sub, ErrClosed)
	}
}

// end removes sub, records why (nil: the subscriber closed it) and closes
// its channel. h.mu must be held.
func (h *Hub) end(sub *Subscription, err error) {
	delete(h.subs, sub)
	sub.ended = true
	sub.err = err
	close(sub.ch)
}

func validPattern(p string) error {
	switch i := strings.IndexByte(p, '*'); {
	case p == "":
		return fmt.Errorf("topic pattern %q: empty: %w", p, ErrBadTopic)
	case i >= 0 && i != len(p)-1:
		return fmt.Errorf("topic pattern %q: '*' is allowed only at the end: %w", p, ErrBadTopic)
	}
	return nil
}

// Subscription receives events from a Hub. Read them from Events until it
// is closed, then Err says why.
type Subscription struct {
	hub    *Hub
	topics []string
	ch     chan Event
	ended  bool  // guarded by hub.mu; ch is closed
	err    error // guarded by hub.mu; why the hub ended it
}

// Events returns the event channel, in sequence order. It is closed when
// the subscription ends; events already buffered are delivered first.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Err says why the subscription ended: ErrSlow when the hub dropped it,
// ErrClosed when the hub closed. It is nil while the subscription is live
// and after the subscriber's own Close.
func (s *Subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes Events. It is idempotent and safe
// to call from any goroutine.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if s.ended {
		return
	}
	s.hub.end(s, nil)
}

func (s *Subscription) matches(topic string) bool {
	if len(s.topics) == 0 {
		return true
	}
	for _, p := range s.topics {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(topic, prefix) {
				return true
			}
		} else if p == topic {
			return true
		}
	}
	return false
}
