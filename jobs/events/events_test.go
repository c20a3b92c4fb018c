package events

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func testClock() func() time.Time {
	t := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Millisecond); return t }
}

// drain reads everything currently buffered on sub without blocking and
// reports whether the channel was found closed.
func drain(sub *Subscription) (evs []Event, closed bool) {
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				return evs, true
			}
			evs = append(evs, ev)
		default:
			return evs, false
		}
	}
}

// discard empties sub's buffer without keeping the events.
func discard(tb testing.TB, sub *Subscription) {
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				tb.Fatalf("subscriber dropped: %v", sub.Err())
			}
		default:
			return
		}
	}
}

func seqs(evs []Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPublishStampsEvents(t *testing.T) {
	t.Parallel()
	h := NewHub(Options{Now: testClock()})
	defer h.Close()
	if h.Seq() != 0 {
		t.Fatalf("Seq before publishing=%d, want 0", h.Seq())
	}
	var prev Event
	for i := 1; i <= 5; i++ {
		ev := h.Publish("run.progress", i)
		if ev.Seq != uint64(i) || ev.Topic != "run.progress" || ev.Data != i || !ev.Time.After(prev.Time) {
			t.Fatalf("event %d=%+v", i, ev)
		}
		prev = ev
	}
	if h.Seq() != 5 {
		t.Errorf("Seq=%d, want 5", h.Seq())
	}
}

func TestTopicFilters(t *testing.T) {
	t.Parallel()
	topics := []string{"machine.status", "run.progress", "run.state", "relay", "runner"}
	tests := []struct {
		patterns []string
		want     []uint64
	}{
		{nil, []uint64{1, 2, 3, 4, 5}},
		{[]string{"*"}, []uint64{1, 2, 3, 4, 5}},
		{[]string{"run.*"}, []uint64{2, 3}},
		{[]string{"run*"}, []uint64{2, 3, 5}},
		{[]string{"relay", "machine.status"}, []uint64{1, 4}},
		{[]string{"run"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, ","), func(t *testing.T) {
			t.Parallel()
			h := NewHub(Options{})
			defer h.Close()
			sub, err := h.Subscribe(0, tt.patterns...)
			if err != nil {
				t.Fatal(err)
			}
			for _, topic := range topics {
				h.Publish(topic, nil)
			}
			got, closed := drain(sub)
			if closed || !equal(seqs(got), tt.want) {
				t.Errorf("received %v (closed %v), want %v", seqs(got), closed, tt.want)
			}
			// The same filter applies to a replay of the whole ring.
			replay, err := h.Subscribe(1, tt.patterns...)
			if err != nil {
				t.Fatal(err)
			}
			defer replay.Close()
			var wantReplay []uint64
			for _, s := range tt.want {
				if s > 1 {
					wantReplay = append(wantReplay, s)
				}
			}
			if got, _ := drain(replay); !equal(seqs(got), wantReplay) {
				t.Errorf("replayed %v, want %v", seqs(got), wantReplay)
			}
		})
	}
}

func TestBadTopicPatterns(t *testing.T) {
	t.Parallel()
	h := NewHub(Options{})
	for _, p := range []string{"", "run.*.x", "*run"} {
		_, err := h.Subscribe(0, "ok", p)
		if !errors.Is(err, ErrBadTopic) || !strings.Contains(err.Error(), fmt.Sprintf("%q", p)) {
			t.Errorf("Subscribe(%q): err=%v, want ErrBadTopic naming it", p, err)
		}
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	t.Parallel()
	h := NewHub(Options{BufferSize: 2})
	defer h.Close()
	slow, err := h.Subscribe(0)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := h.Subscribe(0)
	if err != nil {
		t.Fatal(err)
	}
	var fastGot []Event
	for i := range 5 {
		h.Publish("machine.status", i) // must not block on slow
		evs, closed := drain(fast)
		if closed {
			t.Fatalf("fast subscriber closed after event %d: %v", i+1, fast.Err())
		}
		fastGot = append(fastGot, evs...)
	}
	if !equal(seqs(fastGot), []uint64{1, 2, 3, 4, 5}) {
		t.Errorf("fast subscriber got %v", seqs(fastGot))
	}
	got, closed := drain(slow)
	if !closed || !equal(seqs(got), []uint64{1, 2}) {
		t.Fatalf("slow subscriber got %v, closed %v; want [1 2] then closed", seqs(got), closed)
	}
	err = slow.Err()
	if !errors.Is(err, ErrSlow) || !strings.Contains(err.Error(), "event 3") || !strings.Contains(err.Error(), "buffer of 2") {
		t.Errorf("slow.Err()=%v, want ErrSlow naming event 3 and the buffer size", err)
	}
	// The dropped subscriber resumes from the last event it saw.
	again, err := h.Subscribe(2)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := drain(again); !equal(seqs(got), []uint64{3, 4, 5}) {
		t.Errorf("resumed subscriber got %v, want [3 4 5]", seqs(got))
	}
	slow.Close() // closing a dropped subscription is harmless
	if !errors.Is(slow.Err(), ErrSlow) {
		t.Errorf("Close changed Err to %v", slow.Err())
	}
}

func TestResume(t *testing.T) {
	t.Parallel()
	h := NewHub(Options{RingSize: 4})
	defer h.Close()
	if _, err := h.Subscribe(1); !errors.Is(err, ErrGap) {
		t.Errorf("since 1 before any event: err=%v, want ErrGap", err)
	}
	for i := range 10 {
		h.Publish(fmt.Sprintf("t%d", i%2), i)
	}
	// The ring holds events 7..10.
	tests := []struct {
		since   uint64
		topics  []string
		want    []uint64
		wantGap *GapError
	}{
		{since: 6, want: []uint64{7, 8, 9, 10}},
		{since: 8, want: []uint64{9, 10}},
		{since: 10, want: nil},
		{since: 6, topics: []string{"t0"}, want: []uint64{7, 9}},
		{since: 5, wantGap: &GapError{Since: 5, Oldest: 7, Latest: 10}},
		{since: 1, wantGap: &GapError{Since: 1, Oldest: 7, Latest: 10}},
		{since: 11, wantGap: &GapError{Since: 11, Oldest: 7, Latest: 10}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.since, tt.topics), func(t *testing.T) {
			sub, err := h.Subscribe(tt.since, tt.topics...)
			if tt.wantGap != nil {
				var gap *GapError
				if !errors.As(err, &gap) || *gap != *tt.wantGap || !errors.Is(err, ErrGap) {
					t.Fatalf("err=%v, want %+v", err, tt.wantGap)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			got, _ := drain(sub)
			if !equal(seqs(got), tt.want) {
				t.Errorf("replayed %v, want %v", seqs(got), tt.want)
			}
		})
	}
	t.Run("replay then live without gap or duplicate", func(t *testing.T) {
		sub, err := h.Subscribe(8)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		h.Publish("t0", nil)
		got, _ := drain(sub)
		if !equal(seqs(got), []uint64{9, 10, 11}) {
			t.Errorf("got %v, want [9 10 11]", seqs(got))
		}
	})
	t.Run("gap messages", func(t *testing.T) {
		_, err := h.Subscribe(2)
		if err == nil || !strings.Contains(err.Error(), "oldest available is") {
			t.Errorf("err=%v", err)
		}
		_, err = h.Subscribe(1000)
		if err == nil || !strings.Contains(err.Error(), "ahead of the latest event") {
			t.Errorf("err=%v", err)
		}
	})
}

func TestUnsubscribeAndClose(t *testing.T) {
	t.Parallel()
	h := NewHub(Options{})
	a, _ := h.Subscribe(0)
	b, _ := h.Subscribe(0)
	if a.Err() != nil {
		t.Fatalf("live subscription Err=%v", a.Err())
	}
	h.Publish("x", 1)
	a.Close()
	a.Close()
	h.Publish("x", 2)
	got, closed := drain(a)
	if !closed || !equal(seqs(got), []uint64{1}) || a.Err() != nil {
		t.Errorf("after Close: got %v closed %v err %v", seqs(got), closed, a.Err())
	}
	h.Close()
	h.Close()
	got, closed = drain(b)
	if !closed || !equal(seqs(got), []uint64{1, 2}) || !errors.Is(b.Err(), ErrClosed) {
		t.Errorf("after hub Close: got %v closed %v err %v", seqs(got), closed, b.Err())
	}
	if ev := h.Publish("x", 3); ev.Seq != 0 {
		t.Errorf("Publish after Close returned seq %d, want 0", ev.Seq)
	}
	if _, err := h.Subscribe(0); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: err=%v", err)
	}
}

// TestConcurrentPublishers checks under -race that every subscriber sees
// strictly increasing sequence numbers and, when it keeps up, all of them.
func TestConcurrentPublishers(t *testing.T) {
	t.Parallel()
	const publishers, perPublisher = 4, 200
	h := NewHub(Options{BufferSize: publishers * perPublisher})
	defer h.Close()
	subs := make([]*Subscription, 3)
	for i := range subs {
		var err error
		if subs[i], err = h.Subscribe(0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range perPublisher {
				h.Publish("p", p*perPublisher+i)
			}
		})
	}
	results := make(chan error, len(subs))
	for _, sub := range subs {
		wg.Go(func() {
			var last uint64
			for n := 0; n < publishers*perPublisher; n++ {
				ev, ok := <-sub.Events()
				if !ok {
					results <- fmt.Errorf("closed after %d events: %v", n, sub.Err())
					return
				}
				if ev.Seq != last+1 {
					results <- fmt.Errorf("seq %d after %d", ev.Seq, last)
					return
				}
				last = ev.Seq
			}
			results <- nil
		})
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkPublish10Subscribers measures Publish fanning out to 10
// subscribers that keep up (drained in line every 512 events, so nothing is
// dropped and the figure includes the receive side).
func BenchmarkPublish10Subscribers(b *testing.B) {
	h := NewHub(Options{BufferSize: 1024})
	defer h.Close()
	subs := make([]*Subscription, 10)
	for i := range subs {
		var err error
		if subs[i], err = h.Subscribe(0, "machine.*"); err != nil {
			b.Fatal(err)
		}
	}
	payload := struct{ X, Y, Z float64 }{1, 2, 3}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		h.Publish("machine.status", payload)
		if n++; n%512 == 0 {
			for _, s := range subs {
				discard(b, s)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
