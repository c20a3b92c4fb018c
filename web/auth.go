package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kerf-cnc/kerf/jobs"
)

// tokenNameKey is the context key under which authenticate stores the
// token's name.
type tokenNameKey struct{}

// TokenName returns the name of the token that authenticated the request,
// or "" for a request on the trusted Unix socket.
func TokenName(ctx context.Context) string {
	name, _ := ctx.Value(tokenNameKey{}).(string)
	return name
}

// authenticate requires "Authorization: Bearer <token>" on every request,
// checked with s.Tokens. Without a TokenChecker every request is refused:
// the API is never served unauthenticated off the Unix socket.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, err := s.checkBearer(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenNameKey{}, name)))
	})
}

func (s *Server) checkBearer(r *http.Request) (string, error) {
	if s.Tokens == nil {
		return "", fmt.Errorf("no token checker is configured, so TCP access is disabled: %w", ErrUnauthorized)
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", fmt.Errorf("missing Authorization header: send \"Authorization: Bearer <token>\" (create one with `kerf token create`): %w", ErrUnauthorized)
	}
	scheme, secret, ok := strings.Cut(h, " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return "", fmt.Errorf("malformed Authorization header: want \"Bearer <token>\": %w", ErrUnauthorized)
	}
	name, err := s.Tokens.CheckToken(r.Context(), secret)
	switch {
	case err == nil:
		return name, nil
	case errors.Is(err, jobs.ErrNotFound), errors.Is(err, ErrUnauthorized):
		return "", fmt.Errorf("unknown or revoked token: %w", ErrUnauthorized)
	}
	return "", fmt.Errorf("check token: %w", err)
}
