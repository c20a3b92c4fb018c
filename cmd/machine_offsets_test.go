package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestMachineZeroAndOffsetsCommands(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	offsets := web.WorkOffsets{Active: "G54", Fresh: true, WCS: map[string][]float64{
		"G54": {-100, -50.5, -10}, "G55": {0, 0, 0}}, G92: []float64{0, 0, 0}, TLO: 0}
	svc := &webtest.OffsetService{T: t,
		OffsetsFn: func(context.Context) (web.WorkOffsets, error) { return offsets, nil },
		ZeroAxesFn: func(_ context.Context, z web.ZeroRequest) (web.WorkOffsets, error) {
			if z.WCS == "G56" {
				return web.WorkOffsets{}, fmt.Errorf("set work offset refused: the machine is in use by run 00A7: %w", jobs.ErrBusy)
			}
			mu.Lock()
			calls = append(calls, fmt.Sprintf("%s x=%s y=%s z=%s", z.WCS, f(z.X), f(z.Y), f(z.Z)))
			mu.Unlock()
			return offsets, nil
		},
	}
	data := startDaemon(t, &web.Server{Offsets: svc})
	tests := []struct {
		args    []string
		code    int
		out     string
		errPart string
		calls   []string
	}{
		{[]string{"machine", "zero", "x", "Y"}, 0, "", "G54 origin set: X-100.000 Y-50.500 Z-10.000", []string{" x=0 y=0 z=-"}},
		{[]string{"machine", "zero", "--all", "--wcs", "g55"}, 0, "", "G55 origin set", []string{"G55 x=0 y=0 z=0"}},
		{[]string{"machine", "zero", "z=2"}, 0, "", "", []string{" x=- y=- z=2"}},
		{[]string{"machine", "zero"}, 1, "", "name the axes", nil},
		{[]string{"machine", "zero", "--all", "x"}, 1, "", "not both", nil},
		{[]string{"machine", "zero", "a"}, 1, "", `axis "a": want x, y or z`, nil},
		{[]string{"machine", "zero", "x", "x=1"}, 1, "", "x given twice", nil},
		{[]string{"machine", "zero", "z=high"}, 1, "", `"high" is not a number`, nil},
		{[]string{"machine", "zero", "z=20000"}, 1, "", "axis z: 20000 is not a coordinate", nil},
		{[]string{"machine", "zero", "--wcs", "G53", "x"}, 1, "", `--wcs: "G53" is not a work coordinate system`, nil},
		{[]string{"machine", "zero", "--wcs", "G56", "x"}, 1, "", "in use by run 00A7", nil},
		{[]string{"machine", "offsets"}, 0, "G54 *  X-100.000 Y-50.500 Z-10.000\nG55    X0.000 Y0.000 Z0.000\nG92    X0.000 Y0.000 Z0.000\nTLO    0.000\n", "", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			mu.Lock()
			calls = nil
			mu.Unlock()
			code, out, stderr := runKerf(t, append(tt.args, "--data", data)...)
			if code != tt.code || out != tt.out || !strings.Contains(stderr, tt.errPart) {
				t.Errorf("code=%d out=%q stderr=%q; want %d %q %q", code, out, stderr, tt.code, tt.out, tt.errPart)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(calls, tt.calls) {
				t.Errorf("calls=%q, want %q", calls, tt.calls)
			}
		})
	}
	t.Run("offsets --json, stale", func(t *testing.T) {
		offsets.Fresh, offsets.ReadAt = false, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
		code, out, _ := runKerf(t, "machine", "offsets", "--json", "--data", data)
		var got web.WorkOffsets
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got.WCS["G54"][1] != -50.5 || got.Fresh {
			t.Errorf("code=%d offsets=%+v err=%v", code, got, err)
		}
		if code, _, stderr := runKerf(t, "machine", "offsets", "--data", data); code != 0 || !strings.Contains(stderr, "values as last read") {
			t.Errorf("stale offsets: code=%d stderr=%q, want a note that they were not read now", code, stderr)
		}
	})
}

// The offsets adapter over a real Machine on the simulator.
func TestOffsetServiceOnSim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stored := [6][3]float64{{-10, -20, -30}}
		board, err := sim.New(sim.Options{WorkOffsets: &stored})
		if err != nil {
			t.Fatal(err)
		}
		defer board.Close()
		m := &machine.Machine{Name: "sim", Logger: slog.New(slog.DiscardHandler),
			Dial: func(context.Context) (io.ReadWriteCloser, error) { return board.Connect() }}
		if err := m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s := newMachineService(m, nil, nil)
		ctx := context.Background()
		o, err := s.Offsets(ctx)
		if err != nil || !o.Fresh || o.Active != "G54" || !slices.Equal(o.WCS["G54"], []float64{-10, -20, -30}) {
			t.Fatalf("Offsets = %+v, %v", o, err)
		}
		zero := 0.0
		o, err = s.ZeroAxes(ctx, web.ZeroRequest{WCS: "G55", Z: &zero})
		mpos := m.Status().Report.MPos
		if err != nil || o.WCS["G55"][2] != mpos[2] || !slices.Equal(o.WCS["G54"], []float64{-10, -20, -30}) {
			t.Fatalf("ZeroAxes G55 Z = %+v, %v (MPos %v)", o, err, mpos)
		}
		release, err := m.Acquire(ctx, "run 00A7")
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		if _, err := s.ZeroAxes(ctx, web.ZeroRequest{X: &zero}); !errors.Is(err, jobs.ErrBusy) || !strings.Contains(err.Error(), "run 00A7") {
			t.Fatalf("ZeroAxes during a run = %v, want jobs.ErrBusy (409) naming the run", err)
		}
		if o, err := s.Offsets(ctx); err != nil || o.Fresh {
			t.Fatalf("Offsets during a run = %+v, %v; want the cached values", o, err)
		}
	})
}
