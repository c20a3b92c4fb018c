// Package hardware adapts kerf to the real world: serial ports (through
// go.bug.st/serial, which no other kerf package imports) and GPIO lines
// (through go-gpiocdev, the Linux GPIO character-device library formerly
// called gpiod).
//
// Serial usage:
//
//	port, err := hardware.OpenSerial("/dev/ttyUSB0", 115200)
//	if err != nil { ... } // ErrNoSuchPort, ErrPortBusy, ErrPermission carry hints
//	conn := grbl.NewConn(port, grbl.Options{})
//
// Reads block without a timeout (a read timeout makes Read return 0, nil,
// which bufio turns into io.ErrNoProgress); Close unblocks a blocked Read
// and is idempotent. ListPorts enumerates serial ports with their USB
// identity and marks the ones that look like a GRBL board.
//
// GPIO usage (the router relay, see package relay and docs/wiring.md):
//
//	spec, err := hardware.ParseLineSpec("GPIO17")        // or "gpiochip0:17", "J8p11", ",active-low"
//	out, err := hardware.OpenOutput(spec)                 // requested at 0: the relay never glitches on
//	in, err := hardware.OpenInput(spec, sensor.HandleEdge) // both edges, to a relay.Sensor
//
// Lines carry the consumer label "kerf" (gpioinfo shows it). Output.Close
// drives the line inactive before releasing it. The opt-in test in
// gpiosim_test.go (build tag gpiosim, root, the kernel's gpio-sim module)
// drives these functions against simulated lines.
//
// # Concurrency
//
// A serial port may be read by one goroutine while another writes or
// closes it. Output and Input are safe for concurrent use; an Input's edge
// handler runs on go-gpiocdev's event goroutine, owned by the line and
// stopped by Close.
package hardware
