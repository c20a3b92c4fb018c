package gcode

import (
	"fmt"
	"strconv"
	"strings"
)

// BoardState is a controller's parser state at the start of a program: the
// modal groups, feed rate, spindle speed and tool that GRBL's `$G` reports
// ("[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]"). Given in
// Options.Board, it is the interpreter's starting state, and the wire form
// may drop words that repeat it, as it drops words that repeat what the
// program itself set. It adds no diagnostic, event or wire line of its own.
//
// Build one with ParseBoardState (from `$G`) or ResetState (GRBL's state
// after a soft reset). The zero value is GRBL's reset state with nothing
// known: the wire form then assumes nothing, as without Options.Board.
type BoardState struct {
	m     modal
	feed  float64 // mm/min (1/min in G93)
	speed float64
	tool  int
	known uint32 // knowledge bits: the groups and values that are certain
}

// ResetState returns GRBL's state after a soft reset (G0 G54 G17 G21 G90
// G94 M5 M9 T0 F0 S0), every group and value known. A `$N` startup block
// runs after the reset and may change it: use it only where none is stored.
func ResetState() BoardState {
	return BoardState{m: modal{motion: motionSeek}, known: kAll}
}

// ParseBoardState reads the words of a `$G` report, e.g.
// "G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0" (space-separated, with or
// without the "[GC:" and "]" around them). Every modal group GRBL reports
// must be present once; a word that is not a GRBL parser-state word is an
// error naming the word and its position. Program-flow words (M0, M1, M2,
// M30) and M56 are accepted and ignored.
//
// GRBL prints F and S rounded to whole numbers (and F in inches with $13=1),
// so a reported F or S is the interpreter's starting value but is not known
// exactly: the wire form keeps the program's first F and S. The tool number
// and the modal groups are exact. The tool-length offset (G43.1), G92 and
// the position are not in `$G` and stay unknown.
func ParseBoardState(gc string) (BoardState, error) {
	gc = strings.TrimSpace(gc)
	gc = strings.TrimSuffix(strings.TrimPrefix(gc, "[GC:"), "]")
	b := BoardState{m: modal{motion: motionSeek}}
	var seen uint32
	set := func(i int, w string, bit uint32) error {
		if seen&bit != 0 {
			return fmt.Errorf("$G word %d %q: its modal group is already given", i, w)
		}
		seen |= bit
		return nil
	}
	for i, w := range strings.Fields(gc) {
		i++
		if len(w) < 2 {
			return BoardState{}, fmt.Errorf("$G word %d %q: too short", i, w)
		}
		num := w[1:]
		var bit uint32
		switch w[0] {
		case 'G':
			switch num {
			case "0", "1", "2", "3", "38.2", "38.3", "38.4", "38.5", "80":
				bit = kMotion
				b.m.motion = motionOf(num)
			case "54", "55", "56", "57", "58", "59":
				bit = kCoord
				b.m.coord = int8(num[1] - '4')
			case "17", "18", "19":
				bit = kPlane
				b.m.plane = int8(num[1] - '7')
			case "20", "21":
				bit = kUnits
				b.m.inches = num == "20"
			case "90", "91":
				bit = kDist
				b.m.incr = num == "91"
			case "93", "94":
				bit = kFeedMode
				b.m.inverse = num == "93"
			default:
				return BoardState{}, fmt.Errorf("$G word %d %q: not a GRBL 1.1 parser-state word", i, w)
			}
		case 'M':
			switch num {
			case "3", "4", "5":
				bit = kSpindle
				b.m.spindle = int8(num[0] - '0')
				if num == "5" {
					b.m.spindle = 0
				}
			case "7", "8", "9":
				// Coolant: M7 and M8 may both be reported; M9 alone.
				switch num {
				case "7":
					b.m.coolant |= 2
				case "8":
					b.m.coolant |= 1
				}
				seen |= kCoolant
				continue
			case "0", "1", "2", "30", "56":
				continue
			default:
				return BoardState{}, fmt.Errorf("$G word %d %q: not a GRBL 1.1 parser-state word", i, w)
			}
		case 'T':
			t, err := strconv.Atoi(num)
			if err != nil || t < 0 {
				return BoardState{}, fmt.Errorf("$G word %d %q: tool is not a whole number >= 0", i, w)
			}
			bit, b.tool = kTool, t
		case 'F', 'S':
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 {
				return BoardState{}, fmt.Errorf("$G word %d %q: not a number >= 0", i, w)
			}
			if w[0] == 'F' {
				bit, b.feed = kFeed, v
			} else {
				bit, b.speed = kSpeed, v
			}
		default:
			return BoardState{}, fmt.Errorf("$G word %d %q: not a GRBL 1.1 parser-state word", i, w)
		}
		if err := set(i, w, bit); err != nil {
			return BoardState{}, err
		}
	}
	const reported = kMotion | kCoord | kPlane | kUnits | kDist | kFeedMode | kSpindle | kCoolant | kTool | kFeed | kSpeed
	if missing := reported &^ seen; missing != 0 {
		return BoardState{}, fmt.Errorf("$G report %q: no %s word", gc, knowledgeName(missing))
	}
	// F and S are printed rounded; T and the modal groups are exact.
	b.known = seen &^ (kFeed | kSpeed)
	return b, nil
}

