package web_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// testIterations keeps PBKDF2 cheap; jobs tests check the production cost.
const testIterations = 1000

// mustOpenStore opens a real bbolt store in a temporary directory.
func mustOpenStore(tb testing.TB) *jobs.Store {
	tb.Helper()
	st := jobs.NewStore(tb.TempDir())
	if err := st.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// req is a request for a handler test.
type req struct {
	method, target, body string
	remote               string // default 192.0.2.10:5000
	header               map[string]string
	cookie               *http.Cookie
	tls                  bool
}

type answer struct {
	code   int
	header http.Header
	body   string
	err    struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
}

func serve(t *testing.T, h http.Handler, q req) answer {
	t.Helper()
	r := httptest.NewRequest(q.method, q.target, strings.NewReader(q.body))
	r.RemoteAddr = "192.0.2.10:5000"
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	if q.cookie != nil {
		r.AddCookie(q.cookie)
	}
	r.TLS = nil
	if q.tls {
		r.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	a := answer{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if rec.Code >= 400 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		var eb struct {
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error == nil {
			t.Errorf("%s %s: error body %q is not the API's error shape", q.method, q.target, a.body)
		} else {
			a.err.Code, a.err.Message = eb.Error.Code, eb.Error.Message
		}
	}
	return a
}

// authServer is a TCP handler over a real store holding one token per role
// and, when withUser, the operator user ada with password "ada's password".
type authServer struct {
	store  *jobs.Store
	srv    *web.Server
	h      http.Handler
	clock  *clock
	tokens map[web.Role]string
}

func newAuthServer(t *testing.T, withUser bool) *authServer {
	t.Helper()
	a := &authServer{store: mustOpenStore(t), clock: newClock(), tokens: map[web.Role]string{}}
	// The store stamps password changes: on the same clock as the sessions,
	// or a fixed test clock falls behind the wall clock and every session
	// looks older than the password.
	a.store.Now = a.clock.Now
	ctx := t.Context()
	for _, r := range web.Roles() {
		_, secret, err := a.store.IssueToken(ctx, r.String()+"-token", r.String())
		if err != nil {
			t.Fatal(err)
		}
		a.tokens[r] = secret
	}
	if withUser {
		h, err := jobs.HashPassword("ada's password", testIterations)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.CreateUser(ctx, jobs.User{Name: "ada", Role: "operator", Password: h}); err != nil {
			t.Fatal(err)
		}
	}
	a.srv = &web.Server{Tokens: a.store, Users: a.store, Now: a.clock.Now, PasswordIterations: testIterations, Logger: discardLogger()}
	a.h = a.srv.Handler()
	return a
}

func bearer(secret string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + secret}
}

// docRoutes lists every documented operation with its x-kerf-role; the
// OpenAPI test proves the list equals the route table.
func docRoutes(t *testing.T) []struct{ method, path, role string } {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var out []struct{ method, path, role string }
	for path, ops := range doc.Paths {
		for m, raw := range ops {
			var op struct {
				Role string `json:"x-kerf-role"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			out = append(out, struct{ method, path, role string }{strings.ToUpper(m), path, op.Role})
		}
	}
	slices.SortFunc(out, func(a, b struct{ method, path, role string }) int {
		return strings.Compare(a.path+a.method, b.path+b.method)
	})
	return out
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

func concrete(path string) string {
	return pathParam.ReplaceAllStringFunc(path, func(p string) string {
		switch p {
		case "{id}":
			return "7ZZZ" // no such token: the admin's DELETE must not revoke the tokens in use
		case "{name}":
			return "nobody"
		case "{file}":
			return "docs.js"
		}
		return "x"
	})
}

// TestEveryRouteAccess: for every route, no credentials → 401, a token whose
// role is too low → 403 naming the role needed, enough role → neither.
func TestEveryRouteAccess(t *testing.T) {
	a := newAuthServer(t, false)
	for _, rt := range docRoutes(t) {
		target := concrete(rt.path)
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			got := serve(t, a.h, req{method: rt.method, target: target})
			if rt.role == "public" {
				if got.code == 401 || got.code == 403 {
					t.Errorf("public route without credentials: %d %s", got.code, got.err.Message)
				}
				return
			}
			if got.code != 401 || got.err.Code != web.CodeUnauthorized || !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("no credentials: %d %q, want 401 with WWW-Authenticate", got.code, got.err.Message)
			}
			need, err := web.ParseRole(rt.role)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range web.Roles() {
				got := serve(t, a.h, req{method: rt.method, target: target, header: bearer(a.tokens[r])})
				switch {
				case r < need && (got.code != 403 || !strings.Contains(got.err.Message, "needs role "+rt.role+`; token "`+r.String()+`-token" (via token) has role `+r.String())):
					t.Errorf("role %s: %d %q, want 403 naming role %s", r, got.code, got.err.Message, rt.role)
				case r >= need && (got.code == 401 || got.code == 403):
					t.Errorf("role %s: %d %q, want access", r, got.code, got.err.Message)
				}
			}
		})
	}
}

// TestNoDefaultAccess guards against CNCjs's failure: with no user and no
// token configured, nobody gets in, and no credentials are handed out.
func TestNoDefaultAccess(t *testing.T) {
	st := mustOpenStore(t)
	h := (&web.Server{Tokens: st, Users: st, PasswordIterations: testIterations, Logger: discardLogger()}).Handler()
	for _, q := range []req{
		{method: "GET", target: "/api/v1/machine"},
		{method: "GET", target: "/api/v1/auth/me"},
		{method: "GET", target: "/api/v1/tokens"},
		{method: "POST", target: "/api/v1/tokens", body: `{"name":"me","role":"admin"}`},
		{method: "POST", target: "/api/v1/users", body: `{"name":"me","role":"admin","password":"whatever1"}`},
		{method: "POST", target: "/api/v1/machine/unlock"},
	} {
		if got := serve(t, h, q); got.code != 401 {
			t.Errorf("%s %s on a daemon with no users or tokens: %d, want 401", q.method, q.target, got.code)
		}
	}
	for _, creds := range []string{`{"username":"admin","password":"admin"}`, `{"username":"admin","password":""}`, `{"username":"","password":"x"}`} {
		got := serve(t, h, req{method: "POST", target: "/api/v1/auth/login", body: creds})
		if got.code == 200 || got.header.Get("Set-Cookie") != "" {
			t.Errorf("login %s with no users: %d, cookie %q; want refused", creds, got.code, got.header.Get("Set-Cookie"))
		}
	}
	if list, _ := st.Tokens(t.Context()); len(list) != 0 {
		t.Errorf("the daemon made %d tokens on its own", len(list))
	}
	t.Run("TCP without any way to authenticate does not open", func(t *testing.T) {
		s := &web.Server{Addr: "127.0.0.1:0"}
		if err := s.Open(); err == nil {
			s.Close()
			t.Error("Open served TCP with no tokens, users or proxy")
		}
	})
}

// TestBearerBypassAttempts guards against gSender's failure: only a valid
// bearer token in the Authorization header authenticates.
func TestBearerBypassAttempts(t *testing.T) {
	a := newAuthServer(t, false)
	admin := a.tokens[web.RoleAdmin]
	revoked, secret, err := a.store.IssueToken(t.Context(), "old", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.store.DeleteToken(t.Context(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	_, oddRole, err := a.store.IssueToken(t.Context(), "odd", "root")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		target string
		header map[string]string
	}{
		{"scheme only", "/api/v1/tokens", map[string]string{"Authorization": "Bearer"}},
		{"scheme and spaces", "/api/v1/tokens", map[string]string{"Authorization": "Bearer    "}},
		{"basic scheme", "/api/v1/tokens", map[string]string{"Authorization": "Basic " + admin}},
		{"token without scheme", "/api/v1/tokens", map[string]string{"Authorization": admin}},
		{"token in the query", "/api/v1/tokens?token=" + admin + "&access_token=" + admin, nil},
		{"token in another header", "/api/v1/tokens", map[string]string{"X-Api-Key": admin, "X-Auth-Token": admin}},
		{"token with a character more", "/api/v1/tokens", bearer(admin + "x")},
		{"token truncated", "/api/v1/tokens", bearer(admin[:len(admin)-1])},
		{"revoked token", "/api/v1/tokens", bearer(secret)},
		{"token with an unknown role", "/api/v1/jobs", bearer(oddRole)},
		{"session cookie that was never issued", "/api/v1/tokens", map[string]string{"Cookie": web.SessionCookie + "=" + admin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serve(t, a.h, req{method: "GET", target: tt.target, header: tt.header}); got.code != 401 {
				t.Errorf("%d %q, want 401", got.code, got.err.Message)
			}
		})
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		got := serve(t, a.h, req{method: "GET", target: "/api/v1/tokens", header: map[string]string{"Authorization": "bearer " + admin}})
		if got.code != 200 {
			t.Errorf("%d %q, want 200", got.code, got.err.Message)
		}
	})
	t.Run("bearer needs no same-origin check", func(t *testing.T) {
		h := bearer(admin)
		h["Origin"] = "https://evil.example"
		got := serve(t, a.h, req{method: "POST", target: "/api/v1/tokens", body: `{"name":"ci","role":"viewer"}`, header: h})
		if got.code != 201 {
			t.Errorf("%d %q, want 201", got.code, got.err.Message)
		}
	})
}

// login logs ada in and returns the session cookie.
func (a *authServer) login(t *testing.T, password string, mod func(*req)) (answer, *http.Cookie) {
	t.Helper()
	q := req{method: "POST", target: "/api/v1/auth/login", body: `{"username":"ada","password":` + strconvQuote(password) + `}`}
	if mod != nil {
		mod(&q)
	}
	got := serve(t, a.h, q)
	rec := &http.Response{Header: got.header}
	for _, c := range rec.Cookies() {
		if c.Name == web.SessionCookie {
			return got, c
		}
	}
	return got, nil
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestLoginSession(t *testing.T) {
	a := newAuthServer(t, true)

	t.Run("wrong password and unknown user get the same answer", func(t *testing.T) {
		bad, c := a.login(t, "not ada's password", nil)
		if bad.code != 401 || c != nil {
			t.Fatalf("wrong password: %d, cookie %v", bad.code, c)
		}
		unknown := serve(t, a.h, req{method: "POST", target: "/api/v1/auth/login", body: `{"username":"eve","password":"ada's password"}`, remote: "192.0.2.11:1"})
		if unknown.code != 401 || unknown.err.Message != bad.err.Message {
			t.Errorf("unknown user: %d %q; wrong password: %q", unknown.code, unknown.err.Message, bad.err.Message)
		}
	})
	t.Run("bad bodies name the field", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"username":"","password":"x"}`:     "field username",
			`{"username":"ada","password":""}`:   "field password",
			`{"username":"ada","password":1}`:    "field password",
			`{"user":"ada","password":"secret"}`: `unknown field "user"`,
		} {
			got := serve(t, a.h, req{method: "POST", target: "/api/v1/auth/login", body: body, remote: "198.51.100.7:1"})
			if got.code != 400 || !strings.Contains(got.err.Message, field) {
				t.Errorf("%s: %d %q, want 400 naming %s", body, got.code, got.err.Message, field)
			}
		}
	})

	got, cookie := a.login(t, "ada's password", nil)
	if got.code != 200 || cookie == nil {
		t.Fatalf("login: %d %q", got.code, got.err.Message)
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/" || len(cookie.Value) < 43 {
		t.Errorf("cookie=%+v, want HttpOnly, SameSite=Strict, not Secure on plain HTTP, 256-bit value", cookie)
	}
	var id web.Identity
	if err := json.Unmarshal([]byte(got.body), &id); err != nil || id != (web.Identity{Name: "ada", Role: web.RoleOperator, Via: web.ViaSession}) {
		t.Errorf("login answer=%s (%v)", got.body, err)
	}
	t.Run("Secure under TLS", func(t *testing.T) {
		_, c := a.login(t, "ada's password", func(q *req) { q.tls = true; q.remote = "192.0.2.12:1" })
		if c == nil || !c.Secure {
			t.Errorf("cookie under TLS=%+v, want Secure", c)
		}
	})

	me := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: cookie})
	if me.code != 200 || !strings.Contains(me.body, `"role": "operator"`) || !strings.Contains(me.body, `"via": "session"`) {
		t.Errorf("me: %d %s", me.code, me.body)
	}

	t.Run("CSRF", func(t *testing.T) {
		tests := []struct {
			name   string
			header map[string]string
			want   int // 403, or 503 (allowed: no machine service)
		}{
			{"no Origin nor Sec-Fetch-Site", nil, 403},
			{"cross-site Origin", map[string]string{"Origin": "https://evil.example"}, 403},
			{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.com"}, 403},
			{"Sec-Fetch-Site same-site (a sibling host)", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
			{"null Origin", map[string]string{"Origin": "null"}, 403},
			{"same Origin", map[string]string{"Origin": "http://example.com"}, 503},
			{"Sec-Fetch-Site same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, 503},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := serve(t, a.h, req{method: "POST", target: "/api/v1/machine/unlock", cookie: cookie, header: tt.header})
				if got.code != tt.want {
					t.Errorf("%d %q, want %d", got.code, got.err.Message, tt.want)
				}
			})
		}
		got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
		if got.code != 200 {
			t.Errorf("a cross-site GET is a read: %d, want 200", got.code)
		}
	})

	t.Run("role comes from the session's user", func(t *testing.T) {
		got := serve(t, a.h, req{method: "GET", target: "/api/v1/tokens", cookie: cookie})
		if got.code != 403 || !strings.Contains(got.err.Message, `needs role admin; user "ada" (via session) has role operator`) {
			t.Errorf("%d %q", got.code, got.err.Message)
		}
	})

	t.Run("sliding expiry", func(t *testing.T) {
		_, c := a.login(t, "ada's password", func(q *req) { q.remote = "192.0.2.13:1" })
		for i := range 3 { // used every 11 h: stays alive past the 12 h idle limit
			a.clock.Advance(11 * time.Hour)
			if got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: c}); got.code != 200 {
				t.Fatalf("use %d after 11 h: %d %q", i, got.code, got.err.Message)
			}
		}
		a.clock.Advance(12*time.Hour + time.Second)
		if got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: c}); got.code != 401 {
			t.Errorf("after 12 h idle: %d, want 401", got.code)
		}
	})
	t.Run("seven days at most", func(t *testing.T) {
		_, c := a.login(t, "ada's password", func(q *req) { q.remote = "192.0.2.14:1" })
		for range 15 { // 15 × 11 h = 165 h < 168 h
			a.clock.Advance(11 * time.Hour)
			if got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: c}); got.code != 200 {
				t.Fatalf("busy session ended early: %d", got.code)
			}
		}
		a.clock.Advance(4 * time.Hour)
		if got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: c}); got.code != 401 {
			t.Errorf("after 169 h: %d, want 401", got.code)
		}
	})

	t.Run("password change ends sessions", func(t *testing.T) {
		_, c := a.login(t, "ada's password", func(q *req) { q.remote = "192.0.2.15:1" })
		admin := bearer(a.tokens[web.RoleAdmin])
		got := serve(t, a.h, req{method: "PUT", target: "/api/v1/users/ada/password", body: `{"password":"short"}`, header: admin})
		if got.code != 400 || !strings.Contains(got.err.Message, "field password") {
			t.Errorf("short password: %d %q", got.code, got.err.Message)
		}
		got = serve(t, a.h, req{method: "PUT", target: "/api/v1/users/ada/password", body: `{"password":"a new password"}`, header: admin})
		if got.code != 204 {
			t.Fatalf("set password: %d %q", got.code, got.err.Message)
		}
		if got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: c}); got.code != 401 {
			t.Errorf("old session after a password change: %d, want 401", got.code)
		}
		if got, _ := a.login(t, "ada's password", func(q *req) { q.remote = "192.0.2.16:1" }); got.code != 401 {
			t.Errorf("old password: %d, want 401", got.code)
		}
		got, c = a.login(t, "a new password", func(q *req) { q.remote = "192.0.2.16:1" })
		if got.code != 200 {
			t.Fatalf("new password: %d", got.code)
		}
		cookie = c
	})

	t.Run("logout", func(t *testing.T) {
		got := serve(t, a.h, req{method: "POST", target: "/api/v1/auth/logout", cookie: cookie, header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
		if got.code != 204 || !strings.Contains(got.header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("logout: %d, Set-Cookie %q", got.code, got.header.Get("Set-Cookie"))
		}
		if got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: cookie}); got.code != 401 {
			t.Errorf("after logout: %d, want 401", got.code)
		}
	})

	t.Run("deleting the user ends their sessions", func(t *testing.T) {
		_, c := a.login(t, "a new password", func(q *req) { q.remote = "192.0.2.17:1" })
		if got := serve(t, a.h, req{method: "DELETE", target: "/api/v1/users/ada", header: bearer(a.tokens[web.RoleAdmin])}); got.code != 204 {
			t.Fatalf("delete: %d %q", got.code, got.err.Message)
		}
		if got := serve(t, a.h, req{method: "GET", target: "/api/v1/auth/me", cookie: c}); got.code != 401 {
			t.Errorf("after delete: %d, want 401", got.code)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	a := newAuthServer(t, true)
	a.srv.LoginBurst, a.srv.LoginInterval = 3, 10*time.Second
	a.h = a.srv.Handler()
	attempt := func(remote, password string) answer {
		got, _ := a.login(t, password, func(q *req) { q.remote = remote })
		return got
	}
	for i := range 3 {
		if got := attempt("203.0.113.1:1", "wrong password"); got.code != 401 {
			t.Fatalf("attempt %d: %d, want 401", i, got.code)
		}
	}
	got := attempt("203.0.113.1:2", "ada's password")
	if got.code != 429 || got.header.Get("Retry-After") != "10" || got.err.Code != web.CodeTooMany {
		t.Errorf("4th attempt: %d Retry-After=%q %q, want 429 after 10 s", got.code, got.header.Get("Retry-After"), got.err.Message)
	}
	if got := attempt("203.0.113.2:1", "ada's password"); got.code != 200 {
		t.Errorf("another address: %d, want 200", got.code)
	}
	t.Run("IPv6 per /64", func(t *testing.T) {
		for i := range 3 {
			attempt("[2001:db8:1:2::"+string(rune('a'+i))+"]:1", "wrong password")
		}
		if got := attempt("[2001:db8:1:2::ff]:1", "ada's password"); got.code != 429 {
			t.Errorf("same /64: %d, want 429", got.code)
		}
		if got := attempt("[2001:db8:1:3::1]:1", "ada's password"); got.code != 200 {
			t.Errorf("other /64: %d, want 200", got.code)
		}
	})
	a.clock.Advance(10 * time.Second)
	if got := attempt("203.0.113.1:3", "ada's password"); got.code != 200 {
		t.Errorf("after the interval: %d, want 200", got.code)
	}
	if got := attempt("203.0.113.1:3", "ada's password"); got.code != 429 {
		t.Errorf("right after: %d, want 429", got.code)
	}
}

func TestProxyMode(t *testing.T) {
	trusted, err := web.ParseTrustedProxies([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	st := mustOpenStore(t)
	_, viewerToken, err := st.IssueToken(t.Context(), "v", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	s := &web.Server{Tokens: st, Logger: discardLogger(), Proxy: &web.ProxyAuth{
		Trusted:      trusted,
		Header:       "X-Forwarded-Email",
		GroupsHeader: "X-Forwarded-Groups",
		Users:        map[string]web.Role{"boss@example.org": web.RoleAdmin},
		Groups:       map[string]web.Role{"makers": web.RoleOperator},
	}}
	if err := s.Proxy.Validate(); err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	tests := []struct {
		name     string
		remote   string
		header   map[string]string
		wantCode int
		wantMe   string // name/role/via of /auth/me
	}{
		{"mapped user", "10.1.2.3:4000", map[string]string{"X-Forwarded-Email": "Boss@example.org"}, 200, "Boss@example.org/admin/proxy"},
		{"group member", "10.1.2.3:4000", map[string]string{"X-Forwarded-Email": "kim@example.org", "X-Forwarded-Groups": "staff, makers"}, 200, "kim@example.org/operator/proxy"},
		{"unmapped user gets the default role", "10.9.9.9:1", map[string]string{"X-Forwarded-Email": "guest@example.org"}, 200, "guest@example.org/viewer/proxy"},
		{"IPv6 loopback proxy", "[::1]:1", map[string]string{"X-Forwarded-Email": "kim@example.org"}, 200, "kim@example.org/viewer/proxy"},
		{"header from an untrusted address", "192.168.1.5:1", map[string]string{"X-Forwarded-Email": "boss@example.org"}, 401, ""},
		{"forged X-Forwarded-For does not make a peer trusted", "192.168.1.5:1", map[string]string{"X-Forwarded-Email": "boss@example.org", "X-Forwarded-For": "10.0.0.1", "X-Real-Ip": "10.0.0.1"}, 401, ""},
		{"another identity header from an untrusted address", "192.168.1.5:1", map[string]string{"X-Forwarded-User": "boss"}, 401, ""},
		{"identity header with a valid token from an untrusted address", "192.168.1.5:1", map[string]string{"X-Auth-Request-User": "boss", "Authorization": "Bearer " + viewerToken}, 401, ""},
		{"trusted proxy without the header falls back to tokens", "10.1.2.3:1", map[string]string{"Authorization": "Bearer " + viewerToken}, 200, "v/viewer/token"},
		{"trusted proxy, no header, no token", "10.1.2.3:1", nil, 401, ""},
		{"untrusted address with a token only", "192.168.1.5:1", map[string]string{"Authorization": "Bearer " + viewerToken}, 200, "v/viewer/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serve(t, h, req{method: "GET", target: "/api/v1/auth/me", remote: tt.remote, header: tt.header})
			if got.code != tt.wantCode {
				t.Fatalf("%d %q, want %d", got.code, got.err.Message, tt.wantCode)
			}
			if tt.wantMe != "" {
				var id web.Identity
				_ = json.Unmarshal([]byte(got.body), &id)
				if me := id.Name + "/" + id.Role.String() + "/" + id.Via; me != tt.wantMe {
					t.Errorf("me=%s, want %s", me, tt.wantMe)
				}
			}
		})
	}
	t.Run("proxy users are held to their role", func(t *testing.T) {
		got := serve(t, h, req{method: "PUT", target: "/api/v1/machine/settings", remote: "10.1.2.3:1", body: `{"number":1,"value":"25"}`,
			header: map[string]string{"X-Forwarded-Email": "kim@example.org", "X-Forwarded-Groups": "makers"}})
		if got.code != 403 || !strings.Contains(got.err.Message, "needs role admin") {
			t.Errorf("%d %q, want 403", got.code, got.err.Message)
		}
	})
	t.Run("without proxy mode the header is not trusted", func(t *testing.T) {
		h := (&web.Server{Tokens: st, Logger: discardLogger()}).Handler()
		for _, remote := range []string{"10.1.2.3:1", "127.0.0.1:1"} {
			got := serve(t, h, req{method: "GET", target: "/api/v1/auth/me", remote: remote, header: map[string]string{"X-Forwarded-User": "boss", "X-Forwarded-Email": "boss@example.org"}})
			if got.code != 401 {
				t.Errorf("from %s: %d, want 401", remote, got.code)
			}
		}
	})
}

func TestProxyConfig(t *testing.T) {
	if _, err := web.ParseTrustedProxies([]string{"10.0.0.0/8", "not-an-ip"}); err == nil || !strings.Contains(err.Error(), `trusted proxy 2 ("not-an-ip")`) {
		t.Errorf("bad entry: err=%v, want it named with its position", err)
	}
	got, err := web.ParseTrustedProxies([]string{"127.0.0.1", "10.1.2.3/8", "::ffff:192.0.2.1"})
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseTrustedProxies=%v, %v; want %v", got, err, want)
	}
	nets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name    string
		p       web.ProxyAuth
		mention string
	}{
		{"no networks", web.ProxyAuth{}, "no trusted proxy"},
		{"bad header", web.ProxyAuth{Trusted: nets, Header: "X Forwarded"}, "not a valid header name"},
		{"bad user role", web.ProxyAuth{Trusted: nets, Users: map[string]web.Role{"a": 0}}, `user "a"`},
		{"bad group role", web.ProxyAuth{Trusted: nets, Groups: map[string]web.Role{"g": 9}}, `group "g"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Validate=%v, want mention of %q", err, tt.mention)
			}
		})
	}
}

// TestTokenAndUserRoutes drives the admin routes over the trusted socket
// handler with a real store.
func TestTokenAndUserRoutes(t *testing.T) {
	st := mustOpenStore(t)
	s := &web.Server{Tokens: st, Users: st, PasswordIterations: testIterations, Logger: discardLogger()}
	c := MustOpenServer(t, s)
	ctx := t.Context()
	tok, err := c.CreateToken(ctx, "grafana", "viewer")
	if err != nil || !strings.HasPrefix(tok.Secret, jobs.TokenSecretPrefix) || tok.Role != "viewer" {
		t.Fatalf("CreateToken=%+v, %v", tok, err)
	}
	if _, err := c.CreateToken(ctx, "grafana", "viewer"); !isStatus(err, 409) {
		t.Errorf("duplicate token name: err=%v, want 409", err)
	}
	if _, err := c.CreateToken(ctx, "x", "root"); !isStatus(err, 400) || !strings.Contains(err.Error(), "field role") {
		t.Errorf("bad role: err=%v, want 400 naming the field", err)
	}
	if name, role, err := st.AuthenticateToken(ctx, tok.Secret); err != nil || name != "grafana" || role != "viewer" {
		t.Errorf("the issued secret does not authenticate: %q %q %v", name, role, err)
	}
	list, err := c.Tokens(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "grafana" {
		t.Errorf("Tokens=%+v, %v", list, err)
	}
	raw, _ := json.Marshal(list)
	if strings.Contains(string(raw), "hash") || strings.Contains(string(raw), tok.Secret) {
		t.Errorf("token list leaks the hash or secret: %s", raw)
	}
	if err := c.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeToken(ctx, tok.ID); !isStatus(err, 404) {
		t.Errorf("second revoke: err=%v, want 404", err)
	}

	u, err := c.AddUser(ctx, "ada", "admin", "correct horse")
	if err != nil || u.Name != "ada" || u.Role != "admin" {
		t.Fatalf("AddUser=%+v, %v", u, err)
	}
	for _, tt := range []struct{ name, role, password, mention string }{
		{"ada", "viewer", "correct horse", "taken"},
		{"-rf", "viewer", "correct horse", "field name"},
		{"bob", "king", "correct horse", "field role"},
		{"bob", "viewer", "short", "field password"},
	} {
		if _, err := c.AddUser(ctx, tt.name, tt.role, tt.password); err == nil || !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("AddUser(%s, %s): err=%v, want mention of %q", tt.name, tt.role, err, tt.mention)
		}
	}
	users, err := c.Users(ctx)
	if err != nil || len(users) != 1 || users[0].Name != "ada" {
		t.Errorf("Users=%+v, %v", users, err)
	}
	if err := c.SetPassword(ctx, "nobody", "long enough"); !isStatus(err, 404) {
		t.Errorf("SetPassword(nobody): err=%v, want 404", err)
	}
	if err := c.RemoveUser(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if me, err := c.Me(ctx); err != nil || me != (web.Identity{Name: "local", Role: web.RoleAdmin, Via: web.ViaSocket}) {
		t.Errorf("Me over the socket=%+v, %v", me, err)
	}
}

func isStatus(err error, status int) bool {
	ae, ok := err.(*web.APIError)
	return ok && ae.Status == status
}

func TestProxyConfig_ProxyAuth(t *testing.T) {
	p, err := web.ProxyConfig{}.ProxyAuth()
	if p != nil || err != nil {
		t.Errorf("empty config: %v, %v; want proxy mode off", p, err)
	}
	p, err = web.ProxyConfig{
		TrustedProxies: []string{"127.0.0.1"}, UserHeader: "X-Auth-Request-User", GroupsHeader: "X-Auth-Request-Groups",
		Users: map[string]string{"ada": "admin"}, Groups: map[string]string{"makers": "Operator"}, DefaultRole: "viewer",
	}.ProxyAuth()
	if err != nil || p.Users["ada"] != web.RoleAdmin || p.Groups["makers"] != web.RoleOperator || p.DefaultRole != web.RoleViewer || p.Header != "X-Auth-Request-User" {
		t.Errorf("ProxyAuth=%+v, %v", p, err)
	}
	tests := []struct {
		name    string
		c       web.ProxyConfig
		mention string
	}{
		{"roles without proxies", web.ProxyConfig{Users: map[string]string{"ada": "admin"}}, "no trusted proxies"},
		{"bad address", web.ProxyConfig{TrustedProxies: []string{"localhost"}}, `trusted proxy 1 ("localhost")`},
		{"bad user role", web.ProxyConfig{TrustedProxies: []string{"::1"}, Users: map[string]string{"ada": "root"}}, `users["ada"]: role "root"`},
		{"bad group role", web.ProxyConfig{TrustedProxies: []string{"::1"}, GroupsHeader: "X-G", Groups: map[string]string{"g": ""}}, `groups["g"]`},
		{"groups without header", web.ProxyConfig{TrustedProxies: []string{"::1"}, Groups: map[string]string{"g": "admin"}}, "no groups header"},
		{"bad default", web.ProxyConfig{TrustedProxies: []string{"::1"}, DefaultRole: "guest"}, "default role"},
		{"bad header", web.ProxyConfig{TrustedProxies: []string{"::1"}, UserHeader: "X:User"}, "not a valid header name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.c.ProxyAuth(); err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err=%v, want mention of %q", err, tt.mention)
			}
		})
	}
}

func TestProxyUserTooLong(t *testing.T) {
	s := &web.Server{Logger: discardLogger(), Proxy: &web.ProxyAuth{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	got := serve(t, s.Handler(), req{method: "GET", target: "/api/v1/auth/me", remote: "10.0.0.2:1", header: map[string]string{"X-Forwarded-User": strings.Repeat("a", 300)}})
	if got.code != 401 || !strings.Contains(got.err.Message, "longer than 256") {
		t.Errorf("%d %q, want 401", got.code, got.err.Message)
	}
}

// TestLoginRateLimitBehindProxy: behind a trusted proxy each client is
// limited under the address the proxy saw, not the proxy's own; an
// untrusted peer's X-Forwarded-For is ignored.
func TestLoginRateLimitBehindProxy(t *testing.T) {
	a := newAuthServer(t, true)
	a.srv.LoginBurst = 1
	a.srv.Proxy = &web.ProxyAuth{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}}
	a.h = a.srv.Handler()
	attempt := func(remote, xff string) int {
		got, _ := a.login(t, "wrong password", func(q *req) {
			q.remote = remote
			q.header = map[string]string{"X-Forwarded-For": xff}
		})
		return got.code
	}
	if code := attempt("10.0.0.1:1", "198.51.100.1"); code != 401 {
		t.Fatalf("first client: %d", code)
	}
	if code := attempt("10.0.0.1:1", "6.6.6.6, 198.51.100.2"); code != 401 {
		t.Errorf("second client through the same proxy: %d, want 401 (its own bucket)", code)
	}
	if code := attempt("10.0.0.1:1", "198.51.100.2"); code != 429 {
		t.Errorf("second client again: %d, want 429", code)
	}
	if code := attempt("192.0.2.50:1", "198.51.100.3"); code != 401 {
		t.Fatalf("untrusted peer: %d", code)
	}
	if code := attempt("192.0.2.50:1", "198.51.100.4"); code != 429 {
		t.Errorf("untrusted peer with another X-Forwarded-For: %d, want 429 (limited as itself)", code)
	}
}
