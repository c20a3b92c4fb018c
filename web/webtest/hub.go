package webtest

import (
	"slices"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/web"
)

var _ web.EventSource = (*Hub)(nil)

// Hub is a small in-memory event hub with the behaviour web relies on: a
// ring of the last events for ?since= resume (web.ErrGap beyond it),
// bounded per-subscriber buffers, and subscribers that fall behind dropped
// (their channel closed, Err matching web.ErrSlowConsumer) so Publish
// never blocks. It stands in for the daemon's hub in tests.
type Hub struct {
	mu     sync.Mutex
	ring   []web.Event // the last len(ring) events, oldest first
	size   int
	buffer int
	seq    uint64
	subs   map[*subscription]struct{}
	// Now stamps events; it defaults to time.Now.
	Now func() time.Time
}

// NewHub returns a hub keeping the last ringSize events and buffering
// bufferSize events per subscriber.
func NewHub(ringSize, bufferSize int) *Hub {
	return &Hub{size: ringSize, buffer: bufferSize, subs: map[*subscription]struct{}{}, Now: time.Now}
}

// Publish stamps and delivers an event without blocking and returns its
// sequence number. Subscribers whose buffer is full are dropped.
func (h *Hub) Publish(topic, typ string, data any) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev := web.Event{Seq: h.seq, Time: h.Now(), Topic: topic, Type: typ, Data: data}
	h.ring = append(h.ring, ev)
	if len(h.ring) > h.size {
		h.ring = slices.Delete(h.ring, 0, len(h.ring)-h.size)
	}
	for s := range h.subs {
		if !s.wants(topic) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			h.dropLocked(s, web.ErrSlowConsumer)
		}
	}
	return ev.Seq
}

// Subscribers returns the number of live subscriptions.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Subscribe implements web.EventSource.
func (h *Hub) Subscribe(since uint64, topics ...string) (web.Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &subscription{hub: h, topics: topics}
	var replay []web.Event
	if since > 0 && since < h.seq {
		oldest := h.seq + 1
		if len(h.ring) > 0 {
			oldest = h.ring[0].Seq
		}
		if since+1 < oldest {
			return nil, web.ErrGap
		}
		for _, ev := range h.ring {
			if ev.Seq > since && s.wants(ev.Topic) {
				replay = append(replay, ev)
			}
		}
	}
	s.ch = make(chan web.Event, len(replay)+h.buffer)
	for _, ev := range replay {
		s.ch <- ev
	}
	h.subs[s] = struct{}{}
	return s, nil
}

// dropLocked ends s with err. h.mu is held.
func (h *Hub) dropLocked(s *subscription, err error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.err = err
	close(s.ch)
}

type subscription struct {
	hub    *Hub
	topics []string
	ch     chan web.Event
	err    error // guarded by hub.mu
}

func (s *subscription) wants(topic string) bool {
	return len(s.topics) == 0 || slices.Contains(s.topics, topic)
}

func (s *subscription) Events() <-chan web.Event { return s.ch }

func (s *subscription) Err() error {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.err
}

func (s *subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.dropLocked(s, nil)
}
