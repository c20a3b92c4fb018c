package sim

import (
	"math"
	"time"
)

// execute turns a parsed-ready line into steps (or a status), as
// protocol_execute_line, system_execute_line and gc_execute_line do.
func (b *board) execute(e *execution, t time.Duration) {
	if e.status != stOK {
		return
	}
	line := e.text
	switch {
	case line == "":
	case line[0] == '$' && !e.startup:
		b.system(e, t)
	case b.state == sAlarm || b.state == sJog:
		e.status = stSystemGCLock
	default:
		b.gcode(e, line)
	}
}

// ---- $ commands ----

const helpText = "[HLP:$$ $# $G $I $N $x=val $Nx=line $J=line $SLP $C $X $H ~ ! ? ctrl-x]"

func (b *board) do(e *execution, fn func(t time.Duration)) {
	e.steps = append(e.steps, step{fn: fn})
}

func (b *board) system(e *execution, t time.Duration) {
	line := e.text
	if len(line) == 1 {
		b.do(e, func(t time.Duration) { b.emitLine(t, helpText) })
		return
	}
	switch c := line[1]; c {
	case 'J':
		if b.state != sIdle && b.state != sJog {
			e.status = stIdleError
			return
		}
		if len(line) < 3 || line[2] != '=' {
			e.status = stInvalidStatement
			return
		}
		b.jog(e, line)
		return
	case '$', 'G', 'C', 'X':
		if len(line) > 2 {
			e.status = stInvalidStatement
			return
		}
		switch c {
		case '$':
			if b.state == sRun || b.state == sHold {
				e.status = stIdleError
				return
			}
			b.do(e, func(t time.Duration) { b.emit(t, b.set.dump()) })
		case 'G':
			b.do(e, func(t time.Duration) { b.emitLine(t, b.gcReport()) })
		case 'C':
			if b.state == sCheck {
				b.do(e, func(t time.Duration) { b.emitLine(t, "[MSG:Disabled]") })
				e.afterOK = b.softReset
				return
			}
			if b.state != sIdle {
				e.status = stIdleError
				return
			}
			b.do(e, func(t time.Duration) {
				b.state = sCheck
				b.emitLine(t, "[MSG:Enabled]")
			})
		case 'X':
			if b.state == sAlarm {
				b.do(e, func(t time.Duration) {
					b.emitLine(t, "[MSG:Caution: Unlocked]")
					b.state = sIdle
				})
			}
		}
		return
	}
	if b.state != sIdle && b.state != sAlarm {
		e.status = stIdleError
		return
	}
	switch line[1] {
	case '#':
		if len(line) > 2 {
			e.status = stInvalidStatement
			return
		}
		b.do(e, func(t time.Duration) { b.emit(t, b.paramsReport()) })
	case 'H':
		if !b.set.flag(22) {
			e.status = stSettingDisabled
			return
		}
		if len(line) > 2 {
			e.status = stInvalidStatement
			return
		}
		e.steps = append(e.steps, step{fn: b.startHoming, wait: func() bool { return b.state == sHome }})
		e.afterOK = func(t time.Duration) {
			if b.state != sIdle {
				return
			}
			for _, l := range b.startup {
				if l != "" {
					b.internal = append(b.internal, l)
				}
			}
		}
	case 'S':
		if line != "$SLP" {
			e.status = stInvalidStatement
			return
		}
		e.afterOK = func(t time.Duration) {
			b.emitLine(t, "[MSG:Sleeping]")
			b.mo.flush()
			b.state = sSleep
			b.setSpindleOutput(0, 0)
			b.setFlood(false)
		}
	case 'I':
		if line == "$I" {
			b.do(e, func(t time.Duration) {
				b.emitLine(t, "[VER:"+versionString+":"+b.build+"]")
				b.emitLine(t, "[OPT:V,15,128]")
			})
			return
		}
		if line[2] != '=' {
			e.status = stInvalidStatement
			return
		}
		info := line[3:]
		b.do(e, func(time.Duration) { b.build = info })
	case 'R':
		if len(line) != 6 || line[2:5] != "ST=" {
			e.status = stInvalidStatement
			return
		}
		what := line[5]
		if what != '$' && what != '#' && what != '*' {
			e.status = stInvalidStatement
			return
		}
		b.do(e, func(t time.Duration) {
			if what == '$' || what == '*' {
				b.set = b.dflt.clone()
			}
			if what == '#' || what == '*' {
				b.coords = [6][3]float64{}
				b.g28, b.g30 = [3]float64{}, [3]float64{}
			}
			if what == '*' {
				b.startup = [2]string{}
				b.build = ""
			}
			b.emitLine(t, "[MSG:Restoring defaults]")
		})
		e.afterOK = b.softReset
	case 'N':
		if line == "$N" {
			b.do(e, func(t time.Duration) {
				b.emitLine(t, "$N0="+b.startup[0])
				b.emitLine(t, "$N1="+b.startup[1])
			})
			return
		}
		if b.state != sIdle {
			e.status = stIdleError
			return
		}
		n, i, ok := readFloat(line, 2)
		if !ok {
			e.status = stBadNumberFormat
			return
		}
		if i >= len(line) || line[i] != '=' {
			e.status = stInvalidStatement
			return
		}
		block := line[i+1:]
		code := b.gcode(e, block)
		if code != stOK {
			return
		}
		idx := int(math.Trunc(n))
		e.steps = append(e.steps, step{sync: true, fn: func(time.Duration) {
			if idx >= 0 && idx < len(b.startup) {
				b.startup[idx] = block
			}
		}})
	default:
		param, i, ok := readFloat(line, 1)
		if !ok {
			e.status = stBadNumberFormat
			return
		}
		if i >= len(line) || line[i] != '=' {
			e.status = stInvalidStatement
			return
		}
		value, j, ok := readFloat(line, i+1)
		if !ok {
			e.status = stBadNumberFormat
			return
		}
		if j != len(line) || param > 255 {
			e.status = stInvalidStatement
			return
		}
		n := int(param)
		if code := b.set.clone().store(n, value); code != stOK {
			e.status = code
			return
		}
		b.do(e, func(time.Duration) {
			b.set.store(n, value)
			if n == 30 || n == 31 {
				b.setSpindleOutput(0, 0)
			}
		})
	}
}

