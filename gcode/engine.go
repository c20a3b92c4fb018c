package gcode

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Action is a bit set of what the sender must do around a wire line.
type Action uint16

// Actions. ActionNone is the empty set.
const (
	ActionNone Action = 0
	// ActionToolChange: an M6 was stripped from this line. Before sending
	// Text, stop the spindle, let the planner drain and pause for a manual
	// change to WireLine.Tool (GRBL runs a block's tool change before its
	// spindle and motion commands).
	ActionToolChange Action = 1 << (iota - 1)
	// ActionPause: the line holds M0; GRBL pauses by itself after it and
	// waits for cycle start (~).
	ActionPause
	// ActionOptionalStop: the source held M1, which GRBL ignores (it is not
	// in Text); the sender may pause here.
	ActionOptionalStop
	// ActionProgramEnd: M2 or M30; GRBL resets modal state after it.
	ActionProgramEnd
	// ActionSpindleOn: the spindle starts (M3/M4) at WireLine.Spindle RPM.
	ActionSpindleOn
	// ActionSpindleOff: the spindle stops (M5, or program end).
	ActionSpindleOff
	// ActionDollar: a `$` system command inside the program.
	ActionDollar
)

var actionNames = [...]string{"tool-change", "pause", "optional-stop", "program-end", "spindle-on", "spindle-off", "dollar"}

// Has reports whether all of b are in a.
func (a Action) Has(b Action) bool { return a&b == b }

// MarshalText encodes the actions as String does.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes what MarshalText produces.
func (a *Action) UnmarshalText(b []byte) error {
	*a = 0
	if string(b) == "none" || len(b) == 0 {
		return nil
	}
	for _, part := range strings.Split(string(b), "|") {
		found := false
		for i, n := range actionNames {
			if n == part {
				*a |= 1 << i
				found = true
			}
		}
		if !found {
			return fmt.Errorf("unknown action %q", part)
		}
	}
	return nil
}

// String lists the actions, e.g. "tool-change|spindle-on", or "none".
func (a Action) String() string {
	if a == 0 {
		return "none"
	}
	var out []byte
	for i, n := range actionNames {
		if a&(1<<i) != 0 {
			if len(out) > 0 {
				out = append(out, '|')
			}
			out = append(out, n...)
		}
	}
	return string(out)
}

// WireLine is one line to send to GRBL.
type WireLine struct {
	// Text is the wire form without newline. It is empty only for an
	// action-only line (a lone M6 or M1): nothing is sent for it, but the
	// sender must carry out Actions.
	Text string `json:"text"`
	// Source is the 1-based source line.
	Source  int    `json:"source"`
	Actions Action `json:"actions"`
	// Tool is the active tool number (T) after the line: for
	// ActionToolChange, the tool to load.
	Tool int `json:"tool,omitempty"`
	// Spindle is the speed (RPM) for ActionSpindleOn.
	Spindle float64 `json:"spindle,omitempty"`
	// SendAlone: drain the queue, send this line alone and wait for its
	// reply (EEPROM writes G10 L2/L20, G28.1, G30.1, and `$` commands).
	SendAlone bool `json:"send_alone,omitempty"`
	// Motion: the line moves the machine.
	Motion bool `json:"motion,omitempty"`
}

// maxPlungeWarnings bounds the rapid-plunge warnings listed one by one (3D
// finishing programs rapid down into already-cleared areas thousands of
// times); the rest are counted in one warning.
const maxPlungeWarnings = 5

// lineKind is what stepping one source line produced.
type lineKind int

const (
	lineEOF   lineKind = iota
	lineSkip           // nothing to send
	lineWire           // e.wire / e.out hold a line to send
	lineError          // a diagnostic of severity Error was emitted
)

