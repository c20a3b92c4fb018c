package grbl

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrDisconnected means the link to the board is gone (reader EOF or I/O
	// error): every outstanding line fails with it and Done is closed.
	ErrDisconnected = errors.New("grbl: board disconnected")
	// ErrReset means the board reset (banner seen, or a soft reset was sent)
	// while the line was in flight; GRBL discarded it and no reply will come.
	ErrReset = errors.New("grbl: board reset")
	// ErrAlarm is matched by *Alarm and *AlarmStateError.
	ErrAlarm = errors.New("grbl: board in alarm")
	// ErrNotIdle is returned when an operation needs the board Idle.
	ErrNotIdle = errors.New("grbl: board not idle")
	// ErrNotHomed is returned when an operation needs a homed machine
	// (homing is enabled, $22=1) and Conn.Homed is false.
	ErrNotHomed = errors.New("grbl: machine not homed")
	// ErrLineTooLong means a line was refused before sending: longer than
	// GRBL's 79-character line buffer or than the RX budget.
	ErrLineTooLong = errors.New("grbl: line too long")
	// ErrClosed is returned by calls made after Close.
	ErrClosed = errors.New("grbl: connection closed")
	// ErrNoBanner means Open found no GRBL-like board on the port.
	ErrNoBanner = errors.New("grbl: no GRBL banner")
	// ErrNotRealtime is returned by Realtime for a byte that is not one of
	// GRBL's real-time commands.
	ErrNotRealtime = errors.New("grbl: not a real-time command byte")
	// ErrBadLine is returned for a line that cannot be framed (it contains
	// a line terminator or a real-time byte).
	ErrBadLine = errors.New("grbl: line cannot be sent")
)

// errorTexts explains each GRBL 1.1 error code (worded from GRBL's own
// error code documentation).
var errorTexts = map[int]string{
	1:  "expected command letter: a word did not start with a letter",
	2:  "bad number format: a value is missing or cannot be parsed",
	3:  "invalid statement: unknown or malformed $ command, or setting number out of range",
	4:  "negative value where only a positive value is allowed",
	5:  "homing is not enabled ($22=0)",
	6:  "step pulse ($0) must be at least 3 microseconds",
	7:  "EEPROM read failed; default settings restored",
	8:  "$ command needs Idle (or Alarm); the board is busy",
	9:  "G-code locked out while in Alarm or Jog state",
	10: "soft limits ($20) need homing ($22) enabled",
	11: "line overflow: more than 79 characters after filtering",
	12: "step rate too high",
	13: "safety door is open",
	14: "startup or build-info line too long for EEPROM",
	15: "jog target exceeds machine travel",
	16: "invalid jog command",
	17: "laser mode needs a PWM spindle output",
	20: "unsupported or invalid G-code command or word",
	21: "more than one command from the same modal group in a block",
	22: "feed rate has not been set",
	23: "command needs an integer value",
	24: "two commands in the block both need the axis words",
	25: "a word is repeated in the block",
	26: "command needs axis words but the block has none",
	27: "line number (N) out of range",
	28: "required P or L value is missing",
	29: "work coordinate systems G59.x are not supported",
	30: "G53 is only allowed with G0 or G1",
	31: "axis words present but no command uses them",
	32: "arc has no axis word in the selected plane",
	33: "motion target is invalid",
	34: "arc radius value is invalid",
	35: "arc has no offset word (I/J/K) in the selected plane",
	36: "unused value words in the block",
	37: "tool length offset (G43.1) applied to an axis other than Z",
	38: "tool number greater than the maximum (255)",
}

// alarmTexts explains each GRBL 1.1 alarm code.
var alarmTexts = map[int]string{
	1:  "hard limit triggered; machine position is likely lost",
	2:  "soft limit: motion target exceeds machine travel; position kept",
	3:  "reset while in motion; position may be lost",
	4:  "probe was already triggered before the probing cycle started",
	5:  "probe did not make contact within the programmed distance",
	6:  "homing failed: the cycle was reset",
	7:  "homing failed: the safety door was opened",
	8:  "homing failed: pull-off did not clear the limit switch",
	9:  "homing failed: no limit switch found within the search distance",
	10: "homing failed: second switch of a dual axis not found (grblHAL: E-stop)",
}

