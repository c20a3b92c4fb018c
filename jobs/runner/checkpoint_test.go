package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/probe"
	"github.com/kerf-cnc/kerf/relay"
)

// The reference plate: machine X/Y -100/-100, top at machine Z -20, away
// from the test programs' cuts.
var driftProbe = probe.Setup{X: -100, Y: -100, Plate: 10, SafeZ: 0, Feed: 300, SlowFeed: 30, BackOff: 1, MaxTravel: 30}

const plateTop = -20.0

// plate is the simulated probe surface. It records, whenever the tool is
// over the plate (where it only goes to probe), the relay's commanded and
// sensed state: the router must be off at every touch.
type plate struct {
	mu         sync.Mutex
	router     *relay.Router
	calls      int
	routerOnAt []string
}

func (p *plate) surface(x, y float64) (float64, bool) {
	if math.Abs(x-driftProbe.X) > 5 || math.Abs(y-driftProbe.Y) > 5 {
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.router != nil {
		c, sensed := p.router.State()
		if c || (sensed != nil && *sensed) {
			p.routerOnAt = append(p.routerOnAt, fmt.Sprintf("commanded=%v sensed=%v", c, sensed != nil && *sensed))
		}
	}
	return plateTop, true
}

// plunges is a carving-like program: n cuts, each a 2 mm plunge, a feed
// move and a retract to work Z 1 (a safe point), with a stretch in G91 and
// one in inches so that the modal state matters after every checkpoint. It
// ends in G91 G20 with no M30, so `$G` after it shows all of it.
func plunges(n int) string {
	var b strings.Builder
	b.WriteString("G21 G90 G17 G94\nM3 S12000\n")
	for i := 0; i < n; i++ {
		x := -10 - 6*float64(i)
		fmt.Fprintf(&b, "G0 X%g Y-10\nG1 Z-2 F300\nG1 X%g F600\n", x, x-3)
		switch i % 3 {
		case 0:
			b.WriteString("G0 Z1\n")
		case 1: // the retract, and the next move, incremental
			b.WriteString("G91 G0 Z3\nY-2\nG90\n")
		case 2: // in inches
			b.WriteString("G20 G0 Z0.05\nY-0.1\nG21\n")
		}
	}
	b.WriteString("M5\nG0 X-5 Y-5\nG91 G20 G1 X-0.1 F20\n")
	return b.String()
}

func driftService(t *testing.T, opts sim.Options, mode relay.Mode, cfg *DriftConfig) (*fixture, *plate) {
	t.Helper()
	p := &plate{}
	opts.Probe = p.surface
	if mode == relay.ModeSense && opts.Settings == nil {
		opts.Settings = map[int]float64{30: 1000} // S ≥ $30: the output steadily on
	}
	f := mustService(t, opts, mode)
	p.mu.Lock()
	p.router = f.svc.Relay
	p.mu.Unlock()
	f.svc.Drift = cfg
	return f, p
}

func checkpoints(t *testing.T, f *fixture, run jobs.ID) []jobs.Checkpoint {
	t.Helper()
	cps, err := f.store.Checkpoints(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return cps
}

func TestDriftCleanJob(t *testing.T) {
	for _, mode := range []relay.Mode{relay.ModeNone, relay.ModeDrive, relay.ModeSense} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, p := driftService(t, sim.Options{}, mode, &DriftConfig{Probe: driftProbe, LimitUM: 100})
				run := f.runToEnd(t, f.add(t, "plunges.nc", plunges(6)), 0)
				if run.State != jobs.StateCompleted {
					t.Fatalf("run = %+v", run)
				}
				cps := checkpoints(t, f, run.ID)
				// Reference, one per safe point (6 retracts), none after.
				if len(cps) != 7 {
					t.Fatalf("%d checkpoints, want the reference and 6: %+v", len(cps), cps)
				}
				if math.Abs(cps[0].Z-plateTop) > 0.002 {
					t.Fatalf("reference Z %v, want the plate top %v", cps[0].Z, plateTop)
				}
				worst := 0.0
				for _, c := range cps {
					worst = math.Max(worst, math.Abs(c.DriftUM))
				}
				t.Logf("%s: %d checkpoints, largest |drift| %.1f µm", mode, len(cps)-1, worst)
				for i, c := range cps {
					if c.Index != i || !c.OK() || math.Abs(c.DriftUM) >= 5 || c.ReferenceZ != cps[0].Z || c.LimitUM != 100 {
						t.Errorf("checkpoint %d = %+v, want |drift| < 5 µm", i, c)
					}
					if i > 0 && (c.Elapsed <= cps[i-1].Elapsed || c.Line <= cps[i-1].Line) {
						t.Errorf("checkpoint %d (line %d, %v) not after checkpoint %d (line %d, %v)", i, c.Line, c.Elapsed, i-1, cps[i-1].Line, cps[i-1].Elapsed)
					}
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				if p.calls == 0 || len(p.routerOnAt) > 0 {
					t.Fatalf("over the plate %d times, with the router on at %v", p.calls, p.routerOnAt)
				}
			})
		})
	}
}

