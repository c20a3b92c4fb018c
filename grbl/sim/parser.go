package sim

import (
	"math"
)

// GRBL 1.1h status codes used by the parser (report.h / GRBL-FACTS §3.1).
const (
	stOK                  = 0
	stExpectedCommand     = 1
	stBadNumberFormat     = 2
	stInvalidStatement    = 3
	stNegativeValue       = 4
	stSettingDisabled     = 5
	stStepPulseMin        = 6
	stIdleError           = 8
	stSystemGCLock        = 9
	stSoftLimitError      = 10
	stOverflow            = 11
	stCheckDoor           = 13
	stTravelExceeded      = 15
	stInvalidJog          = 16
	stUnsupportedCommand  = 20
	stModalGroupViolation = 21
	stUndefinedFeedRate   = 22
	stCommandNotInteger   = 23
	stAxisCommandConflict = 24
	stWordRepeated        = 25
	stNoAxisWords         = 26
	stInvalidLineNumber   = 27
	stValueWordMissing    = 28
	stG53InvalidMotion    = 30
	stAxisWordsExist      = 31
	stNoAxisWordsInPlane  = 32
	stInvalidTarget       = 33
	stArcRadiusError      = 34
	stNoOffsetsInPlane    = 35
	stUnusedWords         = 36
	stG43DynamicAxisError = 37
	stMaxValueExceeded    = 38
)

// Motion modes (values as in gcode.h).
const (
	motionSeek   = 0
	motionLinear = 1
	motionCW     = 2
	motionCCW    = 3
	motionProbe  = 140 // + 0..3 for G38.2..G38.5 (computed below)
	motionNone   = 80
)

const (
	nonModalNone        = 0
	nonModalDwell       = 4
	nonModalSetCoord    = 10
	nonModalHome0       = 28
	nonModalSetHome0    = 38
	nonModalHome1       = 30
	nonModalSetHome1    = 40
	nonModalAbsolute    = 53
	nonModalSetOffset   = 92
	nonModalResetOffset = 102
)

const (
	axisCmdNone = iota
	axisCmdNonModal
	axisCmdMotion
	axisCmdToolLength
)