// jog handles `$J=`: parse with the jog rules, check travel, queue.
func (b *board) jog(e *execution, line string) {
	blk, code := b.parseGcode(line)
	if code != stOK {
		e.status = code
		return
	}
	if b.set.flag(20) && !b.withinTravel(blk.xyz) {
		e.status = stTravelExceeded
		return
	}
	target := blk.xyz
	b.gc.position = target
	e.steps = append(e.steps, step{blocks: []*plBlock{{kind: bkJog, target: target, programmed: blk.f / 60}}})
	e.steps = append(e.steps, step{fn: b.autoCycleStart})
}

// ---- G-code ----

// gcode parses and schedules a G-code line; returns the status.
func (b *board) gcode(e *execution, line string) int {
	blk, code := b.parseGcode(line)
	if code != stOK {
		e.status = code
		return code
	}
	gs := &b.gc
	check := b.state == sCheck
	add := func(s step) { e.steps = append(e.steps, s) }
	sync := !check

	// Immediate parser state: line number, feed mode, F, T.
	gs.lineNumber = blk.n
	gs.modal.feedInverse = blk.modal.feedInverse
	gs.feed = blk.f
	gs.tool = blk.t

	// Spindle speed and state.
	// GRBL updates these parser fields only after the sync, so overrides
	// or a door restore during the wait still see the old values.
	newS := blk.s
	if gs.spindleS != newS {
		if gs.modal.spindle != 0 && !check {
			sp := gs.modal.spindle
			add(step{sync: sync, fn: func(time.Duration) { b.spindleSet(sp, newS) }})
		}
		add(step{fn: func(time.Duration) { b.gc.spindleS = newS }})
	}
	if gs.modal.spindle != blk.modal.spindle {
		sp := blk.modal.spindle
		add(step{sync: sync, fn: func(time.Duration) {
			if !check {
				b.spindleSet(sp, newS)
			}
			b.gc.modal.spindle = sp
		}})
	}
	if gs.modal.flood != blk.modal.flood {
		fl := blk.modal.flood
		add(step{sync: sync, fn: func(time.Duration) {
			if !check {
				b.setFlood(fl)
			}
			b.gc.modal.flood = fl
		}})
	}
	// loaded: a feed move under the spindle loses Z steps once a z-drift
	// fault has begun (blocks planned from its At on).
	loaded := blk.modal.spindle != 0 && newS > 0 && b.t >= b.driftFrom()
	if blk.nonModal == nonModalDwell {
		add(step{sync: sync, dwell: time.Duration(blk.p * float64(time.Second))})
	}
	gs.modal.plane = blk.modal.plane
	gs.modal.inches = blk.modal.inches
	wcoChange := func() {
		add(step{sync: sync, fn: func(time.Duration) { b.wcoCounter = 0 }})
	}
	if blk.axisCmd == axisCmdToolLength {
		gs.modal.tloDynamic = blk.modal.tloDynamic
		tlo := blk.xyz[2]
		if !blk.modal.tloDynamic {
			tlo = 0
		}
		if gs.tlo != tlo {
			gs.tlo = tlo
			wcoChange()
		}
	}
	if gs.modal.coordSelect != blk.modal.coordSelect {
		gs.modal.coordSelect = blk.modal.coordSelect
		gs.coordSys = blk.coordSys
		wcoChange()
	}
	gs.modal.incremental = blk.modal.incremental

	switch blk.nonModal {
	case nonModalSetCoord:
		sel, data := blk.coordSel, blk.ijk
		add(step{sync: sync, fn: func(time.Duration) { b.coords[sel] = data }})
		if gs.modal.coordSelect == sel {
			gs.coordSys = data
			wcoChange()
		}
	case nonModalHome0, nonModalHome1:
		var moves []*plBlock
		if blk.axisCmd != axisCmdNone {
			moves = append(moves, &plBlock{kind: bkRapid, target: blk.xyz})
		}
		moves = append(moves, &plBlock{kind: bkRapid, target: blk.ijk})
		add(step{blocks: moves})
		gs.position = blk.ijk
	case nonModalSetHome0, nonModalSetHome1:
		pos := gs.position
		g28 := blk.nonModal == nonModalSetHome0
		add(step{sync: sync, fn: func(time.Duration) {
			if g28 {
				b.g28 = pos
			} else {
				b.g30 = pos
			}
		}})
	case nonModalSetOffset:
		gs.coordOff = blk.xyz
		wcoChange()
	case nonModalResetOffset:
		gs.coordOff = [3]float64{}
		wcoChange()
	}

	gs.modal.motion = blk.modal.motion
	if blk.axisCmd == axisCmdMotion {
		switch m := blk.modal.motion; {
		case m == motionSeek:
			add(step{blocks: []*plBlock{{kind: bkRapid, target: blk.xyz}}})
			gs.position = blk.xyz
		case m == motionLinear:
			add(step{blocks: []*plBlock{feedBlock(blk.xyz, blk.f, blk.modal.feedInverse, 1, loaded)}})
			gs.position = blk.xyz
		case m == motionCW || m == motionCCW:
			add(step{blocks: b.arc(blk, loaded)})
			gs.position = blk.xyz
		case m >= motionProbe && m <= motionProbe+3:
			if !check {
				target := blk.xyz
				pr := &probeRun{away: blk.probeAway, noErr: blk.probeNoErr}
				feed := blk.f
				add(step{sync: true, fn: func(t time.Duration) { b.startProbe(t, pr, target, feed) },
					wait: func() bool { return b.probeRun != nil }})
			}
		}
	}
	if gs.modal.feedInverse {
		gs.feed = 0
	}

	gs.modal.programFlow = blk.modal.programFlow
	switch blk.modal.programFlow {
	case 3: // M0
		if check {
			gs.modal.programFlow = 0
			break
		}
		add(step{sync: true, fn: func(t time.Duration) {
			b.state = sHold
			b.holdDone = true
			b.m0 = true
		}, wait: func() bool { return b.m0 }})
		add(step{fn: func(time.Duration) { b.gc.modal.programFlow = 0 }})
	case 2, 30:
		add(step{sync: sync, fn: func(t time.Duration) {
			g := &b.gc
			g.modal.motion = motionLinear
			g.modal.plane = 0
			g.modal.incremental = false
			g.modal.feedInverse = false
			g.modal.coordSelect = 0
			g.modal.spindle = 0
			g.modal.flood = false
			g.modal.programFlow = 0
			// RESTORE_OVERRIDES_AFTER_PROGRAM_END (on in the stock build).
			b.mo.ovFeed, b.mo.ovRapid, b.ovSpindle = 100, 100, 100
			b.ovCounter = 0
			if b.state != sCheck {
				g.coordSys = b.coords[0]
				b.wcoCounter = 0
				b.spindleSet(0, g.spindleS)
				b.setFlood(false)
			}
			b.emitLine(t, "[MSG:Pgm End]")
		}})
	}
	return stOK
}

