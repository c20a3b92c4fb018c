package runner

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// lines is a Program over fixed wire lines.
type lines []gcode.WireLine

func (l *lines) Next() (gcode.WireLine, error) {
	if len(*l) == 0 {
		return gcode.WireLine{}, io.EOF
	}
	wl := (*l)[0]
	*l = (*l)[1:]
	return wl, nil
}

func TestSpinUpDwellUnlessTheProgramDwells(t *testing.T) {
	m3 := gcode.WireLine{Text: "M3S1000", Source: 3, Actions: gcode.ActionSpindleOn, Spindle: 1000}
	plunge := gcode.WireLine{Text: "G1Z-1F300", Source: 5, Motion: true}
	for _, tc := range []struct {
		name string
		in   []gcode.WireLine
		want []string
	}{
		{"no dwell: one is inserted", []gcode.WireLine{m3, plunge}, []string{"M3S1000", "G4P3", "G1Z-1F300"}},
		{"program dwells long enough", []gcode.WireLine{m3, {Text: "G4P3", Source: 4}, plunge}, []string{"M3S1000", "G4P3", "G1Z-1F300"}},
		{"program dwells longer", []gcode.WireLine{m3, {Text: "G4P5.5", Source: 4}, plunge}, []string{"M3S1000", "G4P5.5", "G1Z-1F300"}},
		{"dwell on the M3 line", []gcode.WireLine{{Text: "M3S1000G4P4", Source: 3, Actions: gcode.ActionSpindleOn, Spindle: 1000}, plunge},
			[]string{"M3S1000G4P4", "G1Z-1F300"}},
		{"short dwell is topped up", []gcode.WireLine{m3, {Text: "G4P1", Source: 4}, plunge}, []string{"M3S1000", "G4P1", "G4P2", "G1Z-1F300"}},
		{"M3 last", []gcode.WireLine{m3}, []string{"M3S1000", "G4P3"}},
		{"S0 starts nothing", []gcode.WireLine{{Text: "M3S0", Source: 3, Actions: gcode.ActionSpindleOn}, plunge}, []string{"M3S0", "G1Z-1F300"}},
		{"G43.1 is no dwell", []gcode.WireLine{m3, {Text: "G43.1Z1P2", Source: 4}, plunge}, []string{"M3S1000", "G4P3", "G43.1Z1P2", "G1Z-1F300"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := lines(tc.in)
			p := &spinUpDwell{prog: &src, spinUp: 3 * time.Second}
			var got []string
			for {
				wl, err := p.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, wl.Text)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// events records what the service publishes.
type events struct {
	mu     sync.Mutex
	topics []string
	data   []any
	panic  func(topic string, n int) bool // panic on the n-th publication of topic
	counts map[string]int
}

func (e *events) publish(topic string, data any) {
	e.mu.Lock()
	if e.counts == nil {
		e.counts = map[string]int{}
	}
	e.counts[topic]++
	n := e.counts[topic]
	e.topics = append(e.topics, topic)
	e.data = append(e.data, data)
	p := e.panic
	e.mu.Unlock()
	if p != nil && p(topic, n) {
		panic("injected: publish " + topic)
	}
}

func (e *events) of(topic string) []any {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []any
	for i, t := range e.topics {
		if t == topic {
			out = append(out, e.data[i])
		}
	}
	return out
}

// A panic anywhere in a run — on the goroutine reading acknowledgements,
// on the one sending lines — stops the run like a fault: router off,
// machine stopped, run failed with the panic named, daemon alive.
func TestRunnerPanicSwitchesRelayOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		topic string
		nth   int
		prog  string
	}{
		{"ack goroutine", "run.progress", 8, pocket},
		{"send goroutine", "run.state", 2, "G21 G90\nM3 S1000\nG1 X-10 F600\nT2 M6\nG1 X-20\nM30\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := mustService(t, sim.Options{}, relay.ModeDrive)
				ev := &events{panic: func(topic string, n int) bool { return topic == tc.topic && n == tc.nth }}
				f.svc.Publish = ev.publish
				run := f.runToEnd(t, f.add(t, "p.nc", tc.prog), 0)
				if run.State != jobs.StateFailed || !strings.Contains(run.Reason, "panic: injected") {
					t.Fatalf("run = %s %q, want failed naming the panic", run.State, run.Reason)
				}
				f.out.mu.Lock()
				wasOn := false
				for _, v := range f.out.values {
					wasOn = wasOn || v == 1
				}
				f.out.mu.Unlock()
				if !wasOn || f.out.last() != 0 {
					t.Fatalf("relay values %v: want on during the run, off after the panic", f.out.values)
				}
				time.Sleep(time.Second)
				if st := f.rig.m.Stats(); st.State == "Run" {
					t.Fatalf("machine still running after the panic")
				}
				// The service is usable again.
				if _, err := f.svc.RelayOn(context.Background()); err != nil {
					t.Fatalf("relay on after the panic: %v", err)
				}
			})
		})
	}
}

