package grbl

import (
	"fmt"
	"strings"
)

// MaxLineLength is GRBL's line buffer limit: at most 79 characters per line
// (LINE_BUFFER_SIZE 80). Conn counts the line as given, before GRBL's own
// filtering, so callers should strip comments and spaces first.
const MaxLineLength = 79

// DefaultRXBufferSize is GRBL 1.1's serial receive buffer on the ATmega328p.
const DefaultRXBufferSize = 128

// Real-time command bytes (GRBL 1.1). They act at once inside GRBL's
// receive interrupt and never enter the RX buffer.
const (
	RTStatus           byte = '?'
	RTFeedHold         byte = '!'
	RTCycleStart       byte = '~'
	RTSoftReset        byte = 0x18
	RTSafetyDoor       byte = 0x84
	RTJogCancel        byte = 0x85
	RTFeedOv100        byte = 0x90
	RTFeedOvPlus10     byte = 0x91
	RTFeedOvMinus10    byte = 0x92
	RTFeedOvPlus1      byte = 0x93
	RTFeedOvMinus1     byte = 0x94
	RTRapidOv100       byte = 0x95
	RTRapidOv50        byte = 0x96
	RTRapidOv25        byte = 0x97
	RTSpindleOv100     byte = 0x99
	RTSpindleOvPlus10  byte = 0x9A
	RTSpindleOvMinus10 byte = 0x9B
	RTSpindleOvPlus1   byte = 0x9C
	RTSpindleOvMinus1  byte = 0x9D
	RTSpindleStop      byte = 0x9E
	RTFloodToggle      byte = 0xA0
	RTMistToggle       byte = 0xA1
)

// IsRealtime reports whether b is one of GRBL 1.1's real-time commands:
// '?', '!', '~', 0x18, 0x84, 0x85, 0x90-0x9D (except the unused 0x98),
// 0x9E, 0xA0 and 0xA1.
func IsRealtime(b byte) bool {
	switch {
	case b == RTStatus, b == RTFeedHold, b == RTCycleStart, b == RTSoftReset,
		b == RTSafetyDoor, b == RTJogCancel, b == RTSpindleStop,
		b == RTFloodToggle, b == RTMistToggle:
		return true
	case b >= 0x90 && b <= 0x9D:
		return b != 0x98
	}
	return false
}

// LineError says why a line was refused before sending, and where.
type LineError struct {
	Line   string
	Column int // 1-based column of the offending byte; 0 for length errors
	Reason string
	Err    error // ErrLineTooLong or ErrBadLine
}

// Error names the line, the column when there is one, and the reason.
func (e *LineError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("line %q column %d: %s", e.Line, e.Column, e.Reason)
	}
	return fmt.Sprintf("line %q: %s", e.Line, e.Reason)
}

// Unwrap returns ErrLineTooLong or ErrBadLine.
func (e *LineError) Unwrap() error { return e.Err }

// checkLine refuses a line GRBL would misread: one with a line terminator,
// a real-time byte (GRBL would act on it and drop it from the line), or
// longer than GRBL's line buffer or the RX budget.
func checkLine(line string, budget int) error {
	for i := 0; i < len(line); i++ {
		b := line[i]
		switch {
		case b == '\n' || b == '\r':
			return &LineError{Line: line, Column: i + 1, Reason: "contains a line terminator", Err: ErrBadLine}
		case IsRealtime(b) || b >= 0x80:
			return &LineError{Line: line, Column: i + 1, Reason: fmt.Sprintf("contains byte %#02x, which GRBL treats as a real-time command or drops", b), Err: ErrBadLine}
		}
	}
	if len(line) > MaxLineLength {
		return &LineError{Line: line, Reason: fmt.Sprintf("%d characters, GRBL's line buffer holds %d", len(line), MaxLineLength), Err: ErrLineTooLong}
	}
	if len(line)+1 > budget {
		return &LineError{Line: line, Reason: fmt.Sprintf("%d bytes with newline exceed the %d-byte RX budget", len(line)+1, budget), Err: ErrLineTooLong}
	}
	return nil
}

// SendAlone reports whether line must be sent alone (after every earlier
// line is answered, and with nothing after it until it is answered): any
// $-command ($$, $#, $I, $N, $x=, $H, $X, $C, $J=, $SLP, $RST=…) and the
// G-code that writes EEPROM: G10 L2, G10 L20, G28.1 and G30.1.
func SendAlone(line string) bool {
	words := gcodeWords(line)
	if len(words) == 0 {
		return false
	}
	if words[0][0] == '$' {
		return true
	}
	var g10, lWord bool
	for _, w := range words {
		switch w {
		case "G10":
			g10 = true
		case "L2", "L20":
			lWord = true
		case "G28.1", "G30.1":
			return true
		}
	}
	return g10 && lWord
}

// gcodeWords filters a line the way GRBL does (drop spaces and control
// bytes, comments, upper-case) and splits it into words. A line starting
// with '$' is returned as one word. Numbers are normalised a little: leading
// zeros after the letter are dropped, so "G01" is "G1" and "G28.10" stays.
func gcodeWords(line string) []string {
	var b strings.Builder
	paren := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case paren:
			paren = c != ')'
			continue
		case c == '(':
			paren = true
			continue
		case c == ';':
			i = len(line)
			continue
		case c <= ' ':
			continue
		}
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
	}
	s := b.String()
	if s == "" {
		return nil
	}
	if s[0] == '$' {
		return []string{s}
	}
	var words []string
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && (s[j] < 'A' || s[j] > 'Z') {
			j++
		}
		num := strings.TrimLeft(s[i+1:j], "0")
		if num == "" || num[0] == '.' {
			num = "0" + num
		}
		words = append(words, s[i:i+1]+num)
		i = j
	}
	return words
}
