package machine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
)

// overrideBytes maps Override's target and op to GRBL's real-time byte.
var overrideBytes = map[string]map[string]byte{
	"feed": {
		"reset": grbl.RTFeedOv100, "+10": grbl.RTFeedOvPlus10, "-10": grbl.RTFeedOvMinus10,
		"+1": grbl.RTFeedOvPlus1, "-1": grbl.RTFeedOvMinus1,
	},
	"rapid": {
		"reset": grbl.RTRapidOv100, "100": grbl.RTRapidOv100, "50": grbl.RTRapidOv50, "25": grbl.RTRapidOv25,
	},
	"spindle": {
		"reset": grbl.RTSpindleOv100, "+10": grbl.RTSpindleOvPlus10, "-10": grbl.RTSpindleOvMinus10,
		"+1": grbl.RTSpindleOvPlus1, "-1": grbl.RTSpindleOvMinus1,
	},
}

// maxJogFeed bounds a jog feed rate (mm/min), far above any hobby
// machine's $110; GRBL clamps to the axis maximum rates anyway.
const maxJogFeed = 100000

// maxJogDistance bounds a jog axis value (mm).
const maxJogDistance = 100000

// JogSpec is a jog: a target in work coordinates (absolute, G90) or a
// distance (Incremental, G91), in mm, at Feed mm/min. Nil axes do not move.
type JogSpec struct {
	X, Y, Z     *float64
	Feed        float64
	Incremental bool
}

