package gcode

import (
	"fmt"
	"strconv"
)

// Resume describes the controller state a program has reached just before
// a source line, so that a sender can start the program from that line: it
// rebuilds the modal state, moves to where the tool was, and continues.
type Resume struct {
	// Line is the source line the program continues from.
	Line int `json:"line"`
	// Machine is the tool's machine position (mm) before Line.
	Machine [3]float64 `json:"machine"`
	// Work is the same position in the active work coordinates (mm).
	Work [3]float64 `json:"work"`
	// Spindle is on (M3 or M4 with Speed RPM) before Line.
	SpindleOn  bool    `json:"spindle_on"`
	SpindleCCW bool    `json:"spindle_ccw,omitempty"`
	Speed      float64 `json:"speed"`
	// Flood and Mist coolant.
	Flood bool `json:"flood,omitempty"`
	Mist  bool `json:"mist,omitempty"`
	// Feed is the programmed feed rate in mm/min (0: none set).
	Feed float64 `json:"feed"`

	// Modal holds wire lines that restore the modal groups (units,
	// distance, plane, feed mode, coordinate system, motion mode, feed),
	// sent after the approach. Offsets holds lines that restore G92 and
	// G43.1, sent at the approach point.
	Modal   []string `json:"modal"`
	Offsets []string `json:"offsets,omitempty"`
	// Arc says the modal motion is G2 or G3. GRBL cannot be put in an arc
	// mode without an arc move, so a program cannot resume at a line that
	// relies on a modal G2/G3; Modal then leaves the motion mode out.
	Arc bool `json:"arc,omitempty"`
}

// ResumeBefore returns the state before the source line of the WireLine
// that Next returned last.
func (c *Compiler) ResumeBefore(line int) Resume {
	return resumeFrom(c.e.pre, line)
}

func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 4, 64)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func resumeFrom(st state, line int) Resume {
	r := Resume{Line: line, Machine: st.pos, Feed: st.feed, Speed: st.speed}
	for i := 0; i < 3; i++ {
		r.Work[i] = st.pos[i] - st.wcs[i] - st.g92[i]
	}
	if st.tloOn {
		r.Work[2] -= st.tlo
	}
	r.SpindleOn = st.spindle == 3 || st.spindle == 4
	r.SpindleCCW = st.spindle == 4
	r.Flood, r.Mist = st.coolant&1 != 0, st.coolant&2 != 0

	// Offsets first, at the approach point: G92 makes the current
	// position read as the work position the program had there.
	if st.g92 != ([3]float64{}) {
		w := [3]float64{st.pos[0] - st.wcs[0], st.pos[1] - st.wcs[1], st.pos[2] - st.wcs[2]}
		for i := 0; i < 3; i++ {
			w[i] -= st.g92[i]
		}
		if st.tloOn {
			w[2] -= st.tlo
		}
		r.Offsets = append(r.Offsets, fmt.Sprintf("G21G92X%sY%sZ%s", num(w[0]), num(w[1]), num(w[2])))
	}
	if st.tloOn {
		r.Offsets = append(r.Offsets, "G21G43.1Z"+num(st.tlo))
	}

	var m string
	if st.inches {
		m += "G20"
	} else {
		m += "G21"
	}
	if st.incr {
		m += "G91"
	} else {
		m += "G90"
	}
	m += [...]string{"G17", "G18", "G19"}[st.plane]
	if st.inverse {
		m += "G93"
	} else {
		m += "G94"
	}
	m += "G5" + strconv.Itoa(4+int(st.coord))
	r.Modal = append(r.Modal, m)
	mot := ""
	switch {
	case st.motion == motionSeek:
		mot = "G0"
	case st.motion == motionLinear:
		mot = "G1"
	case st.motion == motionCW, st.motion == motionCCW:
		r.Arc = true
	case st.motion == motionNone:
		mot = "G80"
	}
	if st.feed > 0 && !st.inverse {
		f := st.feed
		if st.inches {
			f /= 25.4
		}
		mot += "F" + num(f)
	}
	if mot != "" {
		r.Modal = append(r.Modal, mot)
	}
	return r
}