func TestDriftGrowsAndAborts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 0.01 mm lost per mm of loaded plunge: 20 µm per 2 mm plunge.
		zd, err := sim.ParseFault("z-drift:0.01")
		if err != nil {
			t.Fatal(err)
		}
		f, p := driftService(t, sim.Options{Faults: []sim.Fault{zd}}, relay.ModeDrive, &DriftConfig{Probe: driftProbe, LimitUM: 100})
		sub := make(chan DriftEvent, 64)
		f.svc.Publish = func(topic string, data any) {
			if topic == "run.drift" {
				sub <- data.(DriftEvent)
			}
		}
		run := f.runToEnd(t, f.add(t, "plunges.nc", plunges(12)), 0)
		cps := checkpoints(t, f, run.ID)
		last := len(cps) - 1
		if last < 3 {
			t.Fatalf("%d checkpoints, want the drift to grow over several: %+v", len(cps), cps)
		}
		var seq []string
		for _, c := range cps {
			seq = append(seq, fmt.Sprintf("%+.1f", c.DriftUM))
		}
		t.Logf("drift by checkpoint (µm): %s", strings.Join(seq, " "))
		// Each cut plunges 2–3 mm: 20–30 µm lost per plunge.
		for i := 1; i <= last; i++ {
			if step := cps[i-1].DriftUM - cps[i].DriftUM; step < 15 || step > 40 {
				t.Errorf("checkpoint %d: drift %v µm after %v µm, want 20–30 µm more", i, cps[i].DriftUM, cps[i-1].DriftUM)
			}
		}
		if math.Abs(cps[last].DriftUM) <= 100 || math.Abs(cps[last-1].DriftUM) > 100 {
			t.Fatalf("stopped at checkpoint %d with %v µm (before: %v µm), want the first beyond ±100 µm", last, cps[last].DriftUM, cps[last-1].DriftUM)
		}
		want := fmt.Sprintf("Z drift %+.0f µm at checkpoint %d", cps[last].DriftUM, last)
		if run.State != jobs.StateAborted || !strings.Contains(run.Reason, want) || !strings.Contains(run.Reason, "beyond the limit of ±100 µm") {
			t.Fatalf("run = %+v, want aborted with %q", run, want)
		}
		if f.out.last() != 0 {
			t.Fatal("relay on after the abort")
		}
		if st := f.rig.m.Stats(); st.Commanded[2] < -1e-9 {
			t.Fatalf("tool at Z %v after the abort, want retracted", st.Commanded[2])
		}
		close(sub)
		var evs []DriftEvent
		for e := range sub {
			evs = append(evs, e)
		}
		if len(evs) != len(cps) {
			t.Fatalf("%d run.drift events, want one per checkpoint (%d)", len(evs), len(cps))
		}
		if e := evs[last]; e.Checkpoint != last || e.LimitMM != 0.1 || math.Abs(e.DzMM-e.DriftUM/1000) > 1e-12 || e.DriftUM != cps[last].DriftUM ||
			e.ElapsedNS <= 0 || e.At.IsZero() || e.Line != cps[last].Line {
			t.Fatalf("last event %+v, checkpoint %+v", e, cps[last])
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.routerOnAt) > 0 {
			t.Fatalf("router on over the plate: %v", p.routerOnAt)
		}
	})
}

