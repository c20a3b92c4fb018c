package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// mustOpenAuthStore opens a real store for the token and user commands.
func mustOpenAuthStore(t *testing.T) *jobs.Store {
	t.Helper()
	st := jobs.NewStore(t.TempDir())
	if err := st.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// runKerfIn runs the CLI with stdin.
func runKerfIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, in, out, errOut := TestStreams()
	in.WriteString(stdin)
	code = Execute(t.Context(), args, ios)
	return code, out.String(), errOut.String()
}

func TestToken(t *testing.T) {
	st := mustOpenAuthStore(t)
	data := startDaemon(t, &web.Server{Tokens: st, Users: st, Logger: discardLog()})

	code, secret, stderr := runKerf(t, "token", "create", "laptop", "--role", "operator", "--data", data)
	secret = strings.TrimSpace(secret)
	if code != 0 || !strings.HasPrefix(secret, jobs.TokenSecretPrefix) || !strings.Contains(stderr, "not shown again") {
		t.Fatalf("token create: code=%d out=%q stderr=%q", code, secret, stderr)
	}
	if name, role, err := st.AuthenticateToken(t.Context(), secret); err != nil || name != "laptop" || role != "operator" {
		t.Errorf("the printed secret authenticates as %q/%q (%v), want laptop/operator", name, role, err)
	}

	t.Run("bad input", func(t *testing.T) {
		tests := []struct {
			args    []string
			mention string
		}{
			{[]string{"token", "create", "x", "--role", "root"}, `--role: role "root" is not one of viewer, operator, admin`},
			{[]string{"token", "create", "laptop"}, "taken"},
			{[]string{"token", "create"}, "accepts 1 arg"},
			{[]string{"token", "revoke", "not-an-id"}, `token ID "not-an-id"`},
			{[]string{"token", "revoke", "7ZZZ"}, "not found"},
		}
		for _, tt := range tests {
			t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
				code, _, stderr := runKerf(t, append(tt.args, "--data", data)...)
				if code == 0 || !strings.Contains(stderr, tt.mention) {
					t.Errorf("code=%d stderr=%q, want failure mentioning %q", code, stderr, tt.mention)
				}
			})
		}
	})

	code, out, _ := runKerf(t, "token", "create", "prom", "--json", "--data", data)
	var created web.NewToken
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil || created.Role != "viewer" || created.Secret == "" {
		t.Errorf("token create --json (default role): code=%d out=%s", code, out)
	}

	code, out, _ = runKerf(t, "token", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "ID") || !strings.Contains(out, "laptop") || !strings.Contains(out, "operator") || strings.Contains(out, secret) {
		t.Errorf("token list: code=%d out=%q", code, out)
	}
	code, out, _ = runKerf(t, "token", "list", "--json", "--data", data)
	var list []web.TokenInfo
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || strings.Contains(out, "hash") {
		t.Errorf("token list --json: code=%d out=%s", code, out)
	}

	code, _, stderr = runKerf(t, "token", "revoke", list[0].ID.String(), "--data", data)
	if code != 0 || !strings.Contains(stderr, "revoked") {
		t.Errorf("token revoke: code=%d stderr=%q", code, stderr)
	}
	if _, _, err := st.AuthenticateToken(t.Context(), secret); err == nil {
		t.Error("a revoked token still authenticates")
	}
}

// TestTokenOverTCP: the commands work against a remote daemon with an
// admin token, and are refused with a lesser one.
func TestTokenOverTCP(t *testing.T) {
	st := mustOpenAuthStore(t)
	_, admin, err := st.IssueToken(t.Context(), "admin", "admin")
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := st.IssueToken(t.Context(), "viewer", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	s := &web.Server{Addr: "127.0.0.1:0", Tokens: st, Logger: discardLog()}
	startDaemon(t, s)
	url := "http://" + s.TCPAddr().String()
	if code, out, stderr := runKerf(t, "token", "list", "--server", url, "--token", admin); code != 0 || !strings.Contains(out, "viewer") {
		t.Errorf("admin token: code=%d out=%q stderr=%q", code, out, stderr)
	}
	code, _, stderr := runKerf(t, "token", "create", "x", "--server", url, "--token", viewer)
	if code == 0 || !strings.Contains(stderr, "needs role admin") {
		t.Errorf("viewer token: code=%d stderr=%q, want refusal naming the admin role", code, stderr)
	}
}
