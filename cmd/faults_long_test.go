package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
)

// Long fault cases: the real kerf binary, measured from outside. They run
// with KERF_LONG_FAULTS=1 (docs/faults.md):
//
//	KERF_LONG_FAULTS=1 go test -race -run 'TestFaultLong' -v ./cmd/

func longFaults(t *testing.T) {
	t.Helper()
	if os.Getenv("KERF_LONG_FAULTS") == "" {
		t.Skip("long fault case: set KERF_LONG_FAULTS=1")
	}
}

// procKB reads a "VmHWM:   1234 kB" style field of /proc/PID/status.
func procKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("read the daemon's status: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// A 1 GB upload to the real daemon: 413 at the limit, and the daemon's peak
// resident memory (VmHWM) barely moves — the body is never buffered.
func TestFaultLongHugeUploadRSS(t *testing.T) {
	longFaults(t)
	bin := buildKerf(t)
	data := t.TempDir()
	srv := startServe(t, bin, data, "--sim")
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	})
	pid := srv.Process.Pid
	hwm0, rss0 := procKB(t, pid, "VmHWM"), procKB(t, pid, "VmRSS")

	sock := filepath.Join(data, SocketFile)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	const size = 1 << 30
	body := &chunkedBody{left: size, line: []byte("G1 X10 Y10 F1000\n")}
	req, err := http.NewRequest(http.MethodPost, "http://kerf/api/v1/jobs?name=huge.nc", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked: the daemon must read up to its limit to know
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d %s, want 413", resp.StatusCode, msg)
	}
	hwm1, rss1 := procKB(t, pid, "VmHWM"), procKB(t, pid, "VmRSS")
	t.Logf("1 GiB chunked upload: 413 after %v, %d MiB sent; daemon VmHWM %d → %d kB (+%d kB), VmRSS %d → %d kB",
		took, body.sent.Load()>>20, hwm0, hwm1, hwm1-hwm0, rss0, rss1)
	if hwm1-hwm0 > 32<<10 {
		t.Errorf("the daemon's peak RSS grew by %d kB during the upload: want < 32 MiB", hwm1-hwm0)
	}
	// Still serving.
	if _, err := hc.Get("http://kerf/api/v1/jobs"); err != nil {
		t.Errorf("after the upload: %v", err)
	}
}

// A data dir kerf cannot write: the real binary exits with an error naming
// it, at once. As root (who writes anywhere) it runs as nobody.
func TestFaultLongReadOnlyDataDir(t *testing.T) {
	longFaults(t)
	bin := buildKerf(t)
	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--sim", "--data", data)
	if os.Geteuid() == 0 {
		// nobody may enter the directories and run the binary, not write.
		for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), parent, filepath.Dir(parent)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else if err := os.Chmod(data, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(data, 0o755) })
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("kerf serve started on a read-only data dir")
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("kerf serve hung on a read-only data dir")
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if msg := stderr.String(); !strings.Contains(msg, data) || !strings.Contains(msg, "not writable") || strings.Contains(msg, "panic") {
		t.Errorf("stderr %q: want a clear error naming %s as not writable", msg, data)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("files created in the read-only dir: %v", entries)
	}
	t.Logf("refused in %v: %s", time.Since(start), strings.TrimSpace(stderr.String()))
}

// startSimPTY runs `kerf sim --pty path` (the simulated board behind a
// pseudo-terminal, as a USB serial adapter appears) and returns the process.
func startSimPTY(t *testing.T, bin, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "sim", "--pty", path, "--profile", "3018pro", "--speed", strconv.Itoa(faultSpeed))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// nextEvent waits for the next event on st whose topic is topic.
func nextEvent(t *testing.T, st *web.Stream, topic string, match func(json.RawMessage) bool) {
	t.Helper()
	for {
		m, err := st.Next()
		if err != nil {
			t.Fatalf("waiting for %s: %v", topic, err)
		}
		if m.Type == web.MsgEvent && m.Topic == topic && (match == nil || match(m.Data)) {
			return
		}
	}
}

