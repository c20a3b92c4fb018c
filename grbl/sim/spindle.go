package sim

import "math"

// SpindleState is the spindle output of the board as wired (GRBL-FACTS §9,
// default VARIABLE_SPINDLE build): D11 carries 8-bit PWM that doubles as the
// enable, D13 the direction.
type SpindleState struct {
	// On: D11 is not at 0 V (PWM running or steady high). False for M5, S0,
	// or when the spindle-stuck-off fault holds the output low.
	On bool
	// CCW: the direction pin is high (M4). M5 leaves it where it was.
	CCW bool
	// PWM is the timer compare value 0..255 (255 = steady high, true DC).
	PWM int
	// Duty is PWM/255: 0 off, 1 steady high.
	Duty float64
	// RPM is the speed GRBL believes it commands (sys.spindle_speed, after
	// the spindle override and clamping to $31..$30).
	RPM float64
}

// spindleSet is spindle_set_state(state, rpm) with state 0 off, 1 CW, 2 CCW.
func (b *board) spindleSet(state int, s float64) {
	if state == 0 {
		b.setSpindleOutput(0, 0)
		return
	}
	b.dirCCW = state == 2
	pwm, rpm := b.pwmFor(s * float64(b.ovSpindle) / 100)
	b.setSpindleOutput(pwm, rpm)
}

// applySpindle re-applies the parser's spindle state (after an override
// change or a restore).
func (b *board) applySpindle() {
	b.spindleSet(b.gc.modal.spindle, b.gc.spindleS)
}

// pwmFor is spindle_compute_pwm_value.
func (b *board) pwmFor(rpm float64) (int, float64) {
	max, min := b.set.get(30), b.set.get(31)
	switch {
	case min >= max || rpm >= max:
		return 255, max
	case rpm <= min:
		if rpm == 0 {
			return 0, 0
		}
		return 1, min
	}
	grad := 254 / (max - min)
	return int(math.Floor((rpm-min)*grad)) + 1, rpm
}

// setSpindleOutput sets GRBL's own view (register and sys.spindle_speed) and
// the physical pin, which a stuck-off fault keeps low.
func (b *board) setSpindleOutput(pwm int, rpm float64) {
	if pwm == 0 {
		rpm = 0
	}
	if b.spPWM != pwm || b.spRPM != rpm {
		b.ovCounter = 0
	}
	b.spPWM, b.spRPM = pwm, rpm
	pin := SpindleState{On: pwm > 0, CCW: b.dirCCW, PWM: pwm, Duty: float64(pwm) / 255, RPM: rpm}
	for _, f := range b.faults {
		if f.Kind == FaultSpindleStuckOff {
			pin.On, pin.PWM, pin.Duty = false, 0, 0
		}
	}
	if pin != b.pin {
		b.pin = pin
		b.m.publishSpindle(pin)
	}
}

func (b *board) setFlood(on bool) {
	if b.flood != on {
		b.ovCounter = 0
	}
	b.flood = on
}