// finalState runs a program to its end and returns where the machine is
// and what `$G` says.
func finalState(t *testing.T, cfg *DriftConfig, src string) ([3]float64, string, jobs.Run, *fixture) {
	t.Helper()
	f, _ := driftService(t, sim.Options{}, relay.ModeDrive, cfg)
	run := f.runToEnd(t, f.add(t, "prog.nc", src), 0)
	if run.State != jobs.StateCompleted {
		t.Fatalf("run = %+v", run)
	}
	resp, err := f.rig.conn.Command(context.Background(), "$G")
	if err != nil {
		t.Fatal(err)
	}
	var gc string
	for _, m := range resp.Lines {
		if md, ok := m.(grbl.Modal); ok {
			gc = strings.Join(md.Words, " ")
		}
	}
	return f.rig.m.Stats().Commanded, gc, run, f
}

func TestDriftResumesExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := plunges(7)
		pos0, gc0, _, _ := finalState(t, nil, src)
		pos1, gc1, run, f := finalState(t, &DriftConfig{Probe: driftProbe, LimitUM: 100}, src)
		if n := len(checkpoints(t, f, run.ID)); n != 8 {
			t.Fatalf("%d checkpoints, want 8", n)
		}
		if pos0 != pos1 || gc0 != gc1 {
			t.Fatalf("after the job with checkpoints: %v %q; without: %v %q", pos1, gc1, pos0, gc0)
		}
		if !strings.Contains(gc1, "G91") || !strings.Contains(gc1, "G20") {
			t.Fatalf("$G %q: the program's final modal state is not what it left", gc1)
		}
	})
}

func TestDriftInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _ := driftService(t, sim.Options{}, relay.ModeNone, &DriftConfig{Probe: driftProbe, LimitUM: 100, Interval: time.Hour})
		job := f.add(t, "plunges.nc", plunges(6))
		run := f.runToEnd(t, job, 0)
		cps := checkpoints(t, f, run.ID)
		// The hour never passes: the reference and the final one only.
		if run.State != jobs.StateCompleted || len(cps) != 2 {
			t.Fatalf("run %s, %d checkpoints %+v; want the reference and the final one", run.State, len(cps), cps)
		}
		var rep gcode.Report
		if err := json.Unmarshal(job.Check, &rep); err != nil {
			t.Fatal(err)
		}
		if lines := SafePointLines(&rep); cps[1].Line <= lines[len(lines)-1] {
			t.Fatalf("final checkpoint before line %d, want after the last safe point %d", cps[1].Line, lines[len(lines)-1])
		}
	})
}

func TestDriftOptOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, p := driftService(t, sim.Options{}, relay.ModeNone, &DriftConfig{Probe: driftProbe, LimitUM: 100})
		job := f.add(t, "plunges.nc", plunges(3))
		if _, err := f.store.SetJobDrift(context.Background(), job.ID, false); err != nil {
			t.Fatal(err)
		}
		run := f.runToEnd(t, job, 0)
		if run.State != jobs.StateCompleted || len(checkpoints(t, f, run.ID)) != 0 || p.calls != 0 {
			t.Fatalf("opted-out job: run %s, probe calls %d", run.State, p.calls)
		}
	})
}