// engine runs the per-line pipeline shared by Check and Compiler: read,
// pre-filter, parse, execute, wire form, analysis.
type engine struct {
	name string
	opts Options
	sc   *lineScanner
	lx   lexed
	ws   words
	in   interp
	pl   *planner
	rep  *Report
	emit func(Diagnostic)

	wire []byte
	out  WireLine
	stop bool // binary input: stop reading

	pre      state
	know     knowledge
	mute     bool       // diagnostics are only counted now: skip their text
	laser    bool       // $32=1
	plunges  int        // rapid plunges below Z0 seen
	last     [3]float64 // last point added to the bounds
	lastOK   bool
	executed bool // the current line is G-code that exec accepted

	// analysis state
	unitsSeen      bool
	units          int // bit 0 mm, bit 1 inch
	warnedUnits    bool
	warnedPrinter  bool
	endLine        int
	warnedAfterEnd bool
	belowSafe      bool
	toolSet        map[int]struct{}
	feedSeen       bool
	lastLine       int
}

func newEngine(r io.Reader, name string, opts Options, emit func(Diagnostic)) *engine {
	opts = opts.withDefaults()
	e := &engine{
		name: name, opts: opts, sc: newLineScanner(r), pl: newPlanner(opts.Settings), emit: emit,
		rep:     &Report{File: name, Bounds: Bounds{Work: emptyBox(), Machine: emptyBox()}},
		toolSet: map[int]struct{}{},
		wire:    make([]byte, 0, 256),
	}
	e.in.enableM7 = opts.EnableM7
	e.laser = opts.Settings.Get(SetLaserMode) != 0
	if opts.AssumeReset {
		e.know.known = kAll
	}
	e.in.st = newState(opts.Offsets, opts.startMachine())
	return e
}

func (e *engine) diag(line, col int, sev Severity, code int, msg string) {
	e.emit(Diagnostic{File: e.name, Line: line, Col: col, Severity: sev, GrblError: code, Message: msg})
}

func (e *engine) grblDiag(line int, g *gerr) {
	if e.mute {
		e.diag(line, g.col, Error, g.code, "")
		return
	}
	msg := fmt.Sprintf("error:%d (%s): %s", g.code, GrblErrorName(g.code), g.msg)
	e.diag(line, g.col, Error, g.code, msg)
}

