package runner

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// simLink is a Link over one simulated board.
type simLink struct {
	r      *rig
	mu     sync.Mutex
	leased bool
}

func (l *simLink) Conn() (*grbl.Conn, *Signals, error) { return l.r.conn, l.r.signals, nil }

func (l *simLink) Acquire(ctx context.Context, owner string) (func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leased {
		return nil, errors.New("busy")
	}
	l.leased = true
	return func() { l.mu.Lock(); l.leased = false; l.mu.Unlock() }, nil
}

// switchLog records the relay output's values with the machine's state at
// each switch.
type switchLog struct {
	mu     sync.Mutex
	m      *sim.Machine
	values []int
	states []sim.Stats
}

func (o *switchLog) SetValue(v int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.values = append(o.values, v)
	if o.m != nil {
		o.states = append(o.states, o.m.Stats())
	}
	return nil
}

func (o *switchLog) Close() error { return nil }

func (o *switchLog) last() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.values) == 0 {
		return -1
	}
	return o.values[len(o.values)-1]
}

type fixture struct {
	svc   *Service
	rig   *rig
	store *jobs.Store
	out   *switchLog
}

func mustService(t *testing.T, opts sim.Options, mode relay.Mode) *fixture {
	t.Helper()
	r := mustRig(t, opts)
	store := jobs.NewStore(t.TempDir())
	if err := store.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	out := &switchLog{m: r.m}
	var rl *relay.Router
	var err error
	switch mode {
	case relay.ModeDrive:
		rl, err = relay.New(relay.ModeDrive, out, nil)
	case relay.ModeSense:
		sensor := relay.NewSensor(false)
		ch := r.m.SpindleChanges()
		done := make(chan struct{})
		go func() {
			defer close(done)
			level := false // a GPIO reports edges: level changes only
			for st := range ch {
				if on := st.On && st.Duty > 0; on != level {
					level = on
					sensor.HandleEdge(on, time.Time{})
				}
			}
		}()
		t.Cleanup(func() { r.m.Close(); <-done })
		rl, err = relay.New(relay.ModeSense, nil, sensor)
	}
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: store, Link: &simLink{r: r}, Relay: rl, SpinUp: 2 * time.Second, SafeZ: -1,
		Logger: slog.New(slog.DiscardHandler)}
	if err := svc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return &fixture{svc: svc, rig: r, store: store, out: out}
}

func (f *fixture) add(t *testing.T, name, src string) jobs.Job {
	t.Helper()
	j, err := f.svc.AddJob(context.Background(), name, strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) runToEnd(t *testing.T, job jobs.Job, from int) jobs.Run {
	t.Helper()
	run, err := f.svc.StartJob(context.Background(), job.ID, from)
	if err != nil {
		t.Fatal(err)
	}
	run, err = f.svc.Wait(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

const pocket = "G21 G90\nG0 X-10 Y-10\nM3 S1000\nG1 Z-1 F300\nG1 X-20 F600\nY-20\nX-10\nY-10\nG0 Z0\nM5\nG0 X-30\nM30\n"

func TestRunCompletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeNone)
		run := f.runToEnd(t, f.add(t, "pocket.nc", pocket), 0)
		if run.State != jobs.StateCompleted || run.LastAckedLine != 12 || run.LastExecutedLine != 12 || run.Summary.LinesSent == 0 {
			t.Fatalf("run = %+v", run)
		}
		n := 0
		if err := f.store.Telemetry(context.Background(), run.ID, func(jobs.Sample) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		if n < 5 {
			t.Fatalf("%d telemetry samples, want one per status report", n)
		}
	})
}

func TestAddJobRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeNone)
		ctx := context.Background()
		_, err := f.svc.AddJob(ctx, "bad.nc", strings.NewReader("G21\nG81 X1 Y1 Z-1 R1 F100\nG1 X2 Y\n"))
		var pe *ProgramError
		if !errors.As(err, &pe) || len(pe.Diags) != 2 || pe.Diags[0].Line != 2 || pe.Diags[1].Line != 3 {
			t.Fatalf("err = %v, want a ProgramError naming lines 2 and 3", err)
		}
		if _, err := f.svc.AddJob(ctx, "empty.nc", strings.NewReader("")); !errors.Is(err, jobs.ErrEmpty) {
			t.Fatalf("empty: %v", err)
		}
		if _, err := f.svc.AddJob(ctx, "bin.nc", strings.NewReader("\x7fELF\x02\x01\x01\x00\x00")); !errors.Is(err, ErrBinary) {
			t.Fatalf("binary: %v", err)
		}
		if js, _ := f.store.Jobs(ctx, jobs.Page{}); len(js) != 0 {
			t.Fatalf("%d jobs stored from rejected uploads", len(js))
		}
	})
}

