package gcode

import (
	"math"
	"strings"
	"testing"
)

// runLines executes lines from a fresh state and returns the interpreter and
// the error of the last line.
func runLines(t *testing.T, lines ...string) (*interp, *gerr) {
	t.Helper()
	in := &interp{st: newState(nil, [3]float64{})}
	var l lexed
	var ws words
	var g *gerr
	for i, s := range lines {
		l.lex([]byte(s))
		ws.parse(l.code[:l.n], l.col[:l.n])
		g = in.exec(&ws, false)
		if g != nil && i < len(lines)-1 {
			t.Fatalf("setup line %q: error:%d %s", s, g.code, g.msg)
		}
	}
	return in, g
}

func TestGrblErrors(t *testing.T) {
	tests := []struct {
		name  string
		lines []string // the last line is checked; earlier ones set up state
		code  int
		col   int
		msg   string // substring of the message
	}{
		{"canned cycle", []string{"G81 X1 Y1 Z-1 R1 F100"}, 20, 1, "canned cycle"},
		{"cutter comp", []string{"G41 D1"}, 20, 1, "cutter radius compensation"},
		{"G43 H", []string{"G43 H1"}, 20, 1, "G43.1"},
		{"G64", []string{"G64 P0.01"}, 20, 1, "G64"},
		{"o-word", []string{"o100 sub"}, 20, 1, "O word"},
		{"parameter", []string{"#1 = 5"}, 1, 1, "'#' parameters"},
		{"expression", []string{"G0 X[1+2]"}, 2, 5, "X needs a number"},
		{"A axis", []string{"G0 X1 A5"}, 20, 7, "A-axis"},
		{"E word", []string{"G1 X1 E5 F100"}, 20, 7, "extruder"},
		{"two axis commands", []string{"G0 X1 G1 Y1"}, 24, 7, "both use the axis words"},
		{"G0 G1", []string{"G0 G1 X1"}, 24, 4, "both use the axis words"},
		{"modal group", []string{"G17 G18"}, 21, 5, "plane group"},
		{"repeated word", []string{"G0 X1 X2"}, 25, 7, "X appears twice"},
		{"no feed", []string{"G1 X1"}, 22, 1, "no F has been set"},
		{"dwell without P", []string{"G4"}, 28, 1, "P value"},
		{"G59.1", []string{"G59.1"}, 23, 1, "no decimal part"},
		{"G53 with arc", []string{"F100", "G53 G2 X1 Y1 I1"}, 30, 1, "G53"},
		{"axis words under G80", []string{"G80 X1"}, 31, 1, "G80"},
		{"arc without plane axis", []string{"G17 G2 Z1 F100"}, 32, 1, "XY (G17) plane"},
		{"R arc to itself", []string{"G2 X0 Y0 R5 F100"}, 33, 10, "ends where it starts"},
		{"R helix without plane travel", []string{"Z1 F1 G2 X0 R0"}, 33, 13, "only the helix axis moves"},
		{"R too small", []string{"G2 X10 Y0 R2 F100"}, 34, 11, "radius R is smaller"},
		{"arc without offsets", []string{"G2 X10 Y0 F100"}, 35, 1, "I/J/K offset"},
		{"arc off circle", []string{"G2 X10 Y0 I3 F100"}, 33, 1, "not on the circle"},
		{"G10 without axes", []string{"G10 L2 P1"}, 26, 1, "axis words"},
		{"G10 bad L", []string{"G10 L3 P1 X0"}, 20, 5, "L3"},
		{"G10 P7", []string{"G10 L2 P7 X0"}, 29, 8, "P0..P6"},
		{"G10 L2 R", []string{"G10 L2 P1 R1 X0"}, 20, 11, "rotation"},
		{"tool over 255", []string{"T300"}, 38, 1, "over 255"},
		{"negative feed", []string{"F-1"}, 4, 1, "negative"},
		{"negative S", []string{"S-5"}, 4, 1, "negative"},
		{"line number", []string{"N10000001 G0 X1"}, 27, 1, "10000000"},
		{"G43.1 on X", []string{"G43.1 X1"}, 37, 1, "Z word"},
		{"unused I", []string{"G0 X1 I1"}, 36, 7, "I word"},
		{"M7 not built", []string{"M7"}, 20, 1, "ENABLE_M7"},
		{"M6", []string{"M6"}, 20, 1, "tool change"},
		{"printer M104", []string{"M104 S200"}, 20, 1, "3D-printer"},
		{"two points", []string{"G1 X1.2.3 F100"}, 1, 8, "two points"},
		{"double minus", []string{"G0 X--1"}, 2, 5, "X needs a number, found '-'"},
		{"letter without number", []string{"G1X"}, 2, 4, "found end of line"},
		{"percent inside", []string{"G0 X1 %"}, 1, 7, "'%'"},
		{"G28.2", []string{"G28.2"}, 20, 1, "G28.2"},
		{"G38.1", []string{"G38.1 Z-1 F10"}, 20, 1, "G38.1"},
		{"G90.1", []string{"G90.1"}, 20, 1, "G91.1"},
		{"G61.1", []string{"G61.1"}, 20, 1, "G61.1"},
		{"probe to itself", []string{"G38.2 Z0 F10"}, 33, 1, "current position"},
		{"error order: earlier word first", []string{"G41 X--1"}, 20, 1, "cutter"},
		{"inverse time needs F", []string{"G93 G1 X1 F10", "G1 X2"}, 22, 1, "G93"},
		{"lower case", []string{"g1 x1"}, 22, 1, "no F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, g := runLines(t, tt.lines...)
			if g == nil {
				t.Fatalf("%q accepted, want error:%d", tt.lines[len(tt.lines)-1], tt.code)
			}
			if g.code != tt.code || g.col != tt.col {
				t.Errorf("error:%d at col %d (%s), want error:%d at col %d", g.code, g.col, g.msg, tt.code, tt.col)
			}
			if !strings.Contains(g.msg, tt.msg) {
				t.Errorf("message %q does not mention %q", g.msg, tt.msg)
			}
		})
	}
}

