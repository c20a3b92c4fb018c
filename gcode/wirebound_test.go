package gcode

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// spellsAs reports whether GRBL's read_float reads the unsigned decimal s,
// with the sign of v, to exactly v.
func spellsAs(s string, v float32) bool {
	i := 0
	n, ok := readFloat([]byte(s), &i)
	if !ok || i != len(s) {
		return false
	}
	n.neg = v < 0
	return n.float32() == v
}

// trimSpelling drops the leading zero before a point ("0.5" reads as
// ".5"). Trailing fraction zeros stay: GRBL scales "9.850" and "9.85"
// differently and may get different floats; shorter spellings are tried
// with fewer fraction digits anyway.
func trimSpelling(s string) string {
	if strings.HasPrefix(s, "0.") {
		s = s[1:]
	}
	return s
}

// shortestLen is the length of the shortest text GRBL reads to exactly v:
// a search over every number of fraction digits, trying the rounding of v
// and its two neighbours in the last digit.
func shortestLen(v float32) int {
	if v == 0 {
		return 1
	}
	sign := 0
	if v < 0 {
		sign = 1
	}
	a := math.Abs(float64(v))
	for d := 0; d <= 12; d++ {
		digits := strings.Replace(strconv.FormatFloat(a, 'f', d, 64), ".", "", 1)
		m, err := strconv.ParseUint(digits, 10, 64)
		if err != nil {
			continue
		}
		best := 0
		for _, c := range []uint64{m - 1, m, m + 1} {
			s := strconv.FormatUint(c, 10)
			if d > 0 {
				s = strings.Repeat("0", max(0, d+1-len(s))) + s
				s = s[:len(s)-d] + "." + s[len(s)-d:]
			}
			s = trimSpelling(s)
			if spellsAs(s, v) && (best == 0 || len(s) < best) {
				best = len(s)
			}
		}
		if best > 0 {
			return sign + best
		}
	}
	return sign + len(strconv.FormatFloat(a, 'f', -1, 32))
}

// wireBound holds byte counts over the lines kerf sends.
type wireBound struct {
	source    int64 // source file bytes
	wire      int64 // kerf's wire form (line terminators included)
	bound     int64 // lower bound on any equivalent wire form
	plainWire int64 // kerf's wire bytes of the plain moves
	// The bound's parts on plain moves, and the other lines at kerf's length.
	terminators, axes, feed, speedTool, motion, other int64
	longer                                            int // plain moves kerf sends longer than the bound
}

// plainMove reports whether the accepted block is a G0/G1 move whose words
// are only a motion G, axis words, F, S, T and N: the lines whose minimum
// wire form the bound works out exactly.
func plainMove(info *blockInfo, eff *effect) bool {
	return info.nonModal == nmNone && (eff.move == moveRapid || eff.move == moveLinear) && !eff.inverse &&
		info.cmdWords&^(1<<grpMotion) == 0 && info.valWords&^(wX|wY|wZ|wF|wS|wT|wN) == 0
}

