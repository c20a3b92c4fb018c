package cmd

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/web"
)

func TestDefaultDataDir(t *testing.T) {
	home := func() (string, error) { return "/home/pi", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		euid    int
		getenv  func(string) string
		home    func() (string, error)
		want    string
		wantErr string
	}{
		{"root", 0, env(map[string]string{"XDG_STATE_HOME": "/x"}), home, "/var/lib/kerf", ""},
		{"xdg", 1000, env(map[string]string{"XDG_STATE_HOME": "/home/pi/.state"}), home, "/home/pi/.state/kerf", ""},
		{"relative xdg is ignored", 1000, env(map[string]string{"XDG_STATE_HOME": "state"}), home, "/home/pi/.local/state/kerf", ""},
		{"home", 1000, env(nil), home, "/home/pi/.local/state/kerf", ""},
		{"no home", 1000, env(nil), noHome, "", "--data or KERF_DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultDataDir(tt.euid, tt.getenv, tt.home)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("defaultDataDir=%q, %v; want %q, error mentioning %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestClientSelection(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		o       clientOptions
		env     map[string]string
		target  string
		wantErr string
	}{
		{"--data", clientOptions{DataDir: "/srv/kerf"}, map[string]string{"KERF_DATA": "/env"}, "socket /srv/kerf/kerf.sock", ""},
		{"KERF_DATA", clientOptions{}, map[string]string{"KERF_DATA": "/env"}, "socket /env/kerf.sock", ""},
		{"--server with --token", clientOptions{Server: "http://pi:8080", Token: "t"}, nil, "http://pi:8080", ""},
		{"--server with KERF_TOKEN", clientOptions{Server: "https://pi"}, map[string]string{"KERF_TOKEN": "t"}, "https://pi", ""},
		{"--server without a token", clientOptions{Server: "http://pi:8080"}, nil, "", "token is required"},
		{"--data and --server", clientOptions{DataDir: "/d", Server: "http://pi"}, nil, "", "mutually exclusive"},
		{"--token without --server", clientOptions{DataDir: "/d", Token: "t"}, nil, "", "--token needs --server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.getenv = env(tt.env)
			c, err := o.client()
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err=%v, want mention of %q", err, tt.wantErr)
				}
			case err != nil:
				t.Errorf("err=%v", err)
			case c.Target() != tt.target:
				t.Errorf("target=%q, want %q", c.Target(), tt.target)
			}
		})
	}
}

// startDaemon serves s on DIR/kerf.sock in a fresh directory and returns
// DIR, the --data value that reaches it.
func startDaemon(tb testing.TB, s *web.Server) string {
	tb.Helper()
	dir := tb.TempDir()
	if len(filepath.Join(dir, SocketFile)) >= 100 { // Unix socket paths are short
		var err error
		if dir, err = os.MkdirTemp("", "kerfcmd"); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	s.SocketPath = filepath.Join(dir, SocketFile)
	if err := s.Open(); err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return dir
}

// runKerf runs the CLI with args and returns its exit code and output.
func runKerf(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := TestStreams()
	code = Execute(t.Context(), args, ios)
	return code, out.String(), errOut.String()
}

func TestNotRunning(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"job", "list"}, {"status"}, {"machine", "home"}, {"backup", filepath.Join(dir, "b.db")}, {"job", "watch", "0001"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runKerf(t, append(args, "--data", dir)...)
			want := "kerf: kerf daemon is not running (socket " + filepath.Join(dir, "kerf.sock") + "): start it with `kerf serve`\n"
			if code != 1 || stderr != want {
				t.Errorf("code=%d stderr=%q, want 1 and %q", code, stderr, want)
			}
		})
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
