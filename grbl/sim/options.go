package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors callers may branch on.
var (
	// ErrUnknownProfile: Options.Profile names no known machine.
	ErrUnknownProfile = errors.New("unknown machine profile")
	// ErrBadFault: a fault specification could not be parsed.
	ErrBadFault = errors.New("bad fault specification")
	// ErrUnplugged: the USB cable is (simulated) out; the host endpoint fails.
	ErrUnplugged = errors.New("sim: device unplugged")
	// ErrClosed: the endpoint or the machine was closed.
	ErrClosed = errors.New("sim: closed")
)

// Options configures a Machine. The zero value is a generic GRBL 1.1h board
// at 115200 baud in real time.
type Options struct {
	// Profile selects stock settings: "" (generic GRBL defaults), or one of Profiles().
	Profile string
	// Settings overrides individual `$n` values after the profile is applied.
	Settings map[int]float64
	// Speed scales time: 0 or 1 is real time, 10 runs wire, processing and
	// motion ten times faster than a real machine.
	Speed float64
	// Baud is the serial rate (8N1, 10 bits per byte); default 115200.
	Baud int
	// LineProcessing is the board's time to parse and plan one non-empty
	// line. 0 means the default (4 ms, from roughly 250 blocks/s measured on
	// an Uno); -1 means none.
	LineProcessing time.Duration
	// BootDelay is the time from a connect (DTR reset) to the banner; bytes
	// arriving meanwhile are lost, as in the Arduino bootloader. Default 0.
	BootDelay time.Duration
	// Faults to inject (see ParseFault for the textual form).
	Faults []Fault
	// Probe is the surface the probe input closes against; nil means the
	// probe never touches anything.
	Probe ProbeSurface
	// StartInAlarm makes the board boot (power-on and every connect) in
	// Alarm with "[MSG:'$H'|'$X' to unlock]", as a homing-enabled board
	// does, without turning homing on.
	StartInAlarm bool
	// WorkOffsets are the G54…G59 coordinate data stored in the board's
	// EEPROM at power-on (machine coordinates, mm); nil means all zero, as
	// on a new board.
	WorkOffsets *[6][3]float64
	// HomePosition is where the carriage physically sits at power-on, in
	// the machine coordinates that homing establishes. nil means (0,0,0), so
	// that the power-on MPos frame and the homed frame agree (and Probe
	// surfaces are simply in MPos). It decides how far homing travels.
	HomePosition *[3]float64
}

// ProbeSurface reports the machine Z at which the tool (or the probe plate
// under it) closes the probe circuit at machine position (x, y). ok=false
// means nothing is there to touch. Only Z contact is modelled: probing along
// X or Y never triggers.
type ProbeSurface func(x, y float64) (z float64, ok bool)

// FlatSurface is a probe surface at machine Z z everywhere (a probe plate or a
// level workpiece top).
func FlatSurface(z float64) ProbeSurface {
	return func(float64, float64) (float64, bool) { return z, true }
}

// PlateAndStock combines a touch plate lying inside the rectangle
// [x0,x1]×[y0,y1] with its top at plateZ, and a workpiece whose top is
// top(x, y) elsewhere.
func PlateAndStock(x0, y0, x1, y1, plateZ float64, top func(x, y float64) float64) ProbeSurface {
	return func(x, y float64) (float64, bool) {
		if x >= x0 && x <= x1 && y >= y0 && y <= y1 {
			return plateZ, true
		}
		if top == nil {
			return 0, false
		}
		return top(x, y), true
	}
}

// FaultKind names an injected fault.
type FaultKind string

// The fault kinds.
const (
	// FaultZDrift: Z loses steps under load. For every mm of Z-down feed
	// motion while the spindle runs, in plunges and ramps steeper than 60°
	// (where the Z motor pushes the bit into the material), the physical Z
	// ends Rate mm higher than the step count says; in the moves planned
	// from machine time At on. Probing uses the physical Z, so a probe after
	// drift reports a lower work Z.
	FaultZDrift FaultKind = "z-drift"
	// FaultStall: motion stops progressing while the state says Run, from
	// the moment Line is received (or At) for For (0 = forever).
	FaultStall FaultKind = "stall"
	// FaultReset: the board resets by itself (a brown-out) at Line or At.
	FaultReset FaultKind = "reset"
	// FaultUnplug: the USB cable comes out at Line or At; after For it is
	// plugged back in (0 = stays out until Replug).
	FaultUnplug FaultKind = "unplug"
	// FaultError: the Line-th received line is answered error:Code instead
	// of being run.
	FaultError FaultKind = "error"
	// FaultAlarm: when the Line-th received line arrives, ALARM:Code is
	// raised (1 and 2 lock GRBL up until a reset, like a limit switch).
	FaultAlarm FaultKind = "alarm"
	// FaultSpindleStuckOff: the spindle output never switches on, whatever
	// GRBL commands (a failed relay or a broken wire).
	FaultSpindleStuckOff FaultKind = "spindle-stuck-off"
)

