package machine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
)

// WorkSystems are GRBL's six work coordinate systems, in P-number order
// (G54 is P1 in G10 L20 P1).
var workSystems = [...]string{"G54", "G55", "G56", "G57", "G58", "G59"}

// WorkSystems returns the names of GRBL's work coordinate systems, G54 to
// G59, in the order of their G10 P numbers (1 to 6).
func WorkSystems() []string { return slices.Clone(workSystems[:]) }

// maxOffset bounds a value given to ZeroAxes (mm): far outside any hobby
// machine's travel, small enough to catch a slipped decimal point.
const maxOffset = 10000

// Offsets is the board's coordinate data as "$#" reports it, in mm.
type Offsets struct {
	// Active is the work coordinate system in use ("G54" to "G59"), from
	// "$G"; empty when unknown.
	Active string `json:"active,omitempty"`
	// WCS holds the offsets of G54 to G59 (X, Y, Z), keyed by name.
	WCS map[string][]float64 `json:"wcs"`
	// G28 and G30 are the stored positions of G28 and G30 (machine
	// coordinates).
	G28 []float64 `json:"g28,omitempty"`
	G30 []float64 `json:"g30,omitempty"`
	// G92 is the G92 offset (not stored in EEPROM; a reset keeps it, a
	// power cycle clears it).
	G92 []float64 `json:"g92,omitempty"`
	// TLO is the tool length offset (G43.1), Z only.
	TLO float64 `json:"tlo"`
	// ReadAt is when the board reported these values.
	ReadAt time.Time `json:"read_at"`
	// Fresh is true when the values were read for this call; false when
	// they are the last ones read, because the board was busy (a run
	// holds the machine, or it is moving) and GRBL answers "$#" only when
	// Idle or in Alarm. A running program may have changed them since.
	Fresh bool `json:"fresh"`
}

// clone returns a deep copy.
func (o Offsets) clone() Offsets {
	c := o
	c.WCS = make(map[string][]float64, len(o.WCS))
	for k, v := range o.WCS {
		c.WCS[k] = slices.Clone(v)
	}
	c.G28, c.G30, c.G92 = slices.Clone(o.G28), slices.Clone(o.G30), slices.Clone(o.G92)
	return c
}

// offsetsFrom builds Offsets from "$#" lines (grbl.Offset) and the active
// system.
func offsetsFrom(lines map[string][]float64, active string, at time.Time) Offsets {
	o := Offsets{Active: active, WCS: map[string][]float64{}, ReadAt: at}
	for name, pos := range lines {
		switch {
		case slices.Contains(workSystems[:], name):
			o.WCS[name] = slices.Clone(pos)
		case name == "G28":
			o.G28 = slices.Clone(pos)
		case name == "G30":
			o.G30 = slices.Clone(pos)
		case name == "G92":
			o.G92 = slices.Clone(pos)
		case name == "TLO" && len(pos) > 0:
			o.TLO = pos[0]
		}
	}
	return o
}

// ZeroSpec asks to set axes of a work coordinate system so that the
// current position reads the given values (G10 L20): zeroing is the value
// 0. Nil axes are left as they are.
type ZeroSpec struct {
	// WCS is "G54" to "G59"; empty means the active system (P0).
	WCS string
	// X, Y and Z are the work coordinates the current position gets, in mm.
	X, Y, Z *float64
}

// Line returns the G-code line for the spec, e.g. "G21G10L20P1X0Y0", or an
// ErrInvalid error naming the field. G21 makes the values millimetres
// whatever units the board was left in (it stays in G21 afterwards).
func (z ZeroSpec) Line() (string, error) {
	if z.X == nil && z.Y == nil && z.Z == nil {
		return "", errorf("x, y, z", "at least one axis is required")
	}
	p := 0
	if z.WCS != "" {
		i := slices.Index(workSystems[:], strings.ToUpper(strings.TrimSpace(z.WCS)))
		if i < 0 {
			return "", errorf("wcs", "%q is not a work coordinate system (G54 to G59)", z.WCS)
		}
		p = i + 1
	}
	var b strings.Builder
	b.WriteString("G21G10L20P")
	b.WriteString(strconv.Itoa(p))
	for _, a := range []struct {
		name string
		v    *float64
	}{{"X", z.X}, {"Y", z.Y}, {"Z", z.Z}} {
		if a.v == nil {
			continue
		}
		v := *a.v
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > maxOffset {
			return "", errorf(strings.ToLower(a.name), "%v is not a coordinate within ±%d mm", v, maxOffset)
		}
		b.WriteString(a.name)
		b.WriteString(number(v))
	}
	return b.String(), nil
}