// In drive mode the relay closes only once every motion before M3 has
// executed, and opens before any motion after M5 is sent.
func TestDriveModeOrdering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeDrive)
		run := f.runToEnd(t, f.add(t, "pocket.nc", pocket), 0)
		if run.State != jobs.StateCompleted {
			t.Fatalf("run = %+v", run)
		}
		f.out.mu.Lock()
		defer f.out.mu.Unlock()
		// New's off, on at M3, off at M5, off at M30/end (idempotent writes allowed).
		on := -1
		for i, v := range f.out.values {
			if v == 1 {
				on = i
				break
			}
		}
		if on < 0 {
			t.Fatalf("relay never switched on: %v", f.out.values)
		}
		atOn := f.out.states[on]
		if atOn.State != "Idle" || atOn.Commanded != [3]float64{-10, -10, 0} {
			t.Fatalf("relay on while %s at %v: earlier motion not finished", atOn.State, atOn.Commanded)
		}
		off := -1
		for i := on + 1; i < len(f.out.values); i++ {
			if f.out.values[i] == 0 {
				off = i
				break
			}
		}
		atOff := f.out.states[off]
		if atOff.State != "Idle" || atOff.Commanded != [3]float64{-10, -10, 0} {
			t.Fatalf("relay off while %s at %v: want Idle at the M5, before G0 X-30", atOff.State, atOff.Commanded)
		}
		if f.out.values[len(f.out.values)-1] != 0 {
			t.Fatal("relay left on")
		}
	})
}

func TestSenseModeRouterNotStarting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck, _ := sim.ParseFault("spindle-stuck-off")
		f := mustService(t, sim.Options{Faults: []sim.Fault{stuck}}, relay.ModeSense)
		start := time.Now()
		run := f.runToEnd(t, f.add(t, "pocket.nc", pocket), 0)
		if run.State != jobs.StateFailed || !strings.Contains(run.Reason, "router did not start") || !strings.Contains(run.Reason, "M3 at line 3") ||
			!strings.Contains(run.Reason, "after 2s") {
			t.Fatalf("run = %+v", run)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %v to fail", d)
		}
		if st := f.rig.m.Stats(); st.Commanded[2] != 0 {
			t.Fatalf("the plunge after M3 happened: Z=%v", st.Commanded[2])
		}
	})
}

func TestSenseModeCompletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{Settings: map[int]float64{30: 1000}}, relay.ModeSense)
		run := f.runToEnd(t, f.add(t, "pocket.nc", pocket), 0)
		if run.State != jobs.StateCompleted {
			t.Fatalf("run = %+v", run)
		}
	})
}

func TestRunFaults(t *testing.T) {
	var long strings.Builder
	long.WriteString("G21 G90 G1 F300\nM3 S1000\n") // the router is on when the fault comes
	for i := 1; i <= 80; i++ {
		long.WriteString("X-" + itoa(i) + "\n")
	}
	for _, tc := range []struct {
		fault string
		state jobs.RunState
		want  string
	}{
		{"error:line=30,code=33", jobs.StateFailed, "error:33"},
		{"alarm:line=30,code=1", jobs.StateFailed, "ALARM:1"},
		{"unplug:line=30", jobs.StateInterrupted, "disconnect"},
		{"reset:line=30", jobs.StateInterrupted, "reset"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fl, err := sim.ParseFault(tc.fault)
				if err != nil {
					t.Fatal(err)
				}
				f := mustService(t, sim.Options{Faults: []sim.Fault{fl}}, relay.ModeDrive)
				run := f.runToEnd(t, f.add(t, "long.nc", long.String()), 0)
				if run.State != tc.state || !strings.Contains(strings.ToLower(run.Reason), strings.ToLower(tc.want)) {
					t.Fatalf("run = %s %q, want %s containing %q", run.State, run.Reason, tc.state, tc.want)
				}
				if run.LastAckedLine == 0 || run.LastAckedLine >= 82 {
					t.Fatalf("last acked line %d", run.LastAckedLine)
				}
				f.out.mu.Lock()
				values := append([]int(nil), f.out.values...)
				f.out.mu.Unlock()
				lastOn := -1
				for i, v := range values {
					if v == 1 {
						lastOn = i
					}
				}
				if lastOn < 0 || lastOn == len(values)-1 {
					t.Fatalf("relay values %v: want on through the cut, then off at the fault", values)
				}
				sw, err := f.store.RelaySwitches(context.Background(), run.ID)
				if err != nil || len(sw) != 2 || !sw[0].On || sw[1].On || sw[1].Reason == "" {
					t.Fatalf("recorded switches %+v, %v: want on at the M3, off at the fault", sw, err)
				}
			})
		})
	}
}