// feedBlock makes a G1 block; in G93 the programmed speed is length × F,
// worked out at enqueue time from nSeg (arc segments share the F).
func feedBlock(target [3]float64, f float64, inverse bool, nSeg int, loaded bool) *plBlock {
	p := &plBlock{kind: bkFeed, target: target, programmed: f / 60, loaded: loaded}
	if inverse {
		p.programmed = -f * float64(nSeg) / 60 // negative marks inverse time
	}
	return p
}

// arc segments a G2/G3 the way mc_arc does, using $12.
func (b *board) arc(blk *gcBlock, loaded bool) []*plBlock {
	gs := &b.gc
	a0, a1, al := 0, 1, 2
	switch blk.modal.plane {
	case 1:
		a0, a1, al = 2, 0, 1
	case 2:
		a0, a1, al = 1, 2, 0
	}
	pos := gs.position
	target := blk.xyz
	c0 := pos[a0] + blk.ijk[a0]
	c1 := pos[a1] + blk.ijk[a1]
	r0, r1 := -blk.ijk[a0], -blk.ijk[a1]
	rt0, rt1 := target[a0]-c0, target[a1]-c1
	ang := math.Atan2(r0*rt1-r1*rt0, r0*rt0+r1*rt1)
	const eps = 5e-7
	if blk.cw {
		if ang >= -eps {
			ang -= 2 * math.Pi
		}
	} else if ang <= eps {
		ang += 2 * math.Pi
	}
	radius := blk.r
	tol := b.set.get(12)
	segs := int(math.Floor(math.Abs(0.5*ang*radius) / math.Sqrt(tol*(2*radius-tol))))
	var out []*plBlock
	n := segs
	if n < 1 {
		n = 1
	}
	if segs > 0 {
		theta := ang / float64(segs)
		lin := (target[al] - pos[al]) / float64(segs)
		for i := 1; i < segs; i++ {
			c, s := math.Cos(theta*float64(i)), math.Sin(theta*float64(i))
			var p [3]float64
			p[a0] = c0 + r0*c - r1*s
			p[a1] = c1 + r0*s + r1*c
			p[al] = pos[al] + lin*float64(i)
			out = append(out, feedBlock(p, blk.f, blk.modal.feedInverse, n, loaded))
		}
	}
	out = append(out, feedBlock(target, blk.f, blk.modal.feedInverse, n, loaded))
	return out
}

