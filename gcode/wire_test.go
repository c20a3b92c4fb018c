package gcode

import (
	"bytes"
	"errors"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func compileAll(t *testing.T, src string, opts Options) ([]WireLine, error) {
	t.Helper()
	c := NewCompiler(strings.NewReader(src), "t.nc", opts)
	var out []WireLine
	for {
		wl, err := c.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, wl)
	}
}

func TestWireForm(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []WireLine
	}{
		// The controller's modes before the job are unknown: a program's first
		// G21 G90... is kept; only words without any state go (G40 G61 G91.1).
		{"first modal words kept, repeats and comments vanish", "%\n(header)\nG21 G90 G17 G94 G40 G49 G54 G61 G91.1\nG21 G90\n%\n",
			[]WireLine{{Text: "G21G90G17G94G49G54", Source: 3}}},
		{"redundant words dropped",
			"G21 G90 G94\nG0 X1.000 Y2.500 ; go\nG1 Z-0.500 F100.0\nG1 X2 F100\nG1 X2 Y3\n",
			[]WireLine{
				{Text: "G21G90G94", Source: 1},
				{Text: "G0X1Y2.5", Source: 2, Motion: true},
				{Text: "G1Z-.5F100", Source: 3, Motion: true},
				{Text: "X2", Source: 4, Motion: true},
				{Text: "Y3", Source: 5, Motion: true},
			}},
		{"line numbers and checksum stripped", "N1 G0 X1*97\nN2 G0 X2\n",
			[]WireLine{{Text: "G0X1", Source: 1, Motion: true}, {Text: "X2", Source: 2, Motion: true}}},
		{"start position is unknown", "G21 G90 G0 X0 Y0\nG0 X0 Y5\nG91 G0 X0 Y1\n",
			[]WireLine{{Text: "G21G90G0X0Y0", Source: 1, Motion: true}, {Text: "Y5", Source: 2, Motion: true}, {Text: "G91Y1", Source: 3, Motion: true}}},
		{"a move to where it is keeps its shortest axis word", "G21 G90 G0 X95.531 Z0\nG1 F100 X95.531 Z-0\n",
			[]WireLine{{Text: "G21G90G0X95.531Z0", Source: 1, Motion: true}, {Text: "G1F100Z0", Source: 2, Motion: true}}},
		{"probe loses the position", "G21 G90 G0 Z5\nG38.2 Z-10 F50\nG0 Z5\nG0 Z5\n",
			[]WireLine{{Text: "G21G90G0Z5", Source: 1, Motion: true}, {Text: "G38.2Z-10F50", Source: 2, Motion: true}, {Text: "G0Z5", Source: 3, Motion: true}, {Text: "Z5", Source: 4, Motion: true}}},
		{"tool change", "T2 M6\nM6\nM3 S1000\nM5\n",
			[]WireLine{
				{Text: "T2", Source: 1, Actions: ActionToolChange, Tool: 2},
				{Text: "", Source: 2, Actions: ActionToolChange, Tool: 2},
				{Text: "M3S1000", Source: 3, Actions: ActionSpindleOn, Spindle: 1000, Tool: 2},
				{Text: "M5", Source: 4, Actions: ActionSpindleOff, Tool: 2},
			}},
		{"pauses and end", "M0\nM1\nM30\n",
			[]WireLine{
				{Text: "M0", Source: 1, Actions: ActionPause},
				{Text: "", Source: 2, Actions: ActionOptionalStop},
				{Text: "M30", Source: 3, Actions: ActionProgramEnd},
			}},
		{"EEPROM writers go alone", "G10 L20 P1 X0 Y0\nG28.1\n",
			[]WireLine{{Text: "G10L20P1X0Y0", Source: 1, SendAlone: true}, {Text: "G28.1", Source: 2, SendAlone: true}}},
		{"arc keeps offsets it needs", "G1 F100\nG2 X10 Y0 I5 J0 K0\n",
			[]WireLine{{Text: "G1F100", Source: 1}, {Text: "G2X10Y0I5", Source: 2, Motion: true}}},
		{"long comment line fits", "G1 X1 F100 (" + strings.Repeat("c", 100) + ")\n",
			[]WireLine{{Text: "G1X1F100", Source: 1, Motion: true}}},
		{"dollar line", "$X\n", []WireLine{{Text: "$X", Source: 1, Actions: ActionDollar, SendAlone: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compileAll(t, tt.src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d lines %+v, want %d %+v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("line %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCompilerStopsAtFirstError(t *testing.T) {
	src := "G0 X1\nG1 X2\nG81 X1\n"
	c := NewCompiler(strings.NewReader(src), "part.nc", Options{})
	if _, err := c.Next(); err != nil {
		t.Fatalf("line 1: %v", err)
	}
	_, err := c.Next()
	var de *DiagnosticError
	if !errors.As(err, &de) || !errors.Is(err, ErrNotStreamable) {
		t.Fatalf("err=%v, want a *DiagnosticError", err)
	}
	d := de.Diagnostic
	if d.File != "part.nc" || d.Line != 2 || d.Col != 1 || d.GrblError != 22 {
		t.Errorf("diagnostic=%+v, want part.nc:2:1 error:22", d)
	}
	if _, again := c.Next(); again != err {
		t.Errorf("second call returned %v, want the same error", again)
	}
}

// checkWireEquivalence runs the whole input through the engine from
// opts' starting state and, for every line the interpreter accepts,
// re-executes its wire form from the same state: state and motion must be
// identical, and the wire line must fit GRBL's buffer. A second interpreter
// reads only the wire lines, in order, from the same starting state: its
// state must equal the source's after every line. It returns the number of
// lines verified.
func checkWireEquivalence(tb testing.TB, r io.Reader, name string, opts Options) int {
	tb.Helper()
	e := newEngine(r, name, opts, func(Diagnostic) {})
	var v verifier
	var w verifier // the wire program alone
	w.in.enableM7 = e.in.enableM7
	w.in.st = e.in.st
	n := 0
	for {
		kind, err := e.step()
		if err != nil {
			tb.Fatal(err)
		}
		if kind == lineEOF {
			return n
		}
		if !e.executed {
			// Nothing G-code was accepted ($ lines, rejected lines): the
			// wire program carries no G-code for it either.
			w.in.st = e.in.st
			continue
		}
		if err := v.verify(e); err != nil {
			tb.Fatal(err)
		}
		if len(e.wire) > GrblLineMax && kind != lineError {
			tb.Fatalf("%s:%d: wire line %q longer than %d", name, e.out.Source, e.wire, GrblLineMax)
		}
		for _, c := range e.wire {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
				tb.Fatalf("%s:%d: wire line %q has byte %q", name, e.out.Source, e.wire, c)
			}
		}
		if len(e.wire) > 0 {
			k := copy(w.lx.code[:], e.wire)
			for i := 0; i < k; i++ {
				w.lx.col[i] = int32(i + 1)
			}
			w.ws.parse(w.lx.code[:k], w.lx.col[:k])
			if g := w.in.exec(&w.ws, false); g != nil {
				tb.Fatalf("%s:%d: wire %q read in sequence from %s: error:%d %s", name, e.out.Source, e.wire, boardName(opts), g.code, g.msg)
			}
			if w.in.eff.target != e.in.eff.target {
				tb.Fatalf("%s:%d: wire %q read in sequence from %s: target %v, source line %v", name, e.out.Source, e.wire, boardName(opts), w.in.eff.target, e.in.eff.target)
			}
		}
		if e.in.st.inverse && w.in.st.inverse {
			// In G93 GRBL never reads the stored F (every feed move
			// carries one, and a switch to G94 without F sets 0), and
			// every block clears it, even one the wire form leaves out
			// as changing nothing else.
			w.in.st.feed = e.in.st.feed
		}
		if w.in.st != e.in.st {
			tb.Fatalf("%s:%d: wire %q read in sequence from %s: state %+v, source line %+v", name, e.out.Source, e.wire, boardName(opts), w.in.st, e.in.st)
		}
		n++
	}
}

func boardName(o Options) string {
	if o.Board == nil {
		return "the strict start"
	}
	return "board state " + o.Board.String()
}

// boardFromSeed returns a valid board state chosen by seed's bits (0: no
// board state, the strict start). Odd seeds also mark F and S known, as
// ResetState does, so the wire form may drop them when they repeat.
func boardFromSeed(tb testing.TB, seed uint64) *BoardState {
	tb.Helper()
	if seed == 0 {
		return nil
	}
	pick := func(opts ...string) string {
		o := opts[seed%uint64(len(opts))]
		seed /= uint64(len(opts))
		return o
	}
	known := seed&1 != 0
	seed >>= 1
	gc := strings.Join([]string{
		pick("G0", "G1", "G2", "G3", "G38.2", "G38.3", "G38.4", "G38.5", "G80"),
		pick("G54", "G55", "G56", "G57", "G58", "G59"),
		pick("G17", "G18", "G19"), pick("G21", "G20"), pick("G90", "G91"), pick("G94", "G93"),
		pick("M5", "M3", "M4"), pick("M9", "M8", "M7", "M7 M8"),
		pick("T0", "T1", "T7"), pick("F0", "F100", "F1500", "F12.5"), pick("S0", "S1000", "S24000"),
	}, " ")
	b, err := ParseBoardState(gc)
	if err != nil {
		tb.Fatalf("board state %q: %v", gc, err)
	}
	if known && !b.m.inverse {
		b.known |= kFeed | kSpeed
	}
	return &b
}

func corpusFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("../testdata/corpus/open/*")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no corpus files: %v", err)
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".tsv") && !strings.HasSuffix(f, ".md") {
			out = append(out, f)
		}
	}
	return out
}

// TestWireEquivalenceCorpus is the property test over every line of every
// corpus file.
func TestWireEquivalenceCorpus(t *testing.T) {
	for _, f := range corpusFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n := checkWireEquivalence(t, bytes.NewReader(data), filepath.Base(f), Options{})
			// The same program from random valid board states (seeded by
			// the file name, so a failure reproduces).
			h := fnv.New64a()
			h.Write([]byte(f))
			rng := rand.New(rand.NewPCG(h.Sum64(), 3))
			for i := 0; i < 4; i++ {
				checkWireEquivalence(t, bytes.NewReader(data), filepath.Base(f), Options{Board: boardFromSeed(t, rng.Uint64()|1<<63)})
			}
			t.Logf("%d accepted lines verified, from the strict start and 4 board states", n)
		})
	}
}

