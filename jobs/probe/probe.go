package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kerf-cnc/kerf/grbl"
)

// ErrFailed: the probe did not touch (ALARM:5: no contact within the
// probe travel) or was already closed when the probe started (ALARM:4). The
// concrete error is a *Error.
var ErrFailed = errors.New("probe failed")

// Error says how a reference probe failed. It matches ErrFailed
// and unwraps to GRBL's alarm when there was one.
type Error struct {
	// Step is the probing step: "first touch" or "second touch".
	Step string
	// Travel is how far the step probed (mm).
	Travel float64
	// Alarm is GRBL's alarm (ALARM:4 or ALARM:5), nil when GRBL reported
	// a failed [PRB:…:0] without one.
	Alarm *grbl.Alarm
}

// Error names the step, the travel and GRBL's alarm.
func (e *Error) Error() string {
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

// Is matches ErrFailed.
func (e *Error) Is(target error) bool { return target == ErrFailed }

// Unwrap returns GRBL's alarm.
func (e *Error) Unwrap() error {
	if e.Alarm == nil {
		return nil
	}
	return e.Alarm
}

// Setup is a machine's reference probe: a touch plate or tool setter
// fixed to the spoilboard at machine X/Y, probed along Z with two touches.
// Positions are machine coordinates in mm, feeds in mm/min.
type Setup struct {
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
	// Approach, when above 0, shortens a touch whose Z is known roughly
	// (Options.Expect, a drift checkpoint's reference): the tool goes down
	// at rapid to Approach mm above the expected touch, and the first touch
	// probes at most 2·Approach from there instead of from SafeZ. A tool
	// that is lower than expected by more than Approach would meet the
	// plate at rapid, so Approach must be far above any drift a run may
	// show between two checkpoints (kerf's config asks for ten times the
	// drift limit). 0 probes every touch from SafeZ.
	Approach float64
}

// Validate returns a *FieldError (ErrInvalid) naming the first bad field.
func (p Setup) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"x", p.X}, {"y", p.Y}, {"plate", p.Plate}, {"safe_z", p.SafeZ}, {"feed", p.Feed},
		{"slow_feed", p.SlowFeed}, {"back_off", p.BackOff}, {"max_travel", p.MaxTravel}, {"approach", p.Approach}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return errorf(f.name, f.v, "not a finite number")
		}
	}
	switch {
	case p.Plate < 0:
		return errorf("plate", p.Plate, "a thickness cannot be negative")
	case p.Feed <= 0 || p.Feed > maxFeed:
		return errorf("feed", p.Feed, "must be above 0 and at most %d mm/min", maxFeed)
	case p.SlowFeed <= 0 || p.SlowFeed > p.Feed:
		return errorf("slow_feed", p.SlowFeed, "must be above 0 and at most feed (%v mm/min)", p.Feed)
	case p.BackOff <= 0 || p.BackOff > 10:
		return errorf("back_off", p.BackOff, "must be above 0 and at most 10 mm")
	case p.MaxTravel <= p.BackOff || p.MaxTravel > 200:
		return errorf("max_travel", p.MaxTravel, "must be above back_off (%v mm) and at most 200 mm", p.BackOff)
	case p.Approach < 0 || (p.Approach > 0 && p.Approach < p.BackOff) || 2*p.Approach > p.MaxTravel:
		return errorf("approach", p.Approach, "must be 0 (off), or at least back_off (%v mm) and at most half of max_travel (%v mm)", p.BackOff, p.MaxTravel)
	}
	return nil
}

// Router is what probing needs from the router relay
// (*relay.Router): record and switch the router off, and confirm it on
// the sense input.
type Router interface {
	Off(reason string) error
	Verify(ctx context.Context, what string) error
}

// Options are Run's optional parts.
type Options struct {
	// Router is the router relay to stop (nil: no relay; M5 only).
	Router Router
	// ReturnTo, when set, is the machine position to go back to after the
	// retract (X/Y at SafeZ first, then down to its Z with G0): where a
	// run's tool was when the checkpoint began.
	ReturnTo *[3]float64
	// Feed, when above 0, is the exact feed (mm/min) to restore instead of
	// the $G report's, which GRBL rounds to whole mm/min.
	Feed float64
	// Expect, when set, is the machine Z of an earlier touch of this plate
	// with this tool: with Setup.Approach above 0 the first touch starts
	// Approach mm above it.
	Expect *float64
	// GoBack, when set, is asked with the second touch's Z whether to go
	// back to ReturnTo: false leaves the tool at SafeZ over the plate (a
	// drift checkpoint beyond its limit: the run stops there, the tool
	// clear of the work, without spending the trip back).
	GoBack func(z float64) bool
}

