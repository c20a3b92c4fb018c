package sim

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// testHost is a host on the simulated wire: a reader goroutine turns the
// board's output into lines on a channel.
type testHost struct {
	tb    testing.TB
	m     *Machine
	rw    io.ReadWriteCloser
	lines chan string
	done  chan struct{}
}

// mustMachine builds a machine and closes it when the test ends.
func mustMachine(tb testing.TB, opts Options) *Machine {
	tb.Helper()
	m, err := New(opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// mustConnect connects a host and consumes the banner.
func mustConnect(tb testing.TB, m *Machine) *testHost {
	tb.Helper()
	h := connectRaw(tb, m)
	h.expect("", "Grbl 1.1h ['$' for help]")
	return h
}

func connectRaw(tb testing.TB, m *Machine) *testHost {
	tb.Helper()
	rw, err := m.Connect()
	if err != nil {
		tb.Fatalf("Connect: %v", err)
	}
	h := &testHost{tb: tb, m: m, rw: rw, lines: make(chan string, 4096), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(rw)
		sc.Split(scanCRLF)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	tb.Cleanup(func() {
		rw.Close()
		<-h.done
	})
	return h
}

// scanCRLF splits on "\r\n" exactly, as GRBL terminates every line.
func scanCRLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.Index(data, []byte("\r\n")); i >= 0 {
		return i + 2, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func (h *testHost) send(s string) {
	h.tb.Helper()
	if _, err := h.rw.Write([]byte(s)); err != nil {
		h.tb.Fatalf("write %q: %v", s, err)
	}
}

// next returns the next line, failing after a generous machine-time wait.
func (h *testHost) next() string {
	h.tb.Helper()
	return h.nextWithin(10 * time.Minute)
}

func (h *testHost) nextWithin(d time.Duration) string {
	h.tb.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.tb.Fatalf("link closed while waiting for a line")
		}
		return l
	case <-time.After(d):
		h.tb.Fatalf("no line within %v", d)
	}
	return ""
}

// expect checks the next lines are exactly want.
func (h *testHost) expect(want ...string) {
	h.tb.Helper()
	for _, w := range want {
		if got := h.next(); got != w {
			h.tb.Fatalf("line = %q, want %q", got, w)
		}
	}
}

// cmd sends a line and returns everything up to and including its ok/error.
func (h *testHost) cmd(line string) []string {
	h.tb.Helper()
	h.send(line + "\n")
	var out []string
	for {
		l := h.next()
		out = append(out, l)
		if l == "ok" || strings.HasPrefix(l, "error:") {
			return out
		}
	}
}

// status sends '?' and returns the next status report line.
func (h *testHost) status() string {
	h.tb.Helper()
	h.send("?")
	for {
		l := h.next()
		if strings.HasPrefix(l, "<") {
			return l
		}
	}
}

// waitState polls status at 50 Hz, as a host's status poller would, until
// the report's state starts with prefix; it returns that report.
func (h *testHost) waitState(prefix string) string {
	h.tb.Helper()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for i := 0; i < 100000; i++ {
		s := h.status()
		if strings.HasPrefix(s, "<"+prefix) {
			return s
		}
		<-poll.C
	}
	h.tb.Fatalf("state never became %s", prefix)
	return ""
}

// noLine asserts nothing arrives within d (machine time).
func (h *testHost) noLine(d time.Duration) {
	h.tb.Helper()
	select {
	case l := <-h.lines:
		h.tb.Fatalf("unexpected line %q", l)
	case <-time.After(d):
	}
}

const time1s = time.Second