func TestAccepted(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		check func(t *testing.T, in *interp)
	}{
		{"spaces inside numbers", []string{"G0 X 1 . 5"}, func(t *testing.T, in *interp) {
			if in.st.pos[0] != 1.5 {
				t.Errorf("x=%v, want 1.5", in.st.pos[0])
			}
		}},
		{"inches", []string{"G20 G0 X1"}, func(t *testing.T, in *interp) {
			if math.Abs(in.st.pos[0]-25.4) > 1e-9 {
				t.Errorf("x=%v, want 25.4", in.st.pos[0])
			}
		}},
		{"incremental", []string{"G91 G0 X1", "X1", "G90 X5"}, func(t *testing.T, in *interp) {
			if in.st.pos[0] != 5 || in.st.incr {
				t.Errorf("x=%v incr=%v, want 5 false", in.st.pos[0], in.st.incr)
			}
		}},
		{"G92 offset", []string{"G0 X10", "G92 X0", "G0 X5"}, func(t *testing.T, in *interp) {
			if in.st.g92[0] != 10 || in.st.pos[0] != 15 {
				t.Errorf("g92=%v x=%v, want 10 15", in.st.g92[0], in.st.pos[0])
			}
		}},
		{"G92.1 clears", []string{"G0 X10", "G92 X0", "G92.1", "G0 X5"}, func(t *testing.T, in *interp) {
			if in.st.g92 != [3]float64{} || in.st.pos[0] != 5 {
				t.Errorf("g92=%v x=%v", in.st.g92, in.st.pos[0])
			}
		}},
		{"G10 L20", []string{"G0 X10 Y20 Z-5", "G10 L20 P1 X0 Y0 Z0"}, func(t *testing.T, in *interp) {
			if in.st.stored[0] != [3]float64{10, 20, -5} || in.st.wcs != in.st.stored[0] || !in.eff.sendAlone {
				t.Errorf("stored G54=%v active=%v sendAlone=%v", in.st.stored[0], in.st.wcs, in.eff.sendAlone)
			}
		}},
		{"G10 L2 other system", []string{"G10 L2 P2 X1 Y2 Z3", "G55 G0 X0 Y0 Z0"}, func(t *testing.T, in *interp) {
			if in.st.pos != [3]float64{1, 2, 3} {
				t.Errorf("pos=%v, want [1 2 3]", in.st.pos)
			}
		}},
		// G28 with axis words: go through them, then home only those axes.
		{"G28 via", []string{"G0 X5 Y5 Z5", "G28.1", "G0 X0 Y0 Z0", "G28 Z2"}, func(t *testing.T, in *interp) {
			if in.st.pos != [3]float64{0, 0, 5} || !in.eff.hasVia || in.eff.via != [3]float64{0, 0, 2} {
				t.Errorf("pos=%v via=%v", in.st.pos, in.eff.via)
			}
		}},
		{"G53 machine move", []string{"G10 L2 P1 X100", "G53 G0 X1", "G0 X1"}, func(t *testing.T, in *interp) {
			if in.st.pos[0] != 101 {
				t.Errorf("x=%v, want 101", in.st.pos[0])
			}
		}},
		{"G43.1 offset", []string{"G43.1 Z2", "G0 Z0"}, func(t *testing.T, in *interp) {
			if in.st.pos[2] != 2 || !in.st.tloOn {
				t.Errorf("z=%v tlo=%v", in.st.pos[2], in.st.tloOn)
			}
		}},
		{"R arc centre", []string{"F100", "G2 X10 Y0 R5"}, func(t *testing.T, in *interp) {
			if in.eff.move != moveArc || in.eff.center != [3]float64{5, 0, 0} || in.eff.radius != 5 || !in.eff.cw {
				t.Errorf("eff=%+v", in.eff)
			}
		}},
		{"negative R takes the long way", []string{"F100", "G2 X10 Y10 R-10"}, func(t *testing.T, in *interp) {
			// centre on the far side of the chord from the short arc's centre (10,0)
			if math.Abs(in.eff.center[0]-0) > 1e-9 || math.Abs(in.eff.center[1]-10) > 1e-9 {
				t.Errorf("centre=%v, want [0 10 0]", in.eff.center)
			}
		}},
		{"helical arc", []string{"F100", "G17 G3 X10 Y0 Z-2 I5 J0"}, func(t *testing.T, in *interp) {
			if in.st.pos != [3]float64{10, 0, -2} || in.eff.move != moveArc || in.eff.cw {
				t.Errorf("pos=%v eff=%+v", in.st.pos, in.eff)
			}
		}},
		{"XZ plane arc", []string{"F100", "G18 G2 X10 Z0 I5"}, func(t *testing.T, in *interp) {
			if in.eff.axis0 != 2 || in.eff.axis1 != 0 || in.eff.center[0] != 5 {
				t.Errorf("eff=%+v", in.eff)
			}
		}},
		{"program end resets", []string{"G91 G18 M3 S100 M8", "M30"}, func(t *testing.T, in *interp) {
			st := in.st
			if st.incr || st.plane != 0 || st.spindle != 0 || st.coolant != 0 || st.motion != motionLinear || st.speed != 100 {
				t.Errorf("state after M30: %+v", st)
			}
		}},
		{"G93 inverse time", []string{"G93 G1 X10 F2"}, func(t *testing.T, in *interp) {
			if !in.st.inverse || in.st.feed != 2 {
				t.Errorf("inverse=%v feed=%v", in.st.inverse, in.st.feed)
			}
		}},
		{"tool number", []string{"T5"}, func(t *testing.T, in *interp) {
			if in.st.tool != 5 {
				t.Errorf("tool=%d, want 5", in.st.tool)
			}
		}},
		{"feed in inches", []string{"G20 G1 X1 F10"}, func(t *testing.T, in *interp) {
			if math.Abs(in.st.feed-254) > 1e-4 {
				t.Errorf("feed=%v, want 254 mm/min", in.st.feed)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, g := runLines(t, tt.lines...)
			if g != nil {
				t.Fatalf("error:%d at col %d: %s", g.code, g.col, g.msg)
			}
			tt.check(t, in)
		})
	}
}
