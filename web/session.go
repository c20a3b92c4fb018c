package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "kerf_session"

// Session defaults.
const (
	// DefaultSessionIdle is how long a login session lives without being
	// used; every authenticated request extends it (sliding expiry).
	DefaultSessionIdle = 12 * time.Hour
	// DefaultSessionMax bounds a session's whole life, however busy.
	DefaultSessionMax = 7 * 24 * time.Hour
	// maxSessions bounds the session table; when it is full the session
	// closest to expiry is dropped.
	maxSessions = 1024
	// sessionIDBytes is a session ID's entropy: 256 bits.
	sessionIDBytes = 32
)

// session is a login: the user and its lifetimes.
type session struct {
	user    string
	created time.Time
	expires time.Time // sliding: now+idle on every use, capped at created+max
}

// sessionTable keeps login sessions in memory, keyed by the SHA-256 of the
// cookie value: the table never holds a usable session ID. A daemon restart
// logs everyone out.
type sessionTable struct {
	idle, max time.Duration
	now       func() time.Time

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]*session
}

func newSessionTable(idle, maxAge time.Duration, now func() time.Time) *sessionTable {
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	if maxAge <= 0 {
		maxAge = DefaultSessionMax
	}
	if now == nil {
		now = time.Now
	}
	return &sessionTable{idle: idle, max: maxAge, now: now, sessions: map[[sha256.Size]byte]*session{}}
}

// create starts a session for user and returns the cookie value (256
// random bits, base64url) and the session's end of life.
func (t *sessionTable) create(user string) (string, time.Time) {
	raw := make([]byte, sessionIDBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	value := base64.RawURLEncoding.EncodeToString(raw)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.sessions) >= maxSessions {
		t.evictLocked(now)
	}
	t.sessions[sha256.Sum256([]byte(value))] = &session{user: user, created: now, expires: now.Add(t.idle)}
	return value, now.Add(t.max)
}

// evictLocked removes expired sessions and, if the table is still full,
// the one closest to expiry.
func (t *sessionTable) evictLocked(now time.Time) {
	var oldestKey [sha256.Size]byte
	var oldest *session
	for k, s := range t.sessions {
		if !now.Before(s.expires) {
			delete(t.sessions, k)
			continue
		}
		if oldest == nil || s.expires.Before(oldest.expires) {
			oldestKey, oldest = k, s
		}
	}
	if len(t.sessions) >= maxSessions && oldest != nil {
		delete(t.sessions, oldestKey)
	}
}

// lookup returns the live session of a cookie value and extends it.
func (t *sessionTable) lookup(value string) (session, bool) {
	key := sha256.Sum256([]byte(value))
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sessions[key]
	if !ok {
		return session{}, false
	}
	if !now.Before(s.expires) {
		delete(t.sessions, key)
		return session{}, false
	}
	s.expires = now.Add(t.idle)
	if end := s.created.Add(t.max); s.expires.After(end) {
		s.expires = end
	}
	return *s, true
}

// remove ends the session of a cookie value, if any.
func (t *sessionTable) remove(value string) {
	key := sha256.Sum256([]byte(value))
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sessions, key)
}

// removeUser ends every session of user (deleted, or password changed).
func (t *sessionTable) removeUser(user string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range t.sessions {
		if s.user == user {
			delete(t.sessions, k)
		}
	}
}

// len returns the number of sessions held (expired ones included until
// they are looked up or evicted).
func (t *sessionTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}