func TestPauseResumeAbort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeDrive)
		ctx := context.Background()
		job := f.add(t, "pocket.nc", pocket)
		run, err := f.svc.StartJob(ctx, job.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.StartJob(ctx, job.ID, 0); !errors.Is(err, jobs.ErrBusy) {
			t.Fatalf("second start: %v, want ErrBusy", err)
		}
		time.Sleep(4 * time.Second) // virtual: into the cut
		if r, err := f.svc.PauseRun(ctx, run.ID); err != nil || r.State != jobs.StatePaused {
			t.Fatalf("pause: %v %v", r.State, err)
		}
		if _, err := f.rig.conn.WaitStatus(ctx, func(st grbl.Status) bool { return st.State == grbl.StateHold && st.SubState == 0 }); err != nil {
			t.Fatal(err)
		}
		if r, err := f.svc.ResumeRun(ctx, run.ID); err != nil || r.State != jobs.StateRunning {
			t.Fatalf("resume: %v %v", r.State, err)
		}
		time.Sleep(time.Second)
		r, err := f.svc.AbortRun(ctx, run.ID)
		if err != nil || r.State != jobs.StateAborted {
			t.Fatalf("abort: %+v %v", r, err)
		}
		if f.out.last() != 0 {
			t.Fatal("relay not off after abort")
		}
		if st := f.rig.m.Stats(); st.State != "Idle" || st.Resets < 2 {
			t.Fatalf("after abort: state %s resets %d (want held then reset without alarm)", st.State, st.Resets)
		}
	})
}

func TestM0AndToolChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeDrive)
		f.svc.ToolChange = &[3]float64{-5, -5, -1}
		ctx := context.Background()
		prog := "G21 G90\nT1 M6\nM3 S1000\nG1 X-10 F600\nM0\nG1 Y-10\nT2 M6\nG1 X-20\nM5\nM30\n"
		states := make(chan RunEvent, 64) // run.state events, published after the store has them
		f.svc.Publish = func(topic string, data any) {
			if ev, ok := data.(RunEvent); ok && topic == "run.state" {
				states <- ev
			}
		}
		run, err := f.svc.StartJob(ctx, f.add(t, "tc.nc", prog).ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		waitReason := func(part string) {
			t.Helper()
			timeout := time.After(time.Hour) // virtual
			for {
				select {
				case ev := <-states:
					if ev.Run != run.ID {
						continue
					}
					if ev.State == jobs.StatePaused && strings.Contains(ev.Reason, part) {
						return
					}
					if ev.State.Terminal() {
						t.Fatalf("run ended %s: %s", ev.State, ev.Reason)
					}
				case <-timeout:
					t.Fatalf("never paused with %q", part)
				}
			}
		}
		waitReason("tool change at line 2: load tool 1")
		if _, err := f.svc.ResumeRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		waitReason("M0 at line 5")
		if f.out.last() != 1 {
			t.Fatal("router off during an M0 pause (GRBL keeps the spindle on in a hold)")
		}
		if _, err := f.svc.ResumeRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		waitReason("tool change at line 7: load tool 2")
		if f.out.last() != 0 {
			t.Fatal("router on during a tool change")
		}
		if st := f.rig.m.Stats(); st.Commanded != [3]float64{-5, -5, -1} {
			t.Fatalf("not at the tool-change position: %v", st.Commanded)
		}
		if _, err := f.svc.ResumeRun(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		r, err := f.svc.Wait(ctx, run.ID)
		if err != nil || r.State != jobs.StateCompleted {
			t.Fatalf("run = %+v, %v", r, err)
		}
		if st := f.rig.m.Stats(); st.Commanded[0] != -20 || st.Commanded[1] != -10 {
			t.Fatalf("end position %v, want X-20 Y-10 (back above the cut after the change)", st.Commanded)
		}
	})
}

func TestStartFromLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeNone)
		run := f.runToEnd(t, f.add(t, "pocket.nc", pocket), 6)
		if run.State != jobs.StateCompleted || run.FromLine != 6 {
			t.Fatalf("run = %+v", run)
		}
		if st := f.rig.m.Stats(); st.Commanded != [3]float64{-30, -10, 0} {
			t.Fatalf("end at %v", st.Commanded)
		}
	})
}

func TestShutdownInterruptsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeDrive)
		ctx := context.Background()
		run, err := f.svc.StartJob(ctx, f.add(t, "pocket.nc", pocket).ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if err := f.svc.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := f.store.Run(ctx, run.ID)
		if err != nil || r.State != jobs.StateInterrupted || r.LastAckedLine == 0 {
			t.Fatalf("run = %+v, %v", r, err)
		}
		if f.out.last() != 0 {
			t.Fatal("relay on after shutdown")
		}
	})
}
