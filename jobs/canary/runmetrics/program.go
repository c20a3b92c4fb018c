package runmetrics

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/kerf-cnc/kerf/gcode"
)

// Program is what the metrics need to know about a program: for each
// source line, the programmed feed of the motion line that executes after
// it has finished, so that a status report taken "after line L" can be
// compared with what the program asked for.
type Program struct {
	// next[l] is the programmed feed (mm/min) of the first motion line
	// after source line l: > 0 for a feed move (G1/G2/G3 in G94), 0 for a
	// rapid, a probe or a feed that is not a rate (G93).
	next []float64
	// last is the last source line that moves the machine.
	last int
}

// NewProgram reads a program through the gcode compiler (the same wire
// form the runner sends) and records each motion line's programmed feed.
// Errors name the file and line (a *gcode.DiagnosticError from the
// compiler).
func NewProgram(r io.Reader, name string, opts gcode.Options) (*Program, error) {
	c := gcode.NewCompiler(r, name, opts)
	var feedAt []float64 // by source line: feed of a motion line, -1 none
	st := modal{motion: -1, mmPerUnit: 1}
	for {
		wl, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("program metrics: %w", err)
		}
		st.apply(wl.Text)
		for len(feedAt) <= wl.Source {
			feedAt = append(feedAt, -1)
		}
		if wl.Motion {
			feedAt[wl.Source] = st.programmedFeed()
		}
	}
	p := &Program{next: make([]float64, len(feedAt)+1)}
	following := 0.0
	for l := len(feedAt) - 1; l >= 0; l-- {
		p.next[l] = following
		if feedAt[l] >= 0 {
			following = feedAt[l]
			if p.last == 0 {
				p.last = l
			}
		}
	}
	return p, nil
}

// FeedAfter returns the programmed feed (mm/min) of the motion that runs
// once source line l has executed; 0 for a rapid or when none follows.
func (p *Program) FeedAfter(l int) float64 {
	if p == nil || l < 0 || l >= len(p.next) {
		return 0
	}
	return p.next[l]
}

// LastMotion is the last source line that moves the machine (0: none).
func (p *Program) LastMotion() int {
	if p == nil {
		return 0
	}
	return p.last
}

// modal tracks the words of the wire form that decide a move's feed.
type modal struct {
	motion     int     // 0, 1, 2, 3 (G0–G3), 38 (probe), 80, -1 unknown
	feed       float64 // F in program units per minute
	mmPerUnit  float64 // 25.4 in G20
	inverse    bool    // G93
	feedPerRev bool    // not GRBL, kept for safety
}

func (m *modal) programmedFeed() float64 {
	if m.inverse || m.feedPerRev {
		return 0
	}
	switch m.motion {
	case 1, 2, 3:
		return m.feed * m.mmPerUnit
	}
	return 0
}

// apply reads a wire line (upper case, no spaces or comments).
func (m *modal) apply(text string) {
	for i := 0; i < len(text); {
		letter := text[i]
		j := i + 1
		for j < len(text) && (text[j] == '.' || text[j] == '-' || text[j] == '+' || (text[j] >= '0' && text[j] <= '9')) {
			j++
		}
		v, err := strconv.ParseFloat(text[i+1:j], 64)
		i = j
		if letter == '$' {
			return // a system command moves nothing the metrics look at
		}
		if err != nil {
			continue
		}
		switch letter {
		case 'F':
			m.feed = v
		case 'G':
			switch v {
			case 0, 1, 2, 3:
				m.motion = int(v)
			case 38.2, 38.3, 38.4, 38.5:
				m.motion = 38
			case 80:
				m.motion = 80
			case 20:
				m.mmPerUnit = 25.4
			case 21:
				m.mmPerUnit = 1
			case 93:
				m.inverse = true
			case 94:
				m.inverse = false
			}
		}
	}
}
