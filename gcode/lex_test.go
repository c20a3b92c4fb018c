package gcode

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadFloat(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		value   float32
		consume int
	}{
		{"1", true, 1, 1},
		{"-1.5", true, -1.5, 4},
		{"+2.", true, 2, 3},
		{".5", true, 0.5, 2},
		{"-.25X", true, -0.25, 4},
		{"1.2.3", true, 1.2, 3},
		{"--1", false, 0, 0},
		{"-", false, 0, 0},
		{".", false, 0, 0},
		{"", false, 0, 0},
		{"X", false, 0, 0},
		{"123456789", true, 123456780, 9}, // digits past 8 are dropped
		{"0.000012345678", true, number{intval: 123, exp: -7}.float32(), 14}, // leading zeros count as digits
		{"007", true, 7, 3},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			i := 0
			n, ok := readFloat([]byte(tt.in), &i)
			if ok != tt.ok {
				t.Fatalf("ok=%v, want %v", ok, tt.ok)
			}
			if !ok {
				if i != 0 {
					t.Errorf("consumed %d on failure", i)
				}
				return
			}
			if got := n.float32(); got != tt.value {
				t.Errorf("value=%v, want %v", got, tt.value)
			}
			if i != tt.consume {
				t.Errorf("consumed %d, want %d", i, tt.consume)
			}
		})
	}
}

func TestAppendNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.000", "1"},
		{"1.500", "1.5"},
		{"0.5", ".5"},
		{"-0.5", "-.5"},
		{"-0.000", "0"},
		{"+3", "3"},
		{"00012", "12"},
		{"10", "10"},
		{"100.0", "100"},
		{"0.0010", ".0010"}, // GRBL computes 10*0.01*0.01 and 1*0.01*0.1 to different float32s
		{"123456789", "123456780"},
		{"0.000012345678", ".0000123"},
		{"-12.3400", "-12.34"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			i := 0
			n, ok := readFloat([]byte(tt.in), &i)
			if !ok {
				t.Fatal("not a number")
			}
			got := string(appendNumber(nil, n))
			if got != tt.want {
				t.Errorf("appendNumber(%s)=%q, want %q", tt.in, got, tt.want)
			}
			j := 0
			back, ok := readFloat([]byte(got), &j)
			if !ok || back.float32() != n.float32() || j != len(got) {
				t.Errorf("%q reads back as %v, want %v", got, back.float32(), n.float32())
			}
		})
	}
}

