package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// squareNoModes never sets G90, G94 or G21 and repeats its axis values, as
// much CAM output does: only a known distance mode lets the wire form drop
// the repeats.
const squareNoModes = "G0 Z0\nG0 X-10 Y-10\nG1 Z-1 F300\nG1 X-20 Y-10 Z-1\nG1 X-20 Y-20 Z-1\nG1 X-10 Y-20 Z-1\nG1 X-10 Y-10 Z-1\nG0 Z0\n"

// boardRun is what one run of a program did to the simulated board.
type boardRun struct {
	bytes int64      // bytes the board received during the run
	end   [3]float64 // machine position at the end
	gc    string     // $G after the run
	errs  map[int]int
}

// runOnBoard runs src on a fresh simulated board; before, when set, runs
// on the board first (e.g. to inject a fault).
func runOnBoard(t *testing.T, src string, from int, before func(*fixture)) boardRun {
	t.Helper()
	var out boardRun
	synctest.Test(t, func(t *testing.T) {
		f := mustService(t, sim.Options{}, relay.ModeNone)
		job := f.add(t, "square.nc", src)
		if before != nil {
			before(f)
		}
		start := f.rig.m.Stats().Bytes
		run := f.runToEnd(t, job, from)
		if run.State != jobs.StateCompleted {
			t.Fatalf("run = %+v", run)
		}
		st := f.rig.m.Stats()
		out.bytes, out.end, out.errs = st.Bytes-start, st.Commanded, st.Errors
		resp, err := f.rig.conn.Command(context.Background(), "$G")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.Lines {
			if md, ok := m.(grbl.Modal); ok {
				out.gc = strings.Join(md.Words, " ")
			}
		}
	})
	return out
}

// failGC makes the board answer the run's own `$G` (its second line: the
// preflight's `$G` comes first) with an error: the run falls back to the
// strict wire form.
func failGC(t *testing.T) func(*fixture) {
	return func(f *fixture) {
		if err := f.rig.m.Inject(sim.Fault{Kind: sim.FaultError, Line: 2, Code: 3}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunStartsFromBoardState: a run reads the board's `$G` and sends
// fewer bytes for a program that relies on the board's G90/G94/G21, to the
// same end as the strict wire form, which it falls back to when `$G`
// cannot be read.
func TestRunStartsFromBoardState(t *testing.T) {
	tests := []struct {
		name string
		from int
	}{
		{"from the start", 0},
		{"from line 4", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			board := runOnBoard(t, squareNoModes, tt.from, nil)
			strict := runOnBoard(t, squareNoModes, tt.from, failGC(t))
			if strict.errs[3] != 1 {
				t.Fatalf("strict run: board errors %v, want the one injected error:3 on $G", strict.errs)
			}
			if len(board.errs) != 0 {
				t.Fatalf("board-state run: board errors %v", board.errs)
			}
			if board.bytes >= strict.bytes {
				t.Errorf("board-state run sent %d bytes, strict run %d: want fewer", board.bytes, strict.bytes)
			}
			if board.end != strict.end || board.end != [3]float64{-10, -10, 0} {
				t.Errorf("end position %v (strict %v), want [-10 -10 0] in both", board.end, strict.end)
			}
			if board.gc != strict.gc || board.gc == "" {
				t.Errorf("$G after the run %q, strict %q: want equal", board.gc, strict.gc)
			}
			t.Logf("board state: %d bytes, strict: %d bytes", board.bytes, strict.bytes)
		})
	}
}

// TestReadBoardState: the states a run's wire form may start from, and
// the ones it must not.
func TestReadBoardState(t *testing.T) {
	tests := []struct {
		name    string
		setup   []string // lines sent to the board first
		probing bool
		want    string // the state's $G words; "" for errBoardState
	}{
		{"reset board", nil, false, "G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0"},
		{"modes left by a previous job", []string{"G20 G91 G55 G1 X0 F10"}, false, "G1 G55 G17 G20 G91 G94 M5 M9 T0 F254 S0"},
		{"spindle on", []string{"M3 S1000"}, false, ""},
		{"coolant on", []string{"M8"}, false, ""},
		{"arc mode without probing", []string{"G2 X0 Y0 I-1 J0 F100"}, false, "G2 G54 G17 G21 G90 G94 M5 M9 T0 F100 S0"},
		{"arc mode with probing", []string{"G2 X0 Y0 I-1 J0 F100"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := mustRig(t, sim.Options{})
				ctx := context.Background()
				for _, l := range tt.setup {
					if _, err := r.conn.Command(ctx, l); err != nil {
						t.Fatalf("%s: %v", l, err)
					}
				}
				b, err := readBoardState(ctx, r.conn, tt.probing)
				if tt.want == "" {
					if !errors.Is(err, errBoardState) {
						t.Fatalf("state %v, err %v: want errBoardState", b, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := b.String(); got != tt.want {
					t.Errorf("state %q, want %q", got, tt.want)
				}
			})
		})
	}
}

// A program that never sets its units runs in inches on a board left in
// G20: the preflight holds it against the travel as the board will read it,
// and refuses a move that is inside the travel in mm but 25.4 times as far
// in inches.
func TestPreflightReadsBoardUnits(t *testing.T) {
	const prog = "G90\nG0 X-10 Y-10\nG0 Z0\n" // 10 mm fits; 10 in = 254 mm does not
	for _, tc := range []struct {
		units string
		ok    bool
	}{{"G21", true}, {"G20", false}} {
		t.Run(tc.units, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := mustService(t, sim.Options{Profile: "3018pro", Settings: map[int]float64{22: 0}}, relay.ModeNone)
				job := f.add(t, "nounits.nc", prog)
				if _, err := f.rig.conn.Command(context.Background(), tc.units); err != nil {
					t.Fatal(err)
				}
				run, err := f.svc.StartJob(context.Background(), job.ID, 0)
				if tc.ok {
					if err != nil {
						t.Fatalf("start on a %s board: %v", tc.units, err)
					}
					if r, err := f.svc.Wait(context.Background(), run.ID); err != nil || r.State != jobs.StateCompleted {
						t.Fatalf("run = %+v, %v", r, err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), "travel") {
					t.Fatalf("start on a %s board: err = %v, want the travel refused", tc.units, err)
				}
			})
		})
	}
}
