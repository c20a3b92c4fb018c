package machine

import (
	"slices"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
)

// Event topics the Machine publishes on its hub.
const (
	// TopicConnected: a board answered the handshake; Data is Connected.
	// The handshake's own machine.reset (the banner) and first
	// machine.status come before it.
	TopicConnected = "machine.connected"
	// TopicDisconnected: the link went down or a connect attempt failed
	// after it was up (or at start); Data is Disconnected.
	TopicDisconnected = "machine.disconnected"
	// TopicStatus: a status report; Data is Report.
	TopicStatus = "machine.status"
	// TopicAlarm: ALARM:N; Data is AlarmInfo.
	TopicAlarm = "machine.alarm"
	// TopicMessage: a [MSG:…] line; Data is Message.
	TopicMessage = "machine.message"
	// TopicReset: the banner, i.e. the board (re)started; Data is Reset.
	TopicReset = "machine.reset"
)

// Status is a snapshot of the machine link and the board.
type Status struct {
	// Connected says whether a board is connected and answered the
	// handshake.
	Connected bool `json:"connected"`
	// Port is the serial port path, or "sim".
	Port string `json:"port"`
	// Report is the latest status report (merged: WCO, overrides and
	// accessories keep their last values), zero when disconnected. Its
	// State is Alarm whenever the board is known to be in alarm, even if
	// GRBL stopped answering '?' (the ALARM:1/2 lock-up).
	Report Report `json:"report"`
	// Raw is the same report as package grbl parsed and merged it (zero
	// when disconnected); its State is as reported.
	Raw grbl.Status `json:"-"`
	// Alarm is set while the board is in alarm: which one and how to clear
	// it.
	Alarm *AlarmInfo `json:"alarm,omitempty"`
	// Homed says the machine completed a homing cycle ($H) since the link
	// came up and has not lost its position since (an alarm that stops
	// motion abruptly, a reset the board did by itself). With homing
	// enabled (Board.HomingEnabled) a job starts only on a homed machine.
	Homed bool `json:"homed"`
	// Board is what the handshake learned; nil when disconnected.
	Board *BoardInfo `json:"board,omitempty"`
	// LeasedBy names the lease holder ("" when the machine is free).
	LeasedBy string `json:"leased_by,omitempty"`
	// LastError is why the link is down (empty when connected).
	LastError string `json:"last_error,omitempty"`
	// Updated is when the last status report arrived, or when the link
	// changed state.
	Updated time.Time `json:"updated,omitzero"`
}

// Report is a status report in a JSON-friendly shape.
type Report struct {
	// State is GRBL's state word (Idle, Run, Hold, Jog, Alarm, Door, Check,
	// Home, Sleep); empty before the first report.
	State string `json:"state"`
	// SubState is the Hold:N or Door:N code, -1 when there is none.
	SubState int `json:"sub_state"`
	// MPos, WPos and WCO are machine position, work position and work
	// offset in mm.
	MPos []float64 `json:"mpos,omitempty"`
	WPos []float64 `json:"wpos,omitempty"`
	WCO  []float64 `json:"wco,omitempty"`
	// Feed is the actual feed rate in mm/min, Speed the spindle speed in RPM.
	Feed  float64 `json:"feed"`
	Speed float64 `json:"speed"`
	// Overrides are in percent; zero before GRBL first reported them.
	Overrides Overrides `json:"overrides"`
	// Spindle is "cw", "ccw" or "" (off), Flood and Mist the coolant outputs.
	Spindle string `json:"spindle,omitempty"`
	Flood   bool   `json:"flood,omitempty"`
	Mist    bool   `json:"mist,omitempty"`
	// Pins are the active input letters (Pn:), e.g. "XP".
	Pins string `json:"pins,omitempty"`
	// PlannerFree and RXFree are the free planner blocks and RX bytes (Bf:).
	PlannerFree int `json:"planner_free"`
	RXFree      int `json:"rx_free"`
	// At is when the report arrived.
	At time.Time `json:"at,omitzero"`
}

// Overrides are the feed, rapid and spindle overrides in percent.
type Overrides struct {
	Feed    int `json:"feed"`
	Rapid   int `json:"rapid"`
	Spindle int `json:"spindle"`
}

