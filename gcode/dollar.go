package gcode

import (
	"fmt"
	"strconv"
)

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
			var w [3]float64
			e.addPoint(line, &e.in.eff.from, &w)
			e.pl.move(&e.in.eff.from, &e.in.eff.target, e.in.eff.feed, false, 0)
			e.addPoint(line, &e.in.eff.target, &w)
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
