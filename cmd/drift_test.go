package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// serveForTest runs the real daemon composition (openDaemon) on the
// simulator with cfg and returns its data dir; it stops with the test.
func serveForTest(t *testing.T, cfg Config) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kerfdrift") // short: a Unix socket path lives in it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg.DataDir = dir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	ios, _, _, _ := TestStreams()
	go func() {
		done <- runServe(ctx, ios, cfg, &serveOptions{Ready: func(*daemon) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve ended before serving: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return dir
}

// driftProgram cuts a few 2 mm plunges in work coordinates and retracts
// between them (safe points).
const driftProgram = "G21 G90\nM3 S10000\nG0 X10 Y10\nG1 Z-2 F600\nG1 X20 F1500\nG0 Z2\nG0 X30\nG1 Z-2 F600\nG1 X40 F1500\nG0 Z2\nM5\nG0 X0 Y0\n"

// TestDriftEndToEnd runs `kerf serve` on the simulator with drift tracking
// and the CLI against it: a one-off probe, a job with checkpoints shown by
// watch and show, and a job added with --no-drift.
func TestDriftEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon on the simulator in real time")
	}
	cfg := DefaultConfig()
	cfg.Sim, cfg.SimSpeed = true, 50
	cfg.DriftEnabled, cfg.DriftInterval = true, 0
	cfg.SpinUp = 500 * time.Millisecond
	data := serveForTest(t, cfg)
	kerf := func(args ...string) (int, string, string) {
		t.Helper()
		return runKerf(t, append(args, "--data", data)...)
	}
	if code, _, stderr := kerf("machine", "home"); code != 0 { // the 3018 boots locked (homing enabled)
		t.Fatalf("home: %d %s", code, stderr)
	}

	// The sim's plate is where [probe] says: a one-off probe touches it.
	// The touch is exact to the sim's probe step: at probe.slow_feed 75
	// mm/min and 50× speed its 0.5 ms of machine time is 0.6 µm.
	code, out, stderr := kerf("machine", "probe")
	var z float64
	if _, err := fmt.Sscanf(out, "machine Z %f mm", &z); code != 0 || err != nil || math.Abs(z+21) > 0.002 || !strings.Contains(out, "no earlier reference") {
		t.Fatalf("first probe: %d %q %q, want machine Z -21.000 mm ± 2 µm", code, out, stderr)
	}
	code, out, stderr = kerf("machine", "probe", "--json")
	var reply web.ProbeReply
	if code != 0 || json.Unmarshal([]byte(out), &reply) != nil || reply.ReferenceZ == nil || reply.DriftUM == nil || *reply.DriftUM > 2 || *reply.DriftUM < -2 {
		t.Fatalf("second probe: %d %q %q", code, out, stderr)
	}

	file := filepath.Join(t.TempDir(), "plunges.nc")
	if err := os.WriteFile(file, []byte(driftProgram), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = kerf("job", "add", file, "--start")
	if code != 0 {
		t.Fatalf("job add: %d %s", code, stderr)
	}
	jobID := strings.TrimSpace(out)
	code, out, stderr = kerf("job", "watch", jobID)
	if code != 0 || !strings.Contains(out, "completed") {
		t.Fatalf("job watch: %d %q %q", code, out, stderr)
	}
	for _, want := range []string{"drift reference probe: +0.0 µm", "drift checkpoint 1 before line 7:", "drift checkpoint 2 before line 11:"} {
		if !strings.Contains(out, want) {
			t.Errorf("job watch output lacks %q:\n%s", want, out)
		}
	}
	code, out, stderr = kerf("job", "show", jobID)
	if code != 0 || !strings.Contains(out, "Z drift of run") || !strings.Contains(out, "reference") || strings.Count(out, "\n2  ") != 1 {
		t.Fatalf("job show: %d %q %q", code, out, stderr)
	}

	code, out, stderr = kerf("job", "add", file, "--no-drift", "--json")
	var job jobs.Job
	if code != 0 || json.Unmarshal([]byte(out), &job) != nil || !job.NoDrift {
		t.Fatalf("job add --no-drift: %d %q %q", code, out, stderr)
	}
	c := web.NewSocketClient(filepath.Join(data, SocketFile))
	defer c.CloseIdleConnections()
	run, err := c.StartJob(t.Context(), job.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr = kerf("job", "watch", job.ID.String()); code != 0 {
		t.Fatalf("watch: %s", stderr)
	}
	cps, err := c.RunDrift(t.Context(), run.ID)
	if err != nil || len(cps) != 0 {
		t.Fatalf("opted-out run has checkpoints %+v (%v)", cps, err)
	}
	if _, err := c.RunDrift(t.Context(), 99); !errors.Is(err, jobs.ErrNotFound) && !strings.Contains(fmt.Sprint(err), "not found") {
		t.Fatalf("unknown run: %v", err)
	}
}

func TestDriftLine(t *testing.T) {
	ev := func(topic string, data string) web.Message {
		return web.Message{Type: web.MsgEvent, Topic: topic, Data: json.RawMessage(data)}
	}
	tests := []struct {
		name string
		m    web.Message
		ok   bool
		want string
	}{
		{"reference", ev("run.drift", `{"run":"0003","checkpoint":0,"line":0,"dz_mm":0,"limit_mm":0.1,"drift_um":0,"elapsed_ns":2000000000,"reference":true}`),
			true, "drift reference probe: +0.0 µm (limit ±100 µm, 2s into the run)"},
		{"checkpoint", ev("run.drift", `{"run":"0003","checkpoint":2,"line":11,"dz_mm":-0.0205,"limit_mm":0.1,"drift_um":-20.5,"elapsed_ns":41000000000}`),
			true, "drift checkpoint 2 before line 11: -20.5 µm (limit ±100 µm, 41s into the run)"},
		{"failed", ev("run.drift", `{"run":"0003","checkpoint":3,"line":20,"error":"probe first touch: … (ALARM:5)"}`),
			true, "drift checkpoint 3 before line 20 failed: probe first touch: … (ALARM:5)"},
		{"another run", ev("run.drift", `{"run":"0004","checkpoint":1,"line":5}`), false, ""},
		{"another topic", ev("run.progress", `{"run":"0003"}`), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, _, ok := driftLine(tt.m, 3)
			if ok != tt.ok || line != tt.want {
				t.Fatalf("driftLine = %q, %v; want %q, %v", line, ok, tt.want, tt.ok)
			}
		})
	}
}

// fakeDrift is a web.DriftService answering the probe with a fixed reply
// or error.
type fakeDrift struct {
	reply web.ProbeReply
	err   error
}

func (f *fakeDrift) Checkpoints(context.Context, jobs.ID) ([]jobs.Checkpoint, error) { return nil, nil }
func (f *fakeDrift) ProbeReference(context.Context) (web.ProbeReply, error)          { return f.reply, f.err }
func (f *fakeDrift) SetJobDrift(_ context.Context, id jobs.ID, enabled bool) (jobs.Job, error) {
	return jobs.Job{ID: id, NoDrift: !enabled}, nil
}

func TestMachineProbeCommand(t *testing.T) {
	ref, drift := -21.0, -12.5
	tests := []struct {
		name    string
		f       *fakeDrift
		args    []string
		code    int
		out     string
		errPart string
	}{
		{"first", &fakeDrift{reply: web.ProbeReply{MachineZ: -21}}, nil, 0, "machine Z -21.000 mm\nno earlier reference: this touch is the reference now\n", ""},
		{"drift", &fakeDrift{reply: web.ProbeReply{MachineZ: -21.0126, ReferenceZ: &ref, DriftUM: &drift}}, nil, 0,
			"machine Z -21.013 mm\nreference Z -21.000 mm, drift -12.5 µm\n", ""},
		{"json", &fakeDrift{reply: web.ProbeReply{MachineZ: -21}}, []string{"--json"}, 0, "\"reference_z\": null", ""},
		{"no touch", &fakeDrift{err: fmt.Errorf("probe first touch: the probe did not touch the plate within 40 mm (ALARM:5): %w", web.ErrUnprocessable)}, nil, 1, "",
			"kerf: machine probe: probe first touch: the probe did not touch the plate within 40 mm (ALARM:5)"},
		{"busy", &fakeDrift{err: fmt.Errorf("probe: machine held by run 0003: %w", jobs.ErrBusy)}, nil, 1, "", "run 0003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := startDaemon(t, &web.Server{Drift: tt.f})
			code, out, stderr := runKerf(t, append(append([]string{"machine", "probe"}, tt.args...), "--data", data)...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(stderr, tt.errPart) {
				t.Fatalf("code %d out %q err %q; want %d, %q, %q", code, out, stderr, tt.code, tt.out, tt.errPart)
			}
		})
	}
}
