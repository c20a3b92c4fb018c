package gcode

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

// appendDigits spells n exactly as its digits and exponent say.
func appendDigits(dst []byte, best number) []byte {
	if best.neg {
		dst = append(dst, '-')
	}
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
	switch {
	case best.exp >= 0:
		dst = append(dst, d...)
		for e := best.exp; e > 0; e-- {
			dst = append(dst, '0')
		}
	default:
		point := len(d) + int(best.exp) // digits before the point
		if point <= 0 {
			dst = append(dst, '.')
			for ; point < 0; point++ {
				dst = append(dst, '0')
			}
			dst = append(dst, d...)
		} else {
			dst = append(dst, d[:point]...)
			dst = append(dst, '.')
			dst = append(dst, d[point:]...)
		}
	}
	return dst
}
