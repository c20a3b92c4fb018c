package gcode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

const (
	// MaxLineBytes is the longest source line read; longer lines are an
	// error (their excess is skipped without being buffered).
	MaxLineBytes = 256 << 10
	// GrblLineMax is the most characters GRBL 1.1 keeps of a line after its
	// pre-filter (LINE_BUFFER_SIZE 80 minus the terminator).
	GrblLineMax = 79
	// maxCode bounds the pre-filtered code kept for parsing; longer code is
	// reported as GRBL's line overflow without being parsed.
	maxCode = 4096
	// maxWords bounds the words of one block (a valid GRBL line has fewer
	// than 40).
	maxWords  = 64
	readChunk = 64 << 10
)

// lineScanner splits a reader into lines ended by LF, CR LF, CR CR LF or a
// lone CR, with a bounded buffer.
type lineScanner struct {
	r          io.Reader
	buf        []byte
	start, end int
	eof        bool
	err        error
	line       int   // number of the last line returned
	bytes      int64 // bytes consumed so far
	nlAt       int   // cached index of the next '\n' at or after start, or -1 if none before nlEnd
	nlEnd      int
	crAt       int // cached index of the next '\r' at or after start, or -1 if none before crEnd
	crEnd      int
	skipping   bool // discarding the rest of an over-long line
	wasLong    bool // the line being finished was over-long
}

func newLineScanner(r io.Reader) *lineScanner {
	return &lineScanner{r: r, buf: make([]byte, MaxLineBytes+readChunk), nlAt: -1, crAt: -1}
}

// fill reads more data, compacting the buffer first. It returns false when
// no more data can come.
func (s *lineScanner) fill() bool {
	if s.eof {
		return false
	}
	if s.start > 0 {
		copy(s.buf, s.buf[s.start:s.end])
		s.end -= s.start
		if s.nlAt >= 0 {
			s.nlAt -= s.start
		}
		s.nlEnd -= s.start
		if s.crAt >= 0 {
			s.crAt -= s.start
		}
		s.crEnd -= s.start
		s.start = 0
	}
	for empty := 0; s.end < len(s.buf); {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
		if empty++; empty > 100 {
			s.eof = true
			s.err = io.ErrNoProgress
			return false
		}
	}
	return true
}

// findNL returns the index of the next '\n' at or after s.start, or -1.
func (s *lineScanner) findNL() int {
	if s.nlAt >= s.start {
		return s.nlAt
	}
	from := s.start
	if s.nlAt < 0 && s.nlEnd > from {
		from = s.nlEnd
	}
	if i := bytes.IndexByte(s.buf[from:s.end], '\n'); i >= 0 {
		s.nlAt = from + i
		return s.nlAt
	}
	s.nlAt = -1
	s.nlEnd = s.end
	return -1
}

// findCR returns the index of the next '\r' at or after s.start and before
// lim, or -1. Like findNL it remembers how far the buffer holds none, so a
// file without CRs costs one search per buffer, not one per line.
func (s *lineScanner) findCR(lim int) int {
	if s.crAt < s.start {
		from := s.start
		if s.crAt < 0 && s.crEnd > from {
			from = s.crEnd
		}
		if i := bytes.IndexByte(s.buf[from:s.end], '\r'); i >= 0 {
			s.crAt = from + i
		} else {
			s.crAt, s.crEnd = -1, s.end
		}
	}
	if s.crAt >= s.start && s.crAt < lim {
		return s.crAt
	}
	return -1
}

// next returns the next line without its terminator. long reports a line
// longer than MaxLineBytes: its text was skipped without being buffered and
// text is empty. ok is false at the end of input.
func (s *lineScanner) next() (text []byte, long bool, ok bool) {
	for {
		if s.skipping {
			i := bytes.IndexAny(s.buf[s.start:s.end], "\r\n")
			if i < 0 {
				s.bytes += int64(s.end - s.start)
				s.start = s.end
				if s.fill() {
					continue
				}
				s.skipping, s.wasLong = false, false
				s.line++
				return nil, true, true
			}
			s.bytes += int64(i)
			s.start += i
			s.skipping = false
		}
		nl := s.findNL()
		lim := s.end
		if nl >= 0 {
			lim = nl
		}
		if cr := s.findCR(lim) - s.start; cr >= 0 && cr <= MaxLineBytes {
			// A run of CRs, then an optional LF, ends the line.
			j := s.start + cr
			for j < s.end && s.buf[j] == '\r' {
				j++
			}
			if j == s.end && !s.eof {
				s.fill() // an LF may follow; the buffer may move, so rescan
				continue
			}
			if j < s.end && s.buf[j] == '\n' {
				j++
			}
			return s.take(s.start+cr, j)
		}
		if nl >= 0 && nl-s.start <= MaxLineBytes {
			return s.take(nl, nl+1)
		}
		if s.end-s.start > MaxLineBytes {
			s.bytes += int64(s.end - s.start)
			s.start = s.end
			s.skipping, s.wasLong = true, true
			continue
		}
		if s.fill() {
			continue
		}
		if s.start < s.end { // last line without a newline
			return s.take(s.end, s.end)
		}
		return nil, false, false
	}
}

