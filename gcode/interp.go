package gcode

import (
	"fmt"
	"math"
	"math/bits"
)

// Motion modes, as the G number times ten.
const (
	motionSeek   = 0
	motionLinear = 10
	motionCW     = 20
	motionCCW    = 30
	motionProbe  = 382 // 382..385: G38.2..G38.5
	motionNone   = 800
)

// Non-modal commands, numbered as GRBL does (G number + mantissa).
const (
	nmNone        = 0
	nmDwell       = 4
	nmSetCoord    = 10
	nmHome0       = 28
	nmHome1       = 30
	nmAbsolute    = 53
	nmSetOffset   = 92
	nmSetHome0    = 38  // G28.1
	nmSetHome1    = 40  // G30.1
	nmResetOffset = 102 // G92.1
)

// Axis-command kinds (GRBL's axis_command).
const (
	axisNone = iota
	axisNonModal
	axisMotion
	axisTLO
)

// Modal groups (bits of a block's command-word set).
const (
	grpNonModal = iota // G4 G10 G28 G30 G53 G92
	grpMotion
	grpPlane
	grpDistance
	grpArcDistance
	grpFeedMode
	grpUnits
	grpCutterComp
	grpToolLength
	grpCoord
	grpControl
	grpFlow    // M0 M1 M2 M30
	grpSpindle // M3 M4 M5
	grpCoolant // M7 M8 M9
)

// Value-word bits.
const (
	wF = 1 << iota
	wI
	wJ
	wK
	wL
	wN
	wP
	wR
	wS
	wT
	wX
	wY
	wZ
)

// Program-flow values.
const (
	flowRunning = 0
	flowPause   = 1 // M0
	flowEnd     = 3 // M2, M30
)

// Move kinds an executed block produces.
const (
	moveNone = iota
	moveRapid
	moveLinear
	moveArc
	moveProbe
)

const mmPerInch = 25.4

// modal is the part of GRBL's state a block can change by its G/M words.
type modal struct {
	motion  int16
	plane   int8 // 0 XY (G17), 1 ZX (G18), 2 YZ (G19)
	incr    bool // G91
	inverse bool // G93
	inches  bool // G20
	tloOn   bool // G43.1 active
	coord   int8 // 0..5: G54..G59
	spindle int8 // 0 off, 3 cw, 4 ccw
	coolant int8 // bit 0 flood (M8), bit 1 mist (M7)
}

// state is GRBL's parser state (gc_state) plus the stored coordinate data.
// It is comparable with ==.
type state struct {
	modal
	feed     float64
	speed    float64
	tool     int
	pos      [3]float64 // machine position
	wcs      [3]float64 // active coordinate system
	g92      [3]float64
	tlo      float64
	stored   [6][3]float64
	g28, g30 [3]float64
}

// newState returns GRBL's state after reset with the given stored offsets and
// a machine position.
func newState(o *Offsets, start [3]float64) state {
	s := state{modal: modal{motion: motionSeek}}
	if o != nil {
		s.stored = o.WCS
		s.g28, s.g30 = o.G28, o.G30
	}
	s.wcs = s.stored[0]
	s.pos = start
	return s
}

// effect is what one accepted block does.
type effect struct {
	move           int8
	from           [3]float64
	target         [3]float64
	hasVia         bool       // G28/G30 intermediate point
	via            [3]float64 // G28/G30 intermediate point
	home           bool       // G28/G30 move to the stored position
	center         [3]float64 // arc centre offset from `from`, mm
	radius         float64
	cw             bool
	axis0          int8
	axis1          int8
	axisLin        int8
	feed           float64 // mm/min, or 1/min in G93
	inverse        bool
	incr           bool // the block ran in G91
	dwell          float64
	flow           int8
	sendAlone      bool // writes EEPROM: G10 L2/L20, G28.1, G30.1
	spindleChanged bool
	coolantChanged bool
	wcoChanged     bool
	jog            bool
}

