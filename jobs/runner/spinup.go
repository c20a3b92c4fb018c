package runner

import (
	"strconv"
	"strings"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
)

// spinUpDwell gives the router its spin-up time after M3/M4 in sense mode,
// where GRBL switches the router itself: after a line that starts the
// spindle it inserts a dwell (G4 P…) unless the program already dwells
// there — on the M3 line itself or on the line right after it — for at
// least the spin-up time. A shorter dwell of the program's is topped up to
// the spin-up time. Inserted lines carry the M3 line's source number and
// no actions.
type spinUpDwell struct {
	prog   Program
	spinUp time.Duration

	next    []gcode.WireLine // lines to yield before reading on
	nextErr error            // the read-ahead's error, yielded after next
}

// Next implements Program.
func (p *spinUpDwell) Next() (gcode.WireLine, error) {
	if len(p.next) > 0 {
		wl := p.next[0]
		p.next = p.next[1:]
		return wl, nil
	}
	if p.nextErr != nil {
		err := p.nextErr
		p.nextErr = nil
		return gcode.WireLine{}, err
	}
	wl, err := p.prog.Next()
	if err != nil || !wl.Actions.Has(gcode.ActionSpindleOn) || wl.Spindle <= 0 {
		return wl, err
	}
	have := dwellOf(wl.Text)
	if have >= p.spinUp {
		return wl, nil
	}
	after, err := p.prog.Next()
	if err != nil {
		p.nextErr = err
	} else if d := dwellOf(after.Text); d > 0 && after.Actions == 0 && !after.Motion {
		have += d
		p.next = append(p.next, after)
		if have >= p.spinUp {
			return wl, nil
		}
	}
	p.next = append(p.next, gcode.WireLine{Text: dwell(p.spinUp - have), Source: wl.Source})
	if err == nil && len(p.next) == 1 {
		p.next = append(p.next, after)
	}
	return wl, nil
}

// dwellOf returns the dwell of a wire line (G4 P seconds), 0 if it has
// none. Wire text is upper case without spaces; G4 is non-modal group 0,
// so no other P-word command (G10) can share its block.
func dwellOf(text string) time.Duration {
	i := 0
	for {
		j := strings.Index(text[i:], "G4")
		if j < 0 {
			return 0
		}
		i += j + 2
		if i < len(text) && (text[i] >= '0' && text[i] <= '9' || text[i] == '.') {
			continue // G40, G43.1, …
		}
		break
	}
	k := strings.IndexByte(text, 'P')
	if k < 0 {
		return 0
	}
	end := k + 1
	for end < len(text) && (text[end] >= '0' && text[end] <= '9' || text[end] == '.') {
		end++
	}
	sec, err := strconv.ParseFloat(text[k+1:end], 64)
	if err != nil || sec <= 0 {
		return 0
	}
	return time.Duration(sec * float64(time.Second))
}