// take returns buf[start:stop] as the next line and moves to next.
func (s *lineScanner) take(stop, next int) ([]byte, bool, bool) {
	t := s.buf[s.start:stop]
	s.bytes += int64(next - s.start)
	s.start = next
	s.line++
	if s.wasLong {
		s.wasLong = false
		return nil, true, true
	}
	return t, false, true
}

// Err returns the read error that ended the input, if any (not io.EOF).
func (s *lineScanner) Err() error { return s.err }

// lexed is one source line after GRBL's pre-filter: spaces and control
// characters dropped, comments removed, '/' ignored, letters upper-cased. Each
// kept character remembers its source column.
type lexed struct {
	code  [maxCode]byte
	col   [maxCode]int32
	n     int // characters kept in code
	total int // characters GRBL would keep (may exceed n)

	comment         bool
	nulCol          int
	nonASCIICol     int
	nonASCII        byte
	realtimeCol     int
	realtime        byte
	blockDeleteCol  int // a '/' before any code: block delete
	slashCol        int // a '/' after code: GRBL drops it, joining what surrounds it
	unterminatedCol int
	percent         bool       // the line is a lone '%' program marker
	class           [256]uint8 // byte classes, filled on first use
	classReady      bool
	checksum        bool
	checksumCol     int
	checksumGiven   int
	checksumCalc    int
}

// Byte classes of GRBL's pre-filter.
const (
	classKeep     = iota // kept as is
	classLower           // upper-cased and kept
	classSpace           // spaces and control characters: dropped
	classSlash           // block delete: dropped
	classParen           // starts a ( ) comment
	classSemi            // starts a ; comment
	classHigh            // bytes >= 0x80: dropped by GRBL, an error in code
	classRealtime        // ? ! ~: GRBL real-time commands
)

// lexClassTable maps each byte to its class.
func lexClassTable() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c <= ' ':
			t[c] = classSpace
		case c >= 0x80:
			t[c] = classHigh
		case c >= 'a' && c <= 'z':
			t[c] = classLower
		case c == '/':
			t[c] = classSlash
		case c == '(':
			t[c] = classParen
		case c == ';':
			t[c] = classSemi
		case c == '?' || c == '!' || c == '~':
			t[c] = classRealtime
		}
	}
	return t
}