// alarmHints says what the operator does next for each alarm code.
var alarmHints = map[int]string{
	1:  "soft reset (0x18), then home with $H ($X unlocks without homing)",
	2:  "soft reset (0x18), then $X to unlock (or $H to home)",
	3:  "send $H to re-home (or $X to unlock if the position is known)",
	4:  "check the probe wiring, then $X to unlock",
	5:  "$X to unlock, then probe again closer to the surface",
	6:  "$H to home again (or $X to unlock)",
	7:  "close the door, then $H to home again",
	8:  "check the switches and pull-off ($27), then $H",
	9:  "check the limit switches and travel ($130-$132), then $H",
	10: "check the E-stop or dual-axis switch, then $X or $H",
}

// ErrorText returns GRBL's meaning of error code n, or "unknown error" for
// codes it does not define (grblHAL and FluidNC add their own).
func ErrorText(n int) string {
	if t, ok := errorTexts[n]; ok {
		return t
	}
	return "unknown error code"
}

// AlarmText returns GRBL's meaning of alarm code n.
func AlarmText(n int) string {
	if t, ok := alarmTexts[n]; ok {
		return t
	}
	return "unknown alarm code"
}

// Error is GRBL's "error:N" reply. As a parsed Message, Line and Tag are
// empty; as the Err of an Ack or the error of Command, they name the line it
// answers and the caller's tag for it.
type Error struct {
	Code int    // GRBL's error number
	Text string // what the code means
	Line string // the line GRBL rejected (when known)
	Tag  int64  // the caller's tag for that line (e.g. its source line number)
}

// Error formats the code, its meaning and, when known, the line it answers.
func (e *Error) Error() string {
	s := "error:" + strconv.Itoa(e.Code) + " (" + e.Text + ")"
	if e.Line != "" {
		s += fmt.Sprintf(" for line %q (tag %d)", e.Line, e.Tag)
	}
	return s
}

func (*Error) isMessage() {}

// Alarm is GRBL's "ALARM:N" push message. It matches ErrAlarm.
type Alarm struct {
	Code int    // GRBL's alarm number
	Text string // what the code means
}

// Error formats the alarm code and its meaning.
func (a *Alarm) Error() string {
	return "ALARM:" + strconv.Itoa(a.Code) + " (" + a.Text + ")"
}

// Is reports whether target is ErrAlarm.
func (a *Alarm) Is(target error) bool { return target == ErrAlarm }

// Hint says how to clear the alarm.
func (a *Alarm) Hint() string {
	if h, ok := alarmHints[a.Code]; ok {
		return h
	}
	return "$X to unlock or $H to home"
}

// KeepsPosition reports whether GRBL still knows the machine position
// after this alarm: a soft limit (2, raised after a controlled stop) and
// the probe alarms (4, 5). Every other alarm stops the steppers abruptly
// or aborts homing, and so does any code GRBL 1.1 does not define
// (grblHAL's E-stop is 10).
func (a *Alarm) KeepsPosition() bool {
	switch a.Code {
	case 2, 4, 5:
		return true
	}
	return false
}

func (*Alarm) isMessage() {}

// AlarmStateError reports a board that is in Alarm state, with the alarm
// when known (a board that powers up locked because homing is enabled sends
// no ALARM:N, only "[MSG:'$H'|'$X' to unlock]"). It matches ErrAlarm.
type AlarmStateError struct {
	Alarm *Alarm // nil when the board did not say which alarm
}

// Error says which alarm holds the board and how to clear it.
func (e *AlarmStateError) Error() string {
	if e.Alarm == nil {
		return "board is in alarm state (locked at start-up, e.g. homing enabled): send $H to home or $X to unlock"
	}
	return "board is in alarm state, " + e.Alarm.Error() + ": " + e.Alarm.Hint()
}

// Is reports whether target is ErrAlarm.
func (e *AlarmStateError) Is(target error) bool { return target == ErrAlarm }
