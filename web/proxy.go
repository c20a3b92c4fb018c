package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// identityHeaders returns the headers reverse proxies (oauth2-proxy,
// Istio, Traefik forward-auth) use to pass the user on, plus the
// configured ones. In proxy mode a request carrying any of them from an
// address that is not a trusted proxy is refused: it is someone trying to
// be a user.
func (p *ProxyAuth) identityHeaders() []string {
	return []string{
		"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Preferred-Username", "X-Forwarded-Groups",
		"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Preferred-Username", "X-Auth-Request-Groups",
		"Remote-User", p.header(), p.GroupsHeader,
	}
}

// maxProxyUser bounds the user name a proxy may pass.
const maxProxyUser = 256

// DefaultProxyHeader is the identity header oauth2-proxy sets with
// --pass-user-headers (and as X-Auth-Request-User with --set-xauthrequest).
const DefaultProxyHeader = "X-Forwarded-User"

// ProxyAuth configures the trusted reverse-proxy mode: an authenticating
// proxy such as oauth2-proxy in front of kerf names the user in a header,
// and kerf believes it only from the proxy's own addresses.
type ProxyAuth struct {
	// Trusted lists the proxies' addresses. Only a TCP peer inside one of
	// them may name a user. Use ParseTrustedProxies for config strings.
	Trusted []netip.Prefix
	// Header carries the user's name or e-mail (DefaultProxyHeader when
	// empty), e.g. X-Forwarded-Email or X-Auth-Request-User.
	Header string
	// GroupsHeader optionally carries the user's groups, comma-separated
	// (oauth2-proxy: X-Forwarded-Groups).
	GroupsHeader string
	// Users maps a user (the header's value, compared case-insensitively)
	// to a role.
	Users map[string]Role
	// Groups maps a group to a role. A user gets the highest role of
	// their own mapping and their groups'.
	Groups map[string]Role
	// DefaultRole is the role of a user who is in neither map (zero:
	// RoleViewer).
	DefaultRole Role
}

// ParseTrustedProxies parses CIDRs ("10.0.0.0/8", "::1/128") and bare
// addresses ("127.0.0.1", taken as /32 or /128). The error names the entry
// and its position.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %d (%q): not a CIDR or an IP address: %w", i+1, s, ErrBadRequest)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Validate checks the configuration: at least one trusted network, a
// well-formed header name, roles that exist.
func (p *ProxyAuth) Validate() error {
	if len(p.Trusted) == 0 {
		return fmt.Errorf("proxy auth: no trusted proxy addresses: every request would be refused")
	}
	for _, pre := range p.Trusted {
		if !pre.IsValid() {
			return fmt.Errorf("proxy auth: trusted network %v is not valid", pre)
		}
	}
	for _, h := range []string{p.header(), p.GroupsHeader} {
		if h != "" && !validHeaderName(h) {
			return fmt.Errorf("proxy auth: header %q is not a valid header name", h)
		}
	}
	check := func(kind, name string, r Role) error {
		if r < RoleViewer || r > RoleAdmin {
			return fmt.Errorf("proxy auth: %s %q: role %d is not viewer, operator or admin", kind, name, int(r))
		}
		return nil
	}
	for u, r := range p.Users {
		if err := check("user", u, r); err != nil {
			return err
		}
	}
	for g, r := range p.Groups {
		if err := check("group", g, r); err != nil {
			return err
		}
	}
	if p.DefaultRole != roleNone {
		return check("default role", "", p.DefaultRole)
	}
	return nil
}

func validHeaderName(h string) bool {
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return h != ""
}

func (p *ProxyAuth) header() string {
	if p.Header == "" {
		return DefaultProxyHeader
	}
	return p.Header
}