// lex pre-filters raw into l.
//
// The loop keeps plain code bytes with one table look-up each; comments are
// skipped with bytes.IndexByte rather than byte by byte.
func (l *lexed) lex(raw []byte) {
	if !l.classReady {
		l.class, l.classReady = lexClassTable(), true
	}
	l.comment = false
	l.nulCol, l.nonASCIICol, l.realtimeCol, l.blockDeleteCol, l.unterminatedCol, l.slashCol = 0, 0, 0, 0, 0, 0
	l.percent, l.checksum = false, false
	class := &l.class
	code, col := l.code[:], l.col[:]
	n, over := 0, 0 // kept characters stored, and kept beyond maxCode
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		cls := class[c]
		if cls == classLower {
			c -= 'a' - 'A'
			cls = classKeep
		}
		if cls == classKeep {
			if n < maxCode {
				code[n] = c
				col[n] = int32(i + 1)
				n++
			} else {
				over++
			}
			continue
		}
		switch cls {
		case classSpace:
			if c == 0 && l.nulCol == 0 {
				l.nulCol = i + 1
			}
		case classSlash:
			if n+over > 0 {
				if l.slashCol == 0 {
					l.slashCol = i + 1
				}
			} else if l.blockDeleteCol == 0 {
				l.blockDeleteCol = i + 1
			}
		case classParen:
			l.comment = true
			end := bytes.IndexByte(raw[i+1:], ')')
			body := raw[i+1:]
			if end >= 0 {
				body = body[:end]
			} else {
				l.unterminatedCol = i + 1
			}
			l.noteNUL(body, i+1)
			if end < 0 {
				i = len(raw)
			} else {
				i += 1 + end // at the ')'
			}
		case classSemi:
			l.comment = true
			l.noteNUL(raw[i+1:], i+1)
			i = len(raw)
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
	l.n, l.total = n, n+over
	if l.n == 1 && l.code[0] == '%' {
		l.percent = true
		return
	}
	l.stripChecksum(raw)
}

// noteNUL records the column of the first NUL byte of a comment body that
// starts after source column at, unless one was seen before.
func (l *lexed) noteNUL(body []byte, at int) {
	if l.nulCol != 0 {
		return
	}
	if j := bytes.IndexByte(body, 0); j >= 0 {
		l.nulCol = at + j + 1
	}
}

// stripChecksum recognises a trailing "*NN" checksum (XOR of every byte
// before the '*'), records it and removes it from the code.
func (l *lexed) stripChecksum(raw []byte) {
	if l.n >= maxCode || l.n < 2 {
		return
	}
	k := l.n - 1
	for k >= 0 && l.code[k] >= '0' && l.code[k] <= '9' {
		k--
	}
	if k < 0 || k == l.n-1 || l.code[k] != '*' {
		return
	}
	given := 0
	for _, c := range l.code[k+1 : l.n] {
		given = given*10 + int(c-'0')
		if given > 1<<20 {
			return
		}
	}
	var x byte
	for _, c := range raw[:l.col[k]-1] {
		x ^= c
	}
	l.checksum, l.checksumCol, l.checksumGiven, l.checksumCalc = true, int(l.col[k]), given, int(x)
	l.total -= l.n - k
	l.n = k
}

// word is one letter-number pair of a block.
type word struct {
	letter byte
	col    int32 // source column of the letter
	num    number
	val    float64 // GRBL's float32 value, widened
}

// words is a parsed block: its words in order, and the first letter/number
// error GRBL would hit after them (error:1 or error:2), if any.
type words struct {
	w       [maxWords]word
	n       int
	errNum  int // 0, 1 or 2
	errCol  int
	errMsg  string
	tooMany bool
	inf     int    // index of the first word whose value overflows float32, or -1
	letters uint32 // bit c-'A' set for each word letter c present
}

// has reports whether a word with letter c (A-Z) is present.
func (ws *words) has(c byte) bool { return ws.letters&(1<<(c-'A')) != 0 }

// parse splits pre-filtered code (with the source column of each byte) into
// words with GRBL's grammar.
func (ws *words) parse(code []byte, cols []int32) {
	ws.n, ws.errNum, ws.errCol, ws.errMsg, ws.tooMany, ws.inf, ws.letters = 0, 0, 0, "", false, -1, 0
	for i := 0; i < len(code); {
		c := code[i]
		if c < 'A' || c > 'Z' {
			ws.errNum, ws.errCol = 1, int(cols[i])
			ws.errMsg = badLetterMsg(c)
			return
		}
		letterAt := i
		i++
		num, ok := readFloat(code, &i)
		if !ok {
			ws.errNum = 2
			if i < len(code) {
				ws.errCol = int(cols[i])
				ws.errMsg = fmt.Sprintf("%c needs a number, found %q", c, rune(code[i]))
			} else {
				ws.errCol = int(cols[letterAt]) + 1
				ws.errMsg = fmt.Sprintf("%c needs a number, found end of line", c)
			}
			return
		}
		if ws.n == maxWords {
			ws.tooMany = true
			ws.errCol = int(cols[letterAt])
			return
		}
		val := num.value()
		// Only a number scaled up by dropped digits can overflow.
		if num.exp > 0 && ws.inf < 0 && math.IsInf(val, 0) {
			ws.inf = ws.n
		}
		w := &ws.w[ws.n]
		w.letter, w.col, w.num, w.val = c, cols[letterAt], num, val
		ws.n++
		ws.letters |= 1 << (c - 'A')
	}
}

func badLetterMsg(c byte) string {
	switch c {
	case '#':
		return "'#' parameters are not supported by GRBL 1.1"
	case '[', ']':
		return "'[' expressions are not supported by GRBL 1.1"
	case '%':
		return "'%' is only allowed alone on a line (program start/end marker)"
	case '.', '-', '+':
		return fmt.Sprintf("%q where a word letter was expected (a number with two points or signs?)", rune(c))
	}
	if c >= '0' && c <= '9' {
		return fmt.Sprintf("%q where a word letter was expected (a number with two points or signs?)", rune(c))
	}
	return fmt.Sprintf("%q where a word letter was expected", rune(c))
}
