package gcode

import (
	"fmt"
	"io"
)

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
	relayPWM int        // spindle speeds an SSR would see as PWM (Options.SpindleRelay)
	last     [3]float64 // last point added to the bounds
	lastOK   bool
	executed bool // the current line is G-code that exec accepted
	profile  timeProfile

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
	e.pl.prof = &e.profile
	e.in.enableM7 = opts.EnableM7
	e.laser = opts.Settings.Get(SetLaserMode) != 0
	e.in.st = newState(opts.Offsets, opts.startMachine())
	if opts.Board != nil {
		e.know.known = opts.Board.apply(&e.in.st)
	}
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
	e.pl.srcLine = line
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
	if ws.inf >= 0 {
		w := &ws.w[ws.inf]
		e.diag(line, int(w.col), Error, 0, fmt.Sprintf("%c value is out of range for GRBL's 32-bit floats", w.letter))
		return lineError, nil
	}
	// Strip M6: the sender performs tool changes.
	var act Action
	for k := 0; k < ws.n && ws.has('M'); k++ {
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
	// Field by field: a composite literal is built in a temporary and copied.
	out := &e.out
	*out = WireLine{}
	out.Source, out.Actions, out.Tool, out.SendAlone, out.Motion = line, act, e.in.st.tool, eff.sendAlone, eff.move != moveNone
	if act.Has(ActionSpindleOn) {
		out.Spindle = e.in.st.speed
	}
	if bad {
		return lineError, nil
	}
	if len(e.wire) == 0 && act&(ActionToolChange|ActionOptionalStop) == 0 {
		return lineSkip, nil
	}
	return lineWire, nil
}

func isPrinterM(iv int) bool {
	switch iv {
	case 82, 83, 84, 104, 106, 107, 109, 140, 190, 204, 205:
		return true
	}
	return false
}

// printerHint warns once when the file looks like 3D-printer output.
func (e *engine) printerHint(line int) {
	if e.warnedPrinter || !e.ws.has('E') && !e.ws.has('M') {
		return
	}
	for k := 0; k < e.ws.n; k++ {
		w := &e.ws.w[k]
		iv := int(w.val)
		if w.letter == 'E' || (w.letter == 'M' && float64(iv) == w.val && isPrinterM(iv)) {
			e.warnedPrinter = true
			e.diag(line, int(w.col), Warning, 0, "this looks like a 3D-printer file (extruder E words, temperature/fan M-codes); it is not for a CNC router")
			return
		}
	}
}
