package gcode

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The lexer and number code were rewritten for speed (docs/performance.md).
// The versions they replaced are kept here as references: the tests below
// require identical results on every corpus line and under fuzzing.

// refLex is the byte-at-a-time pre-filter the lexer replaced.
func refLex(l *lexed, raw []byte) {
	if !l.classReady {
		l.class, l.classReady = lexClassTable(), true
	}
	l.n, l.total = 0, 0
	l.comment = false
	l.nulCol, l.nonASCIICol, l.realtimeCol, l.blockDeleteCol, l.unterminatedCol, l.slashCol = 0, 0, 0, 0, 0, 0
	l.percent, l.checksum = false, false
	paren, semi := false, false
	parenCol := 0
	for i, c := range raw {
		if paren {
			if c == ')' {
				paren = false
			} else if c == 0 && l.nulCol == 0 {
				l.nulCol = i + 1
			}
			continue
		}
		if semi {
			if c == 0 && l.nulCol == 0 {
				l.nulCol = i + 1
			}
			continue
		}
		cls := l.class[c]
		if cls == classKeep {
			if l.n < maxCode {
				l.code[l.n] = c
				l.col[l.n] = int32(i + 1)
				l.n++
			}
			l.total++
			continue
		}
		switch cls {
		case classLower:
			if l.n < maxCode {
				l.code[l.n] = c - ('a' - 'A')
				l.col[l.n] = int32(i + 1)
				l.n++
			}
			l.total++
		case classSpace:
			if c == 0 && l.nulCol == 0 {
				l.nulCol = i + 1
			}
		case classSlash:
			if l.total > 0 {
				if l.slashCol == 0 {
					l.slashCol = i + 1
				}
			} else if l.blockDeleteCol == 0 {
				l.blockDeleteCol = i + 1
			}
		case classParen:
			paren, parenCol, l.comment = true, i+1, true
		case classSemi:
			semi, l.comment = true, true
		case classHigh:
			if l.nonASCIICol == 0 {
				l.nonASCIICol, l.nonASCII = i+1, c
			}
		case classRealtime:
			if l.realtimeCol == 0 {
				l.realtimeCol, l.realtime = i+1, c
			}
		}
	}
	if paren {
		l.unterminatedCol = parenCol
	}
	if l.n == 1 && l.code[0] == '%' {
		l.percent = true
		return
	}
	l.stripChecksum(raw)
}

func refReadFloat(s []byte, i *int) (number, bool) {
	var n number
	p := *i
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		n.neg = s[p] == '-'
		p++
	}
	ndigit := 0
	decimal := false
	for ; p < len(s); p++ {
		c := s[p]
		if c >= '0' && c <= '9' {
			ndigit++
			if ndigit <= maxIntDigits {
				if decimal {
					n.exp--
				}
				n.intval = n.intval*10 + uint32(c-'0')
			} else if !decimal {
				n.exp++
			}
			continue
		}
		if c == '.' && !decimal {
			decimal = true
			continue
		}
		break
	}
	if ndigit == 0 {
		return number{}, false
	}
	*i = p
	return n, true
}

// refAppendDigits is the strconv-based spelling appendDigits replaced.
func refAppendDigits(dst []byte, best number) []byte {
	if best.neg {
		dst = append(dst, '-')
	}
	var digits [12]byte
	d := strconv.AppendUint(digits[:0], uint64(best.intval), 10)
	switch {
	case best.exp >= 0:
		dst = append(dst, d...)
		for e := best.exp; e > 0; e-- {
			dst = append(dst, '0')
		}
	default:
		point := len(d) + int(best.exp) // digits before the point
		if point <= 0 {
			dst = append(dst, '.')
			for ; point < 0; point++ {
				dst = append(dst, '0')
			}
			dst = append(dst, d...)
		} else {
			dst = append(dst, d[:point]...)
			dst = append(dst, '.')
			dst = append(dst, d[point:]...)
		}
	}
	return dst
}

// lexEqual compares everything lex produces.
func lexEqual(a, b *lexed) bool {
	if a.n != b.n || a.total != b.total || !bytes.Equal(a.code[:a.n], b.code[:b.n]) {
		return false
	}
	for i := 0; i < a.n; i++ {
		if a.col[i] != b.col[i] {
			return false
		}
	}
	return a.comment == b.comment && a.nulCol == b.nulCol && a.nonASCIICol == b.nonASCIICol &&
		a.nonASCII == b.nonASCII && a.realtimeCol == b.realtimeCol && a.realtime == b.realtime &&
		a.blockDeleteCol == b.blockDeleteCol && a.slashCol == b.slashCol &&
		a.unterminatedCol == b.unterminatedCol && a.percent == b.percent && a.checksum == b.checksum &&
		a.checksumCol == b.checksumCol && a.checksumGiven == b.checksumGiven && a.checksumCalc == b.checksumCalc
}