// Offsets returns the board's coordinate data. When the machine is free
// and the board Idle or in Alarm it reads "$#" and "$G" afresh; while a
// run holds the machine, a manual command is under way or the board is
// moving it returns the values last read (Fresh false) — at connect, or
// at the last fresh read. Errors: ErrNotConnected without a board.
func (m *Machine) Offsets(ctx context.Context) (Offsets, error) {
	const op = "read offsets ($#)"
	conn, err := m.link(op)
	if err != nil {
		return Offsets{}, err
	}
	end, err := m.beginManual(op)
	if errors.Is(err, ErrBusy) {
		return m.cachedOffsets(conn), nil
	}
	if err != nil {
		return Offsets{}, err
	}
	defer end()
	if err := m.requireState(ctx, conn, op, grbl.StateIdle, grbl.StateAlarm); err != nil {
		if errors.Is(err, grbl.ErrNotIdle) {
			return m.cachedOffsets(conn), nil
		}
		return Offsets{}, err
	}
	return m.readOffsets(ctx, conn, op)
}

// ZeroAxes sets axes of a work coordinate system at the current position
// (G10 L20 P<n>; see ZeroSpec) and returns the offsets read back. It needs
// the board Idle (GRBL refuses G-code in Alarm) and no lease: while a run
// holds the machine it fails with a *BusyError. Errors: ErrInvalid naming
// the field; grbl.ErrAlarm, grbl.ErrNotIdle; a *grbl.Error when GRBL
// refuses the line.
func (m *Machine) ZeroAxes(ctx context.Context, z ZeroSpec) (Offsets, error) {
	line, err := z.Line()
	if err != nil {
		return Offsets{}, fmt.Errorf("set work offset: %w", err)
	}
	op := "set work offset " + strings.TrimPrefix(line, "G21")
	var o Offsets
	err = m.manualCommand(op, "set work offset", func(conn *grbl.Conn) error {
		if err := m.requireState(ctx, conn, op, grbl.StateIdle); err != nil {
			return err
		}
		if _, err := conn.Command(ctx, line); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		m.log.Info("work offset set", logKeyOp, line)
		var err error
		if o, err = m.readOffsets(ctx, conn, op); err != nil {
			return fmt.Errorf("%s: written, but reading the offsets back failed: %w", op, err)
		}
		return nil
	})
	if err != nil {
		return Offsets{}, err
	}
	return o, nil
}

// readOffsets asks the board for "$#" and "$G" and keeps the result as the
// last known offsets of conn.
func (m *Machine) readOffsets(ctx context.Context, conn *grbl.Conn, op string) (Offsets, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	lines := map[string][]float64{}
	resp, err := conn.Command(rctx, "$#")
	if err != nil {
		return Offsets{}, fmt.Errorf("%s: %w", op, err)
	}
	for _, msg := range resp.Lines {
		if o, ok := msg.(grbl.Offset); ok {
			lines[o.Name] = o.Pos
		}
	}
	active := ""
	resp, err = conn.Command(rctx, "$G")
	if err != nil {
		return Offsets{}, fmt.Errorf("%s: $G: %w", op, err)
	}
	for _, msg := range resp.Lines {
		if mo, ok := msg.(grbl.Modal); ok {
			active = mo.WCS
		}
	}
	o := offsetsFrom(lines, active, m.Now())
	m.mu.Lock()
	if m.conn == conn {
		c := o.clone()
		m.offsets, m.offsetsConn = &c, conn
	}
	m.mu.Unlock()
	o.Fresh = true
	return o, nil
}

// cachedOffsets returns the offsets last read on conn, or those of its
// handshake.
func (m *Machine) cachedOffsets(conn *grbl.Conn) Offsets {
	m.mu.Lock()
	if m.offsetsConn == conn && m.offsets != nil {
		o := m.offsets.clone()
		m.mu.Unlock()
		return o
	}
	m.mu.Unlock()
	info := conn.Info()
	return offsetsFrom(info.Offsets, info.Modal.WCS, m.changedAt())
}

// changedAt is when the link last changed state (the handshake of the
// current link).
func (m *Machine) changedAt() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}
