package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
)

// buildKerf builds the real kerf binary once per test.
func buildKerf(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kerf")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/kerf-cnc/kerf/cmd/kerf").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServe runs `kerf serve` and returns once it logs that it serves
// (its own readiness signal), with the process to kill.
func startServe(t *testing.T, bin, data string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--data", data}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if !sent && strings.Contains(sc.Text(), "kerf serving") {
				ready <- nil
				sent = true
			}
		}
		if !sent {
			ready <- sc.Err()
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("serve exited before serving: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("serve never became ready")
	}
	return cmd
}

// The daemon killed with SIGKILL mid-run comes back with the run recorded
// as interrupted, with the lines it had acknowledged and executed.
func TestServeKilledMidRunRecoversInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin := buildKerf(t)
	data := t.TempDir()
	ctx := context.Background()

	srv := startServe(t, bin, data, "--sim", "--sim-speed", "5")
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = srv.Process.Kill()
			_ = srv.Wait()
		}
	})
	c := web.NewSocketClient(filepath.Join(data, SocketFile))
	var prog strings.Builder
	prog.WriteString("G21 G90\nG0 X5 Y5\nG1 Z-1 F300\n")
	for i := 0; i < 400; i++ {
		prog.WriteString("G1 X" + itoa(5+i%2*50) + " Y" + itoa(5+i/4) + " F1500\n")
	}
	prog.WriteString("G0 Z5\nM30\n")
	job, err := c.AddJob(ctx, "zigzag.nc", strings.NewReader(prog.String()))
	if err != nil {
		t.Fatal(err)
	}
	// The simulated 3018 PRO homes ($22=1): unlocked with $X it is still
	// not homed, and no job starts before kerf machine home.
	if err := c.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.MachineStatus(ctx); err != nil || !st.HomingEnabled || st.Homed {
		t.Fatalf("status before homing = %+v, %v", st, err)
	}
	if _, err := c.StartJob(ctx, job.ID, 0); !errors.Is(err, jobs.ErrConflict) || !strings.Contains(err.Error(), "kerf machine home") {
		t.Fatalf("start before homing = %v, want a 409 saying to run kerf machine home", err)
	}
	if err := c.Home(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.MachineStatus(ctx); err != nil || !st.Homed {
		t.Fatalf("status after homing = %+v, %v", st, err)
	}
	w, err := c.Watch(ctx, 0, "run.progress")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	run, err := c.StartJob(ctx, job.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the run is well into the program and its progress has
	// been stored (once a second), then kill the daemon outright.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		m, err := w.Next()
		if err != nil {
			t.Fatal(err)
		}
		var p runner.ProgressEvent
		if m.Type == web.MsgEvent && json.Unmarshal(m.Data, &p) == nil && p.LastExecuted > 40 {
			if r, err := c.Run(ctx, run.ID); err == nil && r.LastExecutedLine > 20 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the run never got going")
		}
	}
	before, err := c.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	killed = true

	srv2 := startServe(t, bin, data, "--sim")
	t.Cleanup(func() {
		_ = srv2.Process.Signal(syscall.SIGTERM)
		_ = srv2.Wait()
	})
	c2 := web.NewSocketClient(filepath.Join(data, SocketFile))
	after, err := c2.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != jobs.StateInterrupted {
		t.Fatalf("state after restart = %s, want interrupted", after.State)
	}
	if after.LastAckedLine < before.LastAckedLine || after.LastExecutedLine < before.LastExecutedLine ||
		after.LastExecutedLine > after.LastAckedLine || after.LastAckedLine >= 405 {
		t.Fatalf("lines after restart acked=%d executed=%d; before the kill acked=%d executed=%d",
			after.LastAckedLine, after.LastExecutedLine, before.LastAckedLine, before.LastExecutedLine)
	}
	if !strings.Contains(after.Reason, "crash or power loss") {
		t.Fatalf("reason %q", after.Reason)
	}
}