// step processes one source line.
func (e *engine) step() (lineKind, error) {
	e.executed = false
	if e.stop {
		return lineEOF, nil
	}
	text, long, ok := e.sc.next()
	if !ok {
		if err := e.sc.Err(); err != nil {
			return lineEOF, fmt.Errorf("read %s after line %d: %w", e.name, e.sc.line, err)
		}
		return lineEOF, nil
	}
	line := e.sc.line
	e.lastLine = line
	if long {
		e.diag(line, MaxLineBytes+1, Error, 11, fmt.Sprintf("line is longer than %d bytes; skipped", MaxLineBytes))
		return lineError, nil
	}
	l := &e.lx
	l.lex(text)
	if l.nulCol != 0 {
		e.diag(line, l.nulCol, Error, 0, "binary data (NUL byte): this is not a G-code text file; stopped reading")
		e.stop = true
		return lineError, nil
	}
	if l.unterminatedCol != 0 {
		e.diag(line, l.unterminatedCol, Warning, 0, "comment '(' is not closed on this line; GRBL drops the rest of the line")
	}
	if l.percent {
		return lineSkip, nil
	}
	if l.n == 0 {
		if l.blockDeleteCol != 0 {
			e.diag(line, l.blockDeleteCol, Warning, 0, "block delete '/' on a line without code")
		}
		return lineSkip, nil
	}
	if e.endLine != 0 && !e.warnedAfterEnd {
		e.warnedAfterEnd = true
		e.diag(line, int(l.col[0]), Warning, 0, fmt.Sprintf("code after program end (line %d): GRBL keeps running it", e.endLine))
	}
	bad := false
	if l.nonASCIICol != 0 {
		e.diag(line, l.nonASCIICol, Error, 0, fmt.Sprintf("non-ASCII byte 0x%02X in code (GRBL silently drops it, which can change the line's meaning)", l.nonASCII))
		bad = true
	}
	if l.realtimeCol != 0 {
		e.diag(line, l.realtimeCol, Error, 0, fmt.Sprintf("%q in code is a GRBL real-time command (status, feed hold or cycle start), not part of the line", rune(l.realtime)))
		bad = true
	}
	if l.checksum && l.checksumGiven != l.checksumCalc {
		e.diag(line, l.checksumCol, Error, 0, fmt.Sprintf("checksum mismatch: line says *%d, its bytes give *%d", l.checksumGiven, l.checksumCalc))
		bad = true
	}
	if l.blockDeleteCol != 0 {
		e.diag(line, l.blockDeleteCol, Warning, 0, "block delete '/' is ignored by GRBL: this line always runs")
	}
	if l.slashCol != 0 {
		e.diag(line, l.slashCol, Error, 0, "'/' inside code: GRBL drops it and joins what is around it (X1/2 reads as X12)")
		bad = true
	}
	if l.total > maxCode {
		e.diag(line, int(l.col[GrblLineMax]), Error, 11, fmt.Sprintf("error:11 (%s): line is %d characters after GRBL's pre-filter (limit %d)", GrblErrorName(11), l.total, GrblLineMax))
		return lineError, nil
	}
	if l.code[0] == '$' {
		return e.dollar(line, bad)
	}
	ws := &e.ws
	ws.parse(l.code[:l.n], l.col[:l.n])
	if ws.tooMany {
		e.diag(line, ws.errCol, Error, 11, fmt.Sprintf("more than %d words in one line", maxWords))
		return lineError, nil
	}
	for k := 0; k < ws.n; k++ {
		if w := &ws.w[k]; math.IsInf(w.val, 0) {
			e.diag(line, int(w.col), Error, 0, fmt.Sprintf("%c value is out of range for GRBL's 32-bit floats", w.letter))
			return lineError, nil
		}
	}
	// Strip M6: the sender performs tool changes.
	var act Action
	for k := 0; k < ws.n; k++ {
		if w := &ws.w[k]; w.letter == 'M' && w.val == 6 {
			act |= ActionToolChange
			copy(ws.w[k:ws.n], ws.w[k+1:ws.n])
			ws.n--
			k--
		}
	}
	e.printerHint(line)
	e.pre = e.in.st
	if g := e.in.exec(ws, false); g != nil {
		e.grblDiag(line, g)
		return lineError, nil
	}
	e.executed = true
	e.wire = appendWire(e.wire[:0], ws, &e.pre, &e.in.info, &e.in.eff, &e.know)
	if len(e.wire) > GrblLineMax {
		// GRBL rejects the line whole: it changes nothing.
		e.diag(line, int(l.col[0]), Error, 11, fmt.Sprintf("error:11 (%s): even the shortest form is %d characters (limit %d)", GrblErrorName(11), len(e.wire), GrblLineMax))
		e.in.st = e.pre
		e.executed = false
		return lineError, nil
	} else if l.total > GrblLineMax {
		e.diag(line, int(l.col[GrblLineMax]), Warning, 0, fmt.Sprintf("line is %d characters after GRBL's pre-filter (limit %d): sent as is, GRBL answers error:11; kerf sends the %d-character wire form", l.total, GrblLineMax, len(e.wire)))
	}
	act |= e.analyse(line)
	e.know.update(&e.in.info, &e.in.eff, e.pre.inverse != e.in.st.inverse, e.opts.Offsets != nil)
	if act.Has(ActionToolChange) {
		e.toolSet[e.in.st.tool] = struct{}{}
		if len(e.rep.ToolChanges) < e.opts.MaxEvents {
			e.rep.ToolChanges = append(e.rep.ToolChanges, ToolChange{Line: line, Tool: e.in.st.tool})
		}
		e.pl.sync()
	}
	eff := &e.in.eff
	e.out = WireLine{Source: line, Actions: act, Tool: e.in.st.tool, SendAlone: eff.sendAlone, Motion: eff.move != moveNone}
	if act.Has(ActionSpindleOn) {
		e.out.Spindle = e.in.st.speed
	}
	if bad {
		return lineError, nil
	}
	if len(e.wire) == 0 && act&(ActionToolChange|ActionOptionalStop) == 0 {
		return lineSkip, nil
	}
	return lineWire, nil
}