func TestDriftProbeFails(t *testing.T) {
	tests := []struct {
		name   string
		fault  string // sim fault
		plate  bool
		state  jobs.RunState
		reason string
		n      int // checkpoints stored
	}{
		{"no plate: the reference fails", "", false, jobs.StateFailed, "drift reference probe before the job: probe first touch: the probe did not touch the plate within 30 mm (ALARM:5)", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := sim.Options{}
				f := mustService(t, opts, relay.ModeDrive)
				f.svc.Drift = &DriftConfig{Probe: driftProbe, LimitUM: 100}
				run := f.runToEnd(t, f.add(t, "plunges.nc", plunges(2)), 0)
				if run.State != tt.state || !strings.Contains(run.Reason, tt.reason) {
					t.Fatalf("run = %+v, want %s: %s", run, tt.state, tt.reason)
				}
				cps := checkpoints(t, f, run.ID)
				if len(cps) != tt.n || cps[0].OK() || cps[0].DriftUM != 0 || !strings.Contains(cps[0].Error, "ALARM:5") {
					t.Fatalf("checkpoints %+v, want the failed reference recorded with its error", cps)
				}
				if f.out.last() == 1 {
					t.Fatal("relay on after the failure")
				}
			})
		})
	}
}

// TestDriftCheckpointLosesPlate: the plate vanishes after the reference
// (knocked off the spoilboard): the next checkpoint fails the run with
// ALARM:5, recorded as a failed checkpoint, never as drift 0.
func TestDriftCheckpointLosesPlate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		touches := 0
		present := true
		surface := func(x, y float64) (float64, bool) {
			if math.Abs(x-driftProbe.X) > 5 || math.Abs(y-driftProbe.Y) > 5 {
				return 0, false
			}
			mu.Lock()
			defer mu.Unlock()
			touches++
			return plateTop, present
		}
		f := mustService(t, sim.Options{Probe: surface}, relay.ModeDrive)
		f.svc.Drift = &DriftConfig{Probe: driftProbe, LimitUM: 100}
		f.svc.Publish = func(topic string, data any) {
			if e, ok := data.(DriftEvent); ok && topic == "run.drift" && e.Checkpoint == 0 {
				mu.Lock()
				present = false
				mu.Unlock()
			}
		}
		run := f.runToEnd(t, f.add(t, "plunges.nc", plunges(3)), 0)
		want := "drift checkpoint 1 before line"
		if run.State != jobs.StateFailed || !strings.Contains(run.Reason, want) || !strings.Contains(run.Reason, "ALARM:5") {
			t.Fatalf("run = %+v, want failed: %s … ALARM:5", run, want)
		}
		cps := checkpoints(t, f, run.ID)
		if len(cps) != 2 || !cps[0].OK() || cps[1].OK() || cps[1].DriftUM != 0 {
			t.Fatalf("checkpoints %+v, want the reference and a failed checkpoint 1", cps)
		}
		if f.out.last() == 1 {
			t.Fatal("relay on after the failure")
		}
	})
}