// measureWireBound streams a program from opts' board state (AssumeReset is
// the most a wire form may assume about the controller) and adds up, for every plain move, the
// bytes any wire line GRBL reads identically must have: a terminator; each
// axis word whose target differs from the position, or whose position is
// not known (a move with none needs one); F, S and T when their value changes; the motion G when the mode
// changes; every number in its shortest spelling with the same float32.
// Other lines count at kerf's own length. It fails the test if kerf's wire
// line is ever shorter than the bound (the bound would be wrong) and reports
// the plain moves it sends longer than the bound.
func measureWireBound(t *testing.T, data []byte, name string, opts Options) wireBound {
	t.Helper()
	e := newEngine(bytes.NewReader(data), name, opts, func(Diagnostic) {})
	var b wireBound
	for {
		know := e.know // what the wire form may assume before the line
		kind, err := e.step()
		if err != nil {
			t.Fatal(err)
		}
		if kind == lineEOF {
			break
		}
		if kind != lineWire || len(e.wire) == 0 {
			continue
		}
		n := int64(len(e.wire)) + 1
		b.wire += n
		info, eff, pre, st := &e.in.info, &e.in.eff, &e.pre, &e.in.st
		if !e.executed || !plainMove(info, eff) {
			b.other += n
			b.bound += n
			continue
		}
		b.plainWire += n
		line := int64(1)
		b.terminators++
		if st.motion != pre.motion {
			m := int64(len(strconv.Itoa(int(st.motion/10)))) + 1
			line += m
			b.motion += m
		}
		moved, cheapest := false, int64(math.MaxInt64)
		for k := 0; k < e.ws.n; k++ {
			w := &e.ws.w[k]
			l := int64(1 + shortestLen(float32(w.val)))
			switch w.letter {
			case 'X', 'Y', 'Z':
				i := w.letter - 'X'
				cheapest = min(cheapest, l)
				// As in appendWire: a position is only known where an
				// absolute move anchored it (the start is not).
				if eff.target[i] != pre.pos[i] || !eff.incr && !know.anchored[i] {
					moved = true
					line += l
					b.axes += l
				}
			case 'F':
				if st.feed != pre.feed || know.known&kFeed == 0 {
					line += l
					b.feed += l
				}
			case 'S':
				if st.speed != pre.speed || know.known&kSpeed == 0 {
					line += l
					b.speedTool += l
				}
			case 'T':
				if st.tool != pre.tool || know.known&kTool == 0 {
					line += l
					b.speedTool += l
				}
			}
		}
		if !moved {
			line += cheapest
			b.axes += cheapest
		}
		if n < line {
			t.Fatalf("%s:%d: kerf's wire line %q (%d bytes) is shorter than the bound %d", name, e.out.Source, e.wire, n, line)
		}
		if n > line {
			b.longer++
			if b.longer <= 3 {
				t.Errorf("%s:%d: kerf's wire line %q is %d bytes, the least possible is %d", name, e.out.Source, e.wire, n, line)
			}
		}
		b.bound += line
	}
	b.source = e.sc.bytes
	return b
}

func TestShortestLen(t *testing.T) {
	tests := []struct {
		v    float32
		want int
	}{
		{0, 1}, {1, 1}, {-1, 2}, {0.5, 2}, {-0.5, 3}, {49.833, 6}, {-10.097, 7}, {300, 3},
		{number{intval: 10, exp: -4}.float32(), 5}, // ".0010": GRBL's 10*0.01*0.01 is not 1*0.01*0.1
	}
	for _, tt := range tests {
		t.Run(strconv.FormatFloat(float64(tt.v), 'g', -1, 32), func(t *testing.T) {
			if got := shortestLen(tt.v); got != tt.want {
				t.Errorf("shortestLen(%v) = %d, want %d", tt.v, got, tt.want)
			}
		})
	}
}

// TestWireFormBound compares kerf's wire form with the least any
// equivalent wire form can take, per corpus file, from GRBL's reset state
// (AssumeReset) and from the board state a run reads with `$G` on a freshly
// reset board (the same modes; F and S, which `$G` prints rounded, not known
// exactly). Run with -v for the figures quoted in docs/performance.md.
func TestWireFormBound(t *testing.T) {
	pct := func(part, whole int64) float64 { return 100 * (1 - float64(part)/float64(whole)) }
	board, err := ParseBoardState("G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0")
	if err != nil {
		t.Fatal(err)
	}
	modes := []struct {
		name string
		opts Options
	}{
		{"reset", Options{AssumeReset: true}},
		{"board", Options{Board: &board}},
	}
	for _, f := range corpusFiles(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range modes {
				b := measureWireBound(t, data, name, m.opts)
				if b.source == 0 || b.wire == 0 {
					return
				}
				t.Logf("%s: source %d B, wire %d B (%.1f%% saved), bound %d B (at most %.1f%% can be saved); bound on plain moves: %d terminators, %d axis words, %d F, %d S/T, %d motion G; other lines %d B; kerf's plain moves %d B",
					m.name, b.source, b.wire, pct(b.wire, b.source), b.bound, pct(b.bound, b.source),
					b.terminators, b.axes, b.feed, b.speedTool, b.motion, b.other, b.plainWire)
			}
		})
	}
}