var printerM = map[int]bool{82: true, 83: true, 84: true, 104: true, 106: true, 107: true, 109: true, 140: true, 190: true, 204: true, 205: true}

// printerHint warns once when the file looks like 3D-printer output.
func (e *engine) printerHint(line int) {
	if e.warnedPrinter {
		return
	}
	for k := 0; k < e.ws.n; k++ {
		w := &e.ws.w[k]
		iv := int(w.val)
		if w.letter == 'E' || (w.letter == 'M' && float64(iv) == w.val && printerM[iv]) {
			e.warnedPrinter = true
			e.diag(line, int(w.col), Warning, 0, "this looks like a 3D-printer file (extruder E words, temperature/fan M-codes); it is not for a CNC router")
			return
		}
	}
}

// analyse updates the report with an accepted block and returns the sender
// actions it implies.
func (e *engine) analyse(line int) Action {
	st, pre, eff := &e.in.st, &e.pre, &e.in.eff
	rep := e.rep
	var act Action
	for k := 0; k < e.ws.n; k++ {
		w := &e.ws.w[k]
		switch w.letter {
		case 'G':
			if w.val == 20 || w.val == 21 {
				e.unitsSeen = true
				if w.val == 20 {
					e.units |= 2
				} else {
					e.units |= 1
				}
			}
		case 'T':
			if _, ok := e.toolSet[st.tool]; !ok {
				e.toolSet[st.tool] = struct{}{}
			}
		case 'M':
			if w.val == 1 {
				act |= ActionOptionalStop
			}
		}
	}
	switch eff.flow {
	case flowPause:
		act |= ActionPause
		if len(rep.Pauses) < e.opts.MaxEvents {
			rep.Pauses = append(rep.Pauses, line)
		}
		e.pl.sync()
	case flowEnd:
		act |= ActionProgramEnd
		if rep.ProgramEnd == 0 {
			rep.ProgramEnd = line
		}
		e.endLine = line
		e.pl.sync()
	}
	if eff.spindleChanged {
		ev := SpindleEvent{Line: line, State: "off", Speed: st.speed}
		switch st.spindle {
		case 3:
			ev.State = "cw"
			act |= ActionSpindleOn
		case 4:
			ev.State = "ccw"
			act |= ActionSpindleOn
		default:
			act |= ActionSpindleOff
		}
		if st.spindle != 0 && st.speed == 0 {
			e.diag(line, e.colOf('M'), Warning, 0, "spindle started with S0: set a spindle speed (S) before or with M3/M4")
		}
		rep.SpindleEventsN++
		if len(rep.SpindleEvents) < e.opts.MaxEvents {
			rep.SpindleEvents = append(rep.SpindleEvents, ev)
		}
		e.pl.sync()
	} else if st.spindle != 0 && st.speed != pre.speed && !e.laser {
		e.pl.sync()
	}
	if eff.wcoChanged {
		e.lastOK = false // the same machine point has new work coordinates
	}
	if eff.coolantChanged || eff.wcoChanged || eff.sendAlone {
		e.pl.sync()
	}
	if eff.dwell > 0 {
		e.pl.dwell(eff.dwell)
		rep.DwellSeconds += eff.dwell
	} else if e.in.info.nonModal == nmDwell {
		e.pl.sync()
	}
	if eff.move == moveNone {
		return act
	}
	rep.Moves++
	if !e.unitsSeen && !e.warnedUnits {
		e.warnedUnits = true
		e.diag(line, 1, Warning, 0, "motion before any G20/G21: the units are whatever the controller was left in (G21 mm after a reset)")
	}
	if !e.lastOK || eff.from != e.last {
		e.addPoint(line, eff.from)
	}
	switch eff.move {
	case moveRapid, moveProbe:
		if eff.hasVia {
			e.addPoint(line, eff.via)
			e.pl.line(sub(eff.via, eff.from), 0, true, 0)
			e.pl.line(sub(eff.target, eff.via), 0, true, 0)
		} else if eff.move == moveRapid {
			e.pl.line(sub(eff.target, eff.from), 0, true, 0)
		} else {
			e.pl.line(sub(eff.target, eff.from), eff.feed, false, 0)
			e.pl.sync()
		}
		if eff.move == moveRapid && eff.target[2] < eff.from[2] && e.workZ(eff.target) < 0 {
			e.plunges++
			if e.plunges <= maxPlungeWarnings {
				e.diag(line, e.colOf('Z'), Warning, 0, fmt.Sprintf("rapid (G0) plunge to Z%.3f, below Z0: a rapid move into the stock", e.workZ(eff.target)))
			}
		}
	case moveLinear:
		e.feed(eff)
		inv := 0.0
		if eff.inverse {
			inv = 1 / eff.feed
		}
		e.pl.line(sub(eff.target, eff.from), eff.feed, false, inv)
	case moveArc:
		e.feed(eff)
		e.arc(line, eff)
	}
	e.addPoint(line, eff.target)
	e.last, e.lastOK = eff.target, true
	e.safePoint(line, eff.target)
	return act
}