// blockInfo records how the words of a block were used, for the wire form.
type blockInfo struct {
	axisCommand    int
	axisWords      int // bits 0..2
	ijkWords       int
	nonModal       int
	explicitMotion bool
	cmdWords       int  // modal groups commanded in the block
	valWords       int  // value words present in the block
	feedMode       bool // block's feed mode is G93
	blockFeed      float64
}

// gerr is a GRBL error for a block.
type gerr struct {
	code int
	col  int
	msg  string
}

// interp executes blocks against a state with GRBL 1.1's rules.
type interp struct {
	st       state
	enableM7 bool
	info     blockInfo
	eff      effect
	err      gerr // the last error, returned by pointer without allocating
}

func (in *interp) fail(g gerr) *gerr {
	in.err = g
	return &in.err
}

func trunc8(v float32) (int, bool) {
	if v < 0 || v >= 256 || v != v {
		return 0, false
	}
	return int(v), true
}

// mantissaOf is GRBL's round(100*(value - int_value)).
func mantissaOf(v float32, iv int) int {
	if v == float32(iv) {
		return 0 // an integer code: the common case
	}
	m := float32(100) * (v - float32(iv))
	return int(math.Round(float64(m)))
}

// exec runs one block (the words of a line, M6 already removed). jog marks a
// `$J=` line. On success the state is updated and in.eff/in.info describe the
// block; on failure the state is unchanged.
//
// It follows GRBL 1.1's gc_execute_line step by step and check by check, in
// GRBL's order (import the words, then error checks and unit conversion,
// then execution in RS274 order), so that the first error found is the one
// GRBL reports and the two can be compared side by side. That is why it is
// one long function.
func (in *interp) exec(ws *words, jog bool) *gerr {
	cur := &in.st
	blk := cur.modal // the block's modes; values below
	var (
		axisCmd        = axisNone
		nonModal       = nmNone
		cmdWords       = 0
		valWords       = 0
		axisWords      = 0
		ijkWords       = 0
		flow           = int8(flowRunning)
		tloCancel      bool
		tloDynamic     bool
		explicitMotion bool
		f, s           float64
		t              int
		l              int
		p, r           float64
		n              float64
		xyz            [3]float64
		ijk            [3]float64
		cols           [16]int32 // column of the value word per bit index
	)
	if jog {
		blk.motion = motionLinear
		blk.inverse = false
	}
	// STEP 2: import the words; modal-group, repeat and sign checks.
	for k := 0; k < ws.n; k++ {
		w := &ws.w[k]
		v := float32(w.val) // exact: val is a widened float32
		col := int(w.col)
		switch w.letter {
		case 'G':
			iv, ok := trunc8(v)
			if !ok {
				return in.fail(gerr{20, col, fmt.Sprintf("G%s is not a G-code GRBL 1.1 knows", appendNumber(nil, w.num))})
			}
			mant := mantissaOf(v, iv)
			grp := 0
			switch iv {
			case 10, 28, 30, 92, 4, 53:
				if iv == 10 || iv == 28 || iv == 30 || iv == 92 {
					if mant == 0 {
						if axisCmd != axisNone {
							return in.fail(gerr{24, col, fmt.Sprintf("G%d and another command in this block both use the axis words", iv)})
						}
						axisCmd = axisNonModal
					}
				}
				grp = grpNonModal
				nonModal = iv
				if iv == 28 || iv == 30 || iv == 92 {
					if mant != 0 && mant != 10 {
						return in.fail(gerr{20, col, fmt.Sprintf("G%d.%d is not supported by GRBL 1.1", iv, mant/10)})
					}
					nonModal += mant
					mant = 0
				}
			case 0, 1, 2, 3, 38, 80:
				if iv != 80 {
					if axisCmd != axisNone {
						return in.fail(gerr{24, col, fmt.Sprintf("G%d and another command in this block both use the axis words", iv)})
					}
					axisCmd = axisMotion
					explicitMotion = true
				}
				grp = grpMotion
				blk.motion = int16(iv * 10)
				if iv == 38 {
					if mant != 20 && mant != 30 && mant != 40 && mant != 50 {
						return in.fail(gerr{20, col, fmt.Sprintf("G38.%d is not supported (GRBL probes with G38.2-G38.5)", mant/10)})
					}
					blk.motion = int16(380 + mant/10)
					mant = 0
				}
			case 17, 18, 19:
				grp = grpPlane
				blk.plane = int8(iv - 17)
			case 90, 91:
				if mant == 0 {
					grp = grpDistance
					blk.incr = iv == 91
				} else {
					grp = grpArcDistance
					if mant != 10 || iv == 90 {
						return in.fail(gerr{20, col, fmt.Sprintf("G%d.%d is not supported (GRBL only has G91.1 arc offsets)", iv, mant/10)})
					}
					mant = 0
				}
			case 93, 94:
				grp = grpFeedMode
				blk.inverse = iv == 93
			case 20, 21:
				grp = grpUnits
				blk.inches = iv == 20
			case 40:
				grp = grpCutterComp
			case 43, 49:
				grp = grpToolLength
				if axisCmd != axisNone {
					return in.fail(gerr{24, col, fmt.Sprintf("G%d and another command in this block both use the axis words", iv)})
				}
				axisCmd = axisTLO
				switch {
				case iv == 49:
					tloCancel = true
				case mant == 10:
					tloDynamic = true
				default:
					return in.fail(gerr{20, col, "G43 tool length offset from a tool table is not supported (GRBL 1.1 has only G43.1 and G49)"})
				}
				mant = 0
			case 54, 55, 56, 57, 58, 59:
				grp = grpCoord
				blk.coord = int8(iv - 54)
			case 61:
				grp = grpControl
				if mant != 0 {
					return in.fail(gerr{20, col, "G61.1 is not supported (GRBL 1.1 has only G61)"})
				}
			default:
				return in.fail(gerr{20, col, unsupportedG(iv, mant)})
			}
			if mant > 0 {
				return in.fail(gerr{23, col, fmt.Sprintf("G%s: this command takes no decimal part", appendNumber(nil, w.num))})
			}
			if cmdWords&(1<<grp) != 0 {
				return in.fail(gerr{21, col, fmt.Sprintf("G%s: two commands of the %s group in one line", appendNumber(nil, w.num), groupName(grp))})
			}
			cmdWords |= 1 << grp
		case 'M':
			iv, ok := trunc8(v)
			if !ok {
				return in.fail(gerr{20, col, fmt.Sprintf("M%s is not an M-code GRBL 1.1 knows", appendNumber(nil, w.num))})
			}
			if mantissaOf(v, iv) > 0 {
				return in.fail(gerr{23, col, fmt.Sprintf("M%s: M-codes take no decimal part", appendNumber(nil, w.num))})
			}
			grp := 0
			switch iv {
			case 0, 1, 2, 30:
				grp = grpFlow
				switch iv {
				case 0:
					flow = flowPause
				case 1:
					// optional stop: GRBL accepts and ignores it
				default:
					flow = flowEnd
				}
			case 3, 4, 5:
				grp = grpSpindle
				blk.spindle = int8(iv)
				if iv == 5 {
					blk.spindle = 0
				}
			case 7, 8, 9:
				if iv == 7 && !in.enableM7 {
					return in.fail(gerr{20, col, "M7 mist coolant is not in this GRBL build (only with ENABLE_M7)"})
				}
				grp = grpCoolant
				switch iv {
				case 7:
					blk.coolant |= 2
				case 8:
					blk.coolant |= 1
				default:
					blk.coolant = 0
				}
			default:
				return in.fail(gerr{20, col, unsupportedM(iv)})
			}
			if cmdWords&(1<<grp) != 0 {
				return in.fail(gerr{21, col, fmt.Sprintf("M%d: two commands of the %s group in one line", iv, groupName(grp))})
			}
			cmdWords |= 1 << grp
		default:
			bit, idx := 0, 0
			switch w.letter {
			case 'F':
				bit, f = wF, float64(v)
			case 'I':
				bit, ijk[0] = wI, float64(v)
				ijkWords |= 1
			case 'J':
				bit, ijk[1] = wJ, float64(v)
				ijkWords |= 2
			case 'K':
				bit, ijk[2] = wK, float64(v)
				ijkWords |= 4
			case 'L':
				bit = wL
				iv, _ := trunc8(v)
				l = iv
			case 'N':
				bit, n = wN, math.Trunc(float64(v))
			case 'P':
				bit, p = wP, float64(v)
			case 'R':
				bit, r = wR, float64(v)
			case 'S':
				bit, s = wS, float64(v)
			case 'T':
				bit = wT
				if v > 255 {
					return in.fail(gerr{38, col, fmt.Sprintf("tool number T%s is over 255", appendNumber(nil, w.num))})
				}
				iv, _ := trunc8(v)
				t = iv
			case 'X':
				bit, xyz[0] = wX, float64(v)
				axisWords |= 1
			case 'Y':
				bit, xyz[1] = wY, float64(v)
				axisWords |= 2
			case 'Z':
				bit, xyz[2] = wZ, float64(v)
				axisWords |= 4
			default:
				return in.fail(gerr{20, col, unsupportedLetter(w.letter)})
			}
			idx = bits.TrailingZeros(uint(bit))
			if valWords&bit != 0 {
				return in.fail(gerr{25, col, fmt.Sprintf("%c appears twice in one line", w.letter)})
			}
			if bit&(wF|wN|wP|wT|wS) != 0 && v < 0 {
				return in.fail(gerr{4, col, fmt.Sprintf("%c cannot be negative", w.letter)})
			}
			valWords |= bit
			cols[idx] = w.col
		}
	}
	if ws.errNum != 0 {
		return in.fail(gerr{ws.errNum, ws.errCol, ws.errMsg})
	}
	allVal := valWords
	colOf := func(bit int) int { return int(cols[bits.TrailingZeros(uint(bit))]) }
	firstCol := 1
	if ws.n > 0 {
		firstCol = int(ws.w[0].col)
	}

	// STEP 3: error checks and value conversion.
	if axisWords != 0 && axisCmd == axisNone {
		axisCmd = axisMotion
	}
	if valWords&wN != 0 && n > 10000000 {
		return in.fail(gerr{27, colOf(wN), "line number N is over 10000000"})
	}
	if jog {
		if valWords&wF == 0 {
			return in.fail(gerr{22, firstCol, "jog needs a feed rate F"})
		}
		if blk.inches {
			f *= mmPerInch
		}
	} else if blk.inverse {
		if axisCmd == axisMotion && blk.motion != motionNone && blk.motion != motionSeek && valWords&wF == 0 {
			return in.fail(gerr{22, firstCol, "inverse-time mode (G93) needs an F word on every feed move"})
		}
	} else if !cur.inverse {
		if valWords&wF != 0 {
			if blk.inches {
				f *= mmPerInch
			}
		} else {
			f = cur.feed
		}
	}
	if valWords&wS == 0 {
		s = cur.speed
	}
	if valWords&wT == 0 {
		t = cur.tool
	}
	if nonModal == nmDwell {
		if valWords&wP == 0 {
			return in.fail(gerr{28, firstCol, "G4 dwell needs a P value (seconds)"})
		}
		valWords &^= wP
	}
	var a0, a1, aLin int
	switch blk.plane {
	case 0:
		a0, a1, aLin = 0, 1, 2
	case 1:
		a0, a1, aLin = 2, 0, 1
	default:
		a0, a1, aLin = 1, 2, 0
	}
	if blk.inches {
		for i := 0; i < 3; i++ {
			if axisWords&(1<<i) != 0 {
				xyz[i] *= mmPerInch
			}
		}
	}
	if axisCmd == axisTLO && tloDynamic && axisWords != 4 {
		return in.fail(gerr{37, firstCol, "G43.1 needs exactly one Z word (the tool length axis)"})
	}
	blockWCS := cur.wcs
	if cmdWords&(1<<grpCoord) != 0 && cur.coord != blk.coord {
		blockWCS = cur.stored[blk.coord]
	}
	var g10Sel int
	var g10Data [3]float64
	var homeTarget [3]float64
	switch nonModal {
	case nmSetCoord:
		if axisWords == 0 {
			return in.fail(gerr{26, firstCol, "G10 needs axis words"})
		}
		if valWords&(wP|wL) == 0 {
			return in.fail(gerr{28, firstCol, "G10 needs L2 or L20 and a P value"})
		}
		sel, _ := trunc8(float32(p))
		if sel > 6 {
			return in.fail(gerr{29, colOf(wP), fmt.Sprintf("G10 P%d: GRBL has coordinate systems P0..P6 only", sel)})
		}
		if l != 20 {
			if l == 2 {
				if valWords&wR != 0 {
					return in.fail(gerr{20, colOf(wR), "G10 L2 with R (rotation) is not supported"})
				}
			} else {
				return in.fail(gerr{20, colOf(wL), fmt.Sprintf("G10 L%d is not supported (GRBL has L2 and L20)", l)})
			}
		}
		valWords &^= wL | wP
		if sel > 0 {
			sel--
		} else {
			sel = int(blk.coord)
		}
		g10Sel = sel
		g10Data = cur.stored[sel]
		for i := 0; i < 3; i++ {
			if axisWords&(1<<i) == 0 {
				continue
			}
			if l == 20 {
				g10Data[i] = cur.pos[i] - cur.g92[i] - xyz[i]
				if i == 2 {
					g10Data[i] -= cur.tlo
				}
			} else {
				g10Data[i] = xyz[i]
			}
		}
	case nmSetOffset:
		if axisWords == 0 {
			return in.fail(gerr{26, firstCol, "G92 needs axis words"})
		}
		for i := 0; i < 3; i++ {
			if axisWords&(1<<i) != 0 {
				xyz[i] = cur.pos[i] - blockWCS[i] - xyz[i]
				if i == 2 {
					xyz[i] -= cur.tlo
				}
			} else {
				xyz[i] = cur.g92[i]
			}
		}
	default:
		if axisCmd != axisTLO && axisWords != 0 {
			for i := 0; i < 3; i++ {
				if axisWords&(1<<i) == 0 {
					xyz[i] = cur.pos[i]
					continue
				}
				if nonModal == nmAbsolute {
					continue
				}
				if !blk.incr {
					xyz[i] += blockWCS[i] + cur.g92[i]
					if i == 2 {
						xyz[i] += cur.tlo
					}
				} else {
					xyz[i] += cur.pos[i]
				}
			}
		}
		switch nonModal {
		case nmHome0, nmHome1:
			if nonModal == nmHome0 {
				homeTarget = cur.g28
			} else {
				homeTarget = cur.g30
			}
			if axisWords != 0 {
				for i := 0; i < 3; i++ {
					if axisWords&(1<<i) == 0 {
						homeTarget[i] = cur.pos[i]
					}
				}
			} else {
				axisCmd = axisNone
			}
		case nmAbsolute:
			if blk.motion != motionSeek && blk.motion != motionLinear {
				return in.fail(gerr{30, firstCol, "G53 works only with G0 or G1 active"})
			}
		}
	}
	var center [3]float64
	radius := 0.0
	cw := false
	if blk.motion == motionNone {
		if axisWords != 0 {
			return in.fail(gerr{31, firstCol, "axis words with G80 (motion cancelled): nothing uses them"})
		}
	} else if axisCmd == axisMotion {
		if blk.motion == motionSeek {
			if axisWords == 0 {
				axisCmd = axisNone
			}
		} else {
			if f == 0 {
				return in.fail(gerr{22, firstCol, "feed move without a feed rate: no F has been set"})
			}
			switch blk.motion {
			case motionLinear:
				if axisWords == 0 {
					axisCmd = axisNone
				}
			case motionCW, motionCCW:
				cw = blk.motion == motionCW
				if axisWords == 0 {
					return in.fail(gerr{26, firstCol, "G2/G3 arc needs axis words"})
				}
				if axisWords&(1<<a0|1<<a1) == 0 {
					return in.fail(gerr{32, firstCol, fmt.Sprintf("G2/G3 arc needs an axis word in the %s plane", planeName(blk.plane))})
				}
				x := xyz[a0] - cur.pos[a0]
				y := xyz[a1] - cur.pos[a1]
				if valWords&wR != 0 {
					valWords &^= wR
					if xyz == cur.pos {
						return in.fail(gerr{33, colOf(wR), "R arc ends where it starts: GRBL cannot build it"})
					}
					if x == 0 && y == 0 {
						// Only the helix axis moves: GRBL's centre formula
						// divides 0 by 0 and the arc is undefined.
						return in.fail(gerr{33, colOf(wR), fmt.Sprintf("R arc ends where it starts in the %s plane (only the helix axis moves): GRBL cannot place its centre", planeName(blk.plane))})
					}
					if blk.inches {
						r *= mmPerInch
					}
					h := 4*r*r - x*x - y*y
					if h < 0 {
						return in.fail(gerr{34, colOf(wR), fmt.Sprintf("arc radius R is smaller than half the distance to the end point (%.4g mm)", math.Hypot(x, y)/2)})
					}
					h = -math.Sqrt(h) / math.Hypot(x, y)
					if blk.motion == motionCCW {
						h = -h
					}
					if r < 0 {
						h = -h
						r = -r
					}
					center[a0] = 0.5 * (x - y*h)
					center[a1] = 0.5 * (y + x*h)
					radius = r
				} else {
					if ijkWords&(1<<a0|1<<a1) == 0 {
						return in.fail(gerr{35, firstCol, fmt.Sprintf("G2/G3 arc needs an I/J/K offset in the %s plane", planeName(blk.plane))})
					}
					valWords &^= wI | wJ | wK
					if blk.inches {
						for i := 0; i < 3; i++ {
							if ijkWords&(1<<i) != 0 {
								ijk[i] *= mmPerInch
							}
						}
					}
					x -= ijk[a0]
					y -= ijk[a1]
					targetR := math.Hypot(x, y)
					radius = math.Hypot(ijk[a0], ijk[a1])
					d := math.Abs(targetR - radius)
					if d > 0.005 && (d > 0.5 || d > 0.001*radius) {
						return in.fail(gerr{33, firstCol, fmt.Sprintf("arc end point is not on the circle: radii differ by %.4g mm", d)})
					}
					center[a0], center[a1] = ijk[a0], ijk[a1]
				}
			default: // probes
				if axisWords == 0 {
					return in.fail(gerr{26, firstCol, "G38 probe needs axis words"})
				}
				if xyz == cur.pos {
					return in.fail(gerr{33, firstCol, "probe target is the current position"})
				}
			}
		}
	}
	if jog {
		valWords &^= wN | wF
	} else {
		valWords &^= wN | wF | wS | wT
	}
	if axisCmd != axisNone {
		valWords &^= wX | wY | wZ
	}
	if valWords != 0 {
		return in.fail(gerr{36, firstUnused(valWords, colOf), fmt.Sprintf("%s: no command in this line uses it", unusedNames(valWords))})
	}
	if jog {
		if cmdWords&^(1<<grpDistance|1<<grpUnits|1<<grpNonModal) != 0 || (nonModal != nmNone && nonModal != nmAbsolute) {
			return in.fail(gerr{16, firstCol, "jog may only use G20/G21, G90/G91, G53, X/Y/Z, F and N"})
		}
		in.eff = effect{move: moveLinear, from: cur.pos, target: xyz, feed: f, jog: true}
		if axisWords == 0 {
			in.eff.move = moveNone
		}
		cur.pos = xyz
		return nil
	}

	// STEP 4: execute.
	// No check fails from here on. in.eff and in.info are filled in place,
	// field by field: a composite literal would be built in a temporary and
	// copied, and the copy's wide loads stall on the temporary's byte stores.
	e := &in.eff
	*e = effect{}
	e.from, e.flow, e.axis0, e.axis1, e.axisLin = cur.pos, flow, int8(a0), int8(a1), int8(aLin)
	info := &in.info
	*info = blockInfo{}
	info.axisCommand, info.axisWords, info.ijkWords, info.nonModal = axisCmd, axisWords, ijkWords, nonModal
	info.cmdWords, info.valWords = cmdWords, allVal
	info.explicitMotion, info.feedMode, info.blockFeed = explicitMotion, blk.inverse, f
	cur.inverse = blk.inverse
	cur.feed = f
	e.feed, e.inverse, e.incr = f, blk.inverse, blk.incr
	cur.speed = s
	cur.tool = t
	if cur.spindle != blk.spindle {
		cur.spindle = blk.spindle
		e.spindleChanged = true
	}
	if cur.coolant != blk.coolant {
		cur.coolant = blk.coolant
		e.coolantChanged = true
	}
	if nonModal == nmDwell {
		e.dwell = p
	}
	cur.plane = blk.plane
	cur.inches = blk.inches
	if axisCmd == axisTLO {
		cur.tloOn = tloDynamic
		z := xyz[2]
		if tloCancel {
			z = 0
		}
		if cur.tlo != z {
			cur.tlo = z
			e.wcoChanged = true
		}
	}
	if cur.coord != blk.coord {
		cur.coord = blk.coord
		cur.wcs = blockWCS
		e.wcoChanged = true
	}
	cur.incr = blk.incr
	switch nonModal {
	case nmSetCoord:
		cur.stored[g10Sel] = g10Data
		if int(cur.coord) == g10Sel {
			cur.wcs = g10Data
			e.wcoChanged = true
		}
		e.sendAlone = true
	case nmHome0, nmHome1:
		if axisCmd != axisNone {
			e.hasVia, e.via = true, xyz
		}
		e.move, e.home, e.target = moveRapid, true, homeTarget
		cur.pos = homeTarget
	case nmSetHome0:
		cur.g28 = cur.pos
		e.sendAlone = true
	case nmSetHome1:
		cur.g30 = cur.pos
		e.sendAlone = true
	case nmSetOffset:
		cur.g92 = xyz
		e.wcoChanged = true
	case nmResetOffset:
		cur.g92 = [3]float64{}
		e.wcoChanged = true
	}
	cur.motion = blk.motion
	if cur.motion != motionNone && axisCmd == axisMotion {
		switch {
		case cur.motion == motionSeek:
			e.move = moveRapid
		case cur.motion == motionLinear:
			e.move = moveLinear
		case cur.motion == motionCW || cur.motion == motionCCW:
			e.move, e.center, e.radius, e.cw = moveArc, center, radius, cw
		default:
			e.move = moveProbe
		}
		e.from = cur.pos
		// Element by element: xyz was just written so, and a block copy of
		// it would stall on store forwarding.
		for i := 0; i < 3; i++ {
			e.target[i], cur.pos[i] = xyz[i], xyz[i]
		}
	}
	if flow == flowEnd {
		cur.motion = motionLinear
		cur.plane = 0
		cur.incr = false
		cur.inverse = false
		cur.coord = 0
		cur.wcs = cur.stored[0]
		if cur.spindle != 0 {
			e.spindleChanged = true
		}
		cur.spindle = 0
		cur.coolant = 0
	}
	return nil
}

