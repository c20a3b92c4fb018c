package gcode

import "math"

const (
	// plannerBlocks is GRBL's usable planner depth on the 328p (16 slots,
	// one kept free).
	plannerBlocks = 15
	minFeedRate   = 1.0 // GRBL's MINIMUM_FEED_RATE, mm/min
	arcEpsilon    = 5e-7
)

// planBlock is one straight segment in the planner model.
type planBlock struct {
	mm         float64
	nominal    float64 // mm/min
	accel      float64 // mm/min²
	maxEntrySq float64
	backSq     float64 // entry limit from the reverse pass
	entrySq    float64 // planned entry (reverse and forward passes)
	reachSq    float64 // 2·accel·mm: the squared speed change over the block
	line       int     // source line
}

// planner estimates run time with GRBL's planner model: trapezoidal
// profiles, per-axis rate and acceleration limits, junction deviation at
// corners, and a look-ahead of plannerBlocks segments. Times are in minutes
// internally.
type planner struct {
	maxRate [3]float64 // mm/min
	accel   [3]float64 // mm/min²
	jd      float64
	arcTol  float64

	ring     [plannerBlocks + 1]planBlock
	head, n  int
	prevUnit [3]float64
	prevNom  float64
	moving   bool // the planner holds blocks (the next block is not from rest)
	minutes  float64
	segments int64
	// srcLine is the source line the next blocks come from; prof, when
	// set, gets the time before each block as it is executed (the time
	// before its line, final: the look-ahead no longer changes it).
	srcLine int
	prof    *timeProfile

	rootOf, root1 float64 // root's last argument and result
	rootOK        bool
}

func newPlanner(s Settings) *planner {
	p := &planner{jd: s.Get(SetJunctionDeviation), arcTol: s.Get(SetArcTolerance)}
	for i := 0; i < 3; i++ {
		p.maxRate[i] = s.Get(SetMaxRateX + i)
		p.accel[i] = s.Get(SetAccelX+i) * 3600
		if p.maxRate[i] <= 0 {
			p.maxRate[i] = 1
		}
		if p.accel[i] <= 0 {
			p.accel[i] = 1
		}
	}
	if p.arcTol <= 0 {
		p.arcTol = 0.002
	}
	return p
}

// move adds a straight move from one point to another (mm); see line.
func (p *planner) move(from, to *[3]float64, rate float64, rapid bool, invMinutes float64) {
	p.line(to[0]-from[0], to[1]-from[1], to[2]-from[2], rate, rapid, invMinutes)
}

// line adds a straight move of (dx, dy, dz) mm. rate is mm/min for feed moves; for
// rapid moves it is ignored; invMinutes > 0 gives the inverse-time duration.
func (p *planner) line(dx, dy, dz, rate float64, rapid bool, invMinutes float64) {
	mm := math.Sqrt(dx*dx + dy*dy + dz*dz)
	if mm == 0 {
		return
	}
	p.segments++
	k := 1 / mm
	var unit [3]float64
	unit[0], unit[1], unit[2] = dx*k, dy*k, dz*k
	// GRBL's limit_value_by_axis_maximum for the acceleration and the rapid
	// rate at once: the largest value along unit that keeps every axis
	// within its limit. Axes that do not move impose none. Values stay in
	// locals until the block is written.
	accel, rapidRate := math.Inf(1), math.Inf(1)
	for i := 0; i < 3; i++ {
		if unit[i] == 0 {
			continue
		}
		inv := 1 / math.Abs(unit[i])
		accel = min(accel, p.accel[i]*inv)
		rapidRate = min(rapidRate, p.maxRate[i]*inv)
	}
	var nominal float64
	switch {
	case rapid:
		nominal = rapidRate
	case invMinutes > 0:
		nominal = min(mm/invMinutes, rapidRate)
	default:
		nominal = min(rate, rapidRate)
	}
	if nominal < minFeedRate {
		nominal = minFeedRate
	}
	maxEntrySq := 0.0
	if p.moving {
		cos := -(p.prevUnit[0]*unit[0] + p.prevUnit[1]*unit[1] + p.prevUnit[2]*unit[2])
		var junctionSq float64
		switch {
		case cos > 0.999999:
			junctionSq = 0
		case cos < -0.999999:
			junctionSq = math.Inf(1)
		default:
			ju0, ju1, ju2 := unit[0]-p.prevUnit[0], unit[1]-p.prevUnit[1], unit[2]-p.prevUnit[2]
			// limit_value_by_axis_maximum on the normalised vector: scale
			// by its norm.
			norm := math.Sqrt(ju0*ju0 + ju1*ju1 + ju2*ju2)
			ja := math.Inf(1)
			if ju0 != 0 {
				ja = min(ja, p.accel[0]*(1/math.Abs(ju0)))
			}
			if ju1 != 0 {
				ja = min(ja, p.accel[1]*(1/math.Abs(ju1)))
			}
			if ju2 != 0 {
				ja = min(ja, p.accel[2]*(1/math.Abs(ju2)))
			}
			ja *= norm
			sinHalf := math.Sqrt(0.5 * (1 - cos))
			junctionSq = ja * p.jd * sinHalf / (1 - sinHalf)
		}
		maxEntrySq = min(junctionSq, min(nominal*nominal, p.prevNom*p.prevNom))
	}
	p.prevUnit[0], p.prevUnit[1], p.prevUnit[2] = unit[0], unit[1], unit[2]
	p.prevNom, p.moving = nominal, true
	// The block is written in its ring slot (free: n < len(ring) here),
	// field by field rather than copied.
	b := p.at(p.n)
	b.mm, b.nominal, b.accel, b.maxEntrySq, b.backSq, b.entrySq = mm, nominal, accel, maxEntrySq, 0, 0
	b.reachSq = 2 * accel * mm
	b.line = p.srcLine
	p.n++
	p.replan()
	for p.n > plannerBlocks {
		p.pop()
	}
}