func scanAll(t *testing.T, in []byte, chunked bool) []string {
	t.Helper()
	var r = bytes.NewReader(in)
	sc := newLineScanner(r)
	if chunked {
		sc = newLineScanner(iotest.OneByteReader(bytes.NewReader(in)))
	}
	var out []string
	for {
		text, long, ok := sc.next()
		if !ok {
			break
		}
		if long {
			out = append(out, "<long>")
			continue
		}
		out = append(out, string(text))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if sc.bytes != int64(len(in)) {
		t.Errorf("consumed %d bytes, want %d", sc.bytes, len(in))
	}
	return out
}

func TestLineScannerEndings(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"LF", "a\nb\n", []string{"a", "b"}},
		{"CRLF", "a\r\nb\r\n", []string{"a", "b"}},
		{"CR CR LF", "a\r\r\nb\r\r\n", []string{"a", "b"}},
		{"CR only", "a\rb\r", []string{"a", "b"}},
		{"no final newline", "a\nb", []string{"a", "b"}},
		{"empty lines", "\n\na\n", []string{"", "", "a"}},
		{"empty input", "", nil},
		{"mixed", "a\r\nb\nc\rd", []string{"a", "b", "c", "d"}},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			name := tt.name
			if chunked {
				name += "/one-byte-reads"
			}
			t.Run(name, func(t *testing.T) {
				got := scanAll(t, []byte(tt.in), chunked)
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Errorf("lines=%q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestLineScannerLongLine(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 1<<20)
	for _, term := range []string{"\n", "\r\n", "\r"} {
		t.Run(strings.ReplaceAll(strings.ReplaceAll(term, "\r", "CR"), "\n", "LF"), func(t *testing.T) {
			in := append(append([]byte("G0X1\n"), long...), term+"G0X2\n"...)
			got := scanAll(t, in, false)
			want := []string{"G0X1", "<long>", "G0X2"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("lines=%q, want %q", got, want)
			}
		})
	}
	t.Run("at EOF", func(t *testing.T) {
		got := scanAll(t, long, false)
		if len(got) != 1 || got[0] != "<long>" {
			t.Errorf("lines=%q, want one long line", got)
		}
	})
}

func TestLex(t *testing.T) {
	tests := []struct {
		in     string
		code   string
		checks func(t *testing.T, l *lexed)
	}{
		{"g1 x1.5 (comment) y2 ; rest", "G1X1.5Y2", nil},
		{"\tG0\tX 1 . 5", "G0X1.5", nil},
		{"/G1 X1", "G1X1", func(t *testing.T, l *lexed) {
			if l.blockDeleteCol != 1 {
				t.Errorf("blockDeleteCol=%d, want 1", l.blockDeleteCol)
			}
		}},
		{"G1 X1 (open", "G1X1", func(t *testing.T, l *lexed) {
			if l.unterminatedCol != 7 {
				t.Errorf("unterminatedCol=%d, want 7", l.unterminatedCol)
			}
		}},
		{"(a;b) G0 ; (c", "G0", func(t *testing.T, l *lexed) {
			if l.unterminatedCol != 0 {
				t.Errorf("unterminatedCol=%d, want 0: a '(' after ';' is comment text", l.unterminatedCol)
			}
		}},
		{"(caf\xc3\xa9) G0", "G0", func(t *testing.T, l *lexed) {
			if l.nonASCIICol != 0 {
				t.Error("non-ASCII inside a comment was flagged")
			}
		}},
		{"G0 X1\xc2\xa05", "G0X15", func(t *testing.T, l *lexed) {
			if l.nonASCIICol != 6 || l.nonASCII != 0xC2 {
				t.Errorf("nonASCII at %d (%#x), want 6 (0xc2)", l.nonASCIICol, l.nonASCII)
			}
		}},
		{"G0 X1 !", "G0X1", func(t *testing.T, l *lexed) {
			if l.realtimeCol != 7 {
				t.Errorf("realtimeCol=%d, want 7", l.realtimeCol)
			}
		}},
		{"N3 T0*57", "N3T0", func(t *testing.T, l *lexed) {
			if !l.checksum || l.checksumGiven != 57 || l.checksumCalc != 57 {
				t.Errorf("checksum=%v given=%d calc=%d, want 57/57", l.checksum, l.checksumGiven, l.checksumCalc)
			}
		}},
		{"N8 G1 X3.0 Y3.0*30 ; bad", "N8G1X3.0Y3.0", func(t *testing.T, l *lexed) {
			if !l.checksum || l.checksumGiven == l.checksumCalc {
				t.Errorf("checksum given=%d calc=%d, want a mismatch", l.checksumGiven, l.checksumCalc)
			}
		}},
		{"%", "%", func(t *testing.T, l *lexed) {
			if !l.percent {
				t.Error("lone % not recognised")
			}
		}},
		{"G0\x00X1", "G0X1", func(t *testing.T, l *lexed) {
			if l.nulCol != 3 {
				t.Errorf("nulCol=%d, want 3", l.nulCol)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var l lexed
			l.lex([]byte(tt.in))
			if got := string(l.code[:l.n]); got != tt.code {
				t.Errorf("code=%q, want %q", got, tt.code)
			}
			for i := 0; i < l.n; i++ {
				if c := l.col[i]; c < 1 || int(c) > len(tt.in) {
					t.Errorf("col[%d]=%d outside the line", i, c)
				}
			}
			if tt.checks != nil {
				tt.checks(t, &l)
			}
		})
	}
}
