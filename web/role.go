package web

import (
	"context"
	"fmt"
	"strings"
)

// Role is what a caller may do. Roles are ordered: each includes the ones
// below it.
type Role int

// The roles. rolePublic marks routes that need no identity at all (login,
// the panel's files, the API description); it is never a caller's role.
// The zero Role is no role: a route declared without one fails the route
// table test and is refused to everyone.
const (
	roleNone Role = iota
	rolePublic
	// RoleViewer reads everything: jobs, runs, telemetry, machine status,
	// settings, the event stream, metrics.
	RoleViewer
	// RoleOperator also runs the machine: uploads and starts jobs, pauses,
	// resumes and aborts runs, jogs, homes, unlocks, holds, resumes and
	// changes overrides.
	RoleOperator
	// RoleAdmin also writes GRBL settings, deletes jobs, downloads backups
	// and manages tokens and users.
	RoleAdmin
)

// Roles lists the roles a token or user can have, lowest first.
func Roles() []Role { return []Role{RoleViewer, RoleOperator, RoleAdmin} }

// String returns the role's name: "viewer", "operator" or "admin".
func (r Role) String() string {
	switch r {
	case rolePublic:
		return "public"
	case RoleViewer:
		return "viewer"
	case RoleOperator:
		return "operator"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// ParseRole parses "viewer", "operator" or "admin" (case-insensitive).
// Errors wrap ErrBadRequest and list the roles.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if strings.EqualFold(strings.TrimSpace(s), r.String()) {
			return r, nil
		}
	}
	return roleNone, fmt.Errorf("role %q is not one of viewer, operator, admin: %w", s, ErrBadRequest)
}

// MarshalText encodes the role by name.
func (r Role) MarshalText() ([]byte, error) {
	if r < RoleViewer || r > RoleAdmin {
		return nil, fmt.Errorf("role %d has no name", int(r))
	}
	return []byte(r.String()), nil
}

// UnmarshalText decodes a role name.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// How a caller was authenticated (Identity.Via).
const (
	ViaSocket  = "socket"  // the trusted Unix socket
	ViaToken   = "token"   // an API token (Authorization: Bearer)
	ViaSession = "session" // a login session cookie
	ViaProxy   = "proxy"   // a trusted reverse proxy's identity header
)

// Identity is the authenticated caller of a request.
type Identity struct {
	// Name is the token's, user's or proxy user's name; "local" on the
	// Unix socket.
	Name string `json:"name"`
	// Role is what the caller may do.
	Role Role `json:"role"`
	// Via says how the caller was authenticated (Via* constants).
	Via string `json:"via"`
}

// identityKey is the context key of the request's Identity.
type identityKey struct{}

// IdentityFrom returns the identity that authenticated the request whose
// context this is; ok is false on public routes.
func IdentityFrom(ctx context.Context) (id Identity, ok bool) {
	id, ok = ctx.Value(identityKey{}).(Identity)
	return id, ok
}

func withIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}
