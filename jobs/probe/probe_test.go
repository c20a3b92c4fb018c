package probe

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/relay"
)

var testProbe = Setup{X: -50, Y: -40, Plate: 10, SafeZ: -1, Feed: 200, SlowFeed: 25, BackOff: 1, MaxTravel: 40}

// plateWatch is a probe surface (a plate at testProbe's X/Y, top at
// machine Z plateZ) that records the relay's commanded state whenever the
// tool is over the plate: the router must be off there.
type plateWatch struct {
	mu       sync.Mutex
	relayOn  func() bool
	overOn   int // calls over the plate with the router commanded on
	overOff  int
	plateTop float64
}

func (w *plateWatch) surface(x, y float64) (float64, bool) {
	if math.Abs(x-testProbe.X) > 5 || math.Abs(y-testProbe.Y) > 5 {
		return 0, false
	}
	on := w.relayOn()
	w.mu.Lock()
	if on {
		w.overOn++
	} else {
		w.overOff++
	}
	w.mu.Unlock()
	return w.plateTop, true
}

func TestProbeZ(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &plateWatch{plateTop: -30.25}
		r := mustOpen(t, sim.Options{Probe: w.surface})
		w.relayOn = func() bool { c, _ := r.relay.State(); return c }
		ctx := context.Background()
		conn := r.conn
		// A program's modal state, which probing must not disturb.
		if _, err := conn.Command(ctx, "G20G91G18G55G1F12.5"); err != nil {
			t.Fatal(err)
		}
		if err := r.relay.On("cutting"); err != nil {
			t.Fatal(err)
		}
		before := modal(t, conn)
		res, err := Run(ctx, r.conn, testProbe, Options{Router: r.relay})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.Z-w.plateTop) > 0.002 || math.Abs(res.FirstZ-w.plateTop) > 0.01 {
			t.Fatalf("touch at Z %v (first %v), want the plate top %v", res.Z, res.FirstZ, w.plateTop)
		}
		if r.out.last() != 0 {
			t.Fatal("relay output not off after probing")
		}
		if w.overOn != 0 || w.overOff == 0 {
			t.Fatalf("over the plate with the router on %d times (off %d)", w.overOn, w.overOff)
		}
		after := modal(t, conn)
		before.Words, after.Words = nil, nil
		before.Spindle = "M5"
		if after.Motion != before.Motion || after.WCS != before.WCS || after.Plane != before.Plane || after.Units != before.Units ||
			after.Distance != before.Distance || after.FeedMode != before.FeedMode || math.Abs(after.Feed-before.Feed) > 1e-6 || after.Spindle != "M5" {
			t.Fatalf("modal state after probing %+v, want %+v", after, before)
		}
		st := r.board.Stats()
		if math.Abs(st.Commanded[2]-testProbe.SafeZ) > 1e-6 || math.Abs(st.Commanded[0]-testProbe.X) > 1e-6 {
			t.Fatalf("tool at %v after probing, want retracted to Z %v above the plate", st.Commanded, testProbe.SafeZ)
		}
	})
}

// fakeOutput is a relay output line that records every value written.
type fakeOutput struct {
	mu     sync.Mutex
	values []int
}

func (f *fakeOutput) SetValue(v int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values = append(f.values, v)
	return nil
}

func (f *fakeOutput) Close() error { return nil }

func (f *fakeOutput) last() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.values) == 0 {
		return -1
	}
	return f.values[len(f.values)-1]
}

// rig is a simulated board on a grbl.Conn with a drive-mode relay.
type rig struct {
	board *sim.Machine
	conn  *grbl.Conn
	relay *relay.Router
	out   *fakeOutput
}

