package gcode

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// repeatReader yields head, then body n times, without holding it all.
type repeatReader struct {
	body []byte
	n    int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := copy(p, r.body[r.off:])
	r.off += k
	if r.off == len(r.body) {
		r.off = 0
		r.n--
	}
	return k, nil
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name   string
		in     io.Reader
		line   int
		col    int
		sev    Severity
		grbl   int
		msg    string
		errors int
	}{
		{"binary", bytes.NewReader([]byte("\x7fELF\x02\x01\x01\x00\x00\x00G0 X1\n")), 1, 8, Error, 0, "binary data (NUL byte)", 1},
		{"empty", strings.NewReader(""), 0, 0, Warning, 0, "empty file", 0},
		{"1 MB line", io.MultiReader(strings.NewReader("G0 X1\n"), bytes.NewReader(bytes.Repeat([]byte("G"), 1<<20)), strings.NewReader("\nG0 X2\n")),
			2, MaxLineBytes + 1, Error, 11, "longer than 262144 bytes", 1},
		{"invalid UTF-8 in code", strings.NewReader("G0 X1\xff\xfe\n"), 1, 6, Error, 0, "non-ASCII byte 0xFF", 1},
		{"invalid UTF-8 in comment is fine", strings.NewReader("(\xff\xfe) G0 X1\n"), 0, 0, Warning, 0, "", 0},
		{"X1.2.3", strings.NewReader("G0 X1.2.3\n"), 1, 8, Error, 1, "error:1 (Expected command letter)", 1},
		{"X--1", strings.NewReader("G0 X--1\n"), 1, 5, Error, 2, "error:2 (Bad number format): X needs a number, found '-'", 1},
		{"G1X", strings.NewReader("G1X\n"), 1, 4, Error, 2, "X needs a number, found end of line", 1},
		{"unterminated comment", strings.NewReader("G0 X1 (never closed\n"), 1, 7, Warning, 0, "comment '(' is not closed", 0},
		{"real-time byte", strings.NewReader("G0 X1 ~\n"), 1, 7, Error, 0, "real-time command", 1},
		{"slash inside code", strings.NewReader("G0 X1/2\n"), 1, 6, Error, 0, "'/' inside code", 1},
		{"checksum", strings.NewReader("N8 G1 X3.0 Y3.0 F10*30\n"), 1, 20, Error, 0, "checksum mismatch", 1},
		{"overflow after filter", strings.NewReader("G1 G4 P1.5 G18 G91 G20 G55 G93 X-1234.5678 Y-1234.5678 Z-1234.5678 F1234.5678 S1234.5678 T255 M3 M8\n"), 1, 1, Error, 11, "even the shortest form is 84 characters", 1},
		{"number out of range", strings.NewReader("G0 X1" + strings.Repeat("0", 60) + "\n"), 1, 4, Error, 0, "out of range", 1},
		{"100 MB", &repeatReader{body: []byte("G1 X1 F100 (" + strings.Repeat("x", 100<<10-18) + ")\n"), n: 1000}, 0, 0, Warning, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rep, err := Check(tt.in, "in.nc", Options{})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Errors != tt.errors {
				t.Errorf("errors=%d, want %d: %v", rep.Errors, tt.errors, rep.Diagnostics)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("allocated %d bytes: memory is not bounded", alloc)
			}
			if tt.msg == "" {
				for _, d := range rep.Diagnostics {
					if d.Severity == Error {
						t.Errorf("unexpected %v", d)
					}
				}
				return
			}
			for _, d := range rep.Diagnostics {
				if strings.Contains(d.Message, tt.msg) {
					if d.Line != tt.line || d.Col != tt.col || d.Severity != tt.sev || d.GrblError != tt.grbl {
						t.Errorf("diagnostic %v (grbl %d), want %d:%d %v grbl %d", d, d.GrblError, tt.line, tt.col, tt.sev, tt.grbl)
					}
					return
				}
			}
			t.Errorf("no diagnostic mentions %q: %v", tt.msg, rep.Diagnostics)
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		{"M3 without S", "G21\nM3\n", 2, "spindle started with S0"},
		{"rapid plunge", "G21\nG0 Z5\nG0 Z-1\n", 3, "rapid (G0) plunge to Z-1.000"},
		{"units never set", "G0 X1\n", 1, "motion before any G20/G21"},
		{"3D printer", "G21\nM104 S200\n", 2, "3D-printer file"},
		{"code after end", "G21\nM30\nG0 X1\n", 3, "code after program end (line 2)"},
		{"block delete", "G21\n/G0 X1\n", 2, "block delete"},
		{"long line", "G21 G1 F100 X1.0000000000000000000000000000000000000000000000000000000000000000000000000000\n", 1, "sent as is, GRBL answers error:11"},
		{"$C", "$C\n", 1, "check mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Check(strings.NewReader(tt.src), "w.nc", Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range rep.Diagnostics {
				if d.Severity == Warning && strings.Contains(d.Message, tt.msg) {
					if d.Line != tt.line {
						t.Errorf("%v: line %d, want %d", d, d.Line, tt.line)
					}
					return
				}
			}
			t.Errorf("no warning %q in %v", tt.msg, rep.Diagnostics)
		})
	}
}