// finishBlock fills in a block's geometry when it enters the planner.
// It returns false for a move too short to make a step.
func (b *board) finishBlock(p *plBlock) bool {
	p.start = b.plannerPos()
	var d [3]float64
	var l float64
	steps := false
	for i := 0; i < 3; i++ {
		d[i] = p.target[i] - p.start[i]
		l += d[i] * d[i]
		spm := b.set.get(100 + i)
		if math.Round(p.target[i]*spm) != math.Round(p.start[i]*spm) {
			steps = true
		}
	}
	if !steps {
		return false
	}
	p.length = math.Sqrt(l)
	for i := range d {
		p.unit[i] = d[i] / p.length
	}
	var rates, acc [3]float64
	for i := 0; i < 3; i++ {
		rates[i] = b.set.rate(i)
		acc[i] = b.set.accel(i)
	}
	p.maxRate = limitByAxis(rates, p.unit)
	p.accel = limitByAxis(acc, p.unit)
	if p.programmed < 0 { // inverse time: the move takes 1/F minutes
		p.programmed = -p.programmed * p.length
	}
	if p.kind == bkRapid {
		p.programmed = p.maxRate
	}
	return true
}

// plannerPos is where the last queued block ends (pl.position).
func (b *board) plannerPos() [3]float64 {
	if n := len(b.mo.q); n > 0 {
		return b.mo.q[n-1].target
	}
	return b.mo.pos
}

