package gcode

import (
	"fmt"
	"strings"
)

// Action is a bit set of what the sender must do around a wire line.
type Action uint16

// Actions. ActionNone is the empty set.
const (
	ActionNone Action = 0
	// ActionToolChange: an M6 was stripped from this line. Before sending
	// Text, stop the spindle, let the planner drain and pause for a manual
	// change to WireLine.Tool (GRBL runs a block's tool change before its
	// spindle and motion commands).
	ActionToolChange Action = 1 << (iota - 1)
	// ActionPause: the line holds M0; GRBL pauses by itself after it and
	// waits for cycle start (~).
	ActionPause
	// ActionOptionalStop: the source held M1, which GRBL ignores (it is not
	// in Text); the sender may pause here.
	ActionOptionalStop
	// ActionProgramEnd: M2 or M30; GRBL resets modal state after it.
	ActionProgramEnd
	// ActionSpindleOn: the spindle starts (M3/M4) at WireLine.Spindle RPM.
	ActionSpindleOn
	// ActionSpindleOff: the spindle stops (M5, or program end).
	ActionSpindleOff
	// ActionDollar: a `$` system command inside the program.
	ActionDollar
)

// actionNames names the Action bits in order.
func actionNames() [7]string {
	return [...]string{"tool-change", "pause", "optional-stop", "program-end", "spindle-on", "spindle-off", "dollar"}
}

// Has reports whether all of b are in a.
func (a Action) Has(b Action) bool { return a&b == b }

// MarshalText encodes the actions as String does.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes what MarshalText produces.
func (a *Action) UnmarshalText(b []byte) error {
	*a = 0
	if string(b) == "none" || len(b) == 0 {
		return nil
	}
	for _, part := range strings.Split(string(b), "|") {
		found := false
		for i, n := range actionNames() {
			if n == part {
				*a |= 1 << i
				found = true
			}
		}
		if !found {
			return fmt.Errorf("unknown action %q", part)
		}
	}
	return nil
}

// String lists the actions, e.g. "tool-change|spindle-on", or "none".
func (a Action) String() string {
	if a == 0 {
		return "none"
	}
	var out []byte
	for i, n := range actionNames() {
		if a&(1<<i) != 0 {
			if len(out) > 0 {
				out = append(out, '|')
			}
			out = append(out, n...)
		}
	}
	return string(out)
}

// WireLine is one line to send to GRBL.
type WireLine struct {
	// Text is the wire form without newline. It is empty only for an
	// action-only line (a lone M6 or M1): nothing is sent for it, but the
	// sender must carry out Actions.
	Text string `json:"text"`
	// Source is the 1-based source line.
	Source  int    `json:"source"`
	Actions Action `json:"actions"`
	// Tool is the active tool number (T) after the line: for
	// ActionToolChange, the tool to load.
	Tool int `json:"tool,omitempty"`
	// Spindle is the speed (RPM) for ActionSpindleOn.
	Spindle float64 `json:"spindle,omitempty"`
	// SendAlone: drain the queue, send this line alone and wait for its
	// reply (EEPROM writes G10 L2/L20, G28.1, G30.1, and `$` commands).
	SendAlone bool `json:"send_alone,omitempty"`
	// Motion: the line moves the machine.
	Motion bool `json:"motion,omitempty"`
}