func (e *engine) feed(eff *effect) {
	if eff.inverse {
		return
	}
	r := e.rep
	if !e.feedSeen || eff.feed < r.FeedMin {
		r.FeedMin = eff.feed
	}
	if !e.feedSeen || eff.feed > r.FeedMax {
		r.FeedMax = eff.feed
	}
	e.feedSeen = true
}

// arc feeds an arc to the planner as GRBL segments it and adds its extents
// to the bounds.
func (e *engine) arc(line int, eff *effect) {
	a0, a1, al := eff.axis0, eff.axis1, eff.axisLin
	c0 := eff.from[a0] + eff.center[a0]
	c1 := eff.from[a1] + eff.center[a1]
	r0, r1 := -eff.center[a0], -eff.center[a1]
	rt0, rt1 := eff.target[a0]-c0, eff.target[a1]-c1
	segs, ang := arcSegments(r0, r1, rt0, rt1, eff.radius, eff.cw, e.pl.arcTol)
	// Exact extents: the cardinal points the sweep passes.
	start := math.Atan2(r1, r0)
	for q := 0; q < 4; q++ {
		qa := float64(q) * math.Pi / 2
		d := qa - start
		if ang < 0 {
			d = -d
		}
		d = math.Mod(d, 2*math.Pi)
		if d < 0 {
			d += 2 * math.Pi
		}
		if d <= math.Abs(ang) {
			p := eff.from
			p[a0] = c0 + eff.radius*math.Cos(qa)
			p[a1] = c1 + eff.radius*math.Sin(qa)
			p[al] = eff.from[al] + (eff.target[al]-eff.from[al])*d/math.Abs(ang)
			e.addPoint(line, p)
		}
	}
	feed, inv := eff.feed, 0.0
	if eff.inverse {
		n := segs
		if n < 1 {
			n = 1
		}
		inv = 1 / (eff.feed * float64(n))
	}
	prev := eff.from
	if segs > 1 {
		theta := ang / float64(segs)
		lin := (eff.target[al] - eff.from[al]) / float64(segs)
		for i := 1; i < segs; i++ {
			cosT, sinT := math.Cos(float64(i)*theta), math.Sin(float64(i)*theta)
			var p [3]float64
			p[a0] = c0 + r0*cosT - r1*sinT
			p[a1] = c1 + r0*sinT + r1*cosT
			p[al] = eff.from[al] + lin*float64(i)
			e.pl.line(sub(p, prev), feed, false, inv)
			prev = p
		}
	}
	e.pl.line(sub(eff.target, prev), feed, false, inv)
}

