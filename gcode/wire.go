package gcode

import "strconv"

// Knowledge bits: which parts of the controller state the program itself has
// set. The controller's state before a job is not known (a previous job or a
// startup block may have left G20, G91, F...), so a word is only dropped as
// redundant when the program itself established the value it repeats.
const (
	kMotion uint32 = 1 << iota
	kPlane
	kDist
	kFeedMode
	kUnits
	kCoord
	kTLO
	kSpindle
	kCoolant
	kFeed
	kSpeed
	kTool
	kAll = 1<<iota - 1
)

// knowledge tracks what the program has established: the modal values
// (known) and, per axis, whether the modelled position equals the real one
// (anchored: set by an absolute move, lost on offset changes and probes).
type knowledge struct {
	known    uint32
	anchored [3]bool
}

// update records what an accepted block established.
func (k *knowledge) update(info *blockInfo, eff *effect, feedModeSwitched, offsetsKnown bool) {
	if k.known == kAll && info.axisWords == 0 && !eff.wcoChanged && eff.move == moveNone && eff.flow != flowEnd && !feedModeSwitched {
		return
	}
	if c := info.cmdWords; c != 0 {
		k.known |= groupKnowledge(c, grpMotion, kMotion) | groupKnowledge(c, grpPlane, kPlane) |
			groupKnowledge(c, grpDistance, kDist) | groupKnowledge(c, grpFeedMode, kFeedMode) |
			groupKnowledge(c, grpUnits, kUnits) | groupKnowledge(c, grpCoord, kCoord) |
			groupKnowledge(c, grpToolLength, kTLO) | groupKnowledge(c, grpSpindle, kSpindle) |
			groupKnowledge(c, grpCoolant, kCoolant)
	}
	if feedModeSwitched {
		k.known &^= kFeed // GRBL's F is undefined after a G93/G94 switch
	}
	if info.valWords&wF != 0 && !info.feedMode {
		k.known |= kFeed
	}
	if info.valWords&wS != 0 {
		k.known |= kSpeed
	}
	if info.valWords&wT != 0 {
		k.known |= kTool
	}
	if eff.flow == flowEnd {
		k.known |= kMotion | kPlane | kDist | kFeedMode | kCoord | kSpindle | kCoolant
	}
	if eff.wcoChanged || eff.move == moveProbe || eff.flow == flowEnd {
		k.anchored = [3]bool{}
		return
	}
	if eff.home {
		if !offsetsKnown {
			k.anchored = [3]bool{}
		}
		return
	}
	if info.axisCommand != axisMotion {
		return
	}
	absolute := info.nonModal == nmAbsolute && offsetsKnown ||
		info.nonModal == nmNone && !eff.incr && k.known&(kDist|kUnits) == kDist|kUnits
	for i := 0; i < 3; i++ {
		if info.axisWords&(1<<i) == 0 {
			continue
		}
		if absolute {
			k.anchored[i] = true
		} else if info.nonModal == nmAbsolute {
			k.anchored[i] = false
		}
	}
}

// groupKnowledge returns bit when modal group grp is among the commanded
// groups cmdWords, else 0.
func groupKnowledge(cmdWords, grp int, bit uint32) uint32 {
	if cmdWords&(1<<grp) != 0 {
		return bit
	}
	return 0
}

