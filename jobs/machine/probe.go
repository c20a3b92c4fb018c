package machine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/kerf-cnc/kerf/grbl"
)

// ErrProbeFailed: the probe did not touch (ALARM:5: no contact within the
// probe travel) or was already closed when the probe started (ALARM:4). The
// concrete error is a *ProbeError.
var ErrProbeFailed = errors.New("probe failed")

// ProbeError says how a reference probe failed. It matches ErrProbeFailed
// and unwraps to GRBL's alarm when there was one.
type ProbeError struct {
	// Step is the probing step: "first touch" or "second touch".
	Step string
	// Travel is how far the step probed (mm).
	Travel float64
	// Alarm is GRBL's alarm (ALARM:4 or ALARM:5), nil when GRBL reported
	// a failed [PRB:…:0] without one.
	Alarm *grbl.Alarm
}

// Error names the step, the travel and GRBL's alarm.
func (e *ProbeError) Error() string {
	var what string
	switch {
	case e.Alarm != nil && e.Alarm.Code == 4:
		what = "the probe circuit was already closed before moving (ALARM:4): check the plate clip and the plate"
	case e.Alarm != nil:
		what = fmt.Sprintf("the probe did not touch the plate within %s mm (ALARM:%d): check the probe point, the clip and probe.max_travel", number(e.Travel), e.Alarm.Code)
	default:
		what = fmt.Sprintf("the probe did not touch the plate within %s mm", number(e.Travel))
	}
	return fmt.Sprintf("probe %s: %s", e.Step, what)
}

// Is matches ErrProbeFailed.
func (e *ProbeError) Is(target error) bool { return target == ErrProbeFailed }

// Unwrap returns GRBL's alarm.
func (e *ProbeError) Unwrap() error {
	if e.Alarm == nil {
		return nil
	}
	return e.Alarm
}

// ProbeSetup is a machine's reference probe: a touch plate or tool setter
// fixed to the spoilboard at machine X/Y, probed along Z with two touches.
// Positions are machine coordinates in mm, feeds in mm/min.
type ProbeSetup struct {
	// X and Y are the machine position of the plate's centre.
	X, Y float64
	// Plate is the plate's thickness (mm). It does not change drift (a
	// difference of two touches of the same plate); it is reported so the
	// touch can be turned into the spoilboard's height.
	Plate float64
	// SafeZ is the machine Z the tool travels at to and from the plate.
	SafeZ float64
	// Feed is the first, fast touch's feed.
	Feed float64
	// SlowFeed is the second, precise touch's feed.
	SlowFeed float64
	// BackOff is how far the tool lifts after the first touch (mm).
	BackOff float64
	// MaxTravel is how far below SafeZ the first touch may go (mm) before
	// GRBL gives up with ALARM:5.
	MaxTravel float64
}

// Validate returns an ErrInvalid error naming the first bad field.
func (p ProbeSetup) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"x", p.X}, {"y", p.Y}, {"plate", p.Plate}, {"safe_z", p.SafeZ}, {"feed", p.Feed},
		{"slow_feed", p.SlowFeed}, {"back_off", p.BackOff}, {"max_travel", p.MaxTravel}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return errorf(f.name, "%v is not a finite number", f.v)
		}
	}
	switch {
	case p.Plate < 0:
		return errorf("plate", "%v mm is negative", p.Plate)
	case p.Feed <= 0 || p.Feed > maxJogFeed:
		return errorf("feed", "%v must be above 0 and at most %d mm/min", p.Feed, maxJogFeed)
	case p.SlowFeed <= 0 || p.SlowFeed > p.Feed:
		return errorf("slow_feed", "%v must be above 0 and at most feed (%v mm/min)", p.SlowFeed, p.Feed)
	case p.BackOff <= 0 || p.BackOff > 10:
		return errorf("back_off", "%v must be above 0 and at most 10 mm", p.BackOff)
	case p.MaxTravel <= p.BackOff || p.MaxTravel > 200:
		return errorf("max_travel", "%v must be above back_off (%v mm) and at most 200 mm", p.MaxTravel, p.BackOff)
	}
	return nil
}

// ProbeRouter is what probing needs from the router relay
// (*relay.Router): record and switch the router off, and confirm it on
// the sense input.
type ProbeRouter interface {
	Off(reason string) error
	Verify(ctx context.Context, what string) error
}

// ProbeResult is one reference probe.
type ProbeResult struct {
	// Z is the machine Z (mm) of the second, slow touch, from [PRB:].
	Z float64
	// FirstZ is the machine Z of the fast first touch.
	FirstZ float64
	// Modal is the parser state ($G) before probing; ProbeZ restores all
	// of it but the spindle, which stays off.
	Modal grbl.Modal
}