// The USB cable pulled mid-job, for real: `kerf serve --port` on the
// pseudo-terminal of `kerf sim --pty`; the simulator process is killed (the
// tty vanishes under the daemon's feet) and started again on the same path
// (the cable back in). The run is interrupted with its lines, the daemon
// serves throughout, reconnects by itself, does not resume the job, and
// runs the next one.
func TestFaultLongUnplugPTY(t *testing.T) {
	longFaults(t)
	bin := buildKerf(t)
	dir := t.TempDir()
	tty := filepath.Join(dir, "ttyGRBL")
	conf := filepath.Join(dir, "kerf.toml")
	if err := os.WriteFile(conf, []byte("[machine]\nreconnect_interval = \"200ms\"\npoll_interval = \"100ms\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	board := startSimPTY(t, bin, tty)
	t.Cleanup(func() { _ = board.Process.Kill(); _ = board.Wait() })
	data := filepath.Join(dir, "data")
	srv := startServe(t, bin, data, "--config", conf, "--port", tty)
	t.Cleanup(func() { _ = srv.Process.Signal(syscall.SIGTERM); _ = srv.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := web.NewSocketClient(filepath.Join(data, SocketFile))
	defer c.CloseIdleConnections()
	events, err := c.Watch(ctx, 0, "machine.connected", "machine.disconnected", "run.state", "run.progress")
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	if st, err := c.MachineStatus(ctx); err != nil || !st.Connected {
		nextEvent(t, events, "machine.connected", nil)
	}
	if err := c.Home(ctx); err != nil {
		t.Fatalf("home: %v", err)
	}
	earlier, err := c.AddJob(ctx, "earlier.nc", strings.NewReader(negZigzag(8)))
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.AddJob(ctx, "long.nc", strings.NewReader(negZigzag(400)))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.StartJob(ctx, job.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Well under way, progress stored.
	nextEvent(t, events, "run.progress", func(d json.RawMessage) bool {
		var p runner.ProgressEvent
		if json.Unmarshal(d, &p) != nil || p.LastAcked <= 40 {
			return false
		}
		r, err := c.Run(ctx, run.ID)
		return err == nil && r.LastAckedLine > 20
	})

	// Pull the cable.
	if err := board.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = board.Wait()
	nextEvent(t, events, "run.state", func(d json.RawMessage) bool {
		var ev runner.RunEvent
		return json.Unmarshal(d, &ev) == nil && ev.Run == run.ID && ev.State.Terminal()
	})
	got, err := c.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != jobs.StateInterrupted || got.LastAckedLine <= 20 || got.LastAckedLine >= zigzagLines(400) ||
		got.LastExecutedLine <= 0 || got.LastExecutedLine > got.LastAckedLine {
		t.Fatalf("run after the unplug = %s %q acked %d executed %d", got.State, got.Reason, got.LastAckedLine, got.LastExecutedLine)
	}
	// Serving with no board: status answers, a start is refused.
	if st, err := c.MachineStatus(ctx); err != nil || st.Connected {
		t.Errorf("machine status with the cable out: %+v, %v", st, err)
	}
	if _, err := c.StartJob(ctx, earlier.ID, 0); err == nil {
		t.Error("a job started with no board")
	}

	// Cable back in: the daemon reconnects by itself and resumes nothing.
	board = startSimPTY(t, bin, tty)
	nextEvent(t, events, "machine.connected", nil)
	st, err := c.MachineStatus(ctx)
	if err != nil || !st.Connected || st.State == "Run" {
		t.Fatalf("after the replug: %+v, %v", st, err)
	}
	active, err := c.Runs(ctx, jobs.RunFilter{States: []jobs.RunState{jobs.StateRunning, jobs.StatePaused}})
	if err != nil || len(active) != 0 {
		t.Fatalf("active runs after the replug: %v, %v (the job must not resume)", active, err)
	}
	if again, err := c.Run(ctx, run.ID); err != nil || again.State != jobs.StateInterrupted || again.LastAckedLine != got.LastAckedLine {
		t.Errorf("the interrupted run changed: %+v, %v", again, err)
	}
	// A new job runs.
	if err := c.Home(ctx); err != nil {
		t.Fatalf("home after the replug: %v", err)
	}
	next, err := c.StartJob(ctx, earlier.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	nextEvent(t, events, "run.state", func(d json.RawMessage) bool {
		var ev runner.RunEvent
		return json.Unmarshal(d, &ev) == nil && ev.Run == next.ID && ev.State.Terminal()
	})
	if r, err := c.Run(ctx, next.ID); err != nil || r.State != jobs.StateCompleted {
		t.Errorf("the job after the replug = %+v, %v", r, err)
	}
}

// negZigzag is zigzag for a board with no work offset: the same line count,
// in the negative machine space of a homed 3018 (`kerf sim --pty` has no
// G54 of its own).
func negZigzag(n int) string {
	var b strings.Builder
	b.WriteString("G21 G90\nG0 Z-5\nG0 X-5 Y-5\nM3 S10000\nG1 Z-8 F600\n")
	for i := 0; i < n; i++ {
		b.WriteString("G1 X-" + itoa(5+i%2*10) + " Y-" + itoa(5+i/8) + " F2000\n")
	}
	b.WriteString("G0 Z-5\nM5\nM30\n")
	return b.String()
}