// Fault is one injected fault. Which fields matter depends on Kind.
type Fault struct {
	Kind FaultKind
	Line int           // 1-based count of lines received by the board; 0 = not used
	At   time.Duration // machine time since New; used when Line is 0
	For  time.Duration // duration (stall, unplug); 0 = forever
	Code int           // error:N or ALARM:N code
	Rate float64       // z-drift: mm lost per mm of loaded Z-down motion
}

// String renders the fault in ParseFault's syntax.
func (f Fault) String() string {
	var kv []string
	if f.Line > 0 {
		kv = append(kv, "line="+strconv.Itoa(f.Line))
	} else if f.At > 0 {
		kv = append(kv, "at="+f.At.String())
	}
	if f.For > 0 {
		kv = append(kv, "for="+f.For.String())
	}
	if f.Code > 0 {
		kv = append(kv, "code="+strconv.Itoa(f.Code))
	}
	if f.Kind == FaultZDrift {
		s := string(f.Kind) + ":" + strconv.FormatFloat(f.Rate, 'g', -1, 64)
		if f.At > 0 {
			s += ",at=" + f.At.String()
		}
		return s
	}
	if len(kv) == 0 {
		return string(f.Kind)
	}
	return string(f.Kind) + ":" + strings.Join(kv, ",")
}

// ParseFault parses the command-line form of a fault:
//
//	z-drift:RATE[,at=DUR]        mm of Z lost per mm plunged under the router (e.g. z-drift:0.02), from machine time DUR
//	stall:line=N[,for=DUR]       motion freezes from the Nth received line, for DUR or forever
//	stall:at=DUR[,for=DUR]       … from machine time DUR
//	reset:line=N | reset:at=DUR  spontaneous reset (brown-out)
//	unplug:line=N|at=DUR[,for=DUR]  USB cable out; back in after for= (else stays out)
//	error:line=N,code=C          the Nth received line is answered error:C
//	alarm:line=N,code=C          ALARM:C raised when the Nth line arrives
//	spindle-stuck-off            the spindle output never turns on
//
// DUR uses Go's duration syntax (500ms, 30s, 2m). Errors name the field.
func ParseFault(spec string) (Fault, error) {
	spec = strings.TrimSpace(spec)
	kind, args, _ := strings.Cut(spec, ":")
	f := Fault{Kind: FaultKind(kind)}
	bad := func(format string, a ...any) (Fault, error) {
		return Fault{}, fmt.Errorf("fault %q: %s: %w", spec, fmt.Sprintf(format, a...), ErrBadFault)
	}
	switch f.Kind {
	case FaultZDrift:
		rate, at, hasAt := strings.Cut(args, ",")
		r, err := strconv.ParseFloat(rate, 64)
		if err != nil || r < 0 {
			return bad("rate %q is not a non-negative number of mm per mm", rate)
		}
		f.Rate = r
		if hasAt {
			v, ok := strings.CutPrefix(at, "at=")
			d, err := time.ParseDuration(v)
			if !ok || err != nil || d < 0 {
				return bad("%q is not at=DURATION (like at=30s)", at)
			}
			f.At = d
		}
		return f, nil
	case FaultSpindleStuckOff:
		if args != "" {
			return bad("takes no arguments")
		}
		return f, nil
	case FaultStall, FaultReset, FaultUnplug, FaultError, FaultAlarm:
	default:
		return bad("unknown kind %q (want z-drift, stall, reset, unplug, error, alarm, spindle-stuck-off)", kind)
	}
	if args == "" {
		return bad("needs line=N or at=DURATION")
	}
	for _, kv := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("field %q is not key=value", kv)
		}
		switch k {
		case "line":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad("line %q is not a positive integer", v)
			}
			f.Line = n
		case "at", "for":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return bad("%s %q is not a duration like 30s", k, v)
			}
			if k == "at" {
				f.At = d
			} else {
				f.For = d
			}
		case "code":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 255 {
				return bad("code %q is not a GRBL code 1..255", v)
			}
			f.Code = n
		default:
			return bad("unknown field %q", k)
		}
	}
	if f.Line == 0 && f.At == 0 {
		return bad("needs line=N or at=DURATION")
	}
	if (f.Kind == FaultError || f.Kind == FaultAlarm) && f.Code == 0 {
		return bad("needs code=N")
	}
	if (f.Kind == FaultError || f.Kind == FaultAlarm) && f.Line == 0 {
		return bad("needs line=N")
	}
	return f, nil
}