func firstUnused(bits int, colOf func(int) int) int {
	for b := 1; b <= wZ; b <<= 1 {
		if bits&b != 0 {
			return colOf(b)
		}
	}
	return 1
}

func unusedNames(bits int) string {
	const letters = "FIJKLNPRSTXYZ"
	out := make([]byte, 0, 16)
	for i := 0; i < len(letters); i++ {
		if bits&(1<<i) != 0 {
			if len(out) > 0 {
				out = append(out, ", "...)
			}
			out = append(out, letters[i])
		}
	}
	return string(out) + " word"
}

func planeName(p int8) string {
	switch p {
	case 0:
		return "XY (G17)"
	case 1:
		return "ZX (G18)"
	}
	return "YZ (G19)"
}

func groupName(g int) string {
	switch g {
	case grpNonModal:
		return "non-modal (G4 G10 G28 G30 G53 G92)"
	case grpMotion:
		return "motion"
	case grpPlane:
		return "plane"
	case grpDistance:
		return "distance"
	case grpArcDistance:
		return "arc distance"
	case grpFeedMode:
		return "feed-rate mode"
	case grpUnits:
		return "units"
	case grpCutterComp:
		return "cutter compensation"
	case grpToolLength:
		return "tool length"
	case grpCoord:
		return "coordinate system"
	case grpControl:
		return "path control"
	case grpFlow:
		return "program flow"
	case grpSpindle:
		return "spindle"
	}
	return "coolant"
}

