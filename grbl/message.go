package grbl

import (
	"fmt"
	"strconv"
	"strings"
)

// Message is one line received from the board, parsed. The concrete types
// are OK, *Error, *Alarm, Status, Feedback, Modal, Help, Probe, Offset,
// Version, BuildOptions, Setting, StartupLine, StartupEcho, Echo, Banner and
// Unknown. Use a type switch.
type Message interface {
	isMessage()
}

// OK is GRBL's "ok" reply.
type OK struct{}

// Feedback is a "[MSG:text]" push message.
type Feedback struct{ Text string }

// Help is the "[HLP:...]" answer to "$".
type Help struct{ Commands []string }

// Probe is a "[PRB:x,y,z:s]" report.
type Probe struct {
	Pos     []float64
	Success bool
}

// Offset is one line of the "$#" dump: Name is G54..G59, G28, G30, G92 or
// TLO (whose Pos has one value).
type Offset struct {
	Name string
	Pos  []float64
}

// Version is the "[VER:version:name]" line of "$I".
type Version struct {
	Version string // e.g. "1.1h.20190830"
	Name    string // the build-info string stored with $I=
}

// BuildOptions is the "[OPT:letters,blocks,rx]" line of "$I". Blocks and
// RXBufferSize are 0 when the board did not report them.
type BuildOptions struct {
	Letters      string
	Blocks       int
	RXBufferSize int
}

// Has reports whether build option letter l is present (e.g. 'V', 'N').
func (o BuildOptions) Has(l byte) bool { return strings.IndexByte(o.Letters, l) >= 0 }

// Setting is a "$N=value" line of "$$". Named settings (FluidNC
// "$Config/Filename=x") have Num -1 and Name set.
type Setting struct {
	Num   int
	Name  string
	Value float64 // NaN-free: 0 when Raw is not a number
	Raw   string
}

// StartupLine is a "$N0=line" answer to "$N".
type StartupLine struct {
	Index int
	Line  string
}

// StartupEcho is the ">line:ok" or ">line:error:N" report of a startup block
// run at boot or after homing. It is not a reply to any sent line.
type StartupEcho struct {
	Line string
	Err  *Error // nil for ok
}

// Echo is an "[echo:line]" report (builds with REPORT_ECHO_LINE_RECEIVED).
type Echo struct{ Line string }

// Banner is the start-up greeting; it also means the board just reset.
type Banner struct {
	Firmware string // "Grbl", "GrblHAL" or "FluidNC"
	Version  string // e.g. "1.1h", "3.7.8"
	Raw      string
}

// Unknown is any line kerf does not understand; it is kept, never fatal.
type Unknown struct{ Line string }

// Modal is the "[GC:...]" answer to "$G", split by modal group.
type Modal struct {
	Words    []string // every word as reported, in order
	Motion   string   // G0, G1, G2, G3, G38.x, G80
	WCS      string   // G54..G59
	Plane    string   // G17, G18, G19
	Units    string   // G20, G21
	Distance string   // G90, G91
	FeedMode string   // G93, G94
	Spindle  string   // M3, M4, M5
	Coolant  []string // M7, M8 or M9
	Program  string   // M0, M1, M2, M30 while active
	Tool     int
	Feed     float64
	Speed    float64
}

func (OK) isMessage()           {}
func (Feedback) isMessage()     {}
func (Help) isMessage()         {}
func (Probe) isMessage()        {}
func (Offset) isMessage()       {}
func (Version) isMessage()      {}
func (BuildOptions) isMessage() {}
func (Setting) isMessage()      {}
func (StartupLine) isMessage()  {}
func (StartupEcho) isMessage()  {}
func (Echo) isMessage()         {}
func (Banner) isMessage()       {}
func (Unknown) isMessage()      {}
func (Modal) isMessage()        {}
func (Status) isMessage()       {}

// Parse turns one received line (without its line terminator) into a
// Message. It never fails: anything it cannot understand is Unknown.
func Parse(line string) Message {
	line = strings.TrimRight(line, "\r\n")
	switch {
	case line == "ok":
		return OK{}
	case strings.HasPrefix(line, "error:"):
		if n, err := strconv.Atoi(line[len("error:"):]); err == nil {
			return &Error{Code: n, Text: ErrorText(n)}
		}
	case strings.HasPrefix(line, "ALARM:"):
		if n, err := strconv.Atoi(line[len("ALARM:"):]); err == nil {
			return &Alarm{Code: n, Text: AlarmText(n)}
		}
	case strings.HasPrefix(line, "<") && strings.HasSuffix(line, ">"):
		if st, err := ParseStatus(line); err == nil {
			return st
		}
	case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
		if m, ok := parseBracket(line[1 : len(line)-1]); ok {
			return m
		}
	case strings.HasPrefix(line, "$"):
		if m, ok := parseDollar(line); ok {
			return m
		}
	case strings.HasPrefix(line, ">"):
		if m, ok := parseStartupEcho(line[1:]); ok {
			return m
		}
	default:
		if b, ok := parseBanner(line); ok {
			return b
		}
	}
	return Unknown{Line: line}
}

