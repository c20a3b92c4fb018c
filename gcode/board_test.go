package gcode

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseBoardState(t *testing.T) {
	tests := []struct {
		name, gc string
		want     string // String() of the result, or the error's text
		err      bool
	}{
		{"reset", "G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0", "G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0", false},
		{"bracketed", "[GC:G1 G55 G18 G20 G91 G93 M3 M8 T2 F1200 S12000]", "G1 G55 G18 G20 G91 G93 M3 M8 T2 F1200 S12000", false},
		{"probe mode and both coolants", "G38.3 G59 G19 G21 G90 G94 M4 M7 M8 T0 F0 S0", "G38.3 G59 G19 G21 G90 G94 M4 M7 M8 T0 F0 S0", false},
		{"program flow ignored", "G80 G54 G17 G21 G90 G94 M0 M5 M9 T0 F0 S0", "G80 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0", false},
		{"unknown word", "G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0 G43", `$G word 12 "G43": not a GRBL 1.1 parser-state word`, true},
		{"two units", "G0 G54 G17 G21 G20 G90 G94 M5 M9 T0 F0 S0", `$G word 5 "G20": its modal group is already given`, true},
		{"missing units", "G0 G54 G17 G90 G94 M5 M9 T0 F0 S0", "no units (G20/G21) word", true},
		{"bad feed", "G0 G54 G17 G21 G90 G94 M5 M9 T0 F1x S0", `$G word 10 "F1x": not a number >= 0`, true},
		{"bad tool", "G0 G54 G17 G21 G90 G94 M5 M9 T-1 F0 S0", `$G word 9 "T-1": tool is not a whole number >= 0`, true},
		{"empty", "", "no motion", true},
		{"short word", "G", `$G word 1 "G": too short`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBoardState(tt.gc)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if b.known&(kFeed|kSpeed) != 0 || b.known&kTLO != 0 {
				t.Errorf("known %b: F and S (printed rounded) and G43.1 (not reported) must not be known", b.known)
			}
		})
	}
}

// TestWireFormBoardState: a program that never sets the board's modes loses
// the words that repeat the board's state, and only those.
func TestWireFormBoardState(t *testing.T) {
	src := "G0 Z0\nG1 X-10 Y-10 Z-1 F300\nG1 X-20 Y-10 Z-1\nG90 G21 G17 G54 M5 M9 T0 F300\nG1 X-20 Y-20 Z-1 S1000\n"
	g91, err := ParseBoardState("G0 G54 G17 G21 G91 G94 M5 M9 T0 F300 S1000")
	if err != nil {
		t.Fatal(err)
	}
	reset, err := ParseBoardState("G0 G54 G17 G21 G90 G94 M5 M9 T0 F300 S1000")
	if err != nil {
		t.Fatal(err)
	}
	resetState := ResetState()
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		// Units unknown: F300 may have been inch/min, and no move anchored
		// a position.
		{"strict", Options{}, []string{"G0Z0", "G1X-10Y-10Z-1F300", "X-20Y-10Z-1", "G90G21G17G54M5M9T0F300", "X-20Y-20Z-1S1000"}},
		// F and S as $G prints them are not exact: F300 and S1000 stay.
		{"board in G90", Options{Board: &reset}, []string{"Z0", "G1X-10Y-10Z-1F300", "X-20", "Y-20S1000"}},
		// The first moves are increments: nothing is anchored.
		{"board in G91", Options{Board: &g91}, []string{"Z0", "G1X-10Y-10Z-1F300", "X-20Y-10Z-1", "G90", "X-20Y-20Z-1S1000"}},
		{"AssumeReset", Options{AssumeReset: true}, []string{"Z0", "G1X-10Y-10Z-1F300", "X-20", "Y-20S1000"}},
		{"ResetState", Options{Board: &resetState}, []string{"Z0", "G1X-10Y-10Z-1F300", "X-20", "Y-20S1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compileAll(t, src, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, wl := range got {
				texts = append(texts, wl.Text)
			}
			if !reflect.DeepEqual(texts, tt.want) {
				t.Errorf("wire %q, want %q", texts, tt.want)
			}
		})
	}
}

// TestBoardStateAddsNothing: a board state changes the wire form, never the
// diagnostics or the events of the report.
func TestBoardStateAddsNothing(t *testing.T) {
	src := "T1 M6\nM3 S1000\nG1 X-10 F300\nM8\nM9\nM5\nM30\n"
	b, err := ParseBoardState("G1 G54 G17 G21 G90 G94 M5 M9 T1 F300 S1000")
	if err != nil {
		t.Fatal(err)
	}
	strict, err := Check(strings.NewReader(src), "p.nc", Options{})
	if err != nil {
		t.Fatal(err)
	}
	board, err := Check(strings.NewReader(src), "p.nc", Options{Board: &b})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"diagnostics", board.Diagnostics, strict.Diagnostics},
		{"spindle events", board.SpindleEvents, strict.SpindleEvents},
		{"tool changes", board.ToolChanges, strict.ToolChanges},
		{"tools", board.Tools, strict.Tools},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s from the board state %v, strict %v", c.name, c.got, c.want)
		}
	}
}
