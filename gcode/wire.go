package gcode

import "strconv"

// appendWire appends the wire form of a block that exec accepted: the
// words GRBL needs to reach the same state and motion from pre, in source
// order, with numbers in their shortest exact spelling. It may append
// nothing when the block changes nothing.
func appendWire(dst []byte, ws *words, pre *state, info *blockInfo, eff *effect) []byte {
	// Axis words that can go: G0/G1 motion whose target already equals the
	// current position on that axis; at least one axis word stays.
	dropAxis := 0
	if info.axisCommand == axisMotion && info.nonModal == nmNone && (eff.move == moveRapid || eff.move == moveLinear) {
		for i := 0; i < 3; i++ {
			if info.axisWords&(1<<i) != 0 && eff.target[i] == pre.pos[i] {
				dropAxis |= 1 << i
			}
		}
		if dropAxis == info.axisWords {
			dropAxis &^= dropAxis & -dropAxis // keep the lowest axis word
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
		v := w.num.float32()
		switch w.letter {
		case 'N':
			continue
		case 'G':
			iv, _ := trunc8(v)
			mant := mantissaOf(v, iv)
			if dropG(iv, mant, pre, info) {
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
			if dropM(iv, pre) {
				continue
			}
			dst = append(dst, 'M')
			dst = strconv.AppendInt(dst, int64(iv), 10)
			continue
		case 'F':
			if !pre.inverse && !info.feedMode && info.blockFeed == pre.feed {
				continue
			}
		case 'S':
			if w.val == pre.speed {
				continue
			}
		case 'T':
			if iv, _ := trunc8(v); iv == pre.tool {
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

// dropG reports whether G<iv>.<mant> has no effect from state pre.
func dropG(iv, mant int, pre *state, info *blockInfo) bool {
	switch iv {
	case 0, 1, 2, 3:
		return int16(iv*10) == pre.motion
	case 80:
		return pre.motion == motionNone
	case 17, 18, 19:
		return int8(iv-17) == pre.plane
	case 90, 91:
		if mant != 0 {
			return true // G91.1: GRBL's only (default) arc distance mode
		}
		return (iv == 91) == pre.incr
	case 93, 94:
		return (iv == 93) == pre.inverse
	case 20, 21:
		return (iv == 20) == pre.inches
	case 40, 61:
		return true
	case 49:
		return !pre.tloOn && pre.tlo == 0 && info.axisWords == 0
	case 54, 55, 56, 57, 58, 59:
		return int8(iv-54) == pre.coord
	}
	return false
}

// dropM reports whether M<iv> has no effect from state pre.
func dropM(iv int, pre *state) bool {
	switch iv {
	case 1:
		return true // optional stop: GRBL ignores it; the sender sees ActionOptionalStop
	case 3, 4:
		return int8(iv) == pre.spindle
	case 5:
		return pre.spindle == 0
	case 7:
		return pre.coolant&2 != 0
	case 8:
		return pre.coolant&1 != 0
	case 9:
		return pre.coolant == 0
	}
	return false
}
