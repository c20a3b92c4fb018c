package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/kerf-cnc/kerf/jobs"
)

// authenticator establishes who sent a request: the Unix socket's trusts
// everyone as admin, TCP's checks credentials.
type authenticator func(r *http.Request) (Identity, error)

// socketIdentity is the caller on the Unix socket: whoever can open the
// socket file is the machine's administrator.
func socketIdentity(*http.Request) (Identity, error) {
	return Identity{Name: "local", Role: RoleAdmin, Via: ViaSocket}, nil
}

// authorize is the one check of a caller's role against what an action
// needs. what names the action in the error ("POST /api/v1/jobs").
func authorize(id Identity, need Role, what string) error {
	if need < rolePublic {
		return fmt.Errorf("%s declares no role, so it is refused to everyone: %w", what, ErrForbidden)
	}
	if id.Role >= need {
		return nil
	}
	return fmt.Errorf("%s needs role %s; %s %q (via %s) has role %s: %w", what, need, callerKind(id.Via), id.Name, id.Via, id.Role, ErrForbidden)
}

func callerKind(via string) string {
	switch via {
	case ViaToken:
		return "token"
	case ViaSession, ViaProxy:
		return "user"
	}
	return "caller"
}

// tcpIdentity authenticates a TCP request, in this order:
//
//  1. trusted reverse proxy: with Proxy configured, a request from a
//     trusted address carrying the identity header is that user; an
//     identity header from any other address is refused (401), never
//     trusted;
//  2. "Authorization: Bearer <token>", checked by Tokens;
//  3. the session cookie of a login (unsafe methods must also pass the
//     same-origin check: cookies are sent by browsers on cross-site
//     requests too, bearer tokens are not);
//  4. otherwise 401. Nothing is granted by default: with no tokens, users
//     or proxy configured every request is refused.
func (s *Server) tcpIdentity(r *http.Request) (Identity, error) {
	if s.Proxy != nil {
		id, ok, err := s.Proxy.identify(r)
		if err != nil || ok {
			return id, err
		}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		return s.checkBearer(r.Context(), h)
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		id, err := s.checkSession(r.Context(), c.Value)
		if err != nil {
			return Identity{}, err
		}
		if !safeMethod(r.Method) {
			if err := sameOrigin(r); err != nil {
				return Identity{}, err
			}
		}
		return id, nil
	}
	return Identity{}, fmt.Errorf("authentication required: send \"Authorization: Bearer <token>\" (create one with `kerf token create`) or log in: %w", ErrUnauthorized)
}

// checkBearer authenticates an Authorization header value.
func (s *Server) checkBearer(ctx context.Context, h string) (Identity, error) {
	if s.Tokens == nil {
		return Identity{}, fmt.Errorf("API tokens are not enabled on this daemon: %w", ErrUnauthorized)
	}
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return Identity{}, fmt.Errorf("malformed Authorization header: want \"Bearer <token>\": %w", ErrUnauthorized)
	}
	name, roleName, err := s.Tokens.AuthenticateToken(ctx, secret)
	switch {
	case errors.Is(err, jobs.ErrNotFound), errors.Is(err, ErrUnauthorized):
		return Identity{}, fmt.Errorf("unknown or revoked token: %w", ErrUnauthorized)
	case err != nil:
		return Identity{}, fmt.Errorf("check token: %w", err)
	}
	role, err := ParseRole(roleName)
	if err != nil {
		// A record with a role this version does not know grants nothing.
		return Identity{}, fmt.Errorf("token %q has an unknown role %q: %w", name, roleName, ErrUnauthorized)
	}
	return Identity{Name: name, Role: role, Via: ViaToken}, nil
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin is the CSRF check of cookie-authenticated requests that
// change state: the browser must say the request comes from this site's
// own pages, with Sec-Fetch-Site: same-origin or, from browsers that do not
// send it, an Origin whose host is the request's Host. A request with
// neither header is refused: every browser that sends cookies on a
// cross-site POST sends one of them.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site == "same-origin" {
			return nil
		}
		return fmt.Errorf("cross-site request refused: Sec-Fetch-Site is %q, want same-origin (a cookie-authenticated %s must come from the panel itself): %w", site, r.Method, ErrForbidden)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return fmt.Errorf("cross-site check failed: a cookie-authenticated %s needs an Origin or Sec-Fetch-Site header (API clients use a bearer token instead): %w", r.Method, ErrForbidden)
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("cross-site request refused: Origin %q is not a URL: %w", origin, ErrForbidden)
	}
	if !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("cross-site request refused: Origin %s is not this server (%s): %w", origin, r.Host, ErrForbidden)
	}
	return nil
}

// notCrossSite refuses a request a browser marks as coming from another
// site; requests without browser headers (curl, the CLI) pass. It guards
// login against login CSRF.
func notCrossSite(r *http.Request) error {
	if r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == "" {
		return nil
	}
	return sameOrigin(r)
}
