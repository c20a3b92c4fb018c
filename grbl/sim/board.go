package sim

import (
	"math"
	"strconv"
	"time"
)

// Build constants of a stock 1.1h Uno build.
const (
	rxSize        = 128 // RX_BUFFER_SIZE (the 1.1 ring uses all 128)
	txSize        = 104 // TX_BUFFER_SIZE
	lineMax       = 80  // LINE_BUFFER_SIZE: 79 characters + NUL
	plannerBlocks = 15  // BLOCK_BUFFER_SIZE 16, one slot kept free
	versionString = "1.1h.20190830"
	banner        = "\r\nGrbl 1.1h ['$' for help]\r\n"

	doorSpindleDelay = 4 * time.Second // SAFETY_DOOR_SPINDLE_DELAY
	doorCoolantDelay = 1 * time.Second // SAFETY_DOOR_COOLANT_DELAY
	lockMsgDelay     = 500 * time.Millisecond
)

// machState is sys.state.
type machState int

const (
	sIdle machState = iota
	sRun
	sHold
	sJog
	sAlarm
	sDoor
	sCheck
	sHome
	sSleep
)

// execution is one line on its way through the board: pre-filtered text,
// the time its parse completes, then a list of steps that may wait.
type execution struct {
	text       string
	readyAt    time.Duration
	parsed     bool
	status     int
	steps      []step
	i          int
	startup    bool // a $N startup line: answered ">line:ok" on one line
	awaitReset bool // soft limit tripped: ok only after a reset
	afterOK    func(t time.Duration)
}

// step is one part of a line's execution, run in order. A step first waits
// for the planner to empty (sync), then runs fn once, then queues blocks
// (waiting for free slots), then waits for whatever fn started.
type step struct {
	sync    bool
	fn      func(t time.Duration)
	started bool
	blocks  []*plBlock
	n       int
	dwell   time.Duration
	until   time.Duration
	wait    func() bool // returns true while the step must keep waiting
}

type faultState struct {
	Fault
	fired bool
	endAt time.Duration
}

// board is the GRBL firmware and the machine it drives. Every method runs
// with Machine.mu held.
type board struct {
	m      *Machine
	set    settings
	dflt   settings // compiled-in defaults for $RST=$
	lp     time.Duration
	rxWire wire // host → board
	txWire wire // board → host

	t       time.Duration // machine time processed so far
	booting bool
	bootAt  time.Duration

	rx        []byte
	line      []byte
	lComment  bool
	lSemi     bool
	lOverflow bool

	state         machState
	statusPending bool // '?' received, report not yet sent
	holdDone      bool
	doorSub       int
	m0            bool // hold came from M0: the M0 line's ok waits for ~
	lockout       bool // ALARM:1/2 lock-up until reset
	lockMsgAt     time.Duration
	alarmOnStop   int // soft limit: raise once motion has stopped
	jogCancel     bool
	resumeAt      time.Duration // end of the restore delay (door, spindle stop)
	spindleStop   bool          // 0x9E active in hold
	probeRun      *probeRun
	homeUntil     time.Duration
	homeFail      int           // alarm the running homing cycle ends in (9: no switch found)
	motionEnd     time.Duration // end of the span motionTo is integrating
	stallUntil    time.Duration
	stallForever  bool

	mo      motion
	gc      gcState
	coords  [6][3]float64
	g28     [3]float64
	g30     [3]float64
	prb     [3]float64
	prbOK   bool
	startup [2]string
	build   string

	exec     *execution
	internal []string // startup lines waiting to run

	ovSpindle  int
	wcoCounter int
	ovCounter  int

	pin      SpindleState // physical output (faults applied)
	spPWM    int          // GRBL's PWM register
	spRPM    float64      // sys.spindle_speed
	dirCCW   bool
	flood    bool
	frameOff [3]float64 // machine position + frameOff = physical position (homing frame)
	drift    float64    // physical Z minus commanded Z (z-drift fault)

	faults []*faultState
	stats  statsAcc
}

type probeRun struct {
	away, noErr bool
	hit         bool
}

func newBoard(m *Machine, st settings) *board {
	b := &board{m: m, set: st, dflt: st.clone(), lp: m.opts.LineProcessing}
	bt := time.Second * 10 / time.Duration(m.opts.Baud)
	b.rxWire.byteTime = bt
	b.txWire.byteTime = bt
	for _, f := range m.opts.Faults {
		b.faults = append(b.faults, &faultState{Fault: f})
	}
	b.stats.errors = map[int]int{}
	b.stats.alarms = map[int]int{}
	b.mo.ovFeed, b.mo.ovRapid, b.ovSpindle = 100, 100, 100
	// Physical carriage at power-on, in homing coordinates; by default at
	// the origin, so that power-on MPos and homed coordinates agree.
	if m.opts.HomePosition != nil {
		b.frameOff = *m.opts.HomePosition
	}
	if m.opts.WorkOffsets != nil {
		b.coords = *m.opts.WorkOffsets
	}
	b.booting = true
	b.bootAt = math.MaxInt64
	b.state = sIdle
	b.gcInit()
	return b
}