// checkLexLine lexes raw with both implementations and compares.
func checkLexLine(t *testing.T, got, want *lexed, raw []byte) {
	t.Helper()
	got.lex(raw)
	refLex(want, raw)
	if !lexEqual(got, want) {
		t.Fatalf("lex(%q): code %q cols %v n=%d total=%d, reference code %q cols %v n=%d total=%d (or flags differ)",
			raw, got.code[:got.n], got.col[:got.n], got.n, got.total, want.code[:want.n], want.col[:want.n], want.n, want.total)
	}
}

// checkNumbers reads every number-like run of s with both read_float
// implementations and compares the numbers and their spellings.
func checkNumbers(t *testing.T, s []byte) {
	t.Helper()
	for start := 0; start < len(s); start++ {
		i, j := start, start
		got, gotOK := readFloat(s, &i)
		want, wantOK := refReadFloat(s, &j)
		if got != want || gotOK != wantOK || i != j {
			t.Fatalf("readFloat(%q) = %+v %v at %d, reference %+v %v at %d", s[start:], got, gotOK, i, want, wantOK, j)
		}
		if !gotOK {
			continue
		}
		if a, b := appendDigits(nil, got), refAppendDigits(nil, got); !bytes.Equal(a, b) {
			t.Fatalf("appendDigits(%+v) = %q, reference %q", got, a, b)
		}
	}
}

// TestLexMatchesReference lexes every line of every corpus file with both
// implementations.
func TestLexMatchesReference(t *testing.T) {
	files, err := filepath.Glob("../testdata/corpus/open/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var got, want lexed
	lines := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range bytes.Split(data, []byte("\n")) {
			checkLexLine(t, &got, &want, bytes.TrimSuffix(raw, []byte("\r")))
			lines++
		}
	}
	t.Logf("%d lines lexed identically", lines)
}

func TestNumbersMatchReference(t *testing.T) {
	for _, s := range []string{
		"1", "-1.5", "+2.", ".5", "-.25X", "1.2.3", "--1", "-", ".", "", "123456789", "0.000012345678",
		"007", "99999999999999", "1234567.891", "0.00000001", "12345678.9", "-0", "4294967295",
	} {
		checkNumbers(t, []byte(s))
	}
	// Every value GRBL can keep, with every decimal point position.
	for _, v := range []uint32{0, 1, 9, 10, 100, 1000, 12345, 99999999, 10000000} {
		for exp := -9; exp <= 3; exp++ {
			n := number{intval: v, exp: int8(exp)}
			if a, b := appendDigits(nil, n), refAppendDigits(nil, n); !bytes.Equal(a, b) {
				t.Errorf("appendDigits(%+v) = %q, reference %q", n, a, b)
			}
		}
	}
}

func FuzzLexMatchesReference(f *testing.F) {
	for _, s := range []string{
		"G1 X1 (c) Y2 ; d\r", "(open", "/G0 X1", "G0 X1/2", "%", "N1 G1 X1*12", "g1x-.5\x00(\x00)", "G1 X1 \xc3\xa9 ?", "((a)b)c;(",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want lexed
		checkLexLine(t, &got, &want, data)
		checkNumbers(t, data)
	})
}

// refSplitLines is the line-ending rule the scanner implements, written
// plainly: LF ends a line; so does a run of CRs with an optional LF after it;
// a last line may lack its ending.
func refSplitLines(data []byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(data); {
		switch data[i] {
		case '\n':
			out = append(out, string(data[start:i]))
			i++
			start = i
		case '\r':
			j := i
			for j < len(data) && data[j] == '\r' {
				j++
			}
			if j < len(data) && data[j] == '\n' {
				j++
			}
			out = append(out, string(data[start:i]))
			i, start = j, j
		default:
			i++
		}
	}
	if start < len(data) {
		out = append(out, string(data[start:]))
	}
	return out
}

func FuzzLineScannerMatchesReference(f *testing.F) {
	for _, s := range []string{"a\nb\n", "a\r\nb\r\n", "a\r\r\nb", "a\rb\r", "\r\n\r\n", "G1 X1\rG1 X2\n\nG1", "\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := refSplitLines(data)
		for _, chunked := range []bool{false, true} {
			got := scanAll(t, data, chunked)
			if len(got) != len(want) || strings.Join(got, "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("chunked=%v: lines %q, reference %q", chunked, got, want)
			}
		}
	})
}
