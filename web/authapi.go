package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
)

// authState is the server's login machinery, made on first use so that a
// Server built as a struct literal works too.
type authState struct {
	once     sync.Once
	sessions *sessionTable
	limiter  *loginLimiter
	// kdf bounds concurrent password verifications: PBKDF2 at 600,000
	// iterations costs a Pi core about half a second each.
	kdf chan struct{}

	dummyOnce sync.Once
	dummy     jobs.PasswordHash // verified for unknown users, so timing tells nothing
}

// maxConcurrentKDF is how many password verifications run at once.
const maxConcurrentKDF = 2

func (s *Server) auth() *authState {
	s.authInit.once.Do(func() {
		now := s.Now
		if now == nil {
			now = time.Now
		}
		s.authInit.sessions = newSessionTable(s.SessionIdle, s.SessionMax, now)
		s.authInit.limiter = newLoginLimiter(s.LoginBurst, s.LoginInterval, now)
		s.authInit.kdf = make(chan struct{}, maxConcurrentKDF)
	})
	return &s.authInit
}

func (s *Server) dummyHash() jobs.PasswordHash {
	a := s.auth()
	a.dummyOnce.Do(func() {
		a.dummy, _ = jobs.HashPassword("kerf-no-such-user-password", s.PasswordIterations)
	})
	return a.dummy
}

// checkSession authenticates a session cookie value against the session
// table and the user's current record: a deleted user or a password changed
// since the login ends the session; the role is the user's role now.
func (s *Server) checkSession(ctx context.Context, value string) (Identity, error) {
	if s.Users == nil {
		return Identity{}, fmt.Errorf("login sessions are not enabled on this daemon: %w", ErrUnauthorized)
	}
	a := s.auth()
	sess, ok := a.sessions.lookup(value)
	if !ok {
		return Identity{}, fmt.Errorf("session expired or unknown: log in again: %w", ErrUnauthorized)
	}
	u, err := s.Users.User(ctx, sess.user)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		a.sessions.remove(value)
		return Identity{}, fmt.Errorf("session of user %q, who no longer exists: %w", sess.user, ErrUnauthorized)
	case err != nil:
		return Identity{}, fmt.Errorf("check session: %w", err)
	case u.PasswordChanged.After(sess.created):
		a.sessions.remove(value)
		return Identity{}, fmt.Errorf("the password of user %q changed after this login: log in again: %w", u.Name, ErrUnauthorized)
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return Identity{}, fmt.Errorf("user %q has an unknown role %q: %w", u.Name, u.Role, ErrUnauthorized)
	}
	return Identity{Name: u.Name, Role: role, Via: ViaSession}, nil
}

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// errBadLogin is the one answer to a wrong user name or password: it does
// not say which.
func errBadLogin() error {
	return fmt.Errorf("invalid username or password: %w", ErrUnauthorized)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if s.Users == nil {
		return fmt.Errorf("login is not enabled on this daemon (no user store): %w", ErrUnavailable)
	}
	if err := notCrossSite(r); err != nil {
		return err
	}
	a := s.auth()
	if addr, ok := s.Proxy.clientAddr(r); ok {
		if allowed, wait := a.limiter.allow(addr); !allowed {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			s.metrics().login("rate_limited")
			return fmt.Errorf("too many login attempts from %s: try again in %d s: %w", addr, secs, ErrTooManyRequests)
		}
	}
	var req LoginRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(req.Username) == "":
		return fmt.Errorf("login: field username: must not be empty: %w", ErrBadRequest)
	case req.Password == "":
		return fmt.Errorf("login: field password: must not be empty: %w", ErrBadRequest)
	case len(req.Password) > jobs.MaxPasswordLength:
		return fmt.Errorf("login: field password: longer than %d bytes: %w", jobs.MaxPasswordLength, ErrBadRequest)
	}
	select {
	case a.kdf <- struct{}{}:
		defer func() { <-a.kdf }()
	case <-r.Context().Done():
		return fmt.Errorf("login: %w", r.Context().Err())
	}
	u, err := s.Users.User(r.Context(), req.Username)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		s.dummyHash().Verify(req.Password)
		s.metrics().login("bad_credentials")
		return errBadLogin()
	case err != nil:
		return fmt.Errorf("login: %w", err)
	case !u.Password.Verify(req.Password):
		s.metrics().login("bad_credentials")
		return errBadLogin()
	}
	role, err := ParseRole(u.Role)
	if err != nil {
		return fmt.Errorf("user %q has an unknown role %q: %w", u.Name, u.Role, ErrUnauthorized)
	}
	value, end := a.sessions.create(u.Name)
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    value,
		Path:     "/",
		Expires:  end,
		HttpOnly: true,
		Secure:   r.TLS != nil || s.Proxy.forwardedTLS(r),
		SameSite: http.SameSiteStrictMode,
	})
	s.metrics().login("ok")
	writeJSON(w, http.StatusOK, Identity{Name: u.Name, Role: role, Via: ViaSession})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := notCrossSite(r); err != nil {
			return err
		}
		s.auth().sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil || s.Proxy.forwardedTLS(r), SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	id, ok := IdentityFrom(r.Context())
	if !ok {
		return fmt.Errorf("no identity: %w", ErrUnauthorized)
	}
	writeJSON(w, http.StatusOK, id)
	return nil
}