func mustOpen(t *testing.T, opts sim.Options) *rig {
	t.Helper()
	board, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { board.Close() })
	port, err := board.Connect()
	if err != nil {
		t.Fatal(err)
	}
	conn := grbl.NewConn(port, grbl.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := conn.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := &rig{board: board, conn: conn, out: &fakeOutput{}}
	if r.relay, err = relay.New(relay.ModeDrive, r.out, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

func modal(t *testing.T, conn *grbl.Conn) grbl.Modal {
	t.Helper()
	resp, err := conn.Command(context.Background(), "$G")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range resp.Lines {
		if md, ok := m.(grbl.Modal); ok {
			return md
		}
	}
	t.Fatal("no [GC:] in the $G answer")
	return grbl.Modal{}
}

func TestProbeFails(t *testing.T) {
	tests := []struct {
		name    string
		surface sim.ProbeSurface
		code    int
		msg     string
	}{
		{"no plate within max travel", nil, 5, "did not touch the plate within 40 mm (ALARM:5)"},
		{"plate already touching", sim.FlatSurface(10), 4, "already closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := mustOpen(t, sim.Options{Probe: tt.surface})
				_, err := Run(context.Background(), r.conn, testProbe, Options{Router: r.relay})
				var pe *Error
				if !errors.Is(err, ErrFailed) || !errors.As(err, &pe) || pe.Alarm == nil || pe.Alarm.Code != tt.code {
					t.Fatalf("Probe = %v, want a ProbeError with ALARM:%d", err, tt.code)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("error %q does not say %q", err, tt.msg)
				}
				if !errors.Is(err, grbl.ErrAlarm) {
					t.Errorf("error %v does not match grbl.ErrAlarm", err)
				}
				if r.out.last() == 1 {
					t.Error("relay on after a failed probe")
				}
			})
		})
	}
}

func TestSetupValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Setup)
		field string
	}{
		{"NaN x", func(p *Setup) { p.X = math.NaN() }, "field x"},
		{"negative plate", func(p *Setup) { p.Plate = -1 }, "field plate"},
		{"zero feed", func(p *Setup) { p.Feed = 0 }, "field feed"},
		{"slow feed above feed", func(p *Setup) { p.SlowFeed = 500 }, "field slow_feed"},
		{"no back-off", func(p *Setup) { p.BackOff = 0 }, "field back_off"},
		{"travel within back-off", func(p *Setup) { p.MaxTravel = 0.5 }, "field max_travel"},
		{"negative approach", func(p *Setup) { p.Approach = -1 }, "field approach"},
		{"approach within back-off", func(p *Setup) { p.Approach = 0.5 }, "field approach"},
		{"approach beyond half the travel", func(p *Setup) { p.Approach = 21 }, "field approach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testProbe
			tt.edit(&p)
			err := p.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate = %v, want ErrInvalid naming %s", err, tt.field)
			}
		})
	}
	if err := testProbe.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreModal(t *testing.T) {
	tests := []struct {
		name string
		m    grbl.Modal
		want []string
	}{
		{"mm absolute", grbl.Modal{Motion: "G1", WCS: "G54", Plane: "G17", Units: "G21", Distance: "G90", FeedMode: "G94", Feed: 600},
			[]string{"G21F600", "G21G90G17G94G54G1"}},
		{"inch incremental G55", grbl.Modal{Motion: "G0", WCS: "G55", Plane: "G18", Units: "G20", Distance: "G91", FeedMode: "G94", Feed: 317.5},
			[]string{"G21F317.5", "G20G91G18G94G55G0"}},
		{"inverse time", grbl.Modal{Motion: "G1", WCS: "G54", Plane: "G17", Units: "G21", Distance: "G90", FeedMode: "G93", Feed: 2},
			[]string{"G21G94", "G21G90G17G93G54G1"}},
		{"arc mode left as it comes", grbl.Modal{Motion: "G2", WCS: "G54", Plane: "G17", Units: "G21", Distance: "G90", FeedMode: "G94"},
			[]string{"G21", "G21G90G17G94G54"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RestoreModal(tt.m)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("RestoreModal = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReturnTo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Probe: sim.PlateAndStock(-55, -45, -45, -35, -30, nil)})
		ctx := context.Background()
		if _, err := r.conn.Command(ctx, "G21G90G0X-10Y-12Z-3"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.conn.Command(ctx, "G4P0"); err != nil {
			t.Fatal(err)
		}
		back := [3]float64{-10, -12, -3}
		res, err := Run(ctx, r.conn, testProbe, Options{ReturnTo: &back, Feed: 600.25})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.Z+30) > 0.002 {
			t.Fatalf("touch at %v, want -30", res.Z)
		}
		if got := r.board.Stats().Commanded; got != back {
			t.Fatalf("tool at %v after probing, want back at %v", got, back)
		}
		if m := modal(t, r.conn); m.Feed != 600.25 && m.Feed != 600 {
			t.Fatalf("feed after probing %v, want the given 600.25", m.Feed)
		}
	})
}

// TestApproach: with an expected touch, the first touch starts Approach
// above it (a short probe instead of one from SafeZ), finds the same Z, and
// a plate lower than expected by more than the approach window fails with
// ALARM:5 instead of being taken for drift.
func TestApproach(t *testing.T) {
	p := testProbe
	p.Approach = 2
	tests := []struct {
		name   string
		expect float64
		ok     bool
	}{
		{"as expected", -30.25, true},
		{"tool 0.3 mm low", -30.55, true},
		{"tool 0.3 mm high", -29.95, true},
		{"plate 5 mm below the window", -25.25, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := &plateWatch{plateTop: -30.25}
				r := mustOpen(t, sim.Options{Probe: w.surface})
				w.relayOn = func() bool { c, _ := r.relay.State(); return c }
				ctx := context.Background()
				full := time.Now()
				if _, err := Run(ctx, r.conn, p, Options{}); err != nil {
					t.Fatal(err)
				}
				fullTook := time.Since(full)
				start := time.Now()
				res, err := Run(ctx, r.conn, p, Options{Expect: &tt.expect})
				took := time.Since(start)
				if !tt.ok {
					var pe *Error
					if !errors.As(err, &pe) || pe.Alarm == nil || pe.Alarm.Code != 5 || pe.Travel != 4 {
						t.Fatalf("Run = %v, want ALARM:5 after 4 mm (2 × approach)", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(res.Z-w.plateTop) > 0.002 {
					t.Fatalf("touch at %v, want %v", res.Z, w.plateTop)
				}
				// From SafeZ -1 the first touch travels 29 mm at 200 mm/min
				// (8.7 s); from 2 mm above, at most 2.3 mm (0.7 s).
				if took > fullTook-7*time.Second {
					t.Fatalf("probe with an expected Z took %v, the full one %v: want at least 7 s saved", took, fullTook)
				}
			})
		})
	}
}

// TestGoBack: GoBack sees the touch and, answering false, keeps the tool
// at SafeZ over the plate instead of returning.
func TestGoBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Probe: sim.PlateAndStock(-55, -45, -45, -35, -30, nil)})
		ctx := context.Background()
		if _, err := r.conn.Command(ctx, "G21G90G0X-10Y-12Z-3"); err != nil {
			t.Fatal(err)
		}
		back := [3]float64{-10, -12, -3}
		var seen []float64
		goBack := func(z float64) bool { seen = append(seen, z); return false }
		if _, err := Run(ctx, r.conn, testProbe, Options{ReturnTo: &back, GoBack: goBack}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 1 || math.Abs(seen[0]+30) > 0.002 {
			t.Fatalf("GoBack saw %v, want the touch at -30 once", seen)
		}
		want := [3]float64{testProbe.X, testProbe.Y, testProbe.SafeZ}
		if got := r.board.Stats().Commanded; got != want {
			t.Fatalf("tool at %v, want kept at %v over the plate", got, want)
		}
	})
}
