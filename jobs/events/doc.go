// Package events is kerf's in-process event hub: every state change
// (machine status, run progress and state, relay, verdicts, drift checks,
// alarms, messages) is published once with a monotonically increasing
// sequence number, and any number of subscribers (websocket clients, the
// CLI's watch, tests) receive it.
//
// # Usage
//
//	hub := events.NewHub(events.Options{})
//	defer hub.Close()
//	sub, err := hub.Subscribe(lastSeen, "run.*", "machine.status")
//	if errors.Is(err, events.ErrGap) { … tell the client, resubscribe with 0 … }
//	defer sub.Close()
//	for ev := range sub.Events() { … }
//	// sub.Err() says why the channel closed (ErrSlow, ErrClosed; nil after sub.Close)
//
//	hub.Publish("run.progress", progress) // never blocks
//
// # Resume
//
// The hub keeps the last RingSize events. Subscribe(since) with since > 0
// replays the ring's events after since before live ones, so a client that
// reconnects with the last Seq it saw misses nothing, or gets a *GapError
// naming the oldest sequence number still available.
//
// # Slow subscribers
//
// Each subscriber has a bounded buffer (BufferSize live events). Publish
// offers an event with a non-blocking send; a subscriber whose buffer is
// full is dropped: its channel is closed after the events already in it,
// and Err reports ErrSlow. The publisher (the runner) is never slowed by a
// subscriber.
//
// # Concurrency
//
// The hub starts no goroutines: Publish fans out under a mutex with
// non-blocking sends. All methods of Hub and Subscription are safe for
// concurrent use. Close does not block; it closes every subscription's
// channel. Event payloads are shared between subscribers and must be
// treated as immutable.
package events
