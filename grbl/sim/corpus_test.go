package sim

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
)

const corpusDir = "../../testdata/corpus/open"

// senderLines reads a G-code file the way a sender prepares it: line
// endings normalised (a bare \r would be a second line to GRBL), trailing
// space trimmed, `%` tape markers dropped.
func senderLines(tb testing.TB, name string) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpusDir, name))
	if err != nil {
		tb.Fatalf("corpus: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), " \t\r")
		if strings.TrimSpace(l) == "%" {
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("corpus %s: %v", name, err)
	}
	return out
}

func TestCorpusCheckMode(t *testing.T) {
	tests := []struct {
		file       string
		wantErrors map[string]int // error:N -> count; nil means none
	}{
		// N624 "G3 X21 Y-20 I20 J21" from X20 Y-21: the radii differ by 1.4 mm,
		// so real GRBL answers error:33 on each of its five passes.
		{"shapeoko_Circle_Diamond_Square_Calibration.gcode", map[string]int{"error:33": 5}},
		{"cambam_Gates_combined_R12.nc", nil},
		{"sketchucam_arc_rword_test.gcode", nil},
		{"ugs_no_spaces.gcode", nil},
		{"ugs_designer_ugs.gcode", nil},
		// "G1 Z-5" with no F ever set: error:22, three times.
		{"grbl-plotter_gcode_absolute_and_relative.nc", map[string]int{"error:22": 3}},
		{"gcodetools_longmill-line_M0.nc", nil},
		{"openvoronoi_vcarve_inch.ngc", map[string]int{"error:20": 1}},                // G64
		{"pcb2gcode_multivibrator_drill_inch_G81.ngc", map[string]int{"error:20": 2}}, // two G81 blocks; the X/Y lines between become G0 moves
		{"gcodetools_longmill-line_invalid_gcode.nc", map[string]int{"error:20": 0}},  // A/B/C words: count checked > 0 below
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			lines := senderLines(t, tc.file)
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{})
				h := mustConnect(t, m)
				h.send("$C\n")
				h.expect("[MSG:Enabled]", "ok")
				oks, errs := charCount(h, lines, 128)
				counts := map[string]int{}
				for _, e := range errs {
					counts[e]++
				}
				st := m.Stats()
				if st.Overflows != 0 {
					t.Fatalf("overflows %d", st.Overflows)
				}
				if oks+len(errs) != len(lines) {
					t.Fatalf("%d answers for %d lines", oks+len(errs), len(lines))
				}
				switch {
				case tc.wantErrors == nil && len(errs) > 0:
					t.Fatalf("errors %v in a file GRBL accepts", counts)
				case tc.wantErrors != nil:
					for code := range counts {
						if _, ok := tc.wantErrors[code]; !ok {
							t.Fatalf("unexpected %s (%v)", code, counts)
						}
					}
					for code, n := range tc.wantErrors {
						if counts[code] == 0 || (n > 0 && counts[code] != n) {
							t.Fatalf("%s count %d, want %d (0: any) (all: %v)", code, counts[code], n, counts)
						}
					}
				}
			})
		})
	}
}

func TestCorpusStreamsWithMotion(t *testing.T) {
	lines := senderLines(t, "ugs_designer_ugs.gcode")
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Profile: "longmill30"})
		h := mustConnect(t, m)
		oks, errs := charCount(h, lines, 128)
		h.cmd("G4 P0")
		st := m.Stats()
		if len(errs) != 0 || st.Overflows != 0 || oks != len(lines) {
			t.Fatalf("oks=%d/%d errors=%v overflows=%d", oks, len(lines), errs, st.Overflows)
		}
		if st.MotionTime <= 0 || st.Blocks == 0 {
			t.Fatalf("no motion: %+v", st)
		}
		t.Logf("%d lines, %d blocks, motion %v, starved %v", st.Lines, st.Blocks, st.MotionTime, st.Starved)
	})
}