// TokenInfo describes a token without its hash.
type TokenInfo struct {
	ID      jobs.ID   `json:"id"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// NewToken is the answer to POST /api/v1/tokens: the token and its
// secret, shown this once.
type NewToken struct {
	TokenInfo
	// Secret is the bearer token. It is not stored and cannot be shown
	// again.
	Secret string `json:"secret"`
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	// Role is viewer, operator or admin (default viewer).
	Role string `json:"role"`
}

func tokenInfo(t jobs.Token) TokenInfo {
	return TokenInfo{ID: t.ID, Name: t.Name, Role: t.Role, Created: t.Created}
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	if s.Tokens == nil {
		return errNoService("token")
	}
	list, err := s.Tokens.Tokens(r.Context())
	if err != nil {
		return err
	}
	out := make([]TokenInfo, 0, len(list))
	for _, t := range list {
		out = append(out, tokenInfo(t))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseRoleField parses an optional role field, naming it in the error.
func parseRoleField(what, v string) (Role, error) {
	if v == "" {
		return RoleViewer, nil
	}
	role, err := ParseRole(v)
	if err != nil {
		return roleNone, fmt.Errorf("%s: field role: %w", what, err)
	}
	return role, nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	if s.Tokens == nil {
		return errNoService("token")
	}
	var req TokenRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 64 {
		return fmt.Errorf("create token: field name: must be 1 to 64 characters: %w", ErrBadRequest)
	}
	role, err := parseRoleField("create token", req.Role)
	if err != nil {
		return err
	}
	t, secret, err := s.Tokens.IssueToken(r.Context(), name, role.String())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, NewToken{TokenInfo: tokenInfo(t), Secret: secret})
	return nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	if s.Tokens == nil {
		return errNoService("token")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Tokens.DeleteToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// UserInfo describes a user without the password hash.
type UserInfo struct {
	Name            string    `json:"name"`
	Role            string    `json:"role"`
	Created         time.Time `json:"created"`
	PasswordChanged time.Time `json:"password_changed"`
}

// UserRequest is the body of POST /api/v1/users.
type UserRequest struct {
	Name string `json:"name"`
	// Role is viewer, operator or admin (default viewer).
	Role     string `json:"role"`
	Password string `json:"password"`
}

// PasswordRequest is the body of PUT /api/v1/users/{name}/password.
type PasswordRequest struct {
	Password string `json:"password"`
}

func userInfo(u jobs.User) UserInfo {
	return UserInfo{Name: u.Name, Role: u.Role, Created: u.Created, PasswordChanged: u.PasswordChanged}
}

// hashPassword hashes a new password, naming the field in errors.
func (s *Server) hashPassword(what, password string) (jobs.PasswordHash, error) {
	h, err := jobs.HashPassword(password, s.PasswordIterations)
	if err != nil {
		return h, fmt.Errorf("%s: field %w", what, err)
	}
	return h, nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	if s.Users == nil {
		return errNoService("user")
	}
	list, err := s.Users.Users(r.Context())
	if err != nil {
		return err
	}
	out := make([]UserInfo, 0, len(list))
	for _, u := range list {
		out = append(out, userInfo(u))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	if s.Users == nil {
		return errNoService("user")
	}
	var req UserRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := jobs.ValidUserName(req.Name); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	role, err := parseRoleField("create user", req.Role)
	if err != nil {
		return err
	}
	h, err := s.hashPassword("create user "+req.Name, req.Password)
	if err != nil {
		return err
	}
	u, err := s.Users.CreateUser(r.Context(), jobs.User{Name: req.Name, Role: role.String(), Password: h})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/users/"+u.Name)
	writeJSON(w, http.StatusCreated, userInfo(u))
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if s.Users == nil {
		return errNoService("user")
	}
	name := r.PathValue("name")
	if err := s.Users.DeleteUser(r.Context(), name); err != nil {
		return err
	}
	s.auth().sessions.removeUser(name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) error {
	if s.Users == nil {
		return errNoService("user")
	}
	name := r.PathValue("name")
	var req PasswordRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	h, err := s.hashPassword("set password of "+name, req.Password)
	if err != nil {
		return err
	}
	if _, err := s.Users.SetUserPassword(r.Context(), name, h); err != nil {
		return err
	}
	s.auth().sessions.removeUser(name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
