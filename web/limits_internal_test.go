package web

import (
	"net/netip"
	"testing"
	"time"
)

// TestLoginLimiterBoundedMemory: however many addresses try, the limiter
// remembers at most maxLimiterClients, forgetting the least recently seen.
func TestLoginLimiterBoundedMemory(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLoginLimiter(1, time.Minute, func() time.Time { return now })
	first := netip.MustParseAddr("198.51.100.1")
	if ok, _ := l.allow(first); !ok {
		t.Fatal("first attempt refused")
	}
	if ok, _ := l.allow(first); ok {
		t.Fatal("second attempt within the interval allowed")
	}
	for i := range maxLimiterClients + 500 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(a)
	}
	if n := l.len(); n != maxLimiterClients {
		t.Errorf("limiter holds %d addresses, want %d", n, maxLimiterClients)
	}
	// The first address was evicted: it starts with a full bucket again.
	if ok, _ := l.allow(first); !ok {
		t.Error("evicted address still limited")
	}
}

// TestSessionTableBounded: the table never holds more than maxSessions;
// the session closest to expiry goes first.
func TestSessionTableBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := newSessionTable(time.Hour, 0, func() time.Time { return now })
	oldest, _ := tab.create("first")
	now = now.Add(time.Second)
	var last string
	for range maxSessions {
		last, _ = tab.create("u")
	}
	if n := tab.len(); n != maxSessions {
		t.Errorf("table holds %d sessions, want %d", n, maxSessions)
	}
	if _, ok := tab.lookup(oldest); ok {
		t.Error("the session closest to expiry survived a full table")
	}
	if s, ok := tab.lookup(last); !ok || s.user != "u" {
		t.Error("the newest session was dropped")
	}
	for k := range tab.sessions {
		if string(k[:]) == last {
			t.Error("the table holds a cookie value in clear")
		}
	}
}
