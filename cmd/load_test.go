package cmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// loadTest enables TestLoadWebsocketClients: it builds and runs the real
// daemon for about a minute and needs the machine to itself to mean much.
var loadTest = flag.Bool("load", false, "run the websocket load measurement (TestLoadWebsocketClients)")

// loadClients is the number of websocket clients of the loaded phase.
const loadClients = 50

// loadLines is the length of the measured job: about 14 s of streaming.
const loadLines = 24000

// TestLoadWebsocketClients is issue #8's load proof: the real `kerf serve`
// on the simulator (at 20× speed, so that the link rather than a hobby
// machine's motion sets the pace; status polled at 10 Hz) streams the same job
// three times — with no websocket clients, with 50 clients on TCP each
// receiving every event (as the panel subscribes), and with none again —
// and the daemon's CPU (from /proc, the daemon process only) and the
// stream's lines/s are compared within this one run.
//
//	go test ./cmd -run TestLoadWebsocketClients -load -v
func TestLoadWebsocketClients(t *testing.T) {
	if !*loadTest {
		t.Skip("load measurement: run with -load")
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to read the daemon's CPU time")
	}
	bin := buildKerf(t)
	data := t.TempDir()
	conf := filepath.Join(t.TempDir(), "kerf.toml")
	if err := os.WriteFile(conf, []byte("[machine]\npoll_interval = \"100ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	srv := startServe(t, bin, data, "--sim", "--sim-speed", "20", "--config", conf, "--listen", addr)
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	})
	ctx := context.Background()
	local := web.NewSocketClient(filepath.Join(data, SocketFile))
	tok, err := local.CreateToken(ctx, "load", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Home(ctx); err != nil {
		t.Fatal(err)
	}
	// Every measured run starts at the program's start: go there first.
	toStart, err := local.AddJob(ctx, "to-start.nc", strings.NewReader("G21 G90\nG0 Z5\nG0 X1 Y1\nM30\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := local.StartJob(ctx, toStart.ID, 0); err != nil || waitRunEnd(t, local, r.ID).State != jobs.StateCompleted {
		t.Fatalf("moving to the start: %v", err)
	}
	job, err := local.AddJob(ctx, "load.nc", strings.NewReader(loadProgram()))
	if err != nil {
		t.Fatal(err)
	}

	type phase struct {
		clients     int
		lines       int
		wall        time.Duration
		cpu         time.Duration
		statusPerS  float64 // the slowest client's machine.status rate
		eventsTotal int64
	}
	var phases []phase
	for _, n := range []int{0, loadClients, 0} {
		var (
			wg       sync.WaitGroup
			streams  []*web.Stream
			status   = make([]atomic.Int64, n)
			all      atomic.Int64
			readErrs = make(chan error, n)
		)
		for i := range n {
			c, err := web.NewClient("http://"+addr, tok.Secret)
			if err != nil {
				t.Fatal(err)
			}
			st, err := c.Watch(ctx, 0)
			if err != nil {
				t.Fatalf("client %d: %v", i, err)
			}
			streams = append(streams, st)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					m, err := st.Next()
					if err != nil {
						if !errors.Is(err, net.ErrClosed) {
							readErrs <- fmt.Errorf("client %d: %w", i, err)
						}
						return
					}
					if m.Type == web.MsgEvent {
						all.Add(1)
						if m.Topic == "machine.status" {
							status[i].Add(1)
						}
					}
				}
			}()
		}
		cpu0 := procCPU(t, srv.Process.Pid)
		t0 := time.Now()
		run, err := local.StartJob(ctx, job.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		run = waitRunEnd(t, local, run.ID)
		wall := time.Since(t0)
		cpu := procCPU(t, srv.Process.Pid) - cpu0
		for _, st := range streams {
			_ = st.Close()
		}
		wg.Wait()
		close(readErrs)
		for err := range readErrs {
			t.Errorf("while streaming: %v", err)
		}
		if run.State != jobs.StateCompleted {
			t.Fatalf("run %s ended %s (%s)", run.ID, run.State, run.Reason)
		}
		p := phase{clients: n, lines: run.Summary.LinesSent, wall: run.Ended.Sub(run.Started), cpu: cpu, eventsTotal: all.Load()}
		if n > 0 {
			p.statusPerS = 1e9
			for i := range status {
				p.statusPerS = min(p.statusPerS, float64(status[i].Load())/wall.Seconds())
			}
		}
		phases = append(phases, p)
		t.Logf("%2d clients: %d lines in %v = %.0f lines/s; daemon CPU %.2f s over %.1f s = %.1f %% of a core; slowest client %.1f status/s; %d events delivered",
			n, p.lines, p.wall.Round(time.Millisecond), float64(p.lines)/p.wall.Seconds(), p.cpu.Seconds(), wall.Seconds(),
			100*p.cpu.Seconds()/wall.Seconds(), p.statusPerS, p.eventsTotal)
	}
	base := (float64(phases[0].lines)/phases[0].wall.Seconds() + float64(phases[2].lines)/phases[2].wall.Seconds()) / 2
	loaded := float64(phases[1].lines) / phases[1].wall.Seconds()
	t.Logf("lines/s with %d clients: %.1f %% of the unloaded mean", loadClients, 100*loaded/base)
	if loaded < 0.95*base {
		t.Errorf("the stream slowed to %.0f lines/s with %d clients, from %.0f", loaded, loadClients, base)
	}
	if phases[1].statusPerS < 8 {
		t.Errorf("the slowest client got %.1f status reports a second, want about 10", phases[1].statusPerS)
	}
}

// loadProgram is a dense job: loadLines colinear 0.1 mm feed moves in runs of
// 1,500 (150 mm), so that the planner rarely slows at a corner. It starts
// and ends near X1 Y1.
func loadProgram() string {
	var b strings.Builder
	b.WriteString("G21 G90 G94\nG0 X1 Y1\nG1 Z-0.5 F500\n")
	for i := range loadLines {
		leg, step := i/1500, i%1500
		x := 1 + float64(step)*0.1
		if leg%2 == 1 {
			x = 151 - float64(step)*0.1
		}
		fmt.Fprintf(&b, "G1 X%.1f Y%d F6000\n", x, 1+leg)
	}
	b.WriteString("G0 Z5\nM30\n")
	return b.String()
}

// waitRunEnd waits for the run's end through the daemon's event stream.
func waitRunEnd(t *testing.T, c *web.Client, id jobs.ID) jobs.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w, err := c.Watch(ctx, 0, "run.state")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for {
		r, err := c.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Ended.IsZero() {
			return r
		}
		if _, err := w.Next(); err != nil {
			t.Fatalf("waiting for run %s to end: %v", id, err)
		}
	}
}

// procCPU returns the user+system CPU time of process pid.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("/proc/%d/stat: %v", pid, err)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
