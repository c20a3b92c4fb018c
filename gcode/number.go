package gcode

import "slices"

// maxIntDigits is GRBL's MAX_INT_DIGITS: read_float keeps at most this many
// digits (leading zeros included) and ignores the rest.
const maxIntDigits = 8

// number is a decimal exactly as GRBL's read_float sees it: the digits it kept
// (intval), a power of ten and a sign.
type number struct {
	intval uint32
	exp    int8
	neg    bool
}

// readFloat parses a number from s at *i the way GRBL 1.1's read_float does:
// optional sign, digits with at most one '.', no exponent, at most 8 digits
// kept. It reports false when no digit was found.
func readFloat(s []byte, i *int) (number, bool) {
	var n number
	p := *i
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		n.neg = s[p] == '-'
		p++
	}
	ndigit := 0
	v, exp := uint32(0), int8(0)
	// Integer part: digits past the eighth only scale the value.
	for ; p < len(s); p++ {
		d := s[p] - '0'
		if d > 9 {
			break
		}
		ndigit++
		if ndigit <= maxIntDigits {
			v = v*10 + uint32(d)
		} else {
			exp++
		}
	}
	// Fraction: digits past the eighth are ignored.
	if p < len(s) && s[p] == '.' {
		for p++; p < len(s); p++ {
			d := s[p] - '0'
			if d > 9 {
				break
			}
			ndigit++
			if ndigit <= maxIntDigits {
				v = v*10 + uint32(d)
				exp--
			}
		}
	}
	if ndigit == 0 {
		return number{}, false
	}
	n.intval, n.exp = v, exp
	*i = p
	return n, true
}

// float32 computes the value the way GRBL's read_float does, in single
// precision, so that two spellings can be compared bit for bit.
func (n number) float32() float32 {
	f := float32(n.intval)
	exp := n.exp
	if f != 0 {
		for exp <= -2 {
			f *= 0.01
			exp += 2
		}
		if exp < 0 {
			f *= 0.1
		} else {
			for ; exp > 0; exp-- {
				f *= 10
			}
		}
	}
	if n.neg {
		return -f
	}
	return f
}

// value returns GRBL's value widened to float64.
func (n number) value() float64 { return float64(n.float32()) }

// appendNumber appends the shortest spelling of n that GRBL reads to the same
// float32: sign only when negative and non-zero, no leading zeros, no
// trailing zeros unless dropping them would change GRBL's rounding.
func appendNumber(dst []byte, n number) []byte {
	if n.intval == 0 {
		return append(dst, '0')
	}
	if n.exp >= 0 || n.intval%10 != 0 {
		return appendDigits(dst, n) // nothing to strip
	}
	want := n.float32()
	// Strip as many trailing fractional zeros as keep GRBL's value identical.
	best := n
	c := n
	for c.exp < 0 && c.intval%10 == 0 {
		c.intval /= 10
		c.exp++
		if c.float32() == want {
			best = c
		}
	}
	return appendDigits(dst, best)
}

// appendDigits spells n exactly as its digits and exponent say. It sizes
// the result first and writes it byte by byte: these are a few bytes, and a
// copy per part would cost a memmove call each.
func appendDigits(dst []byte, best number) []byte {
	// intval has at most 10 decimal digits; write them right to left.
	var buf [10]byte
	i := len(buf)
	for v := best.intval; ; {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	d := buf[i:]
	exp := int(best.exp)
	point := len(d) + exp // digits before the point
	size := len(d)
	switch {
	case exp >= 0:
		size += exp // trailing zeros
	case point <= 0:
		size += 1 - point // the point and leading zeros
	default:
		size++ // the point
	}
	if best.neg {
		size++
	}
	dst = slices.Grow(dst, size)
	out := dst[len(dst) : len(dst)+size]
	k := 0
	if best.neg {
		out[k] = '-'
		k++
	}
	switch {
	case exp >= 0:
		for _, c := range d {
			out[k] = c
			k++
		}
		for ; k < size; k++ {
			out[k] = '0'
		}
	case point <= 0:
		out[k] = '.'
		k++
		for z := point; z < 0; z++ {
			out[k] = '0'
			k++
		}
		for _, c := range d {
			out[k] = c
			k++
		}
	default:
		for j, c := range d {
			if j == point {
				out[k] = '.'
				k++
			}
			out[k] = c
			k++
		}
	}
	return dst[:len(dst)+size]
}