// TestCheckpointsOnlyAtSafePoints plans the checkpoints of the corpus's 3D
// carvings with the runner's own decision (due) at every safe point, and
// checks with the G-code model that the tool is retracted at or above the
// safe Z before every one of them: never mid-cut. The files' G64 (path
// blending, which GRBL 1.1 refuses) is removed first, as a user would.
func TestCheckpointsOnlyAtSafePoints(t *testing.T) {
	files := []string{"camotics_tiger_3d.nc", "openvoronoi_vcarve_inch.ngc"}
	if testing.Short() {
		files = files[1:]
	}
	g64 := regexp.MustCompile(`G64( *P[0-9.]+)?`)
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", "open", name))
			if err != nil {
				t.Fatal(err)
			}
			src := g64.ReplaceAll(raw, nil)
			rep, err := gcode.Check(bytes.NewReader(src), name, gcode.Options{MaxEvents: maxSafePoints})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Streamable {
				t.Fatalf("%s is not streamable without G64: %v", name, rep.Diagnostics[0])
			}
			lines := SafePointLines(rep)
			if len(lines) < 10 {
				t.Fatalf("%d safe points: not a carving", len(lines))
			}
			comp := gcode.NewCompiler(bytes.NewReader(src), name, gcode.Options{})
			cp := &checkpointer{s: &Service{}, comp: comp, safe: lines, last: lines[len(lines)-1]}
			n, cuts := 0, 0
			below := false
			for {
				wl, err := comp.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				z := comp.ResumeBefore(wl.Source).Work[2]
				if z < gcode.DefaultSafeZ {
					below = true
				}
				due, _ := cp.due(wl)
				if !due {
					continue
				}
				n++
				if z < gcode.DefaultSafeZ-1e-6 {
					t.Fatalf("checkpoint before line %d with the tool at work Z %v, below the safe Z %v: mid-cut", wl.Source, z, gcode.DefaultSafeZ)
				}
				if below {
					cuts++
				}
				below = false
			}
			if n != len(lines) || cuts != n {
				t.Fatalf("%d checkpoints, %d of them after a cut, at %d safe points; want one after each cut", n, cuts, len(lines))
			}
			t.Logf("%s: %d checkpoints, each after a cut", name, n)
		})
	}
}

// TestDriftNewReferenceAfterToolChange: the touch after an M6 is a new
// reference (the new tool has another length), not drift.
func TestDriftNewReferenceAfterToolChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _ := driftService(t, sim.Options{}, relay.ModeDrive, &DriftConfig{Probe: driftProbe, LimitUM: 100})
		f.svc.ToolChange = &[3]float64{-5, -5, -1}
		var wg sync.WaitGroup
		f.svc.Publish = func(topic string, data any) {
			if e, ok := data.(RunEvent); ok && topic == "run.state" && e.State == jobs.StatePaused {
				wg.Add(1)
				go func() { // the operator loads the tool and resumes
					defer wg.Done()
					if _, err := f.svc.ResumeRun(context.Background(), e.Run); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		src := "G21 G90\nM3 S10000\nG0 X-10 Y-10\nG1 Z-2 F300\nG0 Z2\nM5\nT2 M6\nM3 S10000\nG0 X-20\nG1 Z-2 F300\nG0 Z2\nM5\n"
		run := f.runToEnd(t, f.add(t, "tools.nc", src), 0)
		wg.Wait()
		if run.State != jobs.StateCompleted {
			t.Fatalf("run = %+v", run)
		}
		cps := checkpoints(t, f, run.ID)
		var refs []int
		for _, c := range cps {
			if c.Reference {
				refs = append(refs, c.Line)
			}
			if !c.OK() || math.Abs(c.DriftUM) >= 5 {
				t.Errorf("checkpoint %+v", c)
			}
		}
		// The run's reference, and one before line 8: the first line after T2 M6.
		if len(refs) != 2 || refs[0] != 0 || refs[1] != 8 {
			t.Fatalf("references before lines %v, want [0 8]; checkpoints %+v", refs, cps)
		}
	})
}

// TestDriftStartFromLine: a run started part-way probes its reference and
// checkpoints only at the safe points from its first line on.
func TestDriftStartFromLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _ := driftService(t, sim.Options{}, relay.ModeDrive, &DriftConfig{Probe: driftProbe, LimitUM: 100})
		job := f.add(t, "plunges.nc", plunges(6))
		const from = 20
		run := f.runToEnd(t, job, from)
		if run.State != jobs.StateCompleted {
			t.Fatalf("run = %+v", run)
		}
		cps := checkpoints(t, f, run.ID)
		if len(cps) < 3 || !cps[0].Reference {
			t.Fatalf("checkpoints %+v, want a reference and checkpoints after line %d", cps, from)
		}
		for _, c := range cps[1:] {
			if c.Line <= from || !c.OK() || math.Abs(c.DriftUM) >= 5 {
				t.Errorf("checkpoint %+v, want after line %d with |drift| < 5 µm", c, from)
			}
		}
	})
}
