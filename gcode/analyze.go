package gcode

import (
	"fmt"
	"math"
	"sort"
)

// analyse updates the report with an accepted block and returns the sender
// actions it implies.
func (e *engine) analyse(line int) Action {
	st, pre, eff := &e.in.st, &e.pre, &e.in.eff
	rep := e.rep
	var act Action
	info := &e.in.info
	if info.cmdWords&(1<<grpUnits) != 0 { // exactly one G20 or G21
		e.unitsSeen = true
		if st.inches {
			e.units |= 2
		} else {
			e.units |= 1
		}
	}
	if info.valWords&wT != 0 {
		if _, ok := e.toolSet[st.tool]; !ok {
			e.toolSet[st.tool] = struct{}{}
		}
	}
	for k := 0; k < e.ws.n && e.ws.has('M'); k++ {
		if w := &e.ws.w[k]; w.letter == 'M' && w.val == 1 {
			act |= ActionOptionalStop
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
		e.relayDuty(line)
		rep.SpindleEventsN++
		if len(rep.SpindleEvents) < e.opts.MaxEvents {
			rep.SpindleEvents = append(rep.SpindleEvents, ev)
		}
		e.pl.sync()
	} else if st.spindle != 0 && st.speed != pre.speed && !e.laser {
		e.pl.sync()
		e.relayDuty(line)
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
		var w [3]float64
		e.addPoint(line, &eff.from, &w)
	}
	switch eff.move {
	case moveRapid, moveProbe:
		if eff.hasVia {
			var w [3]float64
			e.addPoint(line, &eff.via, &w)
			e.pl.move(&eff.from, &eff.via, 0, true, 0)
			e.pl.move(&eff.via, &eff.target, 0, true, 0)
		} else if eff.move == moveRapid {
			e.pl.move(&eff.from, &eff.target, 0, true, 0)
		} else {
			e.pl.move(&eff.from, &eff.target, eff.feed, false, 0)
			e.pl.sync()
		}
		if eff.move == moveRapid && eff.target[2] < eff.from[2] && e.workZ(&eff.target) < 0 {
			e.plunges++
			if e.plunges <= maxPlungeWarnings {
				e.diag(line, e.colOf('Z'), Warning, 0, fmt.Sprintf("rapid (G0) plunge to Z%.3f, below Z0: a rapid move into the stock", e.workZ(&eff.target)))
			}
		}
	case moveLinear:
		e.feed(eff)
		inv := 0.0
		if eff.inverse {
			inv = 1 / eff.feed
		}
		e.pl.move(&eff.from, &eff.target, eff.feed, false, inv)
	case moveArc:
		e.feed(eff)
		e.arc(line, eff)
	}
	// Points go by pointer and are filled element by element: copying a
	// [3]float64 just written element by element stalls on store forwarding.
	var w [3]float64
	e.addPoint(line, &eff.target, &w)
	e.last, e.lastOK = eff.target, true
	e.safePoint(line, &w, &eff.target)
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
			var w [3]float64
			e.addPoint(line, &p, &w)
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
			e.pl.move(&prev, &p, feed, false, inv)
			prev[0], prev[1], prev[2] = p[0], p[1], p[2]
		}
	}
	e.pl.move(&prev, &eff.target, feed, false, inv)
}

// workOf stores machine point p in work coordinates in w.
func (e *engine) workOf(p, w *[3]float64) {
	st := &e.in.st
	w[0] = p[0] - st.wcs[0] - st.g92[0]
	w[1] = p[1] - st.wcs[1] - st.g92[1]
	w[2] = p[2] - st.wcs[2] - st.g92[2] - st.tlo
}

// workZ returns the work Z of machine point p.
func (e *engine) workZ(p *[3]float64) float64 {
	st := &e.in.st
	return p[2] - st.wcs[2] - st.g92[2] - st.tlo
}

// addPoint adds machine point p to the bounds and stores it in work
// coordinates in w.
func (e *engine) addPoint(line int, p, w *[3]float64) {
	e.workOf(p, w)
	e.rep.Bounds.Machine.add(p, line)
	e.rep.Bounds.Work.add(w, line)
}

// safePoint records machine point p (w in work coordinates) as a safe point
// when it ends a retract from below the safe Z.
func (e *engine) safePoint(line int, w, p *[3]float64) {
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
		e.rep.SafePoints = append(e.rep.SafePoints, SafePoint{Line: line, Work: *w, Machine: *p})
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

// finish completes the report after the last line.
func (e *engine) finish() {
	rep := e.rep
	rep.Lines = e.sc.line
	rep.Bytes = e.sc.bytes
	rep.EstimatedSeconds = math.Round(e.pl.seconds()*100) / 100
	rep.TimeProfile = e.profile.points
	// Empty lists, not null, in JSON.
	if rep.TimeProfile == nil {
		rep.TimeProfile = []TimePoint{}
	}
	if rep.ToolChanges == nil {
		rep.ToolChanges = []ToolChange{}
	}
	if rep.SpindleEvents == nil {
		rep.SpindleEvents = []SpindleEvent{}
	}
	if rep.Pauses == nil {
		rep.Pauses = []int{}
	}
	if rep.SafePoints == nil {
		rep.SafePoints = []SafePoint{}
	}
	if rep.DollarLines == nil {
		rep.DollarLines = []int{}
	}
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
	if rep.Tools == nil {
		rep.Tools = []int{}
	}
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
	e.relayDutySummary()
	e.travelCheck()
}

// travelCheck compares the bounds with the machine travel ($130-$132).
// Machine coordinates mean something only on a machine that homes ($22=1):
// without homing, machine zero is wherever the carriage stood at power-on,
// so only the program's span can be held against the travel.
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
		if e.opts.Offsets != nil && e.opts.Settings.Get(SetHomingEnable) != 0 {
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

// maxTimePoints bounds Report.TimeProfile.
const maxTimePoints = 256

// timeProfile keeps at most maxTimePoints (line, elapsed) samples spread
// over the program: a sample at most every stride lines, and when full it
// drops every other sample and doubles its stride, so memory stays
// constant whatever the length. The planner adds the time before each
// block as it executes it, so a sample is final: the time before the
// first move of its line.
type timeProfile struct {
	points []TimePoint
	stride int
	next   int // the first line the next sample may have
}

func (tp *timeProfile) add(line int, seconds float64) {
	if tp.stride == 0 {
		tp.stride = 1
		tp.points = make([]TimePoint, 0, maxTimePoints)
	}
	if line < tp.next {
		return
	}
	if len(tp.points) == maxTimePoints {
		tp.stride *= 2
		kept := tp.points[:0]
		for i, p := range tp.points {
			if i%2 == 0 {
				kept = append(kept, p)
			}
		}
		tp.points = kept
	}
	tp.next = line + tp.stride
	tp.points = append(tp.points, TimePoint{Line: line, Seconds: roundReport(seconds)})
}