// word bits
const (
	wF = iota
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

// modal groups (bit positions in commandWords)
const (
	mgG0  = iota // non-modal
	mgG1         // motion
	mgG2         // plane
	mgG3         // distance
	mgG4         // arc IJK distance
	mgG5         // feed rate mode
	mgG6         // units
	mgG7         // cutter comp
	mgG8         // tool length
	mgG12        // coordinate system
	mgG13        // path control
	mgM4         // program flow
	mgM7         // spindle
	mgM8         // coolant
)

const maxLineNumber = 10000000
const mmPerInch = 25.4

// modal is GRBL's parser modal state.
type modal struct {
	motion      int
	feedInverse bool // G93
	inches      bool // G20
	incremental bool // G91
	plane       int  // 0 XY, 1 ZX, 2 YZ
	tloDynamic  bool // G43.1
	coordSelect int  // 0..5 = G54..G59
	programFlow int  // 0 running, 3 paused (M0), 2 M2, 30 M30
	spindle     int  // 0 off, 1 CW, 2 CCW
	flood       bool
}

// gcState is the parser state GRBL keeps between lines.
type gcState struct {
	modal      modal
	spindleS   float64
	feed       float64 // mm/min (G94) — 0 when undefined
	tool       int
	position   [3]float64 // machine coordinates of the parser's last target
	coordSys   [3]float64 // active G54..G59 offset
	coordOff   [3]float64 // G92
	tlo        float64
	lineNumber int
}

// block is one parsed line (gc_block).
type gcBlock struct {
	modal      modal
	nonModal   int
	f, p, r, s float64
	ijk        [3]float64
	xyz        [3]float64
	l, t       int
	n          int
	axisWords  int
	ijkWords   int
	axisCmd    int
	valueWords int
	jog        bool
	cw         bool
	probeAway  bool
	probeNoErr bool
	coordSys   [3]float64 // coordinate system data the block runs with
	coordSel   int        // G10 target system index
}

func bitSet(v, b int) bool { return v&(1<<b) != 0 }

// readFloat mimics GRBL's read_float: optional sign, digits and one dot;
// no exponent. Returns the value and the index after it.
func readFloat(line string, i int) (float64, int, bool) {
	j := i
	neg := false
	if j < len(line) && (line[j] == '-' || line[j] == '+') {
		neg = line[j] == '-'
		j++
	}
	var intv uint64
	exp := 0
	ndigit := 0
	dot := false
	for j < len(line) {
		c := line[j]
		if c >= '0' && c <= '9' {
			ndigit++
			if ndigit <= 8 {
				intv = intv*10 + uint64(c-'0')
				if dot {
					exp--
				}
			} else if !dot {
				exp++
			}
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
		j++
	}
	if ndigit == 0 {
		return 0, i, false
	}
	v := float64(intv) * math.Pow10(exp)
	if neg {
		v = -v
	}
	return v, j, true
}

// parseGcode is gc_execute_line's steps 1 and 2: it reads the words and
// checks every error GRBL checks, returning the block or a status code.
// line is pre-filtered (upper case, no spaces/comments). For jogs it starts
// with "$J=".
func (b *board) parseGcode(line string) (*gcBlock, int) {
	gs := &b.gc
	blk := &gcBlock{modal: gs.modal}
	i := 0
	commandWords := 0
	if len(line) >= 3 && line[0] == '$' {
		i = 3
		blk.jog = true
		blk.modal.motion = motionLinear
		blk.modal.feedInverse = false
	}
	for i < len(line) {
		letter := line[i]
		if letter < 'A' || letter > 'Z' {
			return nil, stExpectedCommand
		}
		i++
		value, next, ok := readFloat(line, i)
		if !ok {
			return nil, stBadNumberFormat
		}
		i = next
		intValue := int(math.Trunc(value))
		mantissa := int(math.Round(100 * (value - float64(intValue))))
		var wordBit int
		switch letter {
		case 'G':
			switch intValue {
			case 10, 28, 30, 92, 4, 53:
				if intValue != 4 && intValue != 53 && mantissa == 0 {
					if blk.axisCmd != axisCmdNone {
						return nil, stAxisCommandConflict
					}
					blk.axisCmd = axisCmdNonModal
				}
				wordBit = mgG0
				blk.nonModal = intValue
				if intValue == 28 || intValue == 30 || intValue == 92 {
					if mantissa != 0 && mantissa != 10 {
						return nil, stUnsupportedCommand
					}
					blk.nonModal += mantissa
					mantissa = 0
				}
			case 0, 1, 2, 3, 38, 80:
				if intValue != 80 {
					if blk.axisCmd != axisCmdNone {
						return nil, stAxisCommandConflict
					}
					blk.axisCmd = axisCmdMotion
				}
				wordBit = mgG1
				blk.modal.motion = intValue
				if intValue == 38 {
					if mantissa != 20 && mantissa != 30 && mantissa != 40 && mantissa != 50 {
						return nil, stUnsupportedCommand
					}
					blk.modal.motion = motionProbe + (mantissa/10 - 2)
					mantissa = 0
				}
			case 17, 18, 19:
				wordBit = mgG2
				blk.modal.plane = intValue - 17
			case 90, 91:
				if mantissa == 0 {
					wordBit = mgG3
					blk.modal.incremental = intValue == 91
				} else {
					wordBit = mgG4
					if mantissa != 10 || intValue == 90 {
						return nil, stUnsupportedCommand
					}
					mantissa = 0
				}
			case 93, 94:
				wordBit = mgG5
				blk.modal.feedInverse = intValue == 93
			case 20, 21:
				wordBit = mgG6
				blk.modal.inches = intValue == 20
			case 40:
				wordBit = mgG7
			case 43, 49:
				wordBit = mgG8
				if blk.axisCmd != axisCmdNone {
					return nil, stAxisCommandConflict
				}
				blk.axisCmd = axisCmdToolLength
				if intValue == 49 {
					blk.modal.tloDynamic = false
				} else if mantissa == 10 {
					blk.modal.tloDynamic = true
				} else {
					return nil, stUnsupportedCommand
				}
				mantissa = 0
			case 54, 55, 56, 57, 58, 59:
				wordBit = mgG12
				blk.modal.coordSelect = intValue - 54
			case 61:
				wordBit = mgG13
				if mantissa != 0 {
					return nil, stUnsupportedCommand
				}
			default:
				return nil, stUnsupportedCommand
			}
			if mantissa > 0 {
				return nil, stCommandNotInteger
			}
			if bitSet(commandWords, wordBit) {
				return nil, stModalGroupViolation
			}
			commandWords |= 1 << wordBit
		case 'M':
			if mantissa > 0 {
				return nil, stCommandNotInteger
			}
			switch intValue {
			case 0, 1, 2, 30:
				wordBit = mgM4
				switch intValue {
				case 0:
					blk.modal.programFlow = 3
				case 1:
				default:
					blk.modal.programFlow = intValue
				}
			case 3, 4, 5:
				wordBit = mgM7
				blk.modal.spindle = 0 // M5
				if intValue == 3 {
					blk.modal.spindle = 1
				} else if intValue == 4 {
					blk.modal.spindle = 2
				}
			case 8, 9:
				wordBit = mgM8
				blk.modal.flood = intValue == 8
			default:
				return nil, stUnsupportedCommand
			}
			if bitSet(commandWords, wordBit) {
				return nil, stModalGroupViolation
			}
			commandWords |= 1 << wordBit
		default:
			switch letter {
			case 'F':
				wordBit = wF
				blk.f = value
			case 'I', 'J', 'K':
				wordBit = wI + int(letter-'I')
				blk.ijk[letter-'I'] = value
				blk.ijkWords |= 1 << (letter - 'I')
			case 'L':
				wordBit = wL
				blk.l = intValue
			case 'N':
				wordBit = wN
				blk.n = intValue
			case 'P':
				wordBit = wP
				blk.p = value
			case 'R':
				wordBit = wR
				blk.r = value
			case 'S':
				wordBit = wS
				blk.s = value
			case 'T':
				wordBit = wT
				if value > 255 {
					return nil, stMaxValueExceeded
				}
				blk.t = intValue
			case 'X', 'Y', 'Z':
				wordBit = wX + int(letter-'X')
				blk.xyz[letter-'X'] = value
				blk.axisWords |= 1 << (letter - 'X')
			default:
				return nil, stUnsupportedCommand
			}
			if bitSet(blk.valueWords, wordBit) {
				return nil, stWordRepeated
			}
			if wordBit == wF || wordBit == wN || wordBit == wP || wordBit == wT || wordBit == wS {
				if value < 0 {
					return nil, stNegativeValue
				}
			}
			blk.valueWords |= 1 << wordBit
		}
	}

	// Step 2: error checking.
	if blk.axisWords != 0 && blk.axisCmd == axisCmdNone {
		blk.axisCmd = axisCmdMotion
	}
	if bitSet(blk.valueWords, wN) && blk.n > maxLineNumber {
		return nil, stInvalidLineNumber
	}
	if blk.jog {
		if !bitSet(blk.valueWords, wF) {
			return nil, stUndefinedFeedRate
		}
		if blk.modal.inches {
			blk.f *= mmPerInch
		}
	} else if blk.modal.feedInverse {
		if blk.axisCmd == axisCmdMotion && blk.modal.motion != motionNone && blk.modal.motion != motionSeek {
			if !bitSet(blk.valueWords, wF) {
				return nil, stUndefinedFeedRate
			}
		}
	} else if !gs.modal.feedInverse {
		if bitSet(blk.valueWords, wF) {
			if blk.modal.inches {
				blk.f *= mmPerInch
			}
		} else {
			blk.f = gs.feed
		}
	}
	if !bitSet(blk.valueWords, wS) {
		blk.s = gs.spindleS
	}
	if blk.nonModal == nonModalDwell {
		if !bitSet(blk.valueWords, wP) {
			return nil, stValueWordMissing
		}
		blk.valueWords &^= 1 << wP
	}
	axis0, axis1 := 0, 1
	switch blk.modal.plane {
	case 1:
		axis0, axis1 = 2, 0
	case 2:
		axis0, axis1 = 1, 2
	}
	if blk.modal.inches {
		for a := 0; a < 3; a++ {
			if bitSet(blk.axisWords, a) {
				blk.xyz[a] *= mmPerInch
			}
		}
	}
	if blk.axisCmd == axisCmdToolLength && blk.modal.tloDynamic {
		if blk.axisWords^(1<<2) != 0 {
			return nil, stG43DynamicAxisError
		}
	}
	blk.coordSys = gs.coordSys
	if bitSet(commandWords, mgG12) && gs.modal.coordSelect != blk.modal.coordSelect {
		blk.coordSys = b.coords[blk.modal.coordSelect]
	}
	switch blk.nonModal {
	case nonModalSetCoord:
		if blk.axisWords == 0 {
			return nil, stNoAxisWords
		}
		if !bitSet(blk.valueWords, wP) || !bitSet(blk.valueWords, wL) {
			return nil, stValueWordMissing
		}
		sel := int(math.Trunc(blk.p))
		if sel > 6 {
			return nil, 29
		}
		if blk.l != 20 {
			if blk.l == 2 {
				if bitSet(blk.valueWords, wR) {
					return nil, stUnsupportedCommand
				}
			} else {
				return nil, stUnsupportedCommand
			}
		}
		blk.valueWords &^= 1<<wL | 1<<wP
		if sel > 0 {
			sel--
		} else {
			sel = blk.modal.coordSelect
		}
		blk.coordSel = sel
		blk.ijk = b.coords[sel]
		for a := 0; a < 3; a++ {
			if !bitSet(blk.axisWords, a) {
				continue
			}
			if blk.l == 20 {
				blk.ijk[a] = gs.position[a] - gs.coordOff[a] - blk.xyz[a]
				if a == 2 {
					blk.ijk[a] -= gs.tlo
				}
			} else {
				blk.ijk[a] = blk.xyz[a]
			}
		}
	case nonModalSetOffset:
		if blk.axisWords == 0 {
			return nil, stNoAxisWords
		}
		for a := 0; a < 3; a++ {
			if bitSet(blk.axisWords, a) {
				blk.xyz[a] = gs.position[a] - blk.coordSys[a] - blk.xyz[a]
				if a == 2 {
					blk.xyz[a] -= gs.tlo
				}
			} else {
				blk.xyz[a] = gs.coordOff[a]
			}
		}
	default:
		if blk.axisCmd != axisCmdToolLength && blk.axisWords != 0 {
			for a := 0; a < 3; a++ {
				if !bitSet(blk.axisWords, a) {
					blk.xyz[a] = gs.position[a]
				} else if blk.nonModal != nonModalAbsolute {
					if !blk.modal.incremental {
						blk.xyz[a] += blk.coordSys[a] + gs.coordOff[a]
						if a == 2 {
							blk.xyz[a] += gs.tlo
						}
					} else {
						blk.xyz[a] += gs.position[a]
					}
				}
			}
		}
		switch blk.nonModal {
		case nonModalHome0, nonModalHome1:
			if blk.nonModal == nonModalHome0 {
				blk.ijk = b.g28
			} else {
				blk.ijk = b.g30
			}
			if blk.axisWords != 0 {
				for a := 0; a < 3; a++ {
					if !bitSet(blk.axisWords, a) {
						blk.ijk[a] = gs.position[a]
					}
				}
			} else {
				blk.axisCmd = axisCmdNone
			}
		case nonModalAbsolute:
			if blk.modal.motion != motionSeek && blk.modal.motion != motionLinear {
				return nil, stG53InvalidMotion
			}
		}
	}
	if blk.modal.motion == motionNone {
		if blk.axisWords != 0 {
			return nil, stAxisWordsExist
		}
	} else if blk.axisCmd == axisCmdMotion {
		if blk.modal.motion == motionSeek {
			if blk.axisWords == 0 {
				blk.axisCmd = axisCmdNone
			}
		} else {
			if blk.f == 0 {
				return nil, stUndefinedFeedRate
			}
			switch blk.modal.motion {
			case motionLinear:
				if blk.axisWords == 0 {
					blk.axisCmd = axisCmdNone
				}
			case motionCW, motionCCW:
				blk.cw = blk.modal.motion == motionCW
				if blk.axisWords == 0 {
					return nil, stNoAxisWords
				}
				if blk.axisWords&(1<<axis0|1<<axis1) == 0 {
					return nil, stNoAxisWordsInPlane
				}
				x := blk.xyz[axis0] - gs.position[axis0]
				y := blk.xyz[axis1] - gs.position[axis1]
				if bitSet(blk.valueWords, wR) {
					blk.valueWords &^= 1 << wR
					if blk.xyz == gs.position {
						return nil, stInvalidTarget
					}
					if blk.modal.inches {
						blk.r *= mmPerInch
					}
					h := 4*blk.r*blk.r - x*x - y*y
					if h < 0 {
						return nil, stArcRadiusError
					}
					h = -math.Sqrt(h) / math.Hypot(x, y)
					if !blk.cw {
						h = -h
					}
					if blk.r < 0 {
						h = -h
						blk.r = -blk.r
					}
					blk.ijk[axis0] = 0.5 * (x - y*h)
					blk.ijk[axis1] = 0.5 * (y + x*h)
				} else {
					if blk.ijkWords&(1<<axis0|1<<axis1) == 0 {
						return nil, stNoOffsetsInPlane
					}
					blk.valueWords &^= 1<<wI | 1<<wJ | 1<<wK
					if blk.modal.inches {
						for a := 0; a < 3; a++ {
							if bitSet(blk.ijkWords, a) {
								blk.ijk[a] *= mmPerInch
							}
						}
					}
					x -= blk.ijk[axis0]
					y -= blk.ijk[axis1]
					targetR := math.Hypot(x, y)
					blk.r = math.Hypot(blk.ijk[axis0], blk.ijk[axis1])
					dr := math.Abs(targetR - blk.r)
					if dr > 0.005 {
						if dr > 0.5 || dr > 0.001*blk.r {
							return nil, stInvalidTarget
						}
					}
				}
			default: // probes
				k := blk.modal.motion - motionProbe
				blk.probeNoErr = k == 1 || k == 3
				blk.probeAway = k >= 2
				if blk.axisWords == 0 {
					return nil, stNoAxisWords
				}
				if blk.xyz == gs.position {
					return nil, stInvalidTarget
				}
			}
		}
	}
	if blk.jog {
		blk.valueWords &^= 1<<wN | 1<<wF
	} else {
		blk.valueWords &^= 1<<wN | 1<<wF | 1<<wS | 1<<wT
	}
	if blk.axisCmd != axisCmdNone {
		blk.valueWords &^= 1<<wX | 1<<wY | 1<<wZ
	}
	if blk.valueWords != 0 {
		return nil, stUnusedWords
	}
	if blk.jog {
		if commandWords&^(1<<mgG3|1<<mgG6|1<<mgG0) != 0 {
			return nil, stInvalidJog
		}
		if blk.nonModal != nonModalAbsolute && blk.nonModal != nonModalNone {
			return nil, stInvalidJog
		}
	}
	return blk, stOK
}