func (p *planner) at(i int) *planBlock { return &p.ring[(p.head+i)&(len(p.ring)-1)] }

// replan runs GRBL's reverse and forward passes over the buffered blocks,
// assuming the last one ends at rest. Block 0's entry speed is fixed. Like
// GRBL's planned pointer, the reverse pass stops where it no longer changes
// anything: a new block can only raise reverse-pass limits, so once a block's
// limit comes out as before, all earlier ones are as before too.
func (p *planner) replan() {
	exitSq := 0.0
	from := 1
	for i := p.n - 1; i >= 1; i-- {
		b := p.at(i)
		e := exitSq + b.reachSq
		if e > b.maxEntrySq {
			e = b.maxEntrySq
		}
		if e == b.backSq && i < p.n-1 {
			from = i
			break
		}
		b.backSq = e
		exitSq = e
	}
	for i := from; i < p.n; i++ {
		prev, b := p.at(i-1), p.at(i)
		e := b.backSq
		if lim := prev.entrySq + prev.reachSq; e > lim {
			e = lim
		}
		b.entrySq = e
	}
}

// pop executes the oldest block.
func (p *planner) pop() {
	b := p.at(0)
	exitSq := 0.0
	if p.n > 1 {
		exitSq = p.at(1).entrySq
	}
	if p.prof != nil {
		p.prof.add(b.line, p.minutes*60)
	}
	p.minutes += trapezoidMinutes(b.mm, b.nominal, b.accel, b.entrySq, exitSq, p.root(b.entrySq), p.root(exitSq))
	p.head = (p.head + 1) % len(p.ring)
	p.n--
}

// root returns √x, remembering the last result: a block's exit speed is the
// next block's entry speed, so pop asks for each root twice in a row.
func (p *planner) root(x float64) float64 {
	if x != p.rootOf || !p.rootOK {
		p.rootOf, p.root1, p.rootOK = x, math.Sqrt(x), true
	}
	return p.root1
}

// sync empties the planner (a block that waits for motion to finish).
func (p *planner) sync() {
	p.replan()
	for p.n > 0 {
		p.pop()
	}
	p.moving = false
}

// dwell adds a pause after the planner empties.
func (p *planner) dwell(seconds float64) {
	p.sync()
	p.minutes += seconds / 60
}

// seconds returns the estimate so far, including the buffered blocks
// decelerating to a stop.
func (p *planner) seconds() float64 {
	save := *p
	p.sync()
	s := p.minutes * 60
	*p = save
	return s
}

// trapezoidMinutes is the time to travel mm from speed v0 = √v0sq to
// v1 = √v1sq, at most nominal, with acceleration a.
func trapezoidMinutes(mm, nominal, a, v0sq, v1sq, v0, v1 float64) float64 {
	accelD := (nominal*nominal - v0sq) / (2 * a)
	decelD := (nominal*nominal - v1sq) / (2 * a)
	if accelD < 0 {
		accelD = 0
	}
	if decelD < 0 {
		decelD = 0
	}
	if accelD+decelD <= mm {
		return (nominal-v0)/a + (nominal-v1)/a + (mm-accelD-decelD)/nominal
	}
	peakSq := (2*a*mm + v0sq + v1sq) / 2
	peak := math.Sqrt(peakSq)
	if peak < v0 {
		peak = v0
	}
	if peak < v1 {
		peak = v1
	}
	t := (peak-v0)/a + (peak-v1)/a
	if t <= 0 {
		t = mm / max(peak, minFeedRate)
	}
	return t
}

// arcSegments returns GRBL's segment count (at most 65535) and the signed angular travel of
// an arc from start offset r (start minus centre) to end offset rt.
func arcSegments(r0, r1, rt0, rt1, radius float64, cw bool, tol float64) (int, float64) {
	ang := math.Atan2(r0*rt1-r1*rt0, r0*rt0+r1*rt1)
	if cw {
		if ang >= -arcEpsilon {
			ang -= 2 * math.Pi
		}
	} else if ang <= arcEpsilon {
		ang += 2 * math.Pi
	}
	d := math.Sqrt(tol * (2*radius - tol))
	segs := 0
	if d > 0 {
		// GRBL keeps the count in a uint16: bounded, so that an absurd
		// radius (I7777...) cannot make the estimate loop for ever.
		segs = int(min(math.Floor(math.Abs(0.5*ang*radius)/d), math.MaxUint16))
	}
	return segs, ang
}