func sub(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func (e *engine) work(p [3]float64) [3]float64 {
	st := &e.in.st
	w := [3]float64{p[0] - st.wcs[0] - st.g92[0], p[1] - st.wcs[1] - st.g92[1], p[2] - st.wcs[2] - st.g92[2] - st.tlo}
	return w
}

func (e *engine) workZ(p [3]float64) float64 { return e.work(p)[2] }

func (e *engine) addPoint(line int, p [3]float64) {
	e.rep.Bounds.Machine.add(p, line)
	e.rep.Bounds.Work.add(e.work(p), line)
}

func (e *engine) safePoint(line int, p [3]float64) {
	w := e.work(p)
	if w[2] < e.opts.SafeZ {
		e.belowSafe = true
		return
	}
	if !e.belowSafe {
		return
	}
	e.belowSafe = false
	e.rep.SafePointsN++
	if len(e.rep.SafePoints) < e.opts.MaxEvents {
		e.rep.SafePoints = append(e.rep.SafePoints, SafePoint{Line: line, Work: w, Machine: p})
	}
}

// colOf returns the column of the first word with letter c, or 1.
func (e *engine) colOf(c byte) int {
	for k := 0; k < e.ws.n; k++ {
		if e.ws.w[k].letter == c {
			return int(e.ws.w[k].col)
		}
	}
	return 1
}

// dollar handles a `$` system command line.
func (e *engine) dollar(line int, bad bool) (lineKind, error) {
	l := &e.lx
	code := l.code[:l.n]
	col := int(l.col[0])
	cmd := string(code)
	e.wire = append(e.wire[:0], code...)
	e.know.anchored = [3]bool{} // a $ command may move or re-home the machine
	e.out = WireLine{Source: line, Actions: ActionDollar, SendAlone: true, Tool: e.in.st.tool}
	if len(e.rep.DollarLines) < e.opts.MaxEvents {
		e.rep.DollarLines = append(e.rep.DollarLines, line)
	}
	fail := func(code int, msg string) (lineKind, error) {
		e.grblDiag(line, &gerr{code, col, msg})
		return lineError, nil
	}
	switch {
	case cmd == "$" || cmd == "$$" || cmd == "$#" || cmd == "$G" || cmd == "$I" || cmd == "$N" || cmd == "$X":
	case cmd == "$C":
		e.diag(line, col, Warning, 0, "$C inside a program toggles check mode; leaving it soft-resets GRBL")
	case cmd == "$SLP":
		e.diag(line, col, Warning, 0, "$SLP inside a program puts GRBL to sleep; only a reset wakes it")
	case cmd == "$H":
		if e.opts.Settings.Get(SetHomingEnable) == 0 {
			return fail(5, "$H: homing is disabled ($22=0)")
		}
		e.pl.sync()
		e.in.st.pos = [3]float64{}
	case cmd == "$RST=$" || cmd == "$RST=#" || cmd == "$RST=*":
		e.diag(line, col, Warning, 0, cmd+" inside a program restores controller defaults")
	case len(cmd) > 3 && cmd[:3] == "$J=":
		ws := &e.ws
		ws.parse(l.code[3:l.n], l.col[3:l.n])
		if ws.tooMany {
			return fail(16, "too many words in jog")
		}
		e.pre = e.in.st
		if g := e.in.exec(ws, true); g != nil {
			if g.code == 20 || g.code == 21 || g.code == 36 {
				g = &gerr{16, g.col, g.msg}
			}
			e.grblDiag(line, g)
			return lineError, nil
		}
		if e.in.eff.move != moveNone {
			e.rep.Moves++
			e.addPoint(line, e.in.eff.from)
			e.pl.line(sub(e.in.eff.target, e.in.eff.from), e.in.eff.feed, false, 0)
			e.addPoint(line, e.in.eff.target)
			e.out.Motion = true
		}
		e.pl.sync()
	case len(cmd) > 4 && (cmd[:4] == "$N0=" || cmd[:4] == "$N1="):
		e.diag(line, col, Warning, 0, "startup block write inside a program")
	case len(cmd) > 3 && cmd[:3] == "$I=":
	default:
		k, v, ok := cutByte(cmd[1:], '=')
		n, err1 := strconv.Atoi(k)
		f, err2 := strconv.ParseFloat(v, 64)
		if !ok || err1 != nil || err2 != nil || n < 0 || n > 255 {
			return fail(3, fmt.Sprintf("%s is not a GRBL system command", cmd))
		}
		if f < 0 {
			return fail(4, fmt.Sprintf("$%d cannot be negative", n))
		}
		e.diag(line, col, Warning, 0, fmt.Sprintf("setting $%d=%s changed inside a program", n, v))
	}
	if bad {
		return lineError, nil
	}
	return lineWire, nil
}

func cutByte(s string, c byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// finish completes the report after the last line.
func (e *engine) finish() {
	rep := e.rep
	rep.Lines = e.sc.line
	rep.Bytes = e.sc.bytes
	rep.EstimatedSeconds = math.Round(e.pl.seconds()*100) / 100
	rep.Segments = e.pl.segments
	switch e.units {
	case 0:
		rep.Units = "unset"
	case 1:
		rep.Units = "mm"
	case 2:
		rep.Units = "inch"
	default:
		rep.Units = "mixed"
	}
	for t := range e.toolSet {
		rep.Tools = append(rep.Tools, t)
	}
	sort.Ints(rep.Tools)
	// Values come from GRBL's float32 arithmetic; report them to 0.1 µm
	// so that 100.66 does not print as 100.65999603271484.
	for _, b := range []*Box{&rep.Bounds.Work, &rep.Bounds.Machine} {
		roundVec(&b.Min)
		roundVec(&b.Max)
	}
	for i := range rep.SafePoints {
		roundVec(&rep.SafePoints[i].Work)
		roundVec(&rep.SafePoints[i].Machine)
	}
	rep.FeedMin, rep.FeedMax = roundReport(rep.FeedMin), roundReport(rep.FeedMax)
	for i := range rep.SpindleEvents {
		rep.SpindleEvents[i].Speed = roundReport(rep.SpindleEvents[i].Speed)
	}
	if rep.Lines == 0 {
		e.diag(0, 0, Warning, 0, "empty file: no G-code")
	}
	if n := e.plunges - maxPlungeWarnings; n > 0 {
		e.diag(0, 0, Warning, 0, fmt.Sprintf("%d more rapid (G0) plunges below Z0 not listed", n))
	}
	e.travelCheck()
}

// travelCheck compares the bounds with the machine travel ($130-$132).
func (e *engine) travelCheck() {
	b := &e.rep.Bounds
	if b.Machine.Empty {
		return
	}
	axes := "XYZ"
	for i := 0; i < 3; i++ {
		travel := e.opts.Settings.Get(SetTravelX + i)
		if travel <= 0 {
			continue
		}
		if e.opts.Offsets != nil {
			if b.Machine.Max[i] > 1e-6 {
				e.diag(b.Machine.MaxLine[i], 0, Error, 0, fmt.Sprintf("%c reaches machine %c%.3f, beyond the travel (0 to -%g, $%d): soft limit / crash", axes[i], axes[i], b.Machine.Max[i], travel, SetTravelX+i))
			}
			if b.Machine.Min[i] < -travel-1e-6 {
				e.diag(b.Machine.MinLine[i], 0, Error, 0, fmt.Sprintf("%c reaches machine %c%.3f, beyond the travel (0 to -%g, $%d): soft limit / crash", axes[i], axes[i], b.Machine.Min[i], travel, SetTravelX+i))
			}
			continue
		}
		if span := b.Machine.Max[i] - b.Machine.Min[i]; span > travel+1e-6 {
			e.diag(b.Machine.MaxLine[i], 0, Error, 0, fmt.Sprintf("the program spans %.3f mm in %c, more than the machine's %g mm travel ($%d)", span, axes[i], travel, SetTravelX+i))
		}
	}
}

func roundReport(v float64) float64 { return math.Round(v*1e4) / 1e4 }

func roundVec(v *[3]float64) {
	for i := range v {
		v[i] = roundReport(v[i])
	}
}
