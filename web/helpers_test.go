package web_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kerf-cnc/kerf/web"
)

// socketDir returns a short temporary directory: Unix socket paths are
// limited to about 100 bytes, and t.TempDir's can be longer.
func socketDir(tb testing.TB) string {
	tb.Helper()
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
