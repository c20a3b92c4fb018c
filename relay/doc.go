// Package relay is the router's switch policy: it turns the trim router's
// solid-state relay (SSR) on and off and checks that the router really is in
// the state it was told to be in.
//
// Two wirings are supported (see docs/wiring.md):
//
//   - sense: GRBL's spindle-enable output drives the SSR; a Pi GPIO input
//     watches the same signal through an optocoupler. kerf only observes, and
//     a Sensor reads a ~977 Hz PWM signal as "on" (edge activity within a
//     window) as well as a steady high level.
//   - drive: a Pi GPIO output drives the SSR; kerf switches it itself at the
//     point in the program where M3/M4/M5 stand (the synchronisation with the
//     stream is the job runner's: it drains the planner, calls On or Off, and
//     dwells for spin-up).
//
// The package declares the two small interfaces it needs (Output and Input);
// package hardware satisfies them with go-gpiocdev lines, tests use fakes.
//
// Fail-safe: a Router starts with its output off, Off never depends on a
// context and is idempotent, and Close switches the output off before
// releasing the line.
//
// # Concurrency
//
// A Router and a Sensor are safe for use by several goroutines: the runner
// switches and verifies while the hardware's edge goroutine calls
// Sensor.HandleEdge. Neither owns a goroutine; waits are bounded by the
// caller's context and by the configured timeouts.
package relay
