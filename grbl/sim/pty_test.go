//go:build linux

package sim

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// servePTY serves m on a pseudo-terminal in a temporary directory until
// ctx ends. ready receives the slave device each time the symlink is made;
// done receives Serve's result.
func servePTY(ctx context.Context, t *testing.T, m *Machine) (path string, ready <-chan string, done <-chan error) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "ttyGRBL")
	readyC := make(chan string, 4)
	doneC := make(chan error, 1)
	p := &PTY{Path: path, Machine: m, Ready: func(dev string) { readyC <- dev }}
	go func() { doneC <- p.Serve(ctx) }()
	return path, readyC, doneC
}

// awaitReady waits until the symlink to the pseudo-terminal exists.
func awaitReady(t *testing.T, ready <-chan string, done <-chan error) {
	t.Helper()
	select {
	case dev := <-ready:
		if !strings.HasPrefix(dev, "/dev/pts/") {
			t.Fatalf("Ready(%q): not a pts device", dev)
		}
	case err := <-done:
		t.Fatalf("Serve returned before the pty was ready: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("pty not ready within 5 s")
	}
}

// openSerial opens the pty like a plain serial program: os.OpenFile, then
// raw mode through termios.
func openSerial(tb testing.TB, path string) *os.File {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		tb.Fatalf("open %s: %v", path, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	var terr error
	rc.Control(func(fd uintptr) {
		tio, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			terr = err
			return
		}
		makeRaw(tio)
		terr = unix.IoctlSetTermios(int(fd), unix.TCSETS, tio)
	})
	if terr != nil {
		tb.Fatalf("raw mode: %v", terr)
	}
	return f
}

// readLines reads CRLF lines until one equals last, with a deadline.
func readLines(tb testing.TB, r *bufio.Reader, f *os.File, last string) []string {
	tb.Helper()
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []string
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			tb.Fatalf("read after %q: %v", out, err)
		}
		l = strings.TrimSuffix(l, "\r\n")
		out = append(out, l)
		if l == last {
			return out
		}
	}
}

func TestServePTY(t *testing.T) {
	m := mustMachine(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	path, ready, done := servePTY(ctx, t, m)
	awaitReady(t, ready, done)

	for round := 0; round < 2; round++ { // close and re-open: banner each time
		f := openSerial(t, path)
		t.Logf("round %d opened", round)
		r := bufio.NewReader(f)
		got := readLines(t, r, f, "Grbl 1.1h ['$' for help]")
		if len(got) != 2 || got[0] != "" {
			t.Fatalf("round %d: banner lines %q", round, got)
		}
		if _, err := f.Write([]byte("$I\n")); err != nil {
			t.Fatal(err)
		}
		got = readLines(t, r, f, "ok")
		if strings.Join(got, "|") != "[VER:1.1h.20190830:]|[OPT:V,15,128]|ok" {
			t.Fatalf("round %d: $I answer %q", round, got)
		}
		f.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServePTY: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServePTY did not return after cancel")
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("symlink left behind: %v", err)
	}
}

func TestServePTYUnplug(t *testing.T) {
	m := mustMachine(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path, ready, done := servePTY(ctx, t, m)
	awaitReady(t, ready, done)
	f := openSerial(t, path)
	r := bufio.NewReader(f)
	readLines(t, r, f, "Grbl 1.1h ['$' for help]")
	m.Unplug()
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil || os.IsTimeout(err) {
		t.Fatalf("read after unplug: %v, want the port to fail", err)
	}
	f.Close()
	m.Replug()
	awaitReady(t, ready, done) // a new pty behind the same path
	f = openSerial(t, path)
	defer f.Close()
	r = bufio.NewReader(f)
	readLines(t, r, f, "Grbl 1.1h ['$' for help]")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServePTYRefusesRegularFile(t *testing.T) {
	m := mustMachine(t, Options{})
	path := filepath.Join(t.TempDir(), "notalink")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := ServePTY(context.Background(), path, m)
	if err == nil || !strings.Contains(err.Error(), "not a symlink") {
		t.Fatalf("err = %v", err)
	}
}

func TestServePTYReturnsWhenMachineCloses(t *testing.T) {
	m, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	path, ready, done := servePTY(context.Background(), t, m)
	awaitReady(t, ready, done)
	f := openSerial(t, path)
	defer f.Close()
	readLines(t, bufio.NewReader(f), f, "Grbl 1.1h ['$' for help]")
	m.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServePTY still running after Close")
	}
}
