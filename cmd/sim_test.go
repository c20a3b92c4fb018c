package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSimConfig(t *testing.T) {
	tests := []struct {
		name     string
		o        simOptions
		wantFlag string
	}{
		{"ok", simOptions{PTY: "/tmp/x", Speed: 1, Baud: 115200}, ""},
		{"ok with everything", simOptions{PTY: "/tmp/x", Speed: 10, Baud: 115200, Profile: "3018pro",
			Faults: []string{"z-drift:0.02", "stall:line=5"}, Settings: []string{"110=800", "$22=1"}, ProbeZ: "-12.5"}, ""},
		{"missing pty", simOptions{Speed: 1, Baud: 115200}, "pty"},
		{"zero speed", simOptions{PTY: "/tmp/x", Speed: 0, Baud: 115200}, "speed"},
		{"low baud", simOptions{PTY: "/tmp/x", Speed: 1, Baud: 100}, "baud"},
		{"negative boot delay", simOptions{PTY: "/tmp/x", Speed: 1, Baud: 115200, BootDelay: -time.Second}, "boot-delay"},
		{"unknown profile", simOptions{PTY: "/tmp/x", Speed: 1, Baud: 115200, Profile: "x-carve"}, "profile"},
		{"bad fault", simOptions{PTY: "/tmp/x", Speed: 1, Baud: 115200, Faults: []string{"stall:line=x"}}, "fault"},
		{"bad setting", simOptions{PTY: "/tmp/x", Speed: 1, Baud: 115200, Settings: []string{"22"}}, "set"},
		{"bad probe z", simOptions{PTY: "/tmp/x", Speed: 1, Baud: 115200, ProbeZ: "low"}, "probe-z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := tc.o.simConfig()
			if tc.wantFlag == "" {
				if err != nil {
					t.Fatalf("simConfig: %v", err)
				}
				if len(opts.Faults) != len(tc.o.Faults) || len(opts.Settings) != len(tc.o.Settings) {
					t.Fatalf("opts = %+v", opts)
				}
				if (tc.o.ProbeZ != "") != (opts.Probe != nil) {
					t.Fatalf("probe surface not set")
				}
				return
			}
			var fe *simFlagError
			if !errors.As(err, &fe) || fe.Flag != tc.wantFlag {
				t.Fatalf("err = %v, want a --%s error", err, tc.wantFlag)
			}
			if !strings.Contains(err.Error(), "--"+tc.wantFlag) {
				t.Fatalf("message %q does not name the flag", err)
			}
		})
	}
}

func TestSimFlagsParsed(t *testing.T) {
	ios, _, _, _ := TestStreams()
	c := newCmdSim(ios)
	if err := c.ParseFlags([]string{"--pty", "/tmp/p", "--profile", "longmill30", "--speed", "5", "--fault", "reset:line=3", "--fault", "spindle-stuck-off", "--set", "22=1"}); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{"pty": "/tmp/p", "profile": "longmill30", "speed": "5",
		"fault": "[reset:line=3,spindle-stuck-off]", "set": "[22=1]"} {
		if got := c.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %s, want %s", flag, got, want)
		}
	}
}

func TestSimCommandServesPTY(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grbl")
	ios, _, _, _ := TestStreams()
	errOut := &watchedBuffer{want: "Ctrl-C to stop", seen: make(chan struct{})}
	ios.ErrOut = errOut
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() { code <- Execute(ctx, []string{"sim", "--pty", path, "--speed", "10"}, ios) }()

	select { // kerf sim says so once the port can be opened
	case <-errOut.seen:
	case c := <-code:
		t.Fatalf("kerf sim exited with %d: %s", c, errOut)
	case <-time.After(5 * time.Second):
		t.Fatalf("kerf sim never said it was ready: %q", errOut)
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) {
		tio, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			t.Errorf("tcgetattr: %v", err)
			return
		}
		tio.Iflag &^= unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
		if err := unix.IoctlSetTermios(int(fd), unix.TCSETS, tio); err != nil {
			t.Errorf("tcsetattr: %v", err)
		}
	})
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(f)
	var lines []string
	for len(lines) < 2 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading banner: %v (got %q)", err, lines)
		}
		lines = append(lines, strings.TrimRight(l, "\r\n"))
	}
	if lines[1] != "Grbl 1.1h ['$' for help]" {
		t.Fatalf("banner %q", lines)
	}
	f.Close()
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d, stderr %s", c, errOut)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("kerf sim did not stop on cancel")
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("symlink not removed: %v", err)
	}
	if !strings.Contains(errOut.String(), "kerf sim: stopped after") {
		t.Fatalf("stderr %q", errOut)
	}
}

// watchedBuffer is a command's stderr that closes seen once want has been
// written.
type watchedBuffer struct {
	want string
	seen chan struct{}

	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	n, err := w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return n, err
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
