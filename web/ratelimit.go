package web

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Login rate limiting defaults: a burst of LoginBurst attempts per client
// address, then one every LoginInterval.
const (
	DefaultLoginBurst    = 5
	DefaultLoginInterval = 20 * time.Second
	// maxLimiterClients bounds the limiter's memory: beyond it the least
	// recently seen address is forgotten.
	maxLimiterClients = 4096
)

// loginLimiter is a token bucket per client address with bounded memory.
// IPv6 clients are limited per /64, the block one host usually controls.
type loginLimiter struct {
	burst    float64
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	clients map[netip.Addr]*list.Element // values are *bucket
	lru     list.List                    // front: most recently seen
}

type bucket struct {
	addr   netip.Addr
	tokens float64
	last   time.Time
}

func newLoginLimiter(burst int, interval time.Duration, now func() time.Time) *loginLimiter {
	if burst <= 0 {
		burst = DefaultLoginBurst
	}
	if interval <= 0 {
		interval = DefaultLoginInterval
	}
	if now == nil {
		now = time.Now
	}
	return &loginLimiter{burst: float64(burst), interval: interval, now: now, clients: map[netip.Addr]*list.Element{}}
}

// limiterKey is the address a client is counted under.
func limiterKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a.Unmap()
}

// allow takes one attempt from a's bucket. When it is empty it returns
// false and how long until the next attempt is allowed.
func (l *loginLimiter) allow(a netip.Addr) (bool, time.Duration) {
	key := limiterKey(a)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.clients[key]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.interval))
		b.last = now
	} else {
		if l.lru.Len() >= maxLimiterClients {
			oldest := l.lru.Back()
			l.lru.Remove(oldest)
			delete(l.clients, oldest.Value.(*bucket).addr)
		}
		b = &bucket{addr: key, tokens: l.burst, last: now}
		l.clients[key] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.interval))
}

// len returns how many addresses the limiter remembers.
func (l *loginLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}
