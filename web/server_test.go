package web_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestSocketLifecycle(t *testing.T) {
	s := &web.Server{Jobs: &webtest.JobService{T: t, JobsFn: func(context.Context, jobs.Page) ([]jobs.Job, error) { return nil, nil }}}
	c := MustOpenServer(t, s)
	fi, err := os.Lstat(s.SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode=%v, want socket 0660", fi.Mode())
	}
	if got := s.SocketAddr().String(); got != s.SocketPath {
		t.Errorf("SocketAddr=%q, want %q", got, s.SocketPath)
	}
	if _, err := c.Jobs(t.Context(), jobs.Page{}); err != nil {
		t.Fatalf("Jobs over the socket: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.SocketPath))
	if len(entries) != 1 {
		t.Errorf("socket dir holds %d entries, want only the socket (no temporary names left)", len(entries))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Lstat(s.SocketPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Close: %v, want removed", err)
	}
	_, err = c.Jobs(t.Context(), jobs.Page{})
	if !errors.Is(err, web.ErrNotRunning) {
		t.Errorf("after Close: err=%v, want ErrNotRunning", err)
	}
}

func TestSocketTakeover(t *testing.T) {
	dir := socketDir(t)
	path := filepath.Join(dir, "kerf.sock")

	t.Run("stale socket from a crashed daemon is replaced", func(t *testing.T) {
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close() // the file stays, nothing accepts: what a crash leaves

		_, err = web.NewSocketClient(path).Jobs(t.Context(), jobs.Page{})
		want := "kerf daemon is not running (socket " + path + "): start it with `kerf serve`"
		if !errors.Is(err, web.ErrNotRunning) || err.Error() != want {
			t.Errorf("client on a stale socket: err=%v, want %q", err, want)
		}

		s := &web.Server{SocketPath: path}
		if err := s.Open(); err != nil {
			t.Fatalf("Open over a stale socket: %v", err)
		}
		t.Cleanup(func() { s.Close() })

		t.Run("a live one is refused", func(t *testing.T) {
			s2 := &web.Server{SocketPath: path}
			err := s2.Open()
			if !errors.Is(err, web.ErrSocketInUse) || !strings.Contains(err.Error(), "another kerf is serving on "+path) {
				t.Errorf("second Open: err=%v, want ErrSocketInUse naming the socket", err)
			}
			if _, err := os.Lstat(path); err != nil {
				t.Errorf("the live socket was touched: %v", err)
			}
		})
	})

	t.Run("a file that is not a socket is left alone", func(t *testing.T) {
		p := filepath.Join(dir, "notasocket")
		if err := os.WriteFile(p, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := (&web.Server{SocketPath: p}).Open()
		if err == nil || !strings.Contains(err.Error(), "is not a socket") {
			t.Errorf("err=%v, want 'is not a socket'", err)
		}
		if b, _ := os.ReadFile(p); string(b) != "precious" {
			t.Error("the file was changed")
		}
	})
}

func TestOpenErrors(t *testing.T) {
	dir := socketDir(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tokens := &webtest.TokenStore{T: t}
	tests := []struct {
		name    string
		s       *web.Server
		mention string
	}{
		{"nothing to listen on", &web.Server{}, "neither"},
		{"TCP without tokens", &web.Server{Addr: "127.0.0.1:0"}, "never served unauthenticated"},
		{"proxy without trusted addresses", &web.Server{Addr: "127.0.0.1:0", Proxy: &web.ProxyAuth{}}, "no trusted proxy addresses"},
		{"TLS cert without key", &web.Server{Addr: "127.0.0.1:0", Tokens: tokens, TLSCertFile: "c.pem"}, "both a certificate and a key"},
		{"TLS files missing", &web.Server{Addr: "127.0.0.1:0", Tokens: tokens, TLSCertFile: filepath.Join(dir, "c.pem"), TLSKeyFile: filepath.Join(dir, "k.pem")}, "TLS key pair"},
		{"relative UI dir", &web.Server{SocketPath: filepath.Join(dir, "b.sock"), UIDir: "ui"}, "not an absolute path"},
		{"UI dir without index.html", &web.Server{SocketPath: filepath.Join(dir, "b.sock"), UIDir: dir}, "index.html"},
		{"port in use", &web.Server{SocketPath: filepath.Join(dir, "a.sock"), Addr: busy.Addr().String(), Tokens: tokens}, busy.Addr().String()},
		{"socket dir missing", &web.Server{SocketPath: filepath.Join(dir, "no", "such", "kerf.sock")}, "listen on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Open()
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("Open err=%v, want an error mentioning %q", err, tt.mention)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(dir, "a.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed Open left its socket behind: %v", err)
	}
}

func TestTCPAuthentication(t *testing.T) {
	ctx := t.Context()
	tokens := &webtest.TokenStore{T: t, AuthenticateTokenFn: func(_ context.Context, secret string) (string, string, error) {
		switch secret {
		case "s3cret":
			return "ci", "viewer", nil
		case "broken":
			return "", "", errors.New("token bucket unreadable")
		}
		return "", "", jobs.ErrNotFound
	}}
	js := &webtest.JobService{T: t, JobsFn: func(ctx context.Context, _ jobs.Page) ([]jobs.Job, error) {
		id, _ := web.IdentityFrom(ctx)
		return []jobs.Job{{ID: 1, Name: "by " + id.Name}}, nil
	}}
	s := &web.Server{Addr: "127.0.0.1:0", Tokens: tokens, Jobs: js, Events: events.NewHub(events.Options{RingSize: 8, BufferSize: 8}), Logger: discardLogger()}
	local := MustOpenServer(t, s)
	base := "http://" + s.TCPAddr().String()

	t.Run("no header", func(t *testing.T) {
		resp, err := http.Get(base + "/api/v1/jobs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("status=%d www-authenticate=%q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	tests := []struct {
		token  string
		status int
	}{
		{"wrong", 401},
		{"broken", 500},
		{"s3cret", 200},
	}
	for _, tt := range tests {
		t.Run("token "+tt.token, func(t *testing.T) {
			c, err := web.NewClient(base, tt.token)
			if err != nil {
				t.Fatal(err)
			}
			list, err := c.Jobs(ctx, jobs.Page{})
			var ae *web.APIError
			switch {
			case tt.status == 200 && (err != nil || list[0].Name != "by ci"):
				t.Errorf("jobs=%v err=%v", list, err)
			case tt.status != 200 && (!errors.As(err, &ae) || ae.Status != tt.status):
				t.Errorf("err=%v, want status %d", err, tt.status)
			}
		})
	}
	t.Run("websocket needs the token too", func(t *testing.T) {
		c, _ := web.NewClient(base, "wrong")
		_, err := c.Watch(ctx, 0)
		if !errors.Is(err, web.ErrUnauthorized) {
			t.Errorf("Watch with a bad token: err=%v, want 401", err)
		}
		c, _ = web.NewClient(base, "s3cret")
		st, err := c.Watch(ctx, 0)
		if err != nil {
			t.Fatalf("Watch with a good token: %v", err)
		}
		st.Close()
	})
	t.Run("the socket needs no token", func(t *testing.T) {
		list, err := local.Jobs(ctx, jobs.Page{})
		if err != nil || list[0].Name != "by local" {
			t.Errorf("jobs=%v err=%v", list, err)
		}
	})
}

func TestNewClientErrors(t *testing.T) {
	tests := []struct{ url, token, mention string }{
		{"ftp://pi:21", "t", "want http"},
		{"http://pi:8080/api", "t", "path"},
		{"http://pi:8080", "", "token is required"},
		{"http://[::1", "t", "server URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := web.NewClient(tt.url, tt.token)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err=%v, want mention of %q", err, tt.mention)
			}
		})
	}
}

// TestCloseWaitsForHandlers: a request stuck in a service call is cancelled
// once ShutdownTimeout has passed, and Close returns only after its
// handler has.
func TestCloseWaitsForHandlers(t *testing.T) {
	entered := make(chan struct{})
	var returned atomic.Bool
	ms := &webtest.MachineService{T: t, HomeFn: func(ctx context.Context) error {
		close(entered)
		<-ctx.Done() // homing that only ends when the request is cancelled
		returned.Store(true)
		return ctx.Err()
	}}
	s := &web.Server{Machine: ms, ShutdownTimeout: 50 * time.Millisecond}
	c := MustOpenServer(t, s)
	errc := make(chan error, 1)
	go func() { errc <- c.Home(context.Background()) }()
	<-entered
	if err := s.Close(); err == nil || !strings.Contains(err.Error(), "shutdown") {
		t.Errorf("Close=%v, want the shutdown timeout reported", err)
	}
	if !returned.Load() {
		t.Error("Close returned before the handler did")
	}
	if err := <-errc; err == nil {
		t.Error("the cut-off request succeeded")
	}
}

// TestTCPWithRealStore authenticates against tokens in a real bbolt store,
// the daemon's TokenChecker.
func TestTCPWithRealStore(t *testing.T) {
	ctx := t.Context()
	store := jobs.NewStore(t.TempDir())
	if err := store.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var (
		_ web.TokenStore = store
		_ web.UserStore  = store
		_ web.Backupper  = store
	)
	sum := sha256.Sum256([]byte("k3rf-secret"))
	if _, err := store.CreateToken(ctx, jobs.Token{Name: "laptop", Role: "operator", Hash: sum[:]}); err != nil {
		t.Fatal(err)
	}
	js := &webtest.JobService{T: t, JobsFn: func(ctx context.Context, _ jobs.Page) ([]jobs.Job, error) {
		id, _ := web.IdentityFrom(ctx)
		return []jobs.Job{{ID: 1, Name: id.Name}}, nil
	}}
	s := &web.Server{Addr: "127.0.0.1:0", Tokens: store, Jobs: js}
	MustOpenServer(t, s)
	base := "http://" + s.TCPAddr().String()
	for _, tt := range []struct {
		token string
		want  string // job name (the token's name), "" for a 401
	}{{"k3rf-secret", "laptop"}, {"k3rf-secreT", ""}} {
		c, _ := web.NewClient(base, tt.token)
		list, err := c.Jobs(ctx, jobs.Page{})
		switch {
		case tt.want == "" && !errors.Is(err, web.ErrUnauthorized):
			t.Errorf("token %q: err=%v, want 401", tt.token, err)
		case tt.want != "" && (err != nil || list[0].Name != tt.want):
			t.Errorf("token %q: %v, %v", tt.token, list, err)
		}
	}
}
