package sim

import (
	"strconv"
	"time"
)

// Stats is a snapshot of what the board has seen and done since New.
type Stats struct {
	Lines         int           // lines the board took out of its RX buffer
	Bytes         int64         // non-real-time bytes that entered the RX buffer
	RealtimeBytes int64         // real-time command bytes received
	Overflows     int64         // bytes dropped because the RX buffer was full (a sender bug)
	OKs           int           // `ok` responses sent
	Errors        map[int]int   // error:N responses sent, by N
	Alarms        map[int]int   // ALARM:N raised, by N
	Blocks        int           // planner blocks executed to completion
	Resets        int           // soft and hard resets (banner printed)
	Starved       time.Duration // planner empty while a complete line sat in RX or bytes were still on the wire
	MotionTime    time.Duration // machine time spent moving
	Commanded     [3]float64    // machine position by the step count (MPos)
	Physical      [3]float64    // where the tool really is, in the same frame (differs under z-drift)
	State         string        // current state as a status report names it
}

// ErrorCount is the total of error:N responses.
func (s Stats) ErrorCount() int {
	n := 0
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// AlarmCount is the total of alarms raised.
func (s Stats) AlarmCount() int {
	n := 0
	for _, c := range s.Alarms {
		n += c
	}
	return n
}

type statsAcc struct {
	lines    int
	bytes    int64
	realtime int64
	overflow int64
	oks      int
	errors   map[int]int
	alarms   map[int]int
	blocks   int
	resets   int
	starved  time.Duration
	motion   time.Duration
}

func (a *statsAcc) snapshot(b *board) Stats {
	s := Stats{
		Lines: a.lines, Bytes: a.bytes, RealtimeBytes: a.realtime, Overflows: a.overflow,
		OKs: a.oks, Errors: map[int]int{}, Alarms: map[int]int{}, Blocks: a.blocks, Resets: a.resets,
		Starved: a.starved, MotionTime: a.motion, Commanded: b.mo.pos, State: b.stateName(),
	}
	for k, v := range a.errors {
		s.Errors[k] = v
	}
	for k, v := range a.alarms {
		s.Alarms[k] = v
	}
	p := b.physical()
	for i := range p {
		s.Physical[i] = p[i] - b.frameOff[i]
	}
	return s
}

var errorTexts = map[int]string{
	1: "Expected command letter", 2: "Bad number format", 3: "Invalid statement", 4: "Value < 0",
	5: "Setting disabled", 6: "Value < 3 usec", 7: "EEPROM read fail. Using defaults",
	8: "Not idle", 9: "G-code lock", 10: "Homing not enabled", 11: "Line overflow",
	12: "Step rate > 30kHz", 13: "Check Door", 14: "Line length exceeded", 15: "Travel exceeded",
	16: "Invalid jog command", 17: "Setting disabled", 20: "Unsupported command",
	21: "Modal group violation", 22: "Undefined feed rate", 23: "Invalid gcode ID:23",
	24: "Invalid gcode ID:24", 25: "Invalid gcode ID:25", 26: "Invalid gcode ID:26",
	27: "Invalid gcode ID:27", 28: "Invalid gcode ID:28", 29: "Invalid gcode ID:29",
	30: "Invalid gcode ID:30", 31: "Invalid gcode ID:31", 32: "Invalid gcode ID:32",
	33: "Invalid gcode ID:33", 34: "Invalid gcode ID:34", 35: "Invalid gcode ID:35",
	36: "Invalid gcode ID:36", 37: "Invalid gcode ID:37", 38: "Invalid gcode ID:38",
}

// errorText is a short name for GRBL's error code (doc/csv/error_codes_en_US.csv).
func errorText(code int) string {
	if t, ok := errorTexts[code]; ok {
		return t
	}
	return "error " + strconv.Itoa(code)
}
