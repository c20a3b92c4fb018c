package machine

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
)

var testProbe = ProbeSetup{X: -50, Y: -40, Plate: 10, SafeZ: -1, Feed: 200, SlowFeed: 25, BackOff: 1, MaxTravel: 40}

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
		conn, _, err := r.m.Conn()
		if err != nil {
			t.Fatal(err)
		}
		// A program's modal state, which probing must not disturb.
		if _, err := conn.Command(ctx, "G20G91G18G55G1F12.5"); err != nil {
			t.Fatal(err)
		}
		if err := r.relay.On("cutting"); err != nil {
			t.Fatal(err)
		}
		before := modal(t, conn)
		res, err := r.m.Probe(ctx, testProbe)
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
				_, err := r.m.Probe(context.Background(), testProbe)
				var pe *ProbeError
				if !errors.Is(err, ErrProbeFailed) || !errors.As(err, &pe) || pe.Alarm == nil || pe.Alarm.Code != tt.code {
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

func TestProbeSetupValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*ProbeSetup)
		field string
	}{
		{"NaN x", func(p *ProbeSetup) { p.X = math.NaN() }, "field x"},
		{"negative plate", func(p *ProbeSetup) { p.Plate = -1 }, "field plate"},
		{"zero feed", func(p *ProbeSetup) { p.Feed = 0 }, "field feed"},
		{"slow feed above feed", func(p *ProbeSetup) { p.SlowFeed = 500 }, "field slow_feed"},
		{"no back-off", func(p *ProbeSetup) { p.BackOff = 0 }, "field back_off"},
		{"travel within back-off", func(p *ProbeSetup) { p.MaxTravel = 0.5 }, "field max_travel"},
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

func TestProbeRefusedWhileLeased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Probe: sim.FlatSurface(-30)})
		release, err := r.m.Acquire(context.Background(), "run 0001")
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if _, err := r.m.Probe(context.Background(), testProbe); !errors.Is(err, ErrBusy) {
			t.Fatalf("Probe during a run = %v, want ErrBusy", err)
		}
	})
}