// Result is one reference probe.
type Result struct {
	// Z is the machine Z (mm) of the second, slow touch, from [PRB:].
	Z float64
	// FirstZ is the machine Z of the fast first touch.
	FirstZ float64
	// Modal is the parser state ($G) before probing; Run restores all
	// of it but the spindle, which stays off.
	Modal grbl.Modal
}

// Run probes the reference on conn, which must be Idle with nothing in
// flight: it stops the router (o.Router.Off, M5, and o.Router.Verify,
// which in sense mode waits for the sense input to read off; o.Router may
// be nil: no relay), retracts to SafeZ, goes to the plate (and down to
// Setup.Approach above o.Expect when both are set), touches it fast
// (G38.2), backs off, touches it again slowly, reads the machine Z from
// [PRB:], retracts to SafeZ (and goes back to o.ReturnTo when set, unless
// o.GoBack says not to), and
// restores the parser's modal state (units, distance, plane, feed mode,
// coordinate system, motion mode, feed) except the spindle, which it
// leaves off. It returns once the last move has executed.
//
// A probe that does not touch returns a *Error (ErrFailed); the
// board is then in Alarm (ALARM:5) and the modal state is not restored.
func Run(ctx context.Context, conn *grbl.Conn, p Setup, o Options) (Result, error) {
	router := o.Router
	if err := p.Validate(); err != nil {
		return Result{}, fmt.Errorf("probe: %w", err)
	}
	if err := conn.AlarmError(); err != nil {
		return Result{}, fmt.Errorf("probe: %w", err)
	}
	var res Result
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
	travel := []string{"G21G90G94", "G53G0Z" + number(p.SafeZ), "G53G0X" + number(p.X) + "Y" + number(p.Y)}
	first := p.MaxTravel
	if e := o.Expect; e != nil && p.Approach > 0 && *e+p.Approach < p.SafeZ {
		// Down at rapid to Approach above the expected touch; the first
		// touch then probes 2·Approach at most.
		travel = append(travel, "G53G0Z"+number(*e+p.Approach))
		first = 2 * p.Approach
	}
	for _, line := range travel {
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
			var ase *grbl.AlarmStateError
			if errors.As(conn.AlarmError(), &ase) {
				al = ase.Alarm
			}
		}
		if al != nil && (al.Code == 4 || al.Code == 5) {
			return 0, &Error{Step: step, Travel: travel, Alarm: al}
		}
		if err != nil {
			return 0, fmt.Errorf("probe %s: %s: %w", step, line, err)
		}
		if al != nil {
			return 0, fmt.Errorf("probe %s: %w", step, al)
		}
		return 0, &Error{Step: step, Travel: travel}
	}
	if res.FirstZ, err = touch("first touch", first, p.Feed); err != nil {
		return res, err
	}
	// GRBL stops a probe with a feed hold, so the tool overshoots the
	// touch by its deceleration: back off from the touch itself.
	if _, err := cmd("G90G53G0Z" + number(res.FirstZ+p.BackOff)); err != nil {
		return res, err
	}
	if res.Z, err = touch("second touch", 2*p.BackOff, p.SlowFeed); err != nil {
		return res, err
	}
	back := []string{"G90G53G0Z" + number(p.SafeZ)}
	if r := o.ReturnTo; r != nil && (o.GoBack == nil || o.GoBack(res.Z)) {
		back = append(back, "G53G0X"+number(r[0])+"Y"+number(r[1]), "G53G0Z"+number(r[2]))
	}
	for _, line := range back {
		if _, err := cmd(line); err != nil {
			return res, err
		}
	}
	switch {
	case o.Feed > 0:
		res.Modal.Feed = o.Feed
	case conn.Settings()[13] == 1: // $13=1: $G reports F in inch/min
		res.Modal.Feed *= 25.4
	}
	// G4P0 is answered once the retract has executed (GRBL drains the
	// planner before a dwell): the tool is up when Run returns.
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

// ErrInvalid: a Setup field is out of range; the message names the field.
var ErrInvalid = errors.New("invalid probe setup")

// maxFeed bounds a probe feed (mm/min).
const maxFeed = 100000

// FieldError is a Setup field out of range. It matches ErrInvalid.
type FieldError struct {
	// Field is the field's configuration name (x, y, plate, safe_z, feed,
	// slow_feed, back_off, max_travel).
	Field string
	// Value is the value given.
	Value float64
	// Problem says what is wrong with it.
	Problem string
}

// Error names the field and its value.
func (e *FieldError) Error() string {
	return fmt.Sprintf("field %s: %v: %s", e.Field, e.Value, e.Problem)
}

// Is matches ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func errorf(field string, v float64, format string, a ...any) error {
	return &FieldError{Field: field, Value: v, Problem: fmt.Sprintf(format, a...)}
}

// number prints v with at most 3 decimals (GRBL's resolution in mm),
// trailing zeros dropped.
func number(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" {
		s = "0"
	}
	return s
}