// homedPosition is the machine position homing sets (HOMING_FORCE_SET_ORIGIN off).
func (b *board) homedPosition() [3]float64 {
	var p [3]float64
	pull := b.set.get(27)
	for i := 0; i < 3; i++ {
		if b.set.mask(23)&(1<<i) != 0 {
			p[i] = -b.set.travel(i) + pull
		} else {
			p[i] = -pull
		}
	}
	return p
}

// ---- output ----

func (b *board) emit(t time.Duration, s string) {
	if b.m.ep == nil || b.m.unplug {
		return
	}
	b.txWire.send(t, []byte(s))
	b.m.deliver()
}

func (b *board) emitLine(t time.Duration, s string) { b.emit(t, s+"\r\n") }

func (b *board) emitStatus(t time.Duration, code int) {
	if code == stOK {
		b.stats.oks++
		b.emitLine(t, "ok")
		return
	}
	b.stats.errors[code]++
	b.emitLine(t, "error:"+strconv.Itoa(code))
}

// ---- resets ----

// hardReset is a power-on or DTR reset: everything but EEPROM is lost. The
// carriage physically stays where it is.
func (b *board) hardReset(t time.Duration) {
	phys := b.physical()
	b.flushAll()
	b.mo.pos = [3]float64{}
	b.frameOff = [3]float64{phys[0], phys[1], phys[2] - b.drift}
	b.prb, b.prbOK = [3]float64{}, false
	b.state = sIdle
	b.lockout = false
	b.stallForever, b.stallUntil = false, 0
	if b.set.flag(22) || b.m.opts.StartInAlarm {
		b.state = sAlarm
	}
	b.gcInit()
	b.mo.ovFeed, b.mo.ovRapid, b.ovSpindle = 100, 100, 100
	b.booting = true
	b.bootAt = t + b.m.opts.BootDelay
	b.stats.resets++
}

// flushAll drops the RX buffer, the line, the planner and the running line.
func (b *board) flushAll() {
	b.rx = b.rx[:0]
	b.statusPending = false
	b.line = b.line[:0]
	b.lComment, b.lSemi, b.lOverflow = false, false, false
	b.mo.flush()
	b.exec = nil
	b.internal = nil
	b.probeRun = nil
	b.holdDone, b.doorSub, b.m0 = false, 0, false
	b.alarmOnStop = 0
	b.jogCancel = false
	b.resumeAt = 0
	b.spindleStop = false
	b.homeUntil = 0
	b.setSpindleOutput(0, 0)
	b.setFlood(false)
}

// boot prints the banner and what follows it, as protocol_main_loop does.
func (b *board) boot(t time.Duration) {
	b.booting = false
	b.emit(t, banner)
	if b.set.flag(21) && b.limitsPressed() != 0 {
		b.state = sAlarm
		b.emitLine(t, "[MSG:Check Limits]")
	}
	if b.state == sAlarm || b.state == sSleep {
		b.state = sAlarm
		b.emitLine(t, "[MSG:'$H'|'$X' to unlock]")
		return
	}
	for _, l := range b.startup {
		if l != "" {
			b.internal = append(b.internal, l)
		}
	}
}

// softReset is 0x18 (or mc_reset followed by the main loop restarting).
func (b *board) softReset(t time.Duration) {
	alarm := 0
	switch {
	case b.state == sHome:
		alarm = 6
	case b.state == sRun || b.state == sJog:
		alarm = 3
	case (b.state == sHold || b.state == sDoor) && b.mo.v > 0:
		alarm = 3
	}
	if b.exec != nil && b.exec.awaitReset {
		b.emitStatus(t, stOK)
	}
	wasAlarm := b.state == sAlarm || b.state == sSleep || b.lockout
	if alarm != 0 {
		b.stats.alarms[alarm]++
		b.emitLine(t, "ALARM:"+strconv.Itoa(alarm))
	}
	b.flushAll()
	b.lockout = false
	b.gcInit()
	b.mo.ovFeed, b.mo.ovRapid, b.ovSpindle = 100, 100, 100
	switch {
	case alarm != 0 || wasAlarm:
		b.state = sAlarm
	default:
		b.state = sIdle
	}
	b.stats.resets++
	b.boot(t)
}

