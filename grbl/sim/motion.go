package sim

import (
	"math"
	"time"
)

// blockKind says how a planner block's speed is chosen.
type blockKind int

const (
	bkFeed  blockKind = iota // G1/G2/G3: F × feed override, capped by axis rates
	bkRapid                  // G0/G28/G30: axis-limited rate × rapid override
	bkJog                    // $J=: F, no override
	bkProbe                  // G38.x: F, no override (no 'A' build option)
)

// plBlock is one planner block: a straight move at constant programmed speed.
type plBlock struct {
	kind        blockKind
	start       [3]float64
	target      [3]float64
	unit        [3]float64
	length      float64 // mm
	programmed  float64 // mm/s before overrides
	maxRate     float64 // mm/s axis-limited cap
	accel       float64 // mm/s²
	junctionMax float64 // mm/s, from junction deviation
	entry       float64 // planned entry speed, mm/s
	loaded      bool    // spindle on during a feed move (for the z-drift fault)
}

// limitByAxis is GRBL's limit_value_by_axis_maximum: the largest value along
// unit that keeps every axis within its own limit.
func limitByAxis(max [3]float64, unit [3]float64) float64 {
	v := math.Inf(1)
	for i := 0; i < 3; i++ {
		if u := math.Abs(unit[i]); u > 1e-12 {
			if c := max[i] / u; c < v {
				v = c
			}
		}
	}
	return v
}

// motion is the planner queue plus the executing block's state.
type motion struct {
	q       []*plBlock
	pos     [3]float64 // commanded (step count) machine position
	v       float64    // current speed along q[0], mm/s
	s       float64    // distance done in q[0]
	holding bool       // decelerating to a stop (hold, door, jog cancel, probe hit)
	prevU   [3]float64 // unit vector of the last block queued
	ovFeed  int
	ovRapid int
}

func (m *motion) nominal(b *plBlock) float64 {
	switch b.kind {
	case bkRapid:
		return b.maxRate * float64(m.ovRapid) / 100
	case bkFeed:
		return math.Min(b.programmed*float64(m.ovFeed)/100, b.maxRate)
	}
	return math.Min(b.programmed, b.maxRate)
}

func (m *motion) free() int { return plannerBlocks - len(m.q) }

// add appends a block and re-plans. It does not check capacity.
func (m *motion) add(b *plBlock, jd float64, accel [3]float64) {
	if len(m.q) == 0 {
		b.junctionMax = 0
	} else {
		cos := -(m.prevU[0]*b.unit[0] + m.prevU[1]*b.unit[1] + m.prevU[2]*b.unit[2])
		switch {
		case cos > 0.999999:
			b.junctionMax = 0
		case cos < -0.999999:
			b.junctionMax = math.Inf(1)
		default:
			var ju [3]float64
			var n float64
			for i := range ju {
				ju[i] = b.unit[i] - m.prevU[i]
				n += ju[i] * ju[i]
			}
			n = math.Sqrt(n)
			for i := range ju {
				ju[i] /= n
			}
			ja := limitByAxis(accel, ju)
			sinHalf := math.Sqrt(0.5 * (1 - cos))
			b.junctionMax = math.Sqrt(ja * jd * sinHalf / (1 - sinHalf))
		}
	}
	m.prevU = b.unit
	m.q = append(m.q, b)
	m.replan()
}

// replan runs GRBL's backward and forward passes over the queue. q[0]'s
// entry is the current speed.
func (m *motion) replan() {
	n := len(m.q)
	if n == 0 {
		return
	}
	next := 0.0
	for i := n - 1; i >= 1; i-- {
		b := m.q[i]
		maxE := math.Min(b.junctionMax, math.Min(m.nominal(b), m.nominal(m.q[i-1])))
		e := math.Sqrt(next*next + 2*b.accel*b.length)
		if e > maxE {
			e = maxE
		}
		b.entry = e
		next = e
	}
	m.q[0].entry = m.v
	cur, rem := m.v, m.q[0].length-m.s
	for i := 0; i < n-1; i++ {
		reach := math.Sqrt(cur*cur + 2*m.q[i].accel*rem)
		if m.q[i+1].entry > reach {
			m.q[i+1].entry = reach
		}
		cur, rem = m.q[i+1].entry, m.q[i+1].length
	}
}

func (m *motion) exitSpeed() float64 {
	if len(m.q) > 1 {
		return m.q[1].entry
	}
	return 0
}

const distEps = 1e-7

