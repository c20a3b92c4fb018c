package grbl

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// State is the machine state word of a status report.
type State string

// GRBL 1.1 machine states. grblHAL may add others (e.g. "Tool"); they are
// kept as reported.
const (
	StateIdle  State = "Idle"
	StateRun   State = "Run"
	StateHold  State = "Hold"
	StateJog   State = "Jog"
	StateAlarm State = "Alarm"
	StateDoor  State = "Door"
	StateCheck State = "Check"
	StateHome  State = "Home"
	StateSleep State = "Sleep"
)

// Overrides are the feed, rapid and spindle overrides in percent.
type Overrides struct {
	Feed, Rapid, Spindle int
}

// Accessories is the "A:" field: spindle and coolant outputs.
type Accessories struct {
	SpindleCW, SpindleCCW, Flood, Mist bool
	Other                              string // letters GRBL 1.1 does not define (grblHAL E, T…)
}

// Field is a status field kerf does not interpret, kept as received
// (e.g. grblHAL "WCS:G54", "H:1", "T:2"; FluidNC "SD:12.5,file.nc").
type Field struct {
	Name, Value string
}

// Status is a parsed "<...>" status report. Has* flags say which fields the
// report carried; Conn.Status merges reports so that WCO, Ov and A keep
// their last known values and both MPos and WPos are filled when WCO is
// known.
type Status struct {
	State    State
	SubState int // Hold:N / Door:N; -1 when absent

	MPos, WPos       []float64
	HasMPos, HasWPos bool
	WCO              []float64
	HasWCO           bool

	PlannerFree, RXFree int // Bf:blocks,bytes
	HasBuffer           bool
	Line                int // Ln:
	HasLine             bool
	Feed, Speed         float64 // FS: (or F:)
	Ov                  Overrides
	HasOv               bool
	Acc                 Accessories // only meaningful with HasOv (GRBL sends A only with Ov)
	Pins                string      // Pn: letters
	Extra               []Field
	Raw                 string
	At                  time.Time // when it was received (zero for Parse)
}

// ParseStatus parses a status report such as
// "<Idle|MPos:0.000,0.000,0.000|FS:0,0|WCO:0.000,0.000,0.000>".
// Unknown fields are kept in Extra; malformed known fields are an error
// naming the field.
func ParseStatus(line string) (Status, error) {
	body, ok := strings.CutPrefix(line, "<")
	if ok {
		body, ok = strings.CutSuffix(body, ">")
	}
	if !ok {
		return Status{}, fmt.Errorf("status report %q: not enclosed in <>", line)
	}
	fields := strings.Split(body, "|")
	st := Status{SubState: -1, Raw: line}
	state, sub, hasSub := strings.Cut(fields[0], ":")
	if state == "" {
		return Status{}, fmt.Errorf("status report %q: empty state", line)
	}
	st.State = State(state)
	if hasSub {
		n, err := strconv.Atoi(sub)
		if err != nil {
			return Status{}, fmt.Errorf("status report %q: field 1 %q: bad sub-state: %w", line, fields[0], err)
		}
		st.SubState = n
	}
	for i, f := range fields[1:] {
		name, val, _ := strings.Cut(f, ":")
		if err := st.setField(name, val); err != nil {
			return Status{}, fmt.Errorf("status report %q: field %d %q: %w", line, i+2, f, err)
		}
	}
	return st, nil
}

func (st *Status) setField(name, val string) error {
	var err error
	switch name {
	case "MPos":
		st.MPos, err = parseFloats(val)
		st.HasMPos = err == nil
	case "WPos":
		st.WPos, err = parseFloats(val)
		st.HasWPos = err == nil
	case "WCO":
		st.WCO, err = parseFloats(val)
		st.HasWCO = err == nil
	case "Bf":
		var v []int
		if v, err = parseInts(val, 2); err == nil {
			st.PlannerFree, st.RXFree, st.HasBuffer = v[0], v[1], true
		}
	case "Ln":
		var v []int
		if v, err = parseInts(val, 1); err == nil {
			st.Line, st.HasLine = v[0], true
		}
	case "FS", "F":
		var v []float64
		if v, err = parseFloats(val); err == nil {
			st.Feed = v[0]
			if len(v) > 1 {
				st.Speed = v[1]
			}
		}
	case "Ov":
		var v []int
		if v, err = parseInts(val, 3); err == nil {
			st.Ov, st.HasOv = Overrides{Feed: v[0], Rapid: v[1], Spindle: v[2]}, true
		}
	case "A":
		for _, c := range val {
			switch c {
			case 'S':
				st.Acc.SpindleCW = true
			case 'C':
				st.Acc.SpindleCCW = true
			case 'F':
				st.Acc.Flood = true
			case 'M':
				st.Acc.Mist = true
			default:
				st.Acc.Other += string(c)
			}
		}
	case "Pn":
		st.Pins = val
	default:
		st.Extra = append(st.Extra, Field{Name: name, Value: val})
	}
	return err
}

// InputActive reports whether input letter l (X, Y, Z, P, D, H, R, S…) is
// active in the Pn field.
func (st Status) InputActive(l byte) bool { return strings.IndexByte(st.Pins, l) >= 0 }

// merge returns next with the fields GRBL only sends now and then (WCO, Ov,
// A) filled from prev when absent, and the missing one of MPos/WPos
// computed from WCO (WPos = MPos - WCO).
func merge(prev, next Status) Status {
	if !next.HasWCO && prev.WCO != nil {
		next.WCO = prev.WCO
	}
	if !next.HasOv && prev.HasOv {
		// A is only ever sent together with Ov: keep both.
		next.Ov, next.Acc, next.HasOv = prev.Ov, prev.Acc, true
	}
	if next.WCO != nil {
		switch {
		case next.HasMPos && !next.HasWPos:
			next.WPos = combine(next.MPos, next.WCO, -1)
		case next.HasWPos && !next.HasMPos:
			next.MPos = combine(next.WPos, next.WCO, +1)
		}
	}
	return next
}

func combine(a, b []float64, sign float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i]
		if i < len(b) {
			out[i] += sign * b[i]
		}
	}
	return out
}

func parseInts(s string, want int) ([]int, error) {
	parts := strings.Split(s, ",")
	if len(parts) < want {
		return nil, fmt.Errorf("want %d values, got %d", want, len(parts))
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("value %d %q: %w", i+1, p, err)
		}
		out[i] = v
	}
	return out, nil
}