// gcInit is gc_init: modal defaults, F/S/T zero, G92 and TLO cleared,
// the G54 data loaded, the parser position synced to the machine.
func (b *board) gcInit() {
	b.gc = gcState{}
	b.gc.modal.motion = motionSeek
	b.gc.coordSys = b.coords[0]
	b.gc.position = b.mo.pos
	b.wcoCounter, b.ovCounter = 0, 0
}

// ---- time ----

// advance processes everything due up to now, event by event.
func (b *board) advance(now time.Duration) {
	for i := 0; i < 1_000_000; i++ {
		t, ok := b.nextEvent(b.t)
		if !ok || t > now {
			break
		}
		if t <= b.t {
			if i > 0 {
				t = b.t + time.Microsecond
				if t > now {
					break
				}
			} else {
				t = b.t
			}
		}
		b.stepTo(t)
	}
	b.stepTo(now)
}

// nextEvent returns the earliest time something happens on its own.
func (b *board) nextEvent(now time.Duration) (time.Duration, bool) {
	best := time.Duration(math.MaxInt64)
	take := func(t time.Duration) {
		if t < best {
			best = t
		}
	}
	if b.booting {
		take(b.bootAt)
	}
	// Real-time bytes act on arrival; so does the end of a line when the
	// board is waiting for one.
	reading := !b.booting && b.exec == nil && !b.lockout && b.state != sSleep
	if reading || b.rxWire.realtime > 0 { // skip the scan when nothing can match
		if t, ok := b.rxWire.nextMatch(func(c byte) bool {
			return isRealtime(c) || (reading && (c == '\n' || c == '\r'))
		}); ok {
			take(t)
		}
	}
	if reading && len(b.rx) > 0 && b.rxHasEOL() {
		// A full TX buffer stalls the main loop until it drains to fit.
		if b.txWire.backlogAt(now) > txSize {
			take(b.txWire.lastAt - time.Duration(txSize)*b.txWire.byteTime)
		} else {
			take(now)
		}
	}
	if reading && len(b.internal) > 0 {
		take(now)
	}
	if e := b.exec; e != nil && !b.booting && !b.lockout && b.state != sSleep {
		if !e.parsed {
			take(e.readyAt)
		} else if e.i < len(e.steps) && e.steps[e.i].until > 0 {
			take(e.steps[e.i].until)
		}
	}
	if b.lockMsgAt > 0 {
		take(b.lockMsgAt)
	}
	if b.resumeAt > 0 {
		take(b.resumeAt)
	}
	if b.homeUntil > 0 {
		take(b.homeUntil)
	}
	if b.stallUntil > 0 {
		take(b.stallUntil)
	}
	// Motion is integrated lazily whenever anything looks at it; it needs a
	// wake-up of its own only when a line, a probe or an alarm waits on it.
	// With hard limits on, each block is checked for a switch it will hit.
	waiting := b.exec != nil || b.probeRun != nil || b.alarmOnStop != 0 || b.jogCancel || b.set.flag(21)
	if waiting && b.motionActive() && !b.stalled(now) {
		if b.mo.q[0].kind == bkProbe {
			take(now + time.Millisecond)
		} else {
			take(now + dur(b.mo.frontTime()))
		}
		if b.set.flag(21) {
			if s, ok := b.switchDistance(b.mo.q[0]); ok {
				take(now + dur(b.mo.timeTo(s)))
			}
		}
	}
	for _, f := range b.faults {
		if !f.fired && f.Line == 0 && f.At > 0 {
			take(f.At)
		}
		if f.fired && f.endAt > 0 {
			take(f.endAt)
		}
	}
	if best == time.Duration(math.MaxInt64) {
		return 0, false
	}
	return best, true
}

// stepTo brings the board to time t: motion, arriving bytes, timers, lines.
func (b *board) stepTo(t time.Duration) {
	if t < b.t {
		t = b.t
	}
	pending := b.linePending()
	emptyAt := b.motionTo(t)
	if pending && (b.state == sIdle || b.state == sRun) && !b.booting && emptyAt < t {
		b.stats.starved += t - emptyAt
	}
	b.t = t
	b.wireTo(t)
	b.timers(t)
	b.process(t)
}

// linePending: a complete line waits in RX, or bytes are still on the wire.
func (b *board) linePending() bool {
	return b.rxHasEOL() || b.rxWire.backlogAt(b.t) > 0
}

