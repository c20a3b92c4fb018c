package web_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kerf-cnc/kerf/web"
)

// socketDir returns a temporary directory for a Unix socket: t.TempDir,
// unless that makes the socket path longer than the ~100 bytes Unix
// sockets allow (long test names), then a shorter one.
func socketDir(tb testing.TB) string {
	tb.Helper()
	if dir := tb.TempDir(); len(filepath.Join(dir, "kerf.sock")) < 100 {
		return dir
	}
	dir, err := os.MkdirTemp("", "kerfweb")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// MustOpenServer opens s on a Unix socket in a fresh directory and returns
// a client of it; the server is closed when the test ends.
func MustOpenServer(tb testing.TB, s *web.Server) *web.Client {
	tb.Helper()
	s.SocketPath = filepath.Join(socketDir(tb), "kerf.sock")
	if err := s.Open(); err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	c := web.NewSocketClient(s.SocketPath)
	tb.Cleanup(c.CloseIdleConnections)
	return c
}
