package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/gcode"
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
		{"soft limits", []string{"check", "--work-offset", "-2,-100,-10", clean}, 1, []string{"beyond the travel"}, nil},
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