func (b *board) timers(t time.Duration) {
	if b.booting && t >= b.bootAt {
		b.boot(b.bootAt)
	}
	if b.lockMsgAt > 0 && t >= b.lockMsgAt {
		b.lockMsgAt = 0
		b.emitLine(t, "[MSG:Reset to continue]")
	}
	if b.resumeAt > 0 && t >= b.resumeAt {
		b.resumeAt = 0
		b.finishResume(t)
	}
	if b.homeUntil > 0 && t >= b.homeUntil {
		b.homeUntil = 0
		b.finishHoming(t)
	}
	if b.stallUntil > 0 && t >= b.stallUntil {
		b.stallUntil = 0
	}
	for _, f := range b.faults {
		if !f.fired && f.Line == 0 && f.At > 0 && t >= f.At {
			b.fireFault(f, t)
		}
		if f.fired && f.endAt > 0 && t >= f.endAt {
			f.endAt = 0
			if f.Kind == FaultUnplug {
				b.m.unplug = false
				b.m.notifyPlug(true)
			}
		}
	}
}

// ---- serial receive ----

func isRealtime(c byte) bool {
	switch c {
	case '?', '!', '~', 0x18:
		return true
	}
	return c == 0x84 || c == 0x85 || (c >= 0x90 && c <= 0x9E && c != 0x98) || c == 0xA0 || c == 0xA1
}

// wireTo moves bytes that have arrived by t off the wire: real-time bytes
// act, others enter the RX ring or are dropped when it is full.
func (b *board) wireTo(t time.Duration) {
	for {
		at, ok := b.rxWire.headAt()
		if !ok || at > t {
			return
		}
		c, at := b.rxWire.pop()
		if b.booting && at < b.bootAt {
			continue // the bootloader swallows it
		}
		if isRealtime(c) {
			b.stats.realtime++
			b.realtime(c, at)
			continue
		}
		if c >= 0x80 {
			continue
		}
		if len(b.rx) >= rxSize {
			b.stats.overflow++
			continue
		}
		b.rx = append(b.rx, c)
		b.stats.bytes++
	}
}

