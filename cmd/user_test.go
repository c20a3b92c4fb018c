package cmd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/web"
)

func TestUser(t *testing.T) {
	st := mustOpenAuthStore(t)
	data := startDaemon(t, &web.Server{Tokens: st, Users: st, PasswordIterations: 1000, Logger: discardLog()})

	code, _, stderr := runKerfIn(t, "first password\n", "user", "add", "ada", "--role", "admin", "--password-stdin", "--data", data)
	if code != 0 || !strings.Contains(stderr, "user ada (admin) added") {
		t.Fatalf("user add: code=%d stderr=%q", code, stderr)
	}
	u, err := st.User(t.Context(), "ada")
	if err != nil || u.Role != "admin" || !u.Password.Verify("first password") {
		t.Fatalf("stored user=%+v, %v", u, err)
	}

	t.Run("bad input", func(t *testing.T) {
		tests := []struct {
			stdin   string
			args    []string
			mention string
		}{
			{"pw12345678\n", []string{"user", "add", "ada", "--password-stdin"}, "taken"},
			{"short\n", []string{"user", "add", "bob", "--password-stdin"}, "field password: shorter than 8"},
			{"", []string{"user", "add", "bob", "--password-stdin"}, "standard input holds no password"},
			{"pw12345678\n", []string{"user", "add", "bob", "--role", "boss", "--password-stdin"}, "--role"},
			{"pw12345678\n", []string{"user", "add", "bob smith", "--password-stdin"}, `character ' ' at byte 3`},
			{"", []string{"user", "add", "bob"}, "not a terminal: give the password with --password-stdin"},
			{"", []string{"user", "remove", "nobody"}, "not found"},
			{"pw12345678\n", []string{"user", "passwd", "nobody", "--password-stdin"}, "not found"},
		}
		for _, tt := range tests {
			t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
				code, _, stderr := runKerfIn(t, tt.stdin, append(tt.args, "--data", data)...)
				if code == 0 || !strings.Contains(stderr, tt.mention) {
					t.Errorf("code=%d stderr=%q, want failure mentioning %q", code, stderr, tt.mention)
				}
			})
		}
	})

	if code, _, stderr := runKerfIn(t, "kim's password\r\n", "user", "add", "kim", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user add kim: %d %q", code, stderr)
	}
	if u, _ := st.User(t.Context(), "kim"); u.Role != "viewer" || !u.Password.Verify("kim's password") {
		t.Errorf("kim: role %q, CRLF not trimmed from the password?", u.Role)
	}
	code, out, _ := runKerf(t, "user", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "ada") || !strings.Contains(out, "kim") || !strings.Contains(out, "viewer") {
		t.Errorf("user list: code=%d out=%q", code, out)
	}
	code, out, _ = runKerf(t, "user", "list", "--json", "--data", data)
	var list []web.UserInfo
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 || strings.Contains(out, "password\"") || strings.Contains(out, "salt") {
		t.Errorf("user list --json: code=%d out=%s", code, out)
	}

	if code, _, stderr := runKerfIn(t, "second password\n", "user", "passwd", "ada", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("user passwd: %d %q", code, stderr)
	}
	if u, _ := st.User(t.Context(), "ada"); !u.Password.Verify("second password") {
		t.Error("password not changed")
	}
	if code, _, stderr := runKerf(t, "user", "remove", "kim", "--data", data); code != 0 || !strings.Contains(stderr, "removed") {
		t.Errorf("user remove: %d %q", code, stderr)
	}
	if list, _ := st.Users(t.Context()); len(list) != 1 {
		t.Errorf("after remove: %d users, want 1", len(list))
	}
}

func TestPasswordPrompt(t *testing.T) {
	tests := []struct {
		name    string
		answers []string
		want    string
		wantErr string
	}{
		{"typed twice", []string{"pa55word!", "pa55word!"}, "pa55word!", ""},
		{"mismatch", []string{"pa55word!", "pa55word?"}, "", "do not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var labels []string
			i := 0
			p := passwordSource{prompt: func(_ IOStreams, label string) (string, error) {
				labels = append(labels, label)
				i++
				return tt.answers[i-1], nil
			}}
			ios, _, _, _ := TestStreams()
			got, err := p.read(ios, "ada")
			if got != tt.want || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("read=%q, %v; want %q, error %q", got, err, tt.want, tt.wantErr)
			}
			if labels[0] != "Password for ada: " {
				t.Errorf("prompt %q", labels[0])
			}
		})
	}
	t.Run("prompt failure", func(t *testing.T) {
		p := passwordSource{prompt: func(IOStreams, string) (string, error) { return "", errors.New("tty gone") }}
		ios, _, _, _ := TestStreams()
		if _, err := p.read(ios, "ada"); err == nil || !strings.Contains(err.Error(), "tty gone") {
			t.Errorf("err=%v", err)
		}
	})
}
