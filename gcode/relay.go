package gcode

import "fmt"

// maxRelayPWMWarnings bounds the SSR-on-PWM warnings listed one by one; the
// rest are counted in one warning.
const maxRelayPWMWarnings = 5

// relayDuty warns, with Options.SpindleRelay, where the spindle is running
// at a speed that GRBL 1.1 outputs as PWM rather than a steady level: its
// default build drives the spindle pin (D11) as ~977 Hz PWM whose duty
// reaches 100 % only at S ≥ $30, and an SSR switching a router must not be
// fed PWM. It is called wherever the spindle starts or changes speed while
// running; st is the state after the line.
func (e *engine) relayDuty(line int) {
	st := &e.in.st
	if !e.opts.SpindleRelay || st.spindle == 0 || st.speed <= 0 || e.laser {
		return
	}
	max, min := e.opts.Settings.Get(SetMaxSpindle), e.opts.Settings.Get(SetMinSpindle)
	if min >= max || st.speed >= max {
		return // steady high: GRBL's full output
	}
	e.relayPWM++
	if e.relayPWM > maxRelayPWMWarnings {
		return
	}
	e.diag(line, e.colOf('S'), Warning, 0, fmt.Sprintf(
		"S%g is below $30=%g: GRBL outputs the spindle as ~1 kHz PWM (duty %.0f %%), not steady on, and an SSR switching the router must not be fed PWM; use S%g or more, or set $30 to the S the program uses (see docs/wiring.md)",
		st.speed, max, pwmDuty(st.speed, max, min)*100, max))
}

// relayDutySummary counts the warnings not listed.
func (e *engine) relayDutySummary() {
	if n := e.relayPWM - maxRelayPWMWarnings; n > 0 {
		e.diag(0, 0, Warning, 0, fmt.Sprintf("%d more spindle speeds below $30 (SSR on PWM) not listed", n))
	}
}

// pwmDuty is GRBL's duty for speed s: 1/256 at or below $31, then linear
// to 255/255 at $30.
func pwmDuty(s, max, min float64) float64 {
	if s <= min {
		return 1.0 / 255
	}
	return (1 + (s-min)*254/(max-min)) / 255
}