func TestDollarLines(t *testing.T) {
	homing := DefaultSettings()
	homing[SetHomingEnable] = 1
	tests := []struct {
		name     string
		src      string
		settings Settings
		grbl     int
	}{
		{"$H without homing", "$H\n", nil, 5},
		{"$H with homing", "$H\n", homing, 0},
		{"unknown", "$Q\n", nil, 3},
		{"negative setting", "$110=-5\n", nil, 4},
		{"jog", "$J=G91 X10 F500\n", nil, 0},
		{"jog without feed", "$J=G91 X10\n", nil, 22},
		{"jog with M3", "$J=G91 X10 F100 M3\n", nil, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Check(strings.NewReader(tt.src), "d.nc", Options{Settings: tt.settings})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for _, d := range rep.Diagnostics {
				if d.Severity == Error {
					got = d.GrblError
				}
			}
			if got != tt.grbl {
				t.Errorf("grbl error %d, want %d (%v)", got, tt.grbl, rep.Diagnostics)
			}
			if len(rep.DollarLines) != 1 || rep.DollarLines[0] != 1 {
				t.Errorf("DollarLines=%v, want [1]", rep.DollarLines)
			}
		})
	}
}

func TestAnalysis(t *testing.T) {
	t.Run("arc extents", func(t *testing.T) {
		// Full circle of radius 5 around (5,0): X 0..10, Y -5..5.
		rep, err := Check(strings.NewReader("G21 G90\nG1 X0 Y0 F100\nG2 X0 Y0 I5 J0\n"), "a.nc", Options{})
		if err != nil {
			t.Fatal(err)
		}
		b := rep.Bounds.Work
		want := Box{Min: [3]float64{0, -5, 0}, Max: [3]float64{10, 5, 0}}
		for i := 0; i < 3; i++ {
			if math.Abs(b.Min[i]-want.Min[i]) > 1e-9 || math.Abs(b.Max[i]-want.Max[i]) > 1e-9 {
				t.Fatalf("bounds %v..%v, want %v..%v", b.Min, b.Max, want.Min, want.Max)
			}
		}
	})
	t.Run("machine bounds and soft limits", func(t *testing.T) {
		homing := DefaultSettings()
		homing[SetHomingEnable] = 1
		opts := Options{Settings: homing, Offsets: &Offsets{WCS: [6][3]float64{{-150, -100, -10}}}}
		rep, err := Check(strings.NewReader("G21\nG0 X0 Y0 Z5\nG0 X160\n"), "m.nc", opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Bounds.Machine.Max[0] != 10 || rep.Bounds.Work.Max[0] != 160 {
			t.Errorf("max X machine=%v work=%v, want 10 and 160", rep.Bounds.Machine.Max[0], rep.Bounds.Work.Max[0])
		}
		if rep.Streamable || !strings.Contains(rep.Diagnostics[0].Message, "beyond the travel") || rep.Diagnostics[0].Line != 3 {
			t.Errorf("diagnostics=%v, want a travel error on line 3", rep.Diagnostics)
		}
	})
	t.Run("no homing: machine zero is arbitrary, only the span counts", func(t *testing.T) {
		opts := Options{Offsets: &Offsets{WCS: [6][3]float64{{-150, -100, -10}}}} // generic settings: $22=0
		rep, err := Check(strings.NewReader("G21\nG0 X0 Y0 Z5\nG0 X160\n"), "m.nc", opts)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Streamable || rep.Errors != 0 {
			t.Errorf("diagnostics=%v, want none: without homing the machine frame is the power-on position", rep.Diagnostics)
		}
	})
	t.Run("span wider than travel", func(t *testing.T) {
		s, err := ProfileSettings("3018pro")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Check(strings.NewReader("G21\nG0 X0\nG0 X400\n"), "s.nc", Options{Settings: s})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Errors != 1 || !strings.Contains(rep.Diagnostics[0].Message, "spans 400.000 mm in X") {
			t.Errorf("diagnostics=%v", rep.Diagnostics)
		}
	})
	t.Run("time of one long move", func(t *testing.T) {
		// 100 mm at F600, capped to $110=500 mm/min, with $120=10 mm/s²
		// (36000 mm/min²), from rest to rest: a trapezoid,
		// t = 2*(v/a) + (d - v²/a)/v minutes.
		v, a, d := 500.0, 36000.0, 100.0
		want := (2*v/a + (d-v*v/a)/v) * 60
		rep, err := Check(strings.NewReader("G21 G1 X100 F600\n"), "t.nc", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rep.EstimatedSeconds-want) > 0.01 {
			t.Errorf("estimate %v s, want %v s", rep.EstimatedSeconds, want)
		}
	})
	t.Run("corner slows down", func(t *testing.T) {
		straight, _ := Check(strings.NewReader("G21 G1 X50 F3000\nX100\n"), "s.nc", Options{})
		corner, _ := Check(strings.NewReader("G21 G1 X50 F3000\nY50\n"), "c.nc", Options{})
		one, _ := Check(strings.NewReader("G21 G1 X100 F3000\n"), "o.nc", Options{})
		if math.Abs(straight.EstimatedSeconds-one.EstimatedSeconds) > 0.01 {
			t.Errorf("collinear split %v s, one move %v s: junction should not slow", straight.EstimatedSeconds, one.EstimatedSeconds)
		}
		if corner.EstimatedSeconds <= straight.EstimatedSeconds {
			t.Errorf("90° corner %v s not slower than straight %v s", corner.EstimatedSeconds, straight.EstimatedSeconds)
		}
	})
	t.Run("events", func(t *testing.T) {
		src := "G21 G90\nT1 M6\nM3 S10000\nG0 Z5\nG1 Z-1 F100\nG1 X10 F400\nG0 Z5\nM0\nT2 M6\nG1 Z-1\nG0 Z5\nM5\nM30\n"
		rep, err := Check(strings.NewReader(src), "e.nc", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.ToolChanges) != 2 || rep.ToolChanges[1] != (ToolChange{Line: 9, Tool: 2}) {
			t.Errorf("tool changes %v", rep.ToolChanges)
		}
		if len(rep.Tools) != 2 || rep.Tools[0] != 1 || rep.Tools[1] != 2 {
			t.Errorf("tools %v", rep.Tools)
		}
		if len(rep.SpindleEvents) != 2 || rep.SpindleEvents[0] != (SpindleEvent{Line: 3, State: "cw", Speed: 10000}) || rep.SpindleEvents[1].State != "off" {
			t.Errorf("spindle events %v", rep.SpindleEvents)
		}
		if rep.FeedMin != 100 || rep.FeedMax != 400 {
			t.Errorf("feed range %v..%v", rep.FeedMin, rep.FeedMax)
		}
		if len(rep.Pauses) != 1 || rep.Pauses[0] != 8 || rep.ProgramEnd != 13 {
			t.Errorf("pauses %v end %d", rep.Pauses, rep.ProgramEnd)
		}
		if len(rep.SafePoints) != 2 || rep.SafePoints[0].Line != 7 || rep.SafePoints[0].Work != [3]float64{10, 0, 5} || rep.SafePoints[1].Line != 11 {
			t.Errorf("safe points %+v", rep.SafePoints)
		}
	})
}

func TestSettings(t *testing.T) {
	s, err := ParseSettings(strings.NewReader("$110=1500.000\n$11=0.020 (junction deviation)\nok\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s[110] != 1500 || s[11] != 0.02 || s[120] != 10 {
		t.Errorf("settings %v", s)
	}
	for _, bad := range []struct{ in, msg string }{
		{"$110=1500\nG0 X1\n", "line 2"},
		{"$x=1\n", "bad setting number"},
		{"$110=abc\n", "bad value"},
		{"$110\n", "no '='"},
		{"$110=-1\n", "negative"},
	} {
		if _, err := ParseSettings(strings.NewReader(bad.in)); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("ParseSettings(%q) error %v, want %q", bad.in, err, bad.msg)
		}
	}
	if _, err := ProfileSettings("shapeoko"); err == nil || !strings.Contains(err.Error(), "3018pro, longmill30") {
		t.Errorf("unknown profile error %v", err)
	}
	sp, _ := ProfileSettings("3018pro")
	if sp[130] != 300 || sp[110] != 1000 || sp[100] != 800 || sp[11] != 0.010 {
		t.Errorf("3018pro %v", sp)
	}
	lm, _ := ProfileSettings("longmill30")
	if lm[130] != 770 || lm[100] != 200 || lm[12] != 0.002 {
		t.Errorf("longmill30 %v", lm)
	}
}

// TestGolden compares each corpus file's JSON report with
// testdata/golden/<file>.json and logs the wire-form saving (go test -v).
// Regenerate with: go test ./gcode -run TestGolden -update
func TestGolden(t *testing.T) {
	for _, f := range corpusFiles(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			rep, err := Check(fh, name, Options{MaxDiagnostics: 20, MaxEvents: 20})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("wire form %d of %d bytes: %.1f%% saved", rep.WireBytes, rep.Bytes, 100*(1-float64(rep.WireBytes)/float64(rep.Bytes)))
			if rep.Bytes > 0 && rep.WireBytes >= rep.Bytes {
				t.Errorf("wire form is not smaller")
			}
			got, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("report differs from %s; run with -update and review the diff", golden)
			}
		})
	}
}

