package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl/sim"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	clean := writeFile(t, dir, "clean.nc", "G21 G90\n(cut)\nM3 S1000\nG0 Z5\nG1 Z-1 F100\nG1 X10.000 Y0.000\nG0 Z5\nM5\nM30\n")
	bad := writeFile(t, dir, "bad.nc", "G21\nG81 X1 Y1 Z-1 R1 F100\n")
	settings := writeFile(t, dir, "settings.txt", "$130=5\n$131=5\n$132=5\n")
	relaySettings := writeFile(t, dir, "relay.txt", "$30=12000\n$31=0\n")
	wireDir := filepath.Join(dir, "wire")
	if err := os.Mkdir(wireDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		out    []string // substrings of stdout
		errOut []string // substrings of stderr
	}{
		{"clean", []string{"check", clean}, 0, []string{clean + ": ok: 9 lines, 0 errors", "wire form:"}, nil},
		{"error", []string{"check", bad}, 1, []string{bad + ":2:1: error: error:20 (Unsupported command): G81 canned cycle", "NOT streamable"}, nil},
		{"missing file", []string{"check", filepath.Join(dir, "nope.nc")}, 2, nil, []string{"open " + filepath.Join(dir, "nope.nc")}},
		{"unreadable wins over errors", []string{"check", bad, filepath.Join(dir, "nope.nc")}, 2, []string{"error:20"}, []string{"no such file"}},
		{"bad profile", []string{"check", "--profile", "shapeoko", clean}, 2, nil, []string{"unknown machine profile \"shapeoko\" (known: 3018pro, longmill30)"}},
		{"profile and settings", []string{"check", "--profile", "3018pro", "--settings", settings, clean}, 2, nil, []string{"mutually exclusive"}},
		{"settings travel", []string{"check", "--settings", settings, clean}, 1, []string{"spans 10.000 mm in X, more than the machine's 5 mm travel ($130)"}, nil},
		{"bad work offset", []string{"check", "--work-offset", "1,2", clean}, 2, nil, []string{"want x,y,z"}},
		{"soft limits (homing on: machine coordinates are real)", []string{"check", "--profile", "3018pro", "--work-offset", "-2,-100,-10", clean}, 1, []string{"beyond the travel"}, nil},
		{"relay: S1000 is $30 by default", []string{"check", "--relay", clean}, 0, []string{clean + ": ok: 9 lines, 0 errors"}, nil},
		{"relay: S below the machine's $30", []string{"check", "--relay", "--settings", relaySettings, clean}, 0,
			[]string{clean + ":3:4: warning: S1000 is below $30=12000: GRBL outputs the spindle as ~1 kHz PWM (duty 9 %)"}, nil},
		{"no args", []string{"check"}, 1, nil, []string{"requires at least 1 arg"}},
		{"wire into dir", []string{"check", "--wire", wireDir, clean, bad}, 1, nil, []string{bad + " has errors; no wire form written"}},
		{"wire file with several inputs", []string{"check", "--wire", filepath.Join(dir, "x.nc"), clean, clean}, 2, nil, []string{"must be an existing directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, errOut := TestStreams()
			code := Execute(context.Background(), tt.args, ios)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, s := range tt.out {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.errOut {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
		})
	}
	t.Run("wire file content", func(t *testing.T) {
		got, err := os.ReadFile(filepath.Join(wireDir, "clean.nc"))
		if err != nil {
			t.Fatal(err)
		}
		want := "G21G90\nM3S1000\nG0Z5\nG1Z-1F100\nX10Y0\nG0Z5\nM5\nM30\n"
		if string(got) != want {
			t.Errorf("wire file %q, want %q", got, want)
		}
	})
}

func TestCheckStdin(t *testing.T) {
	ios, in, out, _ := TestStreams()
	in.WriteString("G21\nG0 X1 A2\n")
	if code := Execute(context.Background(), []string{"check", "-"}, ios); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, out)
	}
	if !strings.Contains(out.String(), "<stdin>:2:7: error: error:20 (Unsupported command): A-axis word") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestCheckJSON(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a.nc", "G21\nT1 M6\nM3 S9000\nG1 X1 F100\n")
	ios, _, out, _ := TestStreams()
	if code := Execute(context.Background(), []string{"check", "--json", f}, ios); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var reps []gcode.Report
	if err := json.Unmarshal(out.Bytes(), &reps); err != nil {
		t.Fatalf("output is not a JSON array of reports: %v\n%s", err, out)
	}
	if len(reps) != 1 || reps[0].File != f || !reps[0].Streamable || len(reps[0].ToolChanges) != 1 || reps[0].ToolChanges[0].Tool != 1 {
		t.Errorf("reports %+v", reps)
	}
}