// AlarmInfo describes an alarm and how to clear it.
type AlarmInfo struct {
	// Code is GRBL's ALARM:N; 0 when the board is locked without a code
	// (it powered up locked because homing is enabled).
	Code int `json:"code"`
	// Text is what the alarm means.
	Text string `json:"text"`
	// Hint says what the operator does next.
	Hint string `json:"hint"`
}

// BoardInfo is what the connect handshake learned about the board.
type BoardInfo struct {
	// Firmware is "Grbl", "GrblHAL" or "FluidNC"; Version its version
	// ("1.1h").
	Firmware string `json:"firmware"`
	Version  string `json:"version"`
	// Build is the $I version string ("1.1h.20190830"), BuildName the
	// user's $I= text.
	Build     string `json:"build,omitempty"`
	BuildName string `json:"build_name,omitempty"`
	// Options are the [OPT:] letters.
	Options string `json:"options,omitempty"`
	// PlannerBlocks and RXBufferSize are the planner size and the
	// character-counting budget in use.
	PlannerBlocks int `json:"planner_blocks,omitempty"`
	RXBufferSize  int `json:"rx_buffer_size"`
	// HomingEnabled is $22=1, as the board last reported or accepted it.
	HomingEnabled bool `json:"homing_enabled"`
	// ConnectedAt is when the handshake finished.
	ConnectedAt time.Time `json:"connected_at"`
}

// Connected is the Data of a machine.connected event.
type Connected struct {
	Port  string    `json:"port"`
	Board BoardInfo `json:"board"`
}

// Disconnected is the Data of a machine.disconnected event.
type Disconnected struct {
	Port   string `json:"port"`
	Reason string `json:"reason"`
}

// Message is the Data of a machine.message event: a [MSG:…] line.
type Message struct {
	Text string `json:"text"`
}

// Reset is the Data of a machine.reset event: the start-up banner.
type Reset struct {
	Firmware string `json:"firmware"`
	Version  string `json:"version"`
	Banner   string `json:"banner"`
}

// reportOf converts a grbl status report.
func reportOf(st grbl.Status) Report {
	r := Report{
		State:    string(st.State),
		SubState: st.SubState,
		MPos:     slices.Clone(st.MPos),
		WPos:     slices.Clone(st.WPos),
		WCO:      slices.Clone(st.WCO),
		Feed:     st.Feed,
		Speed:    st.Speed,
		Pins:     st.Pins,
		At:       st.At,
	}
	if st.HasOv {
		r.Overrides = Overrides{Feed: st.Ov.Feed, Rapid: st.Ov.Rapid, Spindle: st.Ov.Spindle}
		switch {
		case st.Acc.SpindleCW:
			r.Spindle = "cw"
		case st.Acc.SpindleCCW:
			r.Spindle = "ccw"
		}
		r.Flood, r.Mist = st.Acc.Flood, st.Acc.Mist
	}
	if st.HasBuffer {
		r.PlannerFree, r.RXFree = st.PlannerFree, st.RXFree
	}
	return r
}

// alarmInfo converts the error Conn.AlarmError returns (nil: no alarm).
func alarmInfo(err error) *AlarmInfo {
	ase, ok := err.(*grbl.AlarmStateError)
	if !ok {
		return nil
	}
	if ase.Alarm == nil {
		return &AlarmInfo{Text: "locked at start-up (homing is enabled, or the board was reset in alarm)",
			Hint: "$H to home, or $X to unlock if the position is known"}
	}
	return &AlarmInfo{Code: ase.Alarm.Code, Text: ase.Alarm.Text, Hint: ase.Alarm.Hint()}
}

// boardInfo converts what the handshake learned.
func boardInfo(info grbl.BoardInfo, at time.Time) BoardInfo {
	return BoardInfo{
		Firmware:      info.Banner.Firmware,
		Version:       info.Banner.Version,
		Build:         info.Version.Version,
		BuildName:     info.Version.Name,
		Options:       info.Options.Letters,
		PlannerBlocks: info.PlannerBlocks,
		RXBufferSize:  info.RXBufferSize,
		HomingEnabled: info.Settings[22] == 1,
		ConnectedAt:   at,
	}
}