func (b *board) rxHasEOL() bool {
	for _, c := range b.rx {
		if c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// takeLine runs protocol_main_loop's character filter over the RX buffer
// until an end of line; it returns the filtered line.
func (b *board) takeLine() (string, bool, bool) {
	for len(b.rx) > 0 {
		c := b.rx[0]
		b.rx = b.rx[1:]
		if c == '\n' || c == '\r' {
			line := string(b.line)
			over := b.lOverflow
			b.line = b.line[:0]
			b.lComment, b.lSemi, b.lOverflow = false, false, false
			return line, over, true
		}
		if b.lComment || b.lSemi || b.lOverflow {
			if c == ')' && b.lComment {
				b.lComment = false
			}
			continue
		}
		switch {
		case c <= ' ':
		case c == '/':
		case c == '(':
			b.lComment = true
		case c == ';':
			b.lSemi = true
		case len(b.line) >= lineMax-1:
			b.lOverflow = true
		case c >= 'a' && c <= 'z':
			b.line = append(b.line, c-'a'+'A')
		default:
			b.line = append(b.line, c)
		}
	}
	return "", false, false
}

// ---- the main loop ----

func (b *board) process(t time.Duration) {
	b.serviceStatus(t)
	for i := 0; i < 10000; i++ {
		if b.booting || b.lockout || b.state == sSleep {
			return
		}
		if b.exec != nil {
			if !b.runExec(t) {
				return
			}
			e := b.exec
			b.exec = nil
			if e.startup {
				res := "ok"
				if e.status != stOK {
					res = "error:" + strconv.Itoa(e.status)
				}
				b.emitLine(t, ">"+e.text+":"+res)
			} else {
				b.emitStatus(t, e.status)
			}
			if e.afterOK != nil {
				e.afterOK(t)
			}
			continue
		}
		if len(b.internal) > 0 {
			l := b.internal[0]
			b.internal = b.internal[1:]
			b.exec = &execution{text: l, readyAt: t + b.lp, startup: true}
			continue
		}
		if b.txWire.backlogAt(t) > txSize {
			return
		}
		line, over, ok := b.takeLine()
		if !ok {
			if len(b.rx) == 0 {
				b.autoCycleStart(t)
			}
			return
		}
		b.stats.lines++
		n := b.stats.lines
		e := &execution{text: line, readyAt: t}
		if line != "" {
			e.readyAt = t + b.lp
		}
		if over {
			e.status = stOverflow
			e.parsed = true
		}
		b.exec = e
		if b.lineFaults(n, t) {
			return
		}
	}
}

// runExec drives the current line; it returns false while it must wait.
func (b *board) runExec(t time.Duration) bool {
	e := b.exec
	if !e.parsed {
		if t < e.readyAt {
			return false
		}
		e.parsed = true
		b.serviceStatus(t)
		b.execute(e, t)
	}
	for e.i < len(e.steps) {
		if e.awaitReset {
			return false
		}
		st := &e.steps[e.i]
		if !b.runStep(st, t) {
			return false
		}
		if b.exec != e { // a reset or alarm replaced the line
			return false
		}
		e.i++
	}
	return !e.awaitReset
}

// synced is protocol_buffer_synchronize's condition.
func (b *board) synced() bool {
	return len(b.mo.q) == 0 && b.state != sRun && b.state != sHome && b.probeRun == nil &&
		!(b.state == sHold && !b.holdDone) && b.resumeAt == 0
}

func (b *board) runStep(st *step, t time.Duration) bool {
	if st.sync && !b.synced() {
		b.autoCycleStart(t)
		return false
	}
	if st.fn != nil && !st.started {
		st.started = true
		st.fn(t)
		if b.exec == nil || b.exec.awaitReset {
			return false
		}
	}
	st.started = true
	for st.n < len(st.blocks) {
		if b.state == sCheck {
			if !b.softLimitOK(st.blocks[st.n]) {
				b.softLimitTrip(t)
				return false
			}
			st.n++
			continue
		}
		if b.mo.free() == 0 {
			b.autoCycleStart(t)
			return false
		}
		if !b.enqueue(st.blocks[st.n], t) {
			return false
		}
		st.n++
	}
	if st.dwell > 0 && b.state != sCheck {
		if st.until == 0 {
			st.until = t + st.dwell
		}
		if t < st.until {
			return false
		}
	}
	if st.wait != nil && st.wait() {
		return false
	}
	return true
}

// autoCycleStart starts queued motion unless a hold is in force.
func (b *board) autoCycleStart(t time.Duration) {
	if b.state == sIdle && len(b.mo.q) > 0 {
		b.state = sRun
		if b.mo.q[0].kind == bkJog {
			b.state = sJog
		}
		b.mo.holding = false
	}
}

func (b *board) softLimitOK(p *plBlock) bool {
	if !b.set.flag(20) {
		return true
	}
	return b.withinTravel(p.target)
}

func (b *board) withinTravel(target [3]float64) bool {
	for i := 0; i < 3; i++ {
		if target[i] > 1e-9 || target[i] < -b.set.travel(i)-1e-9 {
			return false
		}
	}
	return true
}

// enqueue adds a planner block; false if a soft limit tripped.
func (b *board) enqueue(p *plBlock, t time.Duration) bool {
	if p.kind != bkJog && !b.softLimitOK(p) {
		b.softLimitTrip(t)
		return false
	}
	if b.finishBlock(p) {
		b.addBlock(p)
	}
	return true
}

// softLimitTrip: GRBL holds, waits for the stop, resets and locks up with ALARM:2.
func (b *board) softLimitTrip(t time.Duration) {
	if b.exec != nil {
		b.exec.awaitReset = true
	}
	if b.state == sRun && b.mo.v > 0 {
		b.state = sHold
		b.holdDone = false
		b.mo.holding = true
		b.alarmOnStop = 2
		return
	}
	b.raiseAlarm(2, t)
}

// raiseAlarm reports ALARM:code and stops everything; 1 and 2 lock GRBL up
// until a reset.
func (b *board) raiseAlarm(code int, t time.Duration) {
	b.stats.alarms[code]++
	b.emitLine(t, "ALARM:"+strconv.Itoa(code))
	b.mo.flush()
	b.probeRun = nil
	b.homeUntil = 0
	b.gc.position = b.mo.pos
	b.state = sAlarm
	b.setSpindleOutput(0, 0)
	b.setFlood(false)
	if code == 1 || code == 2 {
		b.lockout = true
		b.lockMsgAt = t + lockMsgDelay
	}
}

// ---- motion ----

func (b *board) motionActive() bool {
	if len(b.mo.q) == 0 {
		return false
	}
	switch b.state {
	case sRun, sJog:
		return true
	case sHold:
		return !b.holdDone
	case sDoor:
		return b.doorSub == 2
	}
	return false
}

func (b *board) stalled(t time.Duration) bool {
	return b.state == sRun && (b.stallForever || (b.stallUntil > 0 && t < b.stallUntil))
}

func (b *board) physical() [3]float64 {
	p := b.mo.pos
	for i := range p {
		p[i] += b.frameOff[i]
	}
	p[2] += b.drift
	return p
}

// probeContact reports whether the probe circuit is closed now.
func (b *board) probeContact() bool {
	if b.m.opts.Probe == nil {
		return false
	}
	p := b.physical()
	z, ok := b.m.opts.Probe(p[0], p[1])
	return ok && p[2] <= z+1e-9
}

// motionTo integrates the motion from b.t to t. It returns when the
// planner was (or became) empty within that span, or t if it never was.
func (b *board) motionTo(t time.Duration) (emptyAt time.Duration) {
	if len(b.mo.q) == 0 {
		return b.t
	}
	if t <= b.t {
		return t
	}
	from := b.t
	if b.stalled(from) {
		end := t
		if !b.stallForever && b.stallUntil < t {
			end = b.stallUntil
		}
		from = end
		if from >= t {
			return t
		}
	}
	dt := secs(t - from)
	b.motionEnd = t
	rate := b.driftRate()
	onStep := func(p *plBlock, s0, s1 float64) bool {
		if rate > 0 && p.loaded && p.unit[2] < -plungeSteep {
			b.drift += rate * (s1 - s0) * -p.unit[2]
		}
		if b.set.flag(21) && b.hardLimit(p, s0, s1) {
			return true
		}
		if p.kind == bkProbe && b.probeRun != nil && !b.probeRun.hit {
			contact := b.probeContact()
			if contact != b.probeRun.away {
				b.probeRun.hit = true
				b.prb = b.mo.pos
				b.mo.holding = true
				return true
			}
		}
		return false
	}
	for i := 0; dt > 1e-12 && b.motionActive() && i < 1_000_000; i++ {
		step := dt
		if b.mo.q[0].kind == bkProbe && b.probeRun != nil && !b.probeRun.hit {
			step = math.Min(dt, 0.0005)
		}
		res := b.mo.integrate(step, onStep)
		used := step - res.left
		dt -= used
		b.stats.motion += time.Duration(math.Round(used * 1e9))
		for _, c := range res.completed {
			b.blockDone(c, t)
		}
		if res.stopped || (b.mo.holding && len(b.mo.q) == 0) {
			b.motionStopped(t)
		} else if len(b.mo.q) == 0 {
			b.cycleDone(t)
		}
	}
	if len(b.mo.q) == 0 {
		return t - dur(dt)
	}
	return t
}

// limitsPressed returns the limit switches (bit 0 X, 1 Y, 2 Z) the carriage
// is pushing on. Each axis has one switch, on its homing side, where homing
// finds it: physical 0, or -travel when $23 inverts the axis.
func (b *board) limitsPressed() int {
	p := b.physical()
	mask := 0
	for i := 0; i < 3; i++ {
		if b.set.mask(23)&(1<<i) != 0 {
			if p[i] < -b.set.travel(i)-1e-6 {
				mask |= 1 << i
			}
		} else if p[i] > 1e-6 {
			mask |= 1 << i
		}
	}
	return mask
}

// hardLimit checks a piece of travel (s0→s1 along p) against the switches;
// on a hit it puts the carriage where the switch closed and raises ALARM:1.
func (b *board) hardLimit(p *plBlock, s0, s1 float64) bool {
	if b.limitsPressed() == 0 {
		return false
	}
	hit := s1
	for i := 0; i < 3; i++ {
		if p.unit[i] == 0 {
			continue
		}
		bound := 0.0
		if b.set.mask(23)&(1<<i) != 0 {
			bound = -b.set.travel(i)
		}
		off := b.frameOff[i]
		if i == 2 {
			off += b.drift
		}
		if b.limitsPressed()&(1<<i) == 0 {
			continue
		}
		s := (bound - off - p.start[i]) / p.unit[i]
		s = math.Max(s0, math.Min(s, s1))
		if s < hit {
			hit = s
		}
	}
	b.mo.s = hit
	for i := 0; i < 3; i++ {
		b.mo.pos[i] = p.start[i] + p.unit[i]*hit
	}
	b.mo.v = 0
	b.exec = nil // the line waiting on the planner gets no answer; a reset follows
	b.raiseAlarm(1, b.motionEnd)
	return true
}

// switchDistance is how far along p (from its start) the carriage reaches
// a limit switch, if it does.
func (b *board) switchDistance(p *plBlock) (float64, bool) {
	best, found := p.length, false
	for i := 0; i < 3; i++ {
		if p.unit[i] == 0 {
			continue
		}
		bound := 0.0
		inverted := b.set.mask(23)&(1<<i) != 0
		if inverted {
			bound = -b.set.travel(i)
		}
		if (inverted && p.unit[i] > 0) || (!inverted && p.unit[i] < 0) {
			continue // moving away from this switch
		}
		off := b.frameOff[i]
		if i == 2 {
			off += b.drift
		}
		s := (bound - off - p.start[i]) / p.unit[i]
		if s >= b.mo.s && s < best {
			best, found = s+1e-5, true // just past the switch's trip point
		}
	}
	return best, found
}

// plungeSteep is how steep (the Z share of the move's direction) a Z-down
// feed move must be for the z-drift fault to lose steps in it: a plunge or
// a steep ramp (over 60°), where the Z motor pushes the bit into the
// material. The small Z share of a 3D contour or a shallow ramp loads it
// far less.
const plungeSteep = 0.866

// driftFrom is the machine time the z-drift fault begins at (its At).
func (b *board) driftFrom() time.Duration {
	for _, f := range b.faults {
		if f.Kind == FaultZDrift {
			return f.At
		}
	}
	return 0
}

func (b *board) driftRate() float64 {
	for _, f := range b.faults {
		if f.Kind == FaultZDrift {
			return f.Rate
		}
	}
	return 0
}

func (b *board) blockDone(p *plBlock, t time.Duration) {
	b.stats.blocks++
	if p.kind == bkProbe && b.probeRun != nil {
		b.finishProbe(t)
	}
}

// cycleDone: the planner ran empty without a hold.
func (b *board) cycleDone(t time.Duration) {
	switch b.state {
	case sRun, sJog:
		b.state = sIdle
	}
}

// motionStopped: a hold-type deceleration reached zero speed.
func (b *board) motionStopped(t time.Duration) {
	b.mo.v = 0
	switch {
	case b.probeRun != nil && b.probeRun.hit:
		b.mo.flush()
		b.finishProbe(t)
	case b.jogCancel:
		b.jogCancel = false
		b.mo.flush()
		b.gc.position = b.mo.pos
		if b.state == sJog {
			b.state = sIdle
		}
		if b.state == sDoor {
			b.doorStopped(t)
		}
	case b.alarmOnStop != 0:
		code := b.alarmOnStop
		b.alarmOnStop = 0
		b.raiseAlarm(code, t)
	case b.state == sHold:
		b.holdDone = true
		b.mo.holding = false
		if len(b.mo.q) == 0 {
			b.gc.position = b.mo.pos
		}
	case b.state == sDoor:
		b.mo.holding = false
		b.doorStopped(t)
	}
}

func (b *board) doorStopped(t time.Duration) {
	b.doorSub = 0
	b.setSpindleOutput(0, 0)
	b.setFlood(false)
}

func (b *board) finishProbe(t time.Duration) {
	pr := b.probeRun
	if pr == nil {
		return
	}
	if !pr.hit && b.mo.v > 0 && len(b.mo.q) > 0 {
		return
	}
	b.probeRun = nil
	b.mo.flush()
	b.gc.position = b.mo.pos
	if b.state == sRun {
		b.state = sIdle
	}
	if pr.hit {
		b.prbOK = true
	} else {
		b.prbOK = false
		b.prb = b.mo.pos
		if !pr.noErr {
			b.raiseAlarm(5, t)
		}
	}
	b.emitLine(t, "[PRB:"+b.fmtVec(b.prb)+":"+boolDigit(b.prbOK)+"]")
}

func boolDigit(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// ---- real-time commands ----

func (b *board) realtime(c byte, t time.Duration) {
	if c == 0x18 {
		b.softReset(t)
		return
	}
	if b.lockout {
		return
	}
	switch c {
	case '?':
		// GRBL sets a flag that its main loop services; while a line is
		// being parsed that waits, and repeated requests make one report.
		if b.state != sHome {
			b.statusPending = true
			b.serviceStatus(t)
		}
	case '!':
		b.feedHold(t)
	case '~':
		b.cycleStart(t)
	case 0x84:
		b.safetyDoor(t)
	case 0x85:
		if b.state == sJog {
			b.mo.holding = true
			b.jogCancel = true
		}
	case 0x90, 0x91, 0x92, 0x93, 0x94:
		ov := b.mo.ovFeed
		switch c {
		case 0x90:
			ov = 100
		case 0x91:
			ov += 10
		case 0x92:
			ov -= 10
		case 0x93:
			ov++
		case 0x94:
			ov--
		}
		b.mo.ovFeed = clampInt(ov, 10, 200)
		b.ovCounter = 0
		b.mo.replan()
	case 0x95, 0x96, 0x97:
		b.mo.ovRapid = 100
		if c == 0x96 {
			b.mo.ovRapid = 50
		} else if c == 0x97 {
			b.mo.ovRapid = 25
		}
		b.ovCounter = 0
		b.mo.replan()
	case 0x99, 0x9A, 0x9B, 0x9C, 0x9D:
		ov := b.ovSpindle
		switch c {
		case 0x99:
			ov = 100
		case 0x9A:
			ov += 10
		case 0x9B:
			ov -= 10
		case 0x9C:
			ov++
		case 0x9D:
			ov--
		}
		b.ovSpindle = clampInt(ov, 10, 200)
		b.ovCounter = 0
		if !b.spindleStop && b.state != sDoor {
			b.applySpindle()
		}
	case 0x9E:
		if b.state == sHold && b.holdDone {
			if !b.spindleStop {
				b.spindleStop = true
				b.setSpindleOutput(0, 0)
			} else {
				b.spindleStop = false
				b.applySpindle()
			}
		}
	case 0xA0:
		switch b.state {
		case sIdle, sRun, sHold, sJog:
			b.gc.modal.flood = !b.gc.modal.flood
			b.setFlood(b.gc.modal.flood)
			b.ovCounter = 0
		}
	}
}

// serviceStatus sends a requested status report once the main loop can.
func (b *board) serviceStatus(t time.Duration) {
	if !b.statusPending || b.lockout || b.booting {
		return
	}
	if e := b.exec; e != nil && !e.parsed && t < e.readyAt {
		return
	}
	b.statusPending = false
	if b.state != sHome {
		b.emit(t, b.statusReport())
	}
}

func clampInt(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func (b *board) feedHold(t time.Duration) {
	switch b.state {
	case sIdle:
		b.state = sHold
		b.holdDone = true
	case sRun:
		b.state = sHold
		b.holdDone = b.mo.v == 0 && len(b.mo.q) == 0
		b.mo.holding = !b.holdDone
		if b.stalled(t) {
			b.holdDone = true
			b.mo.v = 0
			b.mo.holding = false
		}
	case sJog:
		b.mo.holding = true
		b.jogCancel = true
	}
}

func (b *board) cycleStart(t time.Duration) {
	switch b.state {
	case sHold:
		if !b.holdDone || b.resumeAt > 0 {
			return // ignored during Hold:1
		}
		if b.spindleStop {
			b.spindleStop = false
			if b.gc.modal.spindle != 0 {
				b.applySpindle()
				b.resumeAt = t + doorSpindleDelay
				return
			}
		}
		b.finishResume(t)
	case sDoor:
		if b.doorSub != 0 || b.resumeAt > 0 {
			return
		}
		b.doorSub = 3
		delay := time.Duration(0)
		if b.gc.modal.flood {
			b.setFlood(true)
			delay = doorCoolantDelay
		}
		if b.gc.modal.spindle != 0 {
			b.applySpindle()
			delay += doorSpindleDelay
		}
		if delay == 0 {
			b.finishResume(t)
			return
		}
		b.resumeAt = t + delay
	case sIdle:
		b.autoCycleStart(t)
	}
}

// finishResume leaves a hold or door state once restoring is done.
func (b *board) finishResume(t time.Duration) {
	b.m0 = false
	b.holdDone = false
	b.doorSub = 0
	b.mo.holding = false
	if len(b.mo.q) > 0 {
		b.state = sRun
		b.mo.replan()
	} else {
		b.state = sIdle
	}
}

func (b *board) safetyDoor(t time.Duration) {
	switch b.state {
	case sIdle, sRun, sHold, sJog:
	case sHome:
		// limits_go_home: ALARM:7, then mc_reset; the $H line still gets
		// its ok before the main loop restarts (banner).
		b.raiseAlarm(7, t)
		if b.exec != nil {
			b.exec.steps = nil
			b.exec.afterOK = b.softReset
		}
		return
	case sDoor:
		b.emitLine(t, "[MSG:Check Door]")
		return
	default:
		return
	}
	b.emitLine(t, "[MSG:Check Door]")
	wasJog := b.state == sJog
	b.state = sDoor
	if b.mo.v > 0 {
		b.doorSub = 2
		b.mo.holding = true
		b.jogCancel = wasJog
		return
	}
	if wasJog {
		b.mo.flush()
	}
	b.doorStopped(t)
}

// ---- faults ----

// lineFaults applies faults bound to the n-th received line; true if the
// line must not run (it has been answered or the board went away).
func (b *board) lineFaults(n int, t time.Duration) bool {
	for _, f := range b.faults {
		if f.fired || f.Line != n {
			continue
		}
		if b.fireFault(f, t) {
			return true
		}
	}
	return false
}

func (b *board) fireFault(f *faultState, t time.Duration) bool {
	f.fired = true
	switch f.Kind {
	case FaultError:
		if b.exec != nil {
			b.exec.parsed = true
			b.exec.status = f.Code
			b.exec.readyAt = t
		}
	case FaultAlarm:
		b.raiseAlarm(f.Code, t)
		b.exec = nil
		return true
	case FaultStall:
		if f.For > 0 {
			b.stallUntil = t + f.For
		} else {
			b.stallForever = true
		}
	case FaultReset:
		b.hardReset(t)
		return true
	case FaultUnplug:
		b.m.unplugLocked()
		if f.For > 0 {
			f.endAt = t + f.For
		}
		return true
	}
	return false
}