// TestWireFormRunsOnSimulator is the end-to-end proof for `kerf check`: every
// corpus file that checks clean against a machine profile is compiled to
// its wire form and streamed (character counting, 128-byte window) into the
// simulated GRBL board. The board must answer ok to every line, and kerf's
// time estimate must be within 5 % of the board's motion time (dwells
// excluded; M0 lines are left out of the stream so that it never pauses).
func TestWireFormRunsOnSimulator(t *testing.T) {
	files, err := filepath.Glob("../testdata/corpus/open/*")
	if err != nil {
		t.Fatal(err)
	}
	streamed := 0
	for _, profile := range []string{"longmill30", "3018pro"} {
		settings, err := gcode.ProfileSettings(profile)
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, ".tsv") {
				continue
			}
			rep, err := checkFile(file, gcode.Options{Settings: settings})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Streamable || rep.WireLines > 50000 {
				continue
			}
			streamed++
			for _, reset := range []bool{false, true} {
				name := profile + "/" + filepath.Base(file)
				if reset {
					name += "/assume-reset"
				}
				t.Run(name, func(t *testing.T) {
					lines := compileWire(t, file, gcode.Options{Settings: settings, AssumeReset: reset})
					synctest.Test(t, func(t *testing.T) {
						m, err := sim.New(sim.Options{Profile: profile, LineProcessing: -1, Baud: 2_000_000})
						if err != nil {
							t.Fatal(err)
						}
						defer m.Close()
						rw, err := m.Connect()
						if err != nil {
							t.Fatal(err)
						}
						defer rw.Close()
						// $X first: a board with homing enabled starts in alarm.
						errs := streamCharCounted(t, rw, append(append([]string{"$X"}, lines...), "G4P0"))
						if len(errs) != 0 {
							t.Fatalf("the board rejected wire lines: %v", errs)
						}
						st := m.Stats()
						motion := st.MotionTime.Seconds()
						est := rep.EstimatedSeconds - rep.DwellSeconds
						t.Logf("%d wire lines: board motion %.2f s, kerf estimate %.2f s", len(lines), motion, est)
						if motion > 0 && math.Abs(est-motion) > 0.05*motion {
							t.Errorf("estimate %.2f s is more than 5%% from the board's %.2f s", est, motion)
						}
					})
				})
			}
		}
	}
	if streamed < 5 {
		t.Errorf("only %d corpus files streamable; the proof needs more", streamed)
	}
}

func compileWire(t *testing.T, file string, opts gcode.Options) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := gcode.NewCompiler(f, file, opts)
	var lines []string
	for {
		wl, err := c.Next()
		if errors.Is(err, io.EOF) {
			return lines
		}
		if err != nil {
			t.Fatal(err)
		}
		if wl.Text != "" && !wl.Actions.Has(gcode.ActionPause) {
			lines = append(lines, wl.Text)
		}
	}
}

// streamCharCounted sends lines keeping at most 128 unacknowledged bytes in
// GRBL's RX buffer and returns the error responses.
func streamCharCounted(t *testing.T, rw io.ReadWriter, lines []string) []string {
	t.Helper()
	answers := make(chan string, 64)
	go func() {
		defer close(answers)
		sc := bufio.NewScanner(rw)
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			if l == "ok" || strings.HasPrefix(l, "error:") || strings.HasPrefix(l, "Grbl ") {
				answers <- l
			}
		}
	}()
	if b := <-answers; !strings.HasPrefix(b, "Grbl ") {
		t.Fatalf("no banner, got %q", b)
	}
	var errs []string
	var inflight []int
	used := 0
	take := func() {
		a, ok := <-answers
		if !ok {
			t.Fatal("board closed the link")
		}
		if a != "ok" {
			errs = append(errs, a)
		}
		used -= inflight[0]
		inflight = inflight[1:]
	}
	for _, l := range lines {
		for used+len(l)+1 > 128 {
			take()
		}
		if _, err := io.WriteString(rw, l+"\n"); err != nil {
			t.Fatal(err)
		}
		inflight = append(inflight, len(l)+1)
		used += len(l) + 1
	}
	for len(inflight) > 0 {
		take()
	}
	return errs
}
