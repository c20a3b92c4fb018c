package cmd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/hardware"
)

// sendWithSim runs kerf send's logic against an in-process simulated board.
func sendWithSim(t *testing.T, ctx context.Context, m *sim.Machine, file, stdin string) (code int, out, errOut string) {
	t.Helper()
	ios, in, o, e := TestStreams()
	in.WriteString(stdin)
	opts := &sendOptions{Port: "sim", Baud: 115200, File: file,
		open: func(string, int) (io.ReadWriteCloser, error) { return m.Connect() }}
	err := runSend(ctx, ios, opts)
	code = 0
	if err != nil {
		var ee *ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("runSend returned %T %v, want an *ExitError", err, err)
		}
		code = ee.Code
		e.WriteString("kerf: " + err.Error() + "\n")
	}
	return code, o.String(), e.String()
}

func writeTemp(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newSim(t *testing.T, opts sim.Options) *sim.Machine {
	t.Helper()
	m, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

const squareProgram = "G21 G90 (square)\nG0 X-10 Y-10\nM3 S1000\nG1 Z-1 F300\nG1 X-20 F600\nY-20\nX-10\nY-10\nG0 Z0\nM5\nM30\n"

func TestSendStreamsFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newSim(t, sim.Options{})
		code, out, errOut := sendWithSim(t, context.Background(), m, writeTemp(t, "sq.nc", squareProgram), "")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		for _, want := range []string{"lines       11 sent, 11 acknowledged (last source line 11)", "% of the 115200-baud limit", "bound by    motion"} {
			if !strings.Contains(out, want) {
				t.Errorf("summary lacks %q:\n%s", want, out)
			}
		}
		st := m.Stats()
		if st.Overflows != 0 || st.ErrorCount() != 0 || st.State != "Idle" {
			t.Fatalf("sim: overflows=%d errors=%v state=%s", st.Overflows, st.Errors, st.State)
		}
	})
}

func TestSendRejectsBadFileBeforeSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newSim(t, sim.Options{})
		prog := "G21\nG0 X-1\nG81 X-2 Y-2 Z-1 R1 F100\nG1 X-3 Y\n"
		before := 0
		code, _, errOut := sendWithSim(t, context.Background(), m, writeTemp(t, "bad.nc", prog), "")
		if code != exitSendRejected {
			t.Fatalf("exit %d, want %d\n%s", code, exitSendRejected, errOut)
		}
		if !strings.Contains(errOut, "bad.nc:3:1: error:") || !strings.Contains(errOut, "bad.nc:4:") || !strings.Contains(errOut, "nothing was sent") {
			t.Fatalf("stderr:\n%s", errOut)
		}
		// Only the handshake reached the board: no program line.
		if st := m.Stats(); st.ErrorCount() != 0 || st.Commanded != [3]float64{} {
			t.Fatalf("the board moved or erred: %+v", st)
		}
		_ = before
	})
}

func TestSendErrorMidJobStopsAndNamesLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b strings.Builder
		b.WriteString("G21 G90 G1 F300\n")
		for i := 1; i <= 40; i++ {
			b.WriteString("X-" + itoa(i) + "\n")
		}
		// Handshake lines come first; the 20th line the board takes is in the program.
		f, err := sim.ParseFault("error:line=20,code=33")
		if err != nil {
			t.Fatal(err)
		}
		m := newSim(t, sim.Options{Faults: []sim.Fault{f}})
		file := writeTemp(t, "e.nc", b.String())
		code, _, errOut := sendWithSim(t, context.Background(), m, file, "")
		if code != exitSendFailed {
			t.Fatalf("exit %d, want %d\n%s", code, exitSendFailed, errOut)
		}
		if !strings.Contains(errOut, file+":") || !strings.Contains(errOut, "error:33") || !strings.Contains(errOut, "machine stopped") {
			t.Fatalf("stderr does not name file:line and GRBL's error:\n%s", errOut)
		}
		st := m.Stats()
		if st.Resets < 2 || st.Commanded[0] <= -40 {
			t.Fatalf("machine not stopped by hold+reset: resets=%d X=%.1f", st.Resets, st.Commanded[0])
		}
	})
}

func TestSendRefusesBoardInAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newSim(t, sim.Options{Settings: map[int]float64{22: 1}}) // homing on: starts locked
		code, _, errOut := sendWithSim(t, context.Background(), m, writeTemp(t, "sq.nc", squareProgram), "")
		if code != exitSendFailed || !strings.Contains(errOut, "$H") || !strings.Contains(errOut, "$X") {
			t.Fatalf("exit %d, stderr:\n%s", code, errOut)
		}
	})
}

func TestSendM0WaitsForOperator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newSim(t, sim.Options{})
		prog := "G21 G90\nG0 X-5\nM0 (check clamps)\nG0 X-10\nM30\n"
		code, out, errOut := sendWithSim(t, context.Background(), m, writeTemp(t, "p.nc", prog), "\n")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		if !strings.Contains(errOut, "Paused by M0 at line 3") {
			t.Fatalf("no M0 prompt:\n%s", errOut)
		}
		if x := m.Stats().Commanded[0]; x != -10 {
			t.Fatalf("X = %v after resume, want -10", x)
		}
	})
}

func TestSendM0WithoutOperatorFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newSim(t, sim.Options{})
		prog := "G21 G90\nG0 X-5\nM0\nG0 X-10\nM30\n"
		// No Enter ever comes (stdin at EOF): a Ctrl-C ends the wait.
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(10 * time.Second) // virtual time: the operator walks away
			cancel()
		}()
		code, _, errOut := sendWithSim(t, ctx, m, writeTemp(t, "p.nc", prog), "")
		if code != exitSendInterrupted || !strings.Contains(errOut, "interrupted") {
			t.Fatalf("exit %d, stderr:\n%s", code, errOut)
		}
		if x := m.Stats().Commanded[0]; x != -5 {
			t.Fatalf("X = %v, want -5 (stopped at the pause)", x)
		}
	})
}

// The real serial path: the simulator on a pseudo-terminal, opened through
// go.bug.st/serial exactly as a USB board would be.
func TestSendThroughPseudoTerminal(t *testing.T) {
	m := newSim(t, sim.Options{Speed: 50})
	path := filepath.Join(t.TempDir(), "grbl")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	ready := make(chan struct{}, 1)
	pty := &sim.PTY{Path: path, Machine: m, Ready: func(string) { ready <- struct{}{} }}
	go func() { served <- pty.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})
	select { // the symlink exists once Ready is called
	case <-ready:
	case err := <-served:
		t.Fatalf("pty: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("pty symlink never appeared")
	}
	ios, _, out, errOut := TestStreams()
	opts := &sendOptions{Port: path, Baud: 115200, File: writeTemp(t, "sq.nc", squareProgram),
		open: func(p string, b int) (io.ReadWriteCloser, error) { return hardware.OpenSerial(p, b) }}
	if err := runSend(context.Background(), ios, opts); err != nil {
		t.Fatalf("%v\n%s%s", err, out, errOut)
	}
	if st := m.Stats(); st.Overflows != 0 || st.ErrorCount() != 0 || st.Commanded[0] != -10 {
		t.Fatalf("sim: %+v", st)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