// ---- probing and homing ----

func (b *board) startProbe(t time.Duration, pr *probeRun, target [3]float64, feed float64) {
	contact := b.probeContact()
	if contact != pr.away {
		b.raiseAlarm(4, t)
		return
	}
	p := &plBlock{kind: bkProbe, target: target, programmed: feed / 60}
	if !b.finishBlock(p) {
		return
	}
	b.probeRun = pr
	b.addBlock(p)
	b.state = sRun
}

// addBlock queues a finished block with the current settings.
func (b *board) addBlock(p *plBlock) {
	var acc [3]float64
	for i := range acc {
		acc[i] = b.set.accel(i)
	}
	b.mo.add(p, b.set.get(11), acc)
}

func (b *board) startHoming(t time.Duration) {
	b.state = sHome
	phys := b.physical()
	seek := b.set.get(25) / 60
	feed := b.set.get(24) / 60
	pull := b.set.get(27)
	deb := time.Duration(b.set.get(26)) * time.Millisecond
	var total float64
	b.homeFail = 0
	for _, group := range [][]int{{2}, {0, 1}} {
		// limits_go_home searches every axis of a cycle for the longest
		// of their max travels × HOMING_AXIS_SEARCH_SCALAR.
		far, limit := 0.0, 0.0
		for _, i := range group {
			sw := 0.0
			if b.set.mask(23)&(1<<i) != 0 {
				sw = -b.set.travel(i)
			}
			far = math.Max(far, math.Abs(sw-phys[i]))
			limit = math.Max(limit, 1.5*b.set.travel(i)) // HOMING_AXIS_SEARCH_SCALAR
		}
		if far > limit {
			// The search runs out before any switch: ALARM:9.
			total += limit / seek
			b.homeFail = 9
			break
		}
		total += far/seek + pull/feed + pull/feed + pull/seek + 3*secs(deb)
	}
	b.homeUntil = t + dur(total)
}

func (b *board) finishHoming(t time.Duration) {
	if b.state != sHome {
		return
	}
	if b.homeFail != 0 {
		// limits_go_home: alarm, then mc_reset; $H still gets its ok.
		b.raiseAlarm(b.homeFail, t)
		if b.exec != nil {
			b.exec.afterOK = b.softReset
		}
		return
	}
	b.mo.flush()
	b.mo.pos = b.homedPosition()
	b.frameOff = [3]float64{}
	b.drift = 0
	b.gc.position = b.mo.pos
	b.state = sIdle
}