// ProbeZ probes the reference on conn, which must be Idle with nothing in
// flight: it stops the router (router.Off, M5, and router.Verify, which in
// sense mode waits for the sense input to read off), retracts to SafeZ,
// goes to the plate, touches it fast (G38.2), backs off, touches it again
// slowly, reads the machine Z from [PRB:], retracts to SafeZ and restores
// the parser's modal state (units, distance, plane, feed mode, coordinate
// system, motion mode, feed) except the spindle, which it leaves off. It
// returns once the retract has executed, the tool above the plate. router may be nil (no relay).
//
// A probe that does not touch returns a *ProbeError (ErrProbeFailed); the
// board is then in Alarm (ALARM:5) and the modal state is not restored.
func ProbeZ(ctx context.Context, conn *grbl.Conn, p ProbeSetup, router ProbeRouter) (ProbeResult, error) {
	if err := p.Validate(); err != nil {
		return ProbeResult{}, fmt.Errorf("probe: %w", err)
	}
	if err := conn.AlarmError(); err != nil {
		return ProbeResult{}, fmt.Errorf("probe: %w", err)
	}
	var res ProbeResult
	resp, err := conn.Command(ctx, "$G")
	if err != nil {
		return res, fmt.Errorf("probe: read the modal state ($G): %w", err)
	}
	found := false
	for _, m := range resp.Lines {
		if md, ok := m.(grbl.Modal); ok {
			res.Modal, found = md, true
		}
	}
	if !found {
		return res, errors.New("probe: the board did not report its modal state ($G)")
	}
	if router != nil {
		if err := router.Off("probing"); err != nil {
			return res, fmt.Errorf("probe: router off: %w", err)
		}
	}
	if _, err := conn.Command(ctx, "M5"); err != nil {
		return res, fmt.Errorf("probe: router off (M5): %w", err)
	}
	if router != nil {
		if err := router.Verify(ctx, "router off for probing"); err != nil {
			return res, fmt.Errorf("probe: %w", err)
		}
	}
	cmd := func(line string) (grbl.Response, error) {
		r, err := conn.Command(ctx, line)
		if err != nil {
			return r, fmt.Errorf("probe: %s: %w", line, err)
		}
		return r, nil
	}
	for _, line := range []string{"G21G90G94", "G53G0Z" + number(p.SafeZ), "G53G0X" + number(p.X) + "Y" + number(p.Y)} {
		if _, err := cmd(line); err != nil {
			return res, err
		}
	}
	touch := func(step string, travel, feed float64) (float64, error) {
		line := "G91G38.2Z-" + number(travel) + "F" + number(feed)
		r, err := conn.Command(ctx, line)
		var al *grbl.Alarm
		for _, m := range r.Lines {
			switch v := m.(type) {
			case *grbl.Alarm:
				al = v
			case grbl.Probe:
				if v.Success && len(v.Pos) == 3 && err == nil {
					return v.Pos[2], nil
				}
			}
		}
		if al == nil {
			errors.As(err, &al)
		}
		if al == nil {
			if aerr := conn.AlarmError(); aerr != nil {
				errors.As(aerr, &al)
			}
		}
		if al != nil && (al.Code == 4 || al.Code == 5) {
			return 0, &ProbeError{Step: step, Travel: travel, Alarm: al}
		}
		if err != nil {
			return 0, fmt.Errorf("probe %s: %s: %w", step, line, err)
		}
		if al != nil {
			return 0, fmt.Errorf("probe %s: %w", step, al)
		}
		return 0, &ProbeError{Step: step, Travel: travel}
	}
	if res.FirstZ, err = touch("first touch", p.MaxTravel, p.Feed); err != nil {
		return res, err
	}
	if _, err := cmd("G0Z" + number(p.BackOff)); err != nil { // still G91
		return res, err
	}
	if res.Z, err = touch("second touch", 2*p.BackOff, p.SlowFeed); err != nil {
		return res, err
	}
	if _, err := cmd("G90G53G0Z" + number(p.SafeZ)); err != nil {
		return res, err
	}
	// G4P0 is answered once the retract has executed (GRBL drains the
	// planner before a dwell): the tool is up when ProbeZ returns.
	for _, line := range append(RestoreModal(res.Modal), "G4P0") {
		if _, err := cmd(line); err != nil {
			return res, err
		}
	}
	return res, nil
}

// RestoreModal returns the lines that put GRBL's parser back into the
// state m reports ($G), except the spindle and coolant (M words) and the
// tool number: feed mode and F in mm first (F is stored in mm/min), then
// units, distance, plane, coordinate system and motion mode. A G2/G3 or
// G38.x motion mode cannot be set without a move and is left as G0 (callers
// avoid probing in those modes).
func RestoreModal(m grbl.Modal) []string {
	var first strings.Builder
	first.WriteString("G21")
	if m.FeedMode == "G93" {
		first.WriteString("G94")
	}
	if m.Feed > 0 && m.FeedMode != "G93" {
		first.WriteString("F" + number(m.Feed))
	}
	var second strings.Builder
	for _, w := range []string{m.Units, m.Distance, m.Plane, m.FeedMode, m.WCS} {
		second.WriteString(w)
	}
	switch m.Motion {
	case "G0", "G1", "G80":
		second.WriteString(m.Motion)
	}
	out := []string{first.String()}
	if second.Len() > 0 {
		out = append(out, second.String())
	}
	return out
}

// Probe runs a one-off reference probe (ProbeZ) as a manual command: the
// board must be Idle and no run may hold the machine (*BusyError). The
// router relay is switched off first.
func (m *Machine) Probe(ctx context.Context, p ProbeSetup) (ProbeResult, error) {
	const op = "probe"
	if err := p.Validate(); err != nil {
		return ProbeResult{}, fmt.Errorf("%s: %w", op, err)
	}
	end, err := m.beginManual(op)
	if err != nil {
		return ProbeResult{}, err
	}
	defer end()
	conn, err := m.link(op)
	if err != nil {
		return ProbeResult{}, err
	}
	if err := m.requireState(ctx, conn, op, grbl.StateIdle); err != nil {
		return ProbeResult{}, err
	}
	var router ProbeRouter
	if m.Relay != nil {
		router = m.Relay
	}
	res, err := ProbeZ(ctx, conn, p, router)
	if err != nil {
		return res, err
	}
	m.log.Info("reference probed", logKeyPort, m.Name, "z", res.Z)
	return res, nil
}