func TestManualRelayDrive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeDrive)
		ctx := context.Background()
		st, err := f.svc.RelayOn(ctx)
		if err != nil || f.out.last() != 1 || st.Commanded == nil || !*st.Commanded || st.LastSwitch == nil || st.LastSwitch.Reason != operatorOn {
			t.Fatalf("on while idle: %+v, %v (output %d)", st, err, f.out.last())
		}
		if st, err := f.svc.RelayOff(ctx); err != nil || f.out.last() != 0 || *st.Commanded {
			t.Fatalf("off: %+v, %v", st, err)
		}

		// A run switches off what was switched on by hand, and refuses a
		// manual switch-on while it runs.
		if _, err := f.svc.RelayOn(ctx); err != nil {
			t.Fatal(err)
		}
		run, err := f.svc.StartJob(ctx, f.add(t, "pocket.nc", pocket).ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		f.out.mu.Lock()
		first := append([]int(nil), f.out.values...)
		f.out.mu.Unlock()
		if first[len(first)-1] != 0 {
			t.Fatalf("relay still on as the run starts (before its M3): %v", first)
		}
		_, err = f.svc.RelayOn(ctx)
		var re *RelayRefusedError
		if !errors.As(err, &re) || !errors.Is(err, jobs.ErrConflict) || !strings.Contains(err.Error(), "run "+run.ID.String()+" is active") {
			t.Fatalf("on during a run: %v, want refused naming the run", err)
		}

		// Off during the run: the output drops at once and the run stops.
		time.Sleep(4 * time.Second) // into the cut, router on
		if f.out.last() != 1 {
			t.Fatal("router not on in the cut")
		}
		if _, err := f.svc.RelayOff(ctx); err != nil {
			t.Fatalf("off during a run: %v", err)
		}
		r, err := f.store.Run(ctx, run.ID)
		if err != nil || r.State != jobs.StateAborted || r.Reason != ErrRelayOff.Error() || f.out.last() != 0 {
			t.Fatalf("run after off = %s %q, %v (output %d)", r.State, r.Reason, err, f.out.last())
		}
		if st := f.rig.m.Stats(); st.State == "Run" {
			t.Fatal("machine still cutting with the router off")
		}
	})
}

func TestManualRelayRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		none := mustService(t, sim.Options{}, relay.ModeNone)
		if _, err := none.svc.RelayOn(ctx); !errors.Is(err, jobs.ErrConflict) || !strings.Contains(err.Error(), "relay mode is none") {
			t.Fatalf("mode none: %v", err)
		}
		if st, err := none.svc.RelayOff(ctx); err != nil || st.Mode != "none" {
			t.Fatalf("off in mode none: %+v, %v; want allowed", st, err)
		}

		f := mustService(t, sim.Options{}, relay.ModeDrive)
		// Not Idle: in alarm.
		if _, err := f.rig.conn.Command(ctx, "G1X-5F100"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RelayOn(ctx); !errors.Is(err, jobs.ErrConflict) || !strings.Contains(err.Error(), "must be Idle") {
			t.Fatalf("while moving: %v, want refused: not Idle", err)
		}
		if f.out.last() != 0 {
			t.Fatal("relay switched on while moving")
		}
		// Busy: something else holds the machine.
		time.Sleep(10 * time.Second)
		release, err := f.svc.Link.Acquire(ctx, "someone")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RelayOn(ctx); !errors.Is(err, jobs.ErrConflict) || !strings.Contains(err.Error(), "busy") {
			t.Fatalf("machine held: %v", err)
		}
		release()
		if _, err := f.svc.RelayOn(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// In sense mode the switches come from the program through GRBL; each is
// recorded with its sensed confirmation, and the run summary carries the
// sense latency.
func TestSenseModeSwitchTelemetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{Settings: map[int]float64{30: 1000}}, relay.ModeSense)
		run := f.runToEnd(t, f.add(t, "pocket.nc", pocket), 0)
		if run.State != jobs.StateCompleted {
			t.Fatalf("run = %+v", run)
		}
		sw, err := f.store.RelaySwitches(context.Background(), run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(sw) != 2 || !sw[0].On || sw[0].Reason != "M3 at line 3" || sw[1].On || sw[1].Reason != "M5 at line 10" {
			t.Fatalf("switches = %+v, want on at the M3 and off at the M5", sw)
		}
		for i, x := range sw {
			if !x.Confirmed || x.Sensed == nil || *x.Sensed != x.On || x.T <= 0 || x.Latency < 0 || x.Latency > 100*time.Millisecond {
				t.Errorf("switch %d = %+v: want confirmed by the sense input", i, x)
			}
		}
		if sw[1].T-sw[0].T < 5*time.Second {
			t.Errorf("on at %v, off at %v: the cut between them is missing", sw[0].T, sw[1].T)
		}
		if s := run.Summary.Relay; s == nil || s.Switches != 2 || s.Confirmed != 2 || s.Mismatches != 0 {
			t.Fatalf("summary = %+v", run.Summary.Relay)
		}
	})
}

// A spindle override below 100 % in sense mode brings GRBL's output onto
// PWM: the run warns once, as an event.
func TestSenseModeOverrideWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{Settings: map[int]float64{30: 1000}}, relay.ModeSense)
		ev := &events{}
		f.svc.Publish = ev.publish
		ctx := context.Background()
		run, err := f.svc.StartJob(ctx, f.add(t, "pocket.nc", pocket).ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second)
		if len(ev.of("run.warning")) != 0 {
			t.Fatal("warning at 100 %")
		}
		for range 3 {
			if err := f.rig.conn.Realtime(grbl.RTSpindleOvMinus1); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Second)
		for range 2 {
			_ = f.rig.conn.Realtime(grbl.RTSpindleOvMinus1)
		}
		if r, err := f.svc.Wait(ctx, run.ID); err != nil || r.State != jobs.StateCompleted {
			t.Fatalf("run = %+v, %v", r, err)
		}
		w := ev.of("run.warning")
		if len(w) != 1 {
			t.Fatalf("%d warnings, want 1 (once per episode): %+v", len(w), w)
		}
		we := w[0].(WarningEvent)
		if we.Run != run.ID || !strings.Contains(we.Message, "spindle override 97 %") || !strings.Contains(we.Message, "PWM") {
			t.Fatalf("warning = %+v", we)
		}
	})
}

// In sense mode a job whose S stays below $30 is accepted with a warning in
// its check: GRBL would feed the SSR PWM. Without a sense relay the same
// program carries no such warning.
func TestAddJobWarnsOfPWMInSenseMode(t *testing.T) {
	const slow = "G21 G90\nM3 S400\nG1 Z-1 F300\nM5\nM30\n"
	for _, tc := range []struct {
		mode relay.Mode
		warn bool
	}{{relay.ModeSense, true}, {relay.ModeDrive, false}, {relay.ModeNone, false}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := mustService(t, sim.Options{Settings: map[int]float64{30: 1000}}, tc.mode)
				job := f.add(t, "slow.nc", slow)
				var rep gcode.Report
				if err := json.Unmarshal(job.Check, &rep); err != nil {
					t.Fatal(err)
				}
				found := false
				for _, d := range rep.Diagnostics {
					if d.Severity == gcode.Warning && d.Line == 2 && strings.Contains(d.Message, "below $30") {
						found = true
					}
				}
				if found != tc.warn {
					t.Fatalf("PWM warning at line 2: %v, want %v (diagnostics %+v)", found, tc.warn, rep.Diagnostics)
				}
			})
		})
	}
}
