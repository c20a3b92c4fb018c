package hardware

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warthog618/go-gpiocdev"
	"github.com/warthog618/go-gpiocdev/device/rpi"
)

// LineSpec names a GPIO line and how to use it.
type LineSpec struct {
	// Line is "GPIO17" (a Raspberry Pi BCM name, looked up by its kernel
	// line name first, so it works on a Pi 5 too), "J8p11" (a header pin),
	// or a plain offset "17" on Chip.
	Line string
	// Chip is the GPIO character device, e.g. "gpiochip0". Empty: found
	// by line name, else gpiochip0.
	Chip string
	// ActiveLow inverts the line: logical 1 drives it low.
	ActiveLow bool
	// Debounce filters input edges shorter than this (inputs only). Keep
	// it zero for a sense input that carries PWM.
	Debounce time.Duration
}

// Consumer is the label kerf's lines carry in `gpioinfo`.
const Consumer = "kerf"

// ParseLineSpec parses "GPIO17", "gpiochip0:17", "17" or "J8p11", with an
// optional ",active-low" suffix.
func ParseLineSpec(s string) (LineSpec, error) {
	var ls LineSpec
	if s == "" {
		return ls, errors.New("gpio line: empty")
	}
	if i := strings.IndexByte(s, ','); i >= 0 {
		for _, opt := range strings.Split(s[i+1:], ",") {
			switch opt {
			case "active-low":
				ls.ActiveLow = true
			default:
				return ls, fmt.Errorf("gpio line %q: unknown option %q (known: active-low)", s, opt)
			}
		}
		s = s[:i]
	}
	if chip, line, ok := strings.Cut(s, ":"); ok {
		if !strings.HasPrefix(chip, "gpiochip") || chip == "gpiochip" {
			return ls, fmt.Errorf("gpio line %q: chip %q is not a gpiochipN name", s, chip)
		}
		if _, err := strconv.Atoi(line); err != nil {
			return ls, fmt.Errorf("gpio line %q: offset %q is not a number", s, line)
		}
		ls.Chip, ls.Line = chip, line
		return ls, nil
	}
	if _, err := rpi.Pin(s); err != nil {
		return ls, fmt.Errorf("gpio line %q: not a Raspberry Pi pin name (GPIO2…GPIO27, J8pN) or chip:offset", s)
	}
	ls.Line = s
	return ls, nil
}

// resolve finds the chip and offset of a line.
func (ls LineSpec) resolve() (string, int, error) {
	if ls.Chip != "" {
		off, err := strconv.Atoi(ls.Line)
		if err != nil {
			return "", 0, fmt.Errorf("gpio line %s:%s: offset is not a number", ls.Chip, ls.Line)
		}
		return ls.Chip, off, nil
	}
	if strings.HasPrefix(strings.ToUpper(ls.Line), "GPIO") {
		// Named lines survive the Pi 5's different chip numbering.
		if chip, off, err := gpiocdev.FindLine(strings.ToUpper(ls.Line)); err == nil {
			return chip, off, nil
		}
	}
	off, err := rpi.Pin(ls.Line)
	if err != nil {
		return "", 0, fmt.Errorf("gpio line %q: %w", ls.Line, err)
	}
	return "gpiochip0", off, nil
}

// Output is a GPIO output line. It satisfies relay.Output. Close is
// idempotent and drives the line inactive before releasing it.
type Output struct {
	mu     sync.Mutex
	line   *gpiocdev.Line
	closed bool
}

// OpenOutput requests ls as an output whose initial value is inactive (0),
// set atomically by the kernel at request time: the relay never glitches on.
func OpenOutput(ls LineSpec) (*Output, error) {
	chip, off, err := ls.resolve()
	if err != nil {
		return nil, err
	}
	opts := []gpiocdev.LineReqOption{gpiocdev.AsOutput(0), gpiocdev.WithConsumer(Consumer)}
	if ls.ActiveLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	l, err := gpiocdev.RequestLine(chip, off, opts...)
	if err != nil {
		return nil, fmt.Errorf("request gpio output %s:%d: %w%s", chip, off, err, permissionHint(err))
	}
	return &Output{line: l}, nil
}

// SetValue drives the line: 1 active (router on), 0 inactive.
func (o *Output) SetValue(v int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return errors.New("gpio output closed")
	}
	return o.line.SetValue(v)
}

// Close drives the line inactive and releases it.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.line.SetValue(0)
	return errors.Join(err, o.line.Close())
}

// Input is a GPIO input line with edge events. It satisfies relay.Input.
type Input struct {
	mu     sync.Mutex
	line   *gpiocdev.Line
	closed bool
}

// EdgeFunc receives each edge: rising (inactive → active) or falling, and
// when it happened. It is called on gpiocdev's event goroutine and must not
// block (relay.Sensor.HandleEdge does not).
type EdgeFunc func(rising bool, at time.Time)

// OpenInput requests ls as an input reporting both edges to onEdge.
func OpenInput(ls LineSpec, onEdge EdgeFunc) (*Input, error) {
	chip, off, err := ls.resolve()
	if err != nil {
		return nil, err
	}
	// The kernel's event timestamps are CLOCK_MONOTONIC on current kernels,
	// not wall time; kerf stamps edges on arrival instead. The delay is the
	// event goroutine's latency, microseconds on a Pi.
	handler := func(evt gpiocdev.LineEvent) {
		onEdge(evt.Type == gpiocdev.LineEventRisingEdge, time.Now())
	}
	opts := []gpiocdev.LineReqOption{
		gpiocdev.AsInput, gpiocdev.WithConsumer(Consumer),
		gpiocdev.WithBothEdges, gpiocdev.WithEventHandler(handler),
	}
	if ls.ActiveLow {
		opts = append(opts, gpiocdev.AsActiveLow)
	}
	if ls.Debounce > 0 {
		opts = append(opts, gpiocdev.WithDebounce(ls.Debounce))
	}
	l, err := gpiocdev.RequestLine(chip, off, opts...)
	if err != nil {
		return nil, fmt.Errorf("request gpio input %s:%d: %w%s", chip, off, err, permissionHint(err))
	}
	return &Input{line: l}, nil
}

// Value reads the line's current logical level.
func (i *Input) Value() (int, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return 0, errors.New("gpio input closed")
	}
	return i.line.Value()
}

// Close releases the line; it is idempotent.
func (i *Input) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil
	}
	i.closed = true
	return i.line.Close()
}

func permissionHint(err error) string {
	if err != nil && strings.Contains(err.Error(), "permission denied") {
		return " (add the kerf user to the gpio group)"
	}
	return ""
}