// motionOf returns the motion mode of a G number ("0", "38.2", ...).
func motionOf(num string) int16 {
	switch num {
	case "0":
		return motionSeek
	case "1":
		return motionLinear
	case "2":
		return motionCW
	case "3":
		return motionCCW
	case "80":
		return motionNone
	}
	return motionProbe + int16(num[3]-'2') // "38.x"
}

// knowledgeName names the first group of bits, for messages.
func knowledgeName(bits uint32) string {
	names := []string{"motion (G0/G1/G2/G3/G38.x/G80)", "plane (G17/G18/G19)", "distance (G90/G91)",
		"feed mode (G93/G94)", "units (G20/G21)", "coordinate system (G54..G59)", "tool length",
		"spindle (M3/M4/M5)", "coolant (M7/M8/M9)", "feed (F)", "spindle speed (S)", "tool (T)"}
	for i, n := range names {
		if bits&(1<<i) != 0 {
			return n
		}
	}
	return "?"
}

// String returns the state as `$G` words ("G0 G54 G17 G21 G90 G94 M5 M9 T0
// F0 S0").
func (b BoardState) String() string {
	var sb strings.Builder
	m := b.m
	sb.WriteString(b.MotionWord())
	fmt.Fprintf(&sb, " G%d G%d", 54+int(m.coord), 17+int(m.plane))
	sb.WriteString(map[bool]string{true: " G20", false: " G21"}[m.inches])
	sb.WriteString(map[bool]string{true: " G91", false: " G90"}[m.incr])
	sb.WriteString(map[bool]string{true: " G93", false: " G94"}[m.inverse])
	if m.spindle == 0 {
		sb.WriteString(" M5")
	} else {
		fmt.Fprintf(&sb, " M%d", m.spindle)
	}
	switch m.coolant {
	case 0:
		sb.WriteString(" M9")
	case 1:
		sb.WriteString(" M8")
	case 2:
		sb.WriteString(" M7")
	default:
		sb.WriteString(" M7 M8")
	}
	fmt.Fprintf(&sb, " T%d F%s S%s", b.tool, num(b.feed), num(b.speed))
	return sb.String()
}

// SpindleOff reports that the state has the spindle stopped (M5) and the
// coolant off (M9).
func (b BoardState) SpindleOff() bool { return b.m.spindle == 0 && b.m.coolant == 0 }

// apply sets the modal groups, F, S and T of st and returns the knowledge
// the state brings.
func (b BoardState) apply(st *state) uint32 {
	tlo := st.tloOn
	st.modal = b.m
	st.tloOn = tlo
	st.wcs = st.stored[b.m.coord]
	st.feed, st.speed, st.tool = b.feed, b.speed, b.tool
	return b.known
}

// MotionWord returns the motion mode as its G word: G0, G1, G2, G3,
// G38.2..G38.5 or G80.
func (b BoardState) MotionWord() string {
	if m := b.m.motion; m >= motionProbe && m < motionProbe+4 {
		return fmt.Sprintf("G38.%d", m-motionProbe+2)
	}
	return "G" + strconv.Itoa(int(b.m.motion/10))
}