// FuzzParse: any input is checked and compiled without panic, and every
// diagnostic points inside the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"G0 X1.2.3\n", "X--1\r\n", "G1X", "(unterminated\r\r\n", "%\nN1 G1 X1 F1*12\n",
		"\x00\x01binary", "G2 X1 Y1 R-0.5 F10\n", "$J=G91 X1 F10\n$H\n$110=5\n", "G10 L20 P0 X0\n",
		"o100 sub\n#1=[2*3]\nG0 X#1\n", "G1 X1 F100 é\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Check(bytes.NewReader(data), "f.nc", Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rep.Diagnostics {
			if d.Line < 0 || d.Line > rep.Lines || d.Col < 0 || d.Col > len(data)+1 {
				t.Fatalf("diagnostic %v outside the input (%d lines, %d bytes)", d, rep.Lines, len(data))
			}
		}
		c := NewCompiler(bytes.NewReader(data), "f.nc", Options{})
		for i := 0; ; i++ {
			wl, err := c.Next()
			if err != nil {
				if strings.Contains(err.Error(), ErrWireMismatch.Error()) {
					t.Fatal(err)
				}
				break
			}
			if len(wl.Text) > GrblLineMax {
				t.Fatalf("wire line %q too long", wl.Text)
			}
		}
	})
}