func unsupportedG(iv, mant int) string {
	code := fmt.Sprintf("G%d", iv)
	if mant != 0 {
		code = fmt.Sprintf("G%d.%d", iv, mant/10)
	}
	switch {
	case iv >= 81 && iv <= 89 || iv == 73 || iv == 76:
		return code + " canned cycle is not supported by GRBL 1.1 (expand it to G0/G1 moves)"
	case iv == 41 || iv == 42:
		return code + " cutter radius compensation is not supported by GRBL 1.1"
	case iv == 64:
		return code + " path blending is not supported by GRBL 1.1 (only G61)"
	case iv == 98 || iv == 99:
		return code + " canned-cycle return mode is not supported by GRBL 1.1"
	case iv == 59 || iv == 60 || iv == 61 || iv == 62:
		return code + " is not supported by GRBL 1.1"
	case iv == 29:
		return code + " (3D-printer bed levelling) is not supported by GRBL 1.1"
	}
	return code + " is not supported by GRBL 1.1"
}

func unsupportedM(iv int) string {
	switch iv {
	case 6:
		return "M6 tool change is not supported by GRBL 1.1"
	case 82, 83, 84, 104, 106, 107, 109, 140, 190, 204, 205:
		return fmt.Sprintf("M%d is a 3D-printer command, not supported by GRBL 1.1", iv)
	case 48, 49, 50, 51, 52, 53, 56:
		return fmt.Sprintf("M%d override control is not supported by GRBL 1.1", iv)
	}
	return fmt.Sprintf("M%d is not supported by GRBL 1.1", iv)
}

func unsupportedLetter(c byte) string {
	switch c {
	case 'A':
		return "A-axis word: GRBL 1.1 drives X, Y and Z only"
	case 'B':
		return "B-axis word: GRBL 1.1 drives X, Y and Z only"
	case 'C':
		return "C-axis word: GRBL 1.1 drives X, Y and Z only"
	case 'U':
		return "U-axis word: GRBL 1.1 drives X, Y and Z only"
	case 'V':
		return "V-axis word: GRBL 1.1 drives X, Y and Z only"
	case 'W':
		return "W-axis word: GRBL 1.1 drives X, Y and Z only"
	case 'E':
		return "E word (3D-printer extruder) is not supported by GRBL 1.1"
	case 'O':
		return "O word (subroutine or control flow) is not supported by GRBL 1.1"
	case 'H':
		return "H word (tool length offset register) is not supported by GRBL 1.1"
	case 'D':
		return "D word (cutter compensation register) is not supported by GRBL 1.1"
	case 'Q':
		return "Q word (peck or canned-cycle value) is not supported by GRBL 1.1"
	}
	return string(c) + " word is not supported by GRBL 1.1"
}