// Line returns the $J= line for the jog, e.g. "$J=G21G91X10F500", or an
// ErrInvalid error naming the field.
func (j JogSpec) Line() (string, error) {
	if j.X == nil && j.Y == nil && j.Z == nil {
		return "", errorf("x, y, z", "at least one axis is required")
	}
	if math.IsNaN(j.Feed) || j.Feed <= 0 || j.Feed > maxJogFeed {
		return "", errorf("feed", "%v must be above 0 and at most %d mm/min", j.Feed, maxJogFeed)
	}
	var b strings.Builder
	b.WriteString("$J=G21")
	if j.Incremental {
		b.WriteString("G91")
	} else {
		b.WriteString("G90")
	}
	for _, a := range []struct {
		name string
		v    *float64
	}{{"X", j.X}, {"Y", j.Y}, {"Z", j.Z}} {
		if a.v == nil {
			continue
		}
		v := *a.v
		if math.IsNaN(v) || math.Abs(v) > maxJogDistance {
			return "", errorf(strings.ToLower(a.name), "%v is not a distance within ±%d mm", v, maxJogDistance)
		}
		b.WriteString(a.name)
		b.WriteString(number(v))
	}
	b.WriteString("F")
	b.WriteString(number(j.Feed))
	return b.String(), nil
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

// link returns the current connection or a *NotConnectedError.
func (m *Machine) link(op string) (*grbl.Conn, error) {
	conn, _, err := m.Conn()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return conn, nil
}

// manualCommand runs fn on the current link as the manual command op
// (named kind while it runs): refused with a *BusyError while a lease is
// held, and keeping Acquire from succeeding until fn returns.
func (m *Machine) manualCommand(op, kind string, fn func(conn *grbl.Conn) error) error {
	end, err := m.beginManual(kind)
	if err != nil {
		return err
	}
	defer end()
	conn, err := m.link(op)
	if err != nil {
		return err
	}
	return fn(conn)
}

// freshStatus asks for a status report; if none comes within two poll
// timeouts (GRBL does not answer '?' while homing or in a limit lock-up)
// it returns the last one known.
func (m *Machine) freshStatus(ctx context.Context, conn *grbl.Conn) grbl.Status {
	wait := m.ConnOptions.PollTimeout
	if wait <= 0 {
		wait = grbl.DefaultPollTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, 2*wait)
	defer cancel()
	st, err := conn.WaitStatus(wctx, func(grbl.Status) bool { return true })
	if err != nil {
		return conn.Status()
	}
	return st
}

// requireState returns nil when the board is in one of the states, else
// an error matching grbl.ErrAlarm (with how to clear it) or
// grbl.ErrNotIdle naming the state.
func (m *Machine) requireState(ctx context.Context, conn *grbl.Conn, op string, states ...grbl.State) error {
	st := m.freshStatus(ctx, conn)
	alarmOK := false
	for _, s := range states {
		if s == grbl.StateAlarm {
			alarmOK = true
		}
	}
	if err := conn.AlarmError(); err != nil && !alarmOK {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, s := range states {
		if st.State == s {
			return nil
		}
	}
	if alarmOK && conn.AlarmError() != nil {
		return nil
	}
	state := string(st.State)
	if st.SubState >= 0 {
		state += ":" + strconv.Itoa(st.SubState)
	}
	want := make([]string, len(states))
	for i, s := range states {
		want[i] = string(s)
	}
	return fmt.Errorf("%s: %w: the board is in state %s (needs %s)", op, grbl.ErrNotIdle, state, strings.Join(want, " or "))
}

// Home runs the homing cycle ($H) and waits for it to finish, which can
// take a minute: only ctx bounds it. It needs $22=1 (else
// ErrHomingDisabled) and the board Idle or in Alarm; a homing failure
// returns the alarm (ALARM:6-9, matching grbl.ErrAlarm).
//
// Once it succeeds the machine counts as homed (Status.Homed) until an
// alarm or a reset loses the position (see grbl.Conn.Homed).
func (m *Machine) Home(ctx context.Context) error {
	const op = "home ($H)"
	return m.manualCommand(op, "home", func(conn *grbl.Conn) error {
		if conn.Settings()[22] != 1 {
			return fmt.Errorf("%s: %w: set $22=1 if the machine has limit switches", op, ErrHomingDisabled)
		}
		if err := m.requireState(ctx, conn, op, grbl.StateIdle, grbl.StateAlarm); err != nil {
			return err
		}
		m.log.Info("homing", logKeyPort, m.Name)
		_, err := conn.Command(ctx, "$H")
		var ge *grbl.Error
		switch {
		case errors.As(err, &ge) && ge.Code == 5:
			return fmt.Errorf("%s: %w: %w", op, ErrHomingDisabled, err)
		case errors.Is(err, grbl.ErrDisconnected), errors.Is(err, grbl.ErrClosed), ctx.Err() != nil:
			return fmt.Errorf("%s: %w", op, err)
		}
		// The alarm lock is known to be gone only with the next report; a
		// failed cycle (ALARM:6-9) leaves the board in Alarm.
		m.freshStatus(ctx, conn)
		if aerr := conn.AlarmError(); aerr != nil {
			return fmt.Errorf("%s: %w", op, aerr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
}

// Unlock clears an alarm lock ($X) without homing. It does not make the
// machine homed.
func (m *Machine) Unlock(ctx context.Context) error {
	const op = "unlock ($X)"
	return m.manualCommand(op, "unlock", func(conn *grbl.Conn) error {
		if _, err := conn.Command(ctx, "$X"); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
}

// Reset switches the router off, soft-resets the board (0x18) and waits
// for its banner. It is allowed while a lease is held: safety first. A
// reset while moving leaves GRBL in alarm (ALARM:3).
func (m *Machine) Reset(ctx context.Context) error {
	const op = "reset (0x18)"
	relayErr := m.relayOff("reset requested")
	conn, err := m.link(op)
	if err != nil {
		return errors.Join(err, relayErr)
	}
	if err := conn.SoftReset(ctx); err != nil {
		return errors.Join(fmt.Errorf("%s: %w", op, err), relayErr)
	}
	return relayErr
}

// Jog sends a jog ($J=…). It needs the board Idle or already jogging
// (jogs queue), and no lease. GRBL's refusal of a target beyond the
// machine's travel (error:15) is returned as ErrJogLimit (wrapping the
// *grbl.Error). The call returns once GRBL accepted the jog, not when the
// motion ends.
func (m *Machine) Jog(ctx context.Context, j JogSpec) error {
	line, err := j.Line()
	if err != nil {
		return fmt.Errorf("jog: %w", err)
	}
	op := "jog " + strings.TrimPrefix(line, "$J=")
	return m.manualCommand(op, "jog", func(conn *grbl.Conn) error {
		if err := m.requireState(ctx, conn, op, grbl.StateIdle, grbl.StateJog); err != nil {
			return err
		}
		_, err := conn.Command(ctx, line)
		var ge *grbl.Error
		switch {
		case errors.As(err, &ge) && ge.Code == 15:
			return fmt.Errorf("%s: %w (soft limits are on): %w", op, ErrJogLimit, err)
		case err != nil:
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
}

// JogCancel cancels a jog and drops the queued ones (0x85). GRBL ignores it
// outside the Jog state. Refused while a lease is held.
func (m *Machine) JogCancel(ctx context.Context) error {
	return m.realtime("jog cancel", grbl.RTJogCancel, true)
}

// FeedHold holds motion ('!'); allowed at any time. During a jog GRBL
// cancels the jog instead.
func (m *Machine) FeedHold(ctx context.Context) error {
	return m.realtime("feed hold", grbl.RTFeedHold, false)
}

// CycleStart resumes from a hold ('~'); allowed at any time. GRBL ignores
// it until the hold is complete (Hold:0).
func (m *Machine) CycleStart(ctx context.Context) error {
	return m.realtime("cycle start", grbl.RTCycleStart, false)
}

// Override changes an override with its real-time byte; allowed during a
// run. target "feed" and "spindle" take op "reset", "+10", "-10", "+1",
// "-1"; "rapid" takes "reset" (or "100"), "50", "25". The new values show
// in the next status reports.
func (m *Machine) Override(ctx context.Context, target, op string) error {
	ops, ok := overrideBytes[target]
	if !ok {
		return fmt.Errorf("override: %w", errorf("target", "%q is not feed, rapid or spindle", target))
	}
	b, ok := ops[op]
	if !ok {
		return fmt.Errorf("override %s: %w", target, errorf("op", "%q is not valid for %s", op, target))
	}
	return m.realtime("override "+target+" "+op, b, false)
}

func (m *Machine) realtime(op string, b byte, leaseBlocks bool) error {
	if leaseBlocks {
		if err := m.checkLease(op); err != nil {
			return err
		}
	}
	conn, err := m.link(op)
	if err != nil {
		return err
	}
	if err := conn.Realtime(b); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Settings returns the board's $ settings in number order, with names.
func (m *Machine) Settings(ctx context.Context) ([]Setting, error) {
	conn, err := m.link("settings")
	if err != nil {
		return nil, err
	}
	return settingsList(conn.Settings()), nil
}

// SetSetting writes $n=value. It needs the board Idle or in Alarm and no
// lease; GRBL's refusal is a *grbl.Error (error:3 unknown setting, error:4
// negative value, error:10 soft limits without homing…). The settings are
// read back afterwards ("$$"), since some writes change others.
func (m *Machine) SetSetting(ctx context.Context, n int, value string) error {
	op := "set $" + strconv.Itoa(n)
	if n < 0 || n > 255 {
		return fmt.Errorf("%s: %w", op, errorf("number", "%d is not a GRBL setting number (0-255)", n))
	}
	v, err := parseSettingValue(value)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return m.manualCommand(op, op, func(conn *grbl.Conn) error {
		if err := m.requireState(ctx, conn, op, grbl.StateIdle, grbl.StateAlarm); err != nil {
			return err
		}
		line := "$" + strconv.Itoa(n) + "=" + v
		if _, err := conn.Command(ctx, line); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		m.log.Info("setting written", logKeyOp, line)
		// The link's cache learns every "$N=value" line of the answer.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := conn.Command(rctx, "$$"); err != nil {
			return fmt.Errorf("%s: written, but reading the settings back failed: %w", op, err)
		}
		return nil
	})
}