func parseBanner(line string) (Banner, bool) {
	var fw, rest string
	switch {
	case strings.HasPrefix(line, "Grbl "):
		fw, rest = "Grbl", line[len("Grbl "):]
	case strings.HasPrefix(line, "GrblHAL "):
		fw, rest = "GrblHAL", line[len("GrblHAL "):]
	default:
		return Banner{}, false
	}
	ver, tail, _ := strings.Cut(rest, " ")
	if ver == "" || ver[0] < '0' || ver[0] > '9' {
		return Banner{}, false
	}
	if strings.HasPrefix(tail, "[FluidNC") {
		fw = "FluidNC"
		if f := strings.Fields(tail); len(f) > 1 {
			ver = strings.TrimPrefix(f[1], "v")
		}
	}
	return Banner{Firmware: fw, Version: ver, Raw: line}, true
}

func parseStartupEcho(s string) (StartupEcho, bool) {
	if body, ok := strings.CutSuffix(s, ":ok"); ok {
		return StartupEcho{Line: body}, true
	}
	i := strings.LastIndex(s, ":error:")
	if i < 0 {
		return StartupEcho{}, false
	}
	n, err := strconv.Atoi(s[i+len(":error:"):])
	if err != nil {
		return StartupEcho{}, false
	}
	return StartupEcho{Line: s[:i], Err: &Error{Code: n, Text: ErrorText(n), Line: s[:i]}}, true
}

func parseDollar(line string) (Message, bool) {
	key, val, ok := strings.Cut(line[1:], "=")
	if !ok || key == "" {
		return nil, false
	}
	if strings.HasPrefix(key, "N") && len(key) > 1 {
		if n, err := strconv.Atoi(key[1:]); err == nil {
			return StartupLine{Index: n, Line: val}, true
		}
	}
	if n, err := strconv.Atoi(key); err == nil {
		v, _ := strconv.ParseFloat(val, 64)
		return Setting{Num: n, Value: v, Raw: val}, true
	}
	v, _ := strconv.ParseFloat(val, 64)
	return Setting{Num: -1, Name: key, Value: v, Raw: val}, true
}

func parseBracket(body string) (Message, bool) {
	tag, val, ok := strings.Cut(body, ":")
	if !ok {
		return nil, false
	}
	switch tag {
	case "MSG":
		return Feedback{Text: val}, true
	case "echo":
		return Echo{Line: val}, true
	case "HLP":
		return Help{Commands: strings.Fields(val)}, true
	case "GC":
		m, err := ParseModal(val)
		return m, err == nil
	case "VER":
		v, name, _ := strings.Cut(val, ":")
		return Version{Version: v, Name: name}, true
	case "OPT":
		parts := strings.Split(val, ",")
		o := BuildOptions{Letters: parts[0]}
		if len(parts) > 1 {
			o.Blocks, _ = strconv.Atoi(parts[1])
		}
		if len(parts) > 2 {
			o.RXBufferSize, _ = strconv.Atoi(parts[2])
		}
		return o, true
	case "PRB":
		pos, s, ok := strings.Cut(val, ":")
		if !ok {
			return nil, false
		}
		p, err := parseFloats(pos)
		if err != nil || (s != "0" && s != "1") {
			return nil, false
		}
		return Probe{Pos: p, Success: s == "1"}, true
	case "G54", "G55", "G56", "G57", "G58", "G59", "G28", "G30", "G92", "TLO":
		p, err := parseFloats(val)
		if err != nil {
			return nil, false
		}
		return Offset{Name: tag, Pos: p}, true
	}
	return nil, false
}

// ParseModal parses the body of a "[GC:...]" report (without the brackets
// and tag), e.g. "G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0".
func ParseModal(s string) (Modal, error) {
	m := Modal{Words: strings.Fields(s)}
	for i, w := range m.Words {
		if len(w) < 2 {
			return Modal{}, fmt.Errorf("modal word %d %q: too short", i+1, w)
		}
		num := w[1:]
		switch w[0] {
		case 'G':
			switch num {
			case "0", "1", "2", "3", "38.2", "38.3", "38.4", "38.5", "80":
				m.Motion = w
			case "54", "55", "56", "57", "58", "59":
				m.WCS = w
			case "17", "18", "19":
				m.Plane = w
			case "20", "21":
				m.Units = w
			case "90", "91":
				m.Distance = w
			case "93", "94":
				m.FeedMode = w
			}
		case 'M':
			switch num {
			case "3", "4", "5":
				m.Spindle = w
			case "7", "8", "9":
				m.Coolant = append(m.Coolant, w)
			case "0", "1", "2", "30":
				m.Program = w
			}
		case 'T':
			t, err := strconv.Atoi(num)
			if err != nil {
				return Modal{}, fmt.Errorf("modal word %d %q: %w", i+1, w, err)
			}
			m.Tool = t
		case 'F', 'S':
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return Modal{}, fmt.Errorf("modal word %d %q: %w", i+1, w, err)
			}
			if w[0] == 'F' {
				m.Feed = v
			} else {
				m.Speed = v
			}
		}
	}
	return m, nil
}

func parseFloats(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, fmt.Errorf("value %d %q: %w", i+1, p, err)
		}
		out[i] = v
	}
	return out, nil
}