// TestTimeProfileExact: a profile point is the time before its line's
// first move once the look-ahead has planned it, not the time executed
// when the line was read (which lagged up to 15 blocks behind: the last
// lines of a program of long moves seemed almost free). Each move here
// reverses the one before, so each takes the same time from rest to rest.
func TestTimeProfileExact(t *testing.T) {
	const n = 40
	var src strings.Builder
	src.WriteString("G21 G90 G94\n")
	for i := range n {
		fmt.Fprintf(&src, "G1 X%d F600\n", (i+1)%2*100)
	}
	rep, err := Check(strings.NewReader(src.String()), "p.nc", Options{})
	if err != nil {
		t.Fatal(err)
	}
	each := rep.EstimatedSeconds / n
	if len(rep.TimeProfile) != n {
		t.Fatalf("%d points, want one per move (%d)", len(rep.TimeProfile), n)
	}
	for k, p := range rep.TimeProfile {
		if p.Line != k+2 || math.Abs(p.Seconds-float64(k)*each) > 0.01 {
			t.Errorf("point %d: %+v, want line %d at %.4f s (%d moves of %.4f s before it)", k, p, k+2, float64(k)*each, k, each)
		}
	}
}

func TestTimeProfile(t *testing.T) {
	var src strings.Builder
	src.WriteString("G21 G90 G94\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&src, "G1 X%d Y%d F600\n", i%2*10, i)
	}
	rep, err := Check(strings.NewReader(src.String()), "p.nc", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tp := rep.TimeProfile
	if len(tp) < maxTimePoints/2 || len(tp) > maxTimePoints {
		t.Fatalf("%d points, want between %d and %d", len(tp), maxTimePoints/2, maxTimePoints)
	}
	for i := 1; i < len(tp); i++ {
		if tp[i].Line <= tp[i-1].Line || tp[i].Seconds < tp[i-1].Seconds {
			t.Fatalf("profile not increasing at %d: %v then %v", i, tp[i-1], tp[i])
		}
	}
	last := tp[len(tp)-1]
	if frac := last.Seconds / rep.EstimatedSeconds; last.Line > 2900 && (frac < 0.95 || frac > 1) {
		t.Errorf("line %d at %.1f s of %.1f s", last.Line, last.Seconds, rep.EstimatedSeconds)
	}
}