func FuzzWireEquivalence(f *testing.F) {
	seeds := []string{
		"G21 G90\nG0 X1.000 Y2.500\nG1 Z-0.500 F100.0\nG2 X10 Y0 I5 J0\nG3 X0 Y0 R5\n",
		"G20 G91 G0 X.1\nG93 G1 X1 F2\nG94 F10 Y1\n",
		"G10 L20 P1 X0\nG92 X5\nG43.1 Z1\nG49\nG28 X0\nG30\nG53 G0 Z0\n",
		"M3 S1000\nM8\nM9\nM5\nT2 M6\nM30\n",
		"G18 G2 X1 Z1 I.5 F100\nG19 G3 Y1 Z0 J-.5 K.5\n",
		"N1 G0 X1*97\n(c) G0 X2 ; d\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint64(0))
		f.Add([]byte(s), uint64(i)*0x9e3779b97f4a7c15+1)
	}
	f.Fuzz(func(t *testing.T, data []byte, board uint64) {
		checkWireEquivalence(t, bytes.NewReader(data), "fuzz", Options{Board: boardFromSeed(t, board)})
	})
}

func TestWireFormAssumeReset(t *testing.T) {
	src := "G21 G90 G94 G17 G54 M5 M9\nG0 X1 F0\nG1 X2 F100\n"
	tests := []struct {
		name  string
		reset bool
		want  []string
	}{
		{"unknown controller state", false, []string{"G21G90G94G17G54M5M9", "G0X1F0", "G1X2F100"}},
		{"after a soft reset", true, []string{"X1", "G1X2F100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compileAll(t, src, Options{AssumeReset: tt.reset})
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, wl := range got {
				texts = append(texts, wl.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tt.want, "|") {
				t.Errorf("wire %q, want %q", texts, tt.want)
			}
		})
	}
}

func TestActionText(t *testing.T) {
	for _, a := range []Action{ActionNone, ActionToolChange, ActionPause | ActionSpindleOff, ActionDollar | ActionProgramEnd | ActionOptionalStop | ActionSpindleOn} {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Action
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("%v -> %q -> %v (%v)", a, b, back, err)
		}
	}
	var a Action
	if err := a.UnmarshalText([]byte("tool-change|launch")); err == nil || !strings.Contains(err.Error(), `"launch"`) {
		t.Errorf("unknown action error %v", err)
	}
}

func TestReadErrors(t *testing.T) {
	boom := errors.New("disk gone")
	r := io.MultiReader(strings.NewReader("G0 X1\nG0 X2\n"), iotest.ErrReader(boom))
	if _, err := Check(r, "r.nc", Options{}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "read r.nc after line 2") {
		t.Errorf("Check error %v, want the read error with its place", err)
	}
	c := NewCompiler(io.MultiReader(strings.NewReader("G0 X1\n"), iotest.ErrReader(boom)), "r.nc", Options{})
	if _, err := c.Next(); err != nil {
		t.Fatalf("first line: %v", err)
	}
	if _, err := c.Next(); !errors.Is(err, boom) {
		t.Errorf("Compiler error %v, want %v", err, boom)
	}
}

// stuckReader never returns data nor an error.
type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderWithoutProgress(t *testing.T) {
	if _, err := Check(stuckReader{}, "s.nc", Options{}); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("Check error %v, want io.ErrNoProgress (no hang)", err)
	}
}