// appendWire appends the wire form of a block that exec accepted: the
// words GRBL needs to reach the same state and motion from pre, in source
// order, with numbers in their shortest exact spelling. It may append
// nothing when the block changes nothing. Words are dropped only where k
// shows the program itself established the repeated value.
func appendWire(dst []byte, ws *words, pre *state, info *blockInfo, eff *effect, k *knowledge) []byte {
	known := k.known
	// Axis words that can go: G0/G1 motion whose target already equals the
	// current position on that axis (a zero increment, or an anchored axis);
	// the move must still name one axis: the shortest spelled stays.
	dropAxis := 0
	if info.axisCommand == axisMotion && info.nonModal == nmNone && (eff.move == moveRapid || eff.move == moveLinear) && known&kDist != 0 {
		for i := 0; i < 3; i++ {
			if info.axisWords&(1<<i) != 0 && eff.target[i] == pre.pos[i] && (eff.incr || k.anchored[i]) {
				dropAxis |= 1 << i
			}
		}
		if dropAxis == info.axisWords {
			dropAxis &^= 1 << shortestAxisWord(dst, ws) // the move must name an axis
		}
	}
	// In-plane IJK offsets of zero may go when the other in-plane offset
	// stays; out-of-plane offsets are never used by GRBL.
	dropIJK := 0
	if eff.move == moveArc && info.ijkWords != 0 {
		a0, a1 := 1<<eff.axis0, 1<<eff.axis1
		dropIJK = info.ijkWords &^ (a0 | a1)
		in := info.ijkWords & (a0 | a1)
		for k := 0; k < ws.n; k++ {
			w := &ws.w[k]
			if w.letter < 'I' || w.letter > 'K' {
				continue
			}
			bit := 1 << (w.letter - 'I')
			if bit&in != 0 && w.val == 0 && in&^bit != 0 && dropIJK&(in&^bit) == 0 {
				dropIJK |= bit
			}
		}
	}
	for k := 0; k < ws.n; k++ {
		w := &ws.w[k]
		v := float32(w.val)
		switch w.letter {
		case 'N':
			continue
		case 'G':
			iv, _ := trunc8(v)
			mant := mantissaOf(v, iv)
			if dropG(iv, mant, pre, info, known) {
				continue
			}
			dst = append(dst, 'G')
			dst = strconv.AppendInt(dst, int64(iv), 10)
			if mant != 0 {
				dst = append(dst, '.')
				dst = strconv.AppendInt(dst, int64(mant/10), 10)
			}
			continue
		case 'M':
			iv, _ := trunc8(v)
			if dropM(iv, pre, known) {
				continue
			}
			dst = append(dst, 'M')
			dst = strconv.AppendInt(dst, int64(iv), 10)
			continue
		case 'F':
			if known&(kFeed|kFeedMode) == kFeed|kFeedMode && !pre.inverse && !info.feedMode && info.blockFeed == pre.feed {
				continue
			}
		case 'S':
			if known&kSpeed != 0 && w.val == pre.speed {
				continue
			}
		case 'T':
			if iv, _ := trunc8(v); known&kTool != 0 && iv == pre.tool {
				continue
			}
		case 'X', 'Y', 'Z':
			if dropAxis&(1<<(w.letter-'X')) != 0 {
				continue
			}
		case 'I', 'J', 'K':
			if dropIJK&(1<<(w.letter-'I')) != 0 {
				continue
			}
		}
		dst = append(dst, w.letter)
		dst = appendNumber(dst, w.num)
	}
	return dst
}

// shortestAxisWord returns the axis (0 X, 1 Y, 2 Z) of the axis word of ws
// with the shortest spelling, the first of equals. It measures in dst's
// spare capacity and leaves dst unchanged.
func shortestAxisWord(dst []byte, ws *words) int {
	best, bestLen := 0, -1
	for k := 0; k < ws.n; k++ {
		w := &ws.w[k]
		if w.letter < 'X' || w.letter > 'Z' {
			continue
		}
		if l := len(appendNumber(dst[len(dst):], w.num)); bestLen < 0 || l < bestLen {
			best, bestLen = int(w.letter-'X'), l
		}
	}
	return best
}

// dropG reports whether G<iv>.<mant> has no effect from state pre, given
// what the program has established (known).
func dropG(iv, mant int, pre *state, info *blockInfo, known uint32) bool {
	switch iv {
	case 0, 1, 2, 3:
		return known&kMotion != 0 && int16(iv*10) == pre.motion
	case 80:
		return known&kMotion != 0 && pre.motion == motionNone
	case 17, 18, 19:
		return known&kPlane != 0 && int8(iv-17) == pre.plane
	case 90, 91:
		if mant != 0 {
			return true // G91.1: GRBL's only arc distance mode
		}
		return known&kDist != 0 && (iv == 91) == pre.incr
	case 93, 94:
		return known&kFeedMode != 0 && (iv == 93) == pre.inverse
	case 20, 21:
		return known&kUnits != 0 && (iv == 20) == pre.inches
	case 40, 61:
		return true // GRBL's only modes: no state
	case 49:
		return known&kTLO != 0 && !pre.tloOn && pre.tlo == 0 && info.axisWords == 0
	case 54, 55, 56, 57, 58, 59:
		return known&kCoord != 0 && int8(iv-54) == pre.coord
	}
	return false
}

// dropM reports whether M<iv> has no effect from state pre.
func dropM(iv int, pre *state, known uint32) bool {
	switch iv {
	case 1:
		return true // optional stop: GRBL ignores it; the sender sees ActionOptionalStop
	case 3, 4:
		return known&kSpindle != 0 && int8(iv) == pre.spindle
	case 5:
		return known&kSpindle != 0 && pre.spindle == 0
	case 7:
		return known&kCoolant != 0 && pre.coolant&2 != 0
	case 8:
		return known&kCoolant != 0 && pre.coolant&1 != 0
	case 9:
		return known&kCoolant != 0 && pre.coolant == 0
	}
	return false
}