// phase returns the acceleration and the longest time it applies for the
// front block, given speed v at distance s.
func (m *motion) phase(v, s float64) (acc, dur float64) {
	b := m.q[0]
	a := b.accel
	rem := b.length - s
	if rem <= distEps {
		return 0, 0
	}
	if m.holding {
		stop := v * v / (2 * a)
		if stop <= rem {
			return -a, v / a
		}
		return -a, (v - math.Sqrt(math.Max(v*v-2*a*rem, 0))) / a
	}
	vn := m.nominal(b)
	ve := math.Min(m.exitSpeed(), vn)
	brake := 0.0
	if v > ve {
		brake = (v*v - ve*ve) / (2 * a)
	}
	if rem <= brake+distEps {
		need := (v*v - ve*ve) / (2 * rem)
		if need < a {
			need = a
		}
		if v <= ve+1e-9 {
			return 0, rem / math.Max(v, 1e-9)
		}
		disc := math.Max(v*v-2*need*rem, 0)
		return -need, (v - math.Sqrt(disc)) / need
	}
	if v < vn-1e-9 {
		peak := math.Sqrt((2*a*rem + v*v + ve*ve) / 2)
		top := math.Min(vn, peak)
		if top-v > 1e-9 {
			return a, (top - v) / a
		}
	}
	if v > vn+1e-9 {
		return -a, (v - vn) / a
	}
	// cruise until the braking point
	cv := math.Max(v, 1e-9)
	d := rem - math.Max(cv*cv-ve*ve, 0)/(2*a)
	if d < distEps {
		d = distEps
	}
	return 0, d / cv
}

// frontTime predicts the time until the front block completes (or, when
// holding, until the machine stops), without changing state.
func (m *motion) frontTime() float64 {
	if len(m.q) == 0 {
		return 0
	}
	return m.timeTo(m.q[0].length)
}

// timeTo predicts the time until the front block has travelled to distance
// goal (or the machine stops, when holding).
func (m *motion) timeTo(goal float64) float64 {
	v, s, t := m.v, m.s, 0.0
	for i := 0; i < 64 && s < goal-distEps; i++ {
		acc, dur := m.phase(v, s)
		if dur <= 0 {
			return t
		}
		ds := v*dur + 0.5*acc*dur*dur
		if s+ds > goal { // solve s + v·h + a·h²/2 = goal within this phase
			d := goal - s
			if math.Abs(acc) < 1e-12 {
				return t + d/math.Max(v, 1e-9)
			}
			disc := math.Max(v*v+2*acc*d, 0)
			return t + (-v+math.Sqrt(disc))/acc
		}
		v = math.Max(v+acc*dur, 0)
		s += ds
		t += dur
		if m.holding && v <= 1e-9 {
			return t
		}
	}
	return t
}

// moveResult reports what happened during integrate.
type moveResult struct {
	completed []*plBlock
	stopped   bool    // holding and reached zero speed
	left      float64 // seconds of dt not used (integration stopped early)
}

// integrate advances the motion by dt seconds. onStep is called for every
// piece of front-block travel (for drift and probe checks); returning true
// from it stops integration at that point (probe contact).
func (m *motion) integrate(dt float64, onStep func(b *plBlock, from, to float64) bool) (res moveResult) {
	defer func() { res.left = math.Max(dt, 0) }()
	for i := 0; dt > 0 && len(m.q) > 0 && i < 10000; i++ {
		b := m.q[0]
		acc, dur := m.phase(m.v, m.s)
		if dur <= 0 {
			m.completeFront(&res)
			continue
		}
		h := math.Min(dt, dur)
		ds := m.v*h + 0.5*acc*h*h
		if ds < 0 {
			ds = 0
		}
		from := m.s
		m.v = math.Max(m.v+acc*h, 0)
		m.s += ds
		if h == dur && acc < 0 && !m.holding && m.s > b.length-1e-6 {
			m.s = b.length
		}
		if m.s > b.length {
			m.s = b.length
		}
		for k := 0; k < 3; k++ {
			m.pos[k] = b.start[k] + b.unit[k]*m.s
		}
		dt -= h
		if onStep != nil && onStep(b, from, m.s) {
			return res
		}
		if m.holding && m.v <= 1e-9 {
			m.v = 0
			res.stopped = true
			if b.length-m.s <= distEps {
				m.completeFront(&res)
			}
			return res
		}
		if b.length-m.s <= distEps {
			m.completeFront(&res)
		}
	}
	return res
}

func (m *motion) completeFront(res *moveResult) {
	b := m.q[0]
	m.pos = b.target
	m.q[0] = nil
	m.q = m.q[1:]
	m.s = 0
	res.completed = append(res.completed, b)
	if len(m.q) == 0 {
		m.v = 0
	}
}

// flush empties the planner; the machine is assumed stopped.
func (m *motion) flush() {
	m.q = nil
	m.v, m.s = 0, 0
	m.holding = false
}

func secs(d time.Duration) float64 { return d.Seconds() }

func dur(s float64) time.Duration {
	if s > 1e9 {
		return time.Duration(math.MaxInt64 / 2)
	}
	return time.Duration(math.Ceil(s * 1e9))
}