// peerAddr is the TCP peer of a request (never a forwarded-for header).
func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// trusts reports whether the request's TCP peer is a trusted proxy.
func (p *ProxyAuth) trusts(r *http.Request) bool {
	a, ok := peerAddr(r)
	if !ok {
		return false
	}
	for _, pre := range p.Trusted {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// identify returns the proxy's user when the request comes from a trusted
// proxy with the identity header (ok true). A request carrying an identity
// header from anywhere else is refused with ErrUnauthorized. A request
// without one is left to the other methods (ok false).
func (p *ProxyAuth) identify(r *http.Request) (Identity, bool, error) {
	if !p.trusts(r) {
		for _, h := range p.identityHeaders() {
			if h != "" && r.Header.Get(h) != "" {
				return Identity{}, false, fmt.Errorf("identity header %s from %s, which is not a trusted proxy: refused: %w", h, r.RemoteAddr, ErrUnauthorized)
			}
		}
		return Identity{}, false, nil
	}
	user := strings.TrimSpace(r.Header.Get(p.header()))
	if user == "" {
		return Identity{}, false, nil
	}
	if len(user) > maxProxyUser {
		return Identity{}, false, fmt.Errorf("identity header %s: longer than %d bytes: %w", p.header(), maxProxyUser, ErrUnauthorized)
	}
	return Identity{Name: user, Role: p.role(user, r.Header.Get(p.GroupsHeader)), Via: ViaProxy}, true, nil
}

// role maps a proxy user to the highest role of their own mapping and
// their groups', or DefaultRole.
func (p *ProxyAuth) role(user, groups string) Role {
	best := roleNone
	for u, r := range p.Users {
		if strings.EqualFold(u, user) {
			best = max(best, r)
		}
	}
	if p.GroupsHeader != "" {
		for g := range strings.SplitSeq(groups, ",") {
			if r, ok := p.Groups[strings.TrimSpace(g)]; ok {
				best = max(best, r)
			}
		}
	}
	if best == roleNone {
		best = p.DefaultRole
	}
	if best == roleNone {
		best = RoleViewer
	}
	return best
}

// forwardedTLS reports whether a trusted proxy says the browser's
// connection to it is HTTPS.
func (p *ProxyAuth) forwardedTLS(r *http.Request) bool {
	return p != nil && p.trusts(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// ProxyConfig is ProxyAuth in the plain values a config file holds: role
// names instead of Roles, address strings instead of prefixes.
type ProxyConfig struct {
	// TrustedProxies lists CIDRs or addresses; none turns proxy mode off.
	TrustedProxies []string
	// UserHeader and GroupsHeader name the identity headers (UserHeader
	// empty: DefaultProxyHeader; GroupsHeader empty: groups unused).
	UserHeader, GroupsHeader string
	// Users and Groups map user names and groups to role names.
	Users, Groups map[string]string
	// DefaultRole is the role name of unmapped users ("": viewer).
	DefaultRole string
}

// ProxyAuth builds and validates the ProxyAuth the configuration
// describes; it returns nil, nil when TrustedProxies is empty (proxy mode
// off). Errors name the field and entry at fault.
func (c ProxyConfig) ProxyAuth() (*ProxyAuth, error) {
	if len(c.TrustedProxies) == 0 {
		if len(c.Users)+len(c.Groups) > 0 || c.UserHeader != "" || c.GroupsHeader != "" || c.DefaultRole != "" {
			return nil, fmt.Errorf("proxy auth: roles or headers are set but no trusted proxies: set the proxies' addresses or remove the proxy settings")
		}
		return nil, nil
	}
	trusted, err := ParseTrustedProxies(c.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("proxy auth: %w", err)
	}
	p := &ProxyAuth{Trusted: trusted, Header: c.UserHeader, GroupsHeader: c.GroupsHeader}
	roles := func(field string, in map[string]string) (map[string]Role, error) {
		out := make(map[string]Role, len(in))
		for k, v := range in {
			r, err := ParseRole(v)
			if err != nil {
				return nil, fmt.Errorf("proxy auth: %s[%q]: %w", field, k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	if p.Users, err = roles("users", c.Users); err != nil {
		return nil, err
	}
	if p.Groups, err = roles("groups", c.Groups); err != nil {
		return nil, err
	}
	if c.DefaultRole != "" {
		if p.DefaultRole, err = ParseRole(c.DefaultRole); err != nil {
			return nil, fmt.Errorf("proxy auth: default role: %w", err)
		}
	}
	if len(p.Groups) > 0 && p.GroupsHeader == "" {
		return nil, fmt.Errorf("proxy auth: groups are mapped to roles but no groups header is set")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// clientAddr is the address a login is rate-limited under: the TCP peer,
// or, when the peer is a trusted proxy, the last address it appended to
// X-Forwarded-For (the one it saw; earlier entries are the client's own
// claims).
func (p *ProxyAuth) clientAddr(r *http.Request) (netip.Addr, bool) {
	peer, ok := peerAddr(r)
	if !ok || p == nil || !p.trusts(r) {
		return peer, ok
	}
	xff := r.Header.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return peer, true
	}
	last := xff[len(xff)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	a, err := netip.ParseAddr(strings.TrimSpace(last))
	if err != nil {
		return peer, true
	}
	return a.Unmap(), true
}
