package machine

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs/events"
)

func TestZeroSpecLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  ZeroSpec
		want  string
		field string // the field the ErrInvalid error names
	}{
		{"zero all of G54", ZeroSpec{WCS: "G54", X: ptr(0), Y: ptr(0), Z: ptr(0)}, "G21G10L20P1X0Y0Z0", ""},
		{"active system, Z only", ZeroSpec{Z: ptr(0)}, "G21G10L20P0Z0", ""},
		{"G59 lower case, a value", ZeroSpec{WCS: "g59", X: ptr(-12.3456)}, "G21G10L20P6X-12.346", ""},
		{"no axis", ZeroSpec{WCS: "G54"}, "", "x, y, z"},
		{"unknown system", ZeroSpec{WCS: "G53", X: ptr(0)}, "", "wcs"},
		{"G59.1 is not GRBL's", ZeroSpec{WCS: "G59.1", X: ptr(0)}, "", "wcs"},
		{"NaN", ZeroSpec{Y: ptr(math.NaN())}, "", "y"},
		{"slipped decimal point", ZeroSpec{Z: ptr(25000)}, "", "z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.Line()
			if tc.field == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Line() = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "field "+tc.field+":") {
				t.Fatalf("Line() = %q, %v; want ErrInvalid naming field %s", got, err, tc.field)
			}
		})
	}
}

func TestOffsetsReadAndZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stored := [6][3]float64{{-100, -50, -10}, {1, 2, 3}}
		r := mustOpen(t, sim.Options{WorkOffsets: &stored})
		ctx := context.Background()
		r.untilState(t, "Idle")

		o, err := r.m.Offsets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !o.Fresh || o.Active != "G54" || !slices.Equal(o.WCS["G54"], []float64{-100, -50, -10}) || !slices.Equal(o.WCS["G55"], []float64{1, 2, 3}) || len(o.WCS) != 6 {
			t.Fatalf("Offsets() = %+v", o)
		}
		if len(o.G28) != 3 || len(o.G30) != 3 || len(o.G92) != 3 || o.ReadAt.IsZero() {
			t.Fatalf("Offsets() G28/G30/G92/ReadAt = %+v", o)
		}

		// Move somewhere, then zero X and Y of G54 there.
		if err := r.m.Jog(ctx, JogSpec{X: ptr(20), Y: ptr(30), Z: ptr(-5), Feed: 5000, Incremental: true}); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Jog")
		rep := r.untilState(t, "Idle")
		o, err = r.m.ZeroAxes(ctx, ZeroSpec{WCS: "G54", X: ptr(0), Y: ptr(0)})
		if err != nil {
			t.Fatal(err)
		}
		if want := []float64{rep.MPos[0], rep.MPos[1], -10}; !o.Fresh || !slices.Equal(o.WCS["G54"], want) {
			t.Fatalf("G54 after zeroing X, Y = %v, want %v (the machine position; Z untouched)", o.WCS["G54"], want)
		}
		if !slices.Equal(o.WCS["G55"], []float64{1, 2, 3}) {
			t.Fatalf("G55 changed: %v", o.WCS["G55"])
		}
		// The board now reports the current position as X0 Y0 of G54.
		rep = r.until(t, TopicStatus, func(ev events.Event) bool {
			w := ev.Data.(Report).WPos
			return len(w) == 3 && w[0] == 0 && w[1] == 0
		}).Data.(Report)
		if rep.WPos[2] != rep.MPos[2]+10 {
			t.Fatalf("WPos after zeroing = %v, MPos %v", rep.WPos, rep.MPos)
		}

		// A value other than zero: the current Z is 2 mm above the work.
		o, err = r.m.ZeroAxes(ctx, ZeroSpec{Z: ptr(2)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := o.WCS["G54"][2], rep.MPos[2]-2; got != want {
			t.Fatalf("G54 Z after setting Z2 = %v, want %v", got, want)
		}
	})
}

func TestOffsetsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r := mustOpen(t, sim.Options{StartInAlarm: true})
		r.next(t, TopicConnected)
		// "$#" is answered in Alarm, G10 is not.
		if o, err := r.m.Offsets(ctx); err != nil || !o.Fresh {
			t.Fatalf("Offsets() in alarm = %+v, %v; want a fresh read", o, err)
		}
		if _, err := r.m.ZeroAxes(ctx, ZeroSpec{X: ptr(0)}); !errors.Is(err, grbl.ErrAlarm) {
			t.Fatalf("ZeroAxes in alarm = %v, want grbl.ErrAlarm", err)
		}
		if err := r.m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Idle")

		// A run holds the machine: zeroing is refused naming it, reading
		// gives the last values, marked not fresh.
		release, err := r.m.Acquire(ctx, "run 00A7")
		if err != nil {
			t.Fatal(err)
		}
		var be *BusyError
		if _, err := r.m.ZeroAxes(ctx, ZeroSpec{X: ptr(0)}); !errors.As(err, &be) || be.Owner != "run 00A7" {
			t.Fatalf("ZeroAxes during a run = %v, want a BusyError naming the run", err)
		}
		o, err := r.m.Offsets(ctx)
		if err != nil || o.Fresh || len(o.WCS) != 6 {
			t.Fatalf("Offsets() during a run = %+v, %v; want the cached values, not fresh", o, err)
		}
		release()

		// Moving: zeroing is refused naming the state; reading is cached.
		if err := r.m.Jog(ctx, JogSpec{X: ptr(50), Feed: 100, Incremental: true}); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Jog")
		if _, err := r.m.ZeroAxes(ctx, ZeroSpec{X: ptr(0)}); !errors.Is(err, grbl.ErrNotIdle) || !strings.Contains(err.Error(), "state Jog") {
			t.Fatalf("ZeroAxes while jogging = %v, want ErrNotIdle naming the state", err)
		}
		if o, err := r.m.Offsets(ctx); err != nil || o.Fresh {
			t.Fatalf("Offsets() while jogging = %+v, %v; want cached", o, err)
		}
		if _, err := r.m.ZeroAxes(ctx, ZeroSpec{WCS: "G60", X: ptr(0)}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("ZeroAxes G60 = %v, want ErrInvalid", err)
		}
	})
}

func TestOffsetsNotConnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sim.Options{})
		r.m.Dial = func(context.Context) (io.ReadWriteCloser, error) { return nil, errors.New("no such port") }
		if err := r.m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer r.m.Close()
		if _, err := r.m.Offsets(context.Background()); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Offsets() without a board = %v, want ErrNotConnected", err)
		}
		if _, err := r.m.ZeroAxes(context.Background(), ZeroSpec{X: ptr(0)}); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("ZeroAxes without a board = %v, want ErrNotConnected", err)
		}
	})
}
