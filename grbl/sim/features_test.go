package sim

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestSoftLimits(t *testing.T) {
	set := map[int]float64{22: 1, 20: 1}
	t.Run("idle target outside travel locks up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Settings: set})
			h := connectRaw(t, m)
			h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
			h.cmd("$X")
			h.send("G0 X10\n")
			h.expect("ALARM:2")
			start := time.Now()
			h.expect("[MSG:Reset to continue]")
			if d := time.Since(start); d < 400*time.Millisecond || d > 600*time.Millisecond {
				t.Fatalf("[MSG:Reset to continue] after %v, want about 0.5 s", d)
			}
			h.send("?")
			h.send("$X\n")
			h.noLine(2 * time.Second) // locked: no status, no line processing
			h.send("\x18")
			h.expect("ok", "", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
			if st := m.Stats(); st.Alarms[2] != 1 {
				t.Fatalf("alarms = %v", st.Alarms)
			}
		})
	})
	t.Run("while moving: hold first, then alarm", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Settings: set})
			h := connectRaw(t, m)
			h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
			h.cmd("$X")
			h.cmd("G1 X-20 F300")
			<-time.After(2 * time.Second)
			h.send("G1 X5\n")
			h.expect("ALARM:2", "[MSG:Reset to continue]")
			if got := m.Stats().Commanded[0]; got > -0.5 || got < -19.5 {
				t.Fatalf("stopped at X=%v, want part way (position kept)", got)
			}
		})
	})
	t.Run("jog outside travel is error:15, no alarm", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Settings: set})
			h := connectRaw(t, m)
			h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
			h.cmd("$X")
			if got := h.cmd("$J=X10F100"); got[0] != "error:15" {
				t.Fatalf("jog outside travel: %v", got)
			}
		})
	})
}

func TestHoming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		home := [3]float64{-100, -50, -20}
		m := mustMachine(t, Options{Settings: map[int]float64{22: 1, 23: 1}, HomePosition: &home})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		h.cmd("$X")
		h.cmd("$N0=G91")
		start := time.Now()
		h.send("$H\n")
		<-time.After(time.Second)
		h.send("?")
		h.expect("ok", ">G91:ok") // no status report during homing
		d := time.Since(start)
		// Seek Z 20 mm, then X 100 mm, at 500 mm/min (14.4 s), plus per axis
		// group two 1 mm locate moves at 25 mm/min, a pull-off and debounces.
		if d < 25*time.Second || d > 27*time.Second {
			t.Fatalf("homing took %v", d)
		}
		s := h.status()
		// X homes toward − ($23 bit 0): -200+1; Y and Z home toward +: -1.
		if !strings.HasPrefix(s, "<Idle|MPos:-199.000,-1.000,-1.000|") {
			t.Fatalf("after homing: %q", s)
		}
	})
}

func TestHomingResetGivesAlarm6(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{22: 1}})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		h.send("$H\n")
		<-time.After(500 * time.Millisecond)
		h.send("\x18")
		h.expect("ALARM:6", "", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
	})
}

func TestProbing(t *testing.T) {
	tests := []struct {
		name string
		pre  []string
		line string
		want []string
	}{
		{"G38.2 touches", nil, "G38.2 Z-20 F100", []string{"[PRB:0.000,0.000,-10.000:1]", "ok"}},
		{"G38.2 misses", nil, "G38.2 Z-5 F100", []string{"ALARM:5", "[PRB:0.000,0.000,-5.000:0]", "ok"}},
		{"G38.3 misses quietly", nil, "G38.3 Z-5 F100", []string{"[PRB:0.000,0.000,-5.000:0]", "ok"}},
		{"already touching", []string{"G0 Z-10"}, "G38.2 Z-20 F100", []string{"ALARM:4", "ok"}},
		{"G38.4 lifts off", []string{"G0 Z-10"}, "G38.4 Z0 F100", []string{"[PRB:0.000,0.000,-10.000:1]", "ok"}},
		{"G38.2 target equal to position", nil, "G38.2 Z0 F100", []string{"error:33"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{Probe: FlatSurface(-10)})
				h := mustConnect(t, m)
				for _, l := range tc.pre {
					h.cmd(l)
				}
				h.send(tc.line + "\n")
				h.expect(tc.want...)
			})
		})
	}
}

func TestProbeOvershootAndSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Probe: FlatSurface(-10)})
		h := mustConnect(t, m)
		h.cmd("G38.2 Z-20 F300")
		s := h.status()
		if !strings.HasPrefix(s, "<Idle|MPos:0.000,0.000,-11.2") || !strings.Contains(s, "Pn:P") {
			t.Fatalf("after probe: %q, want stopped just past the surface with the probe pin closed", s)
		}
		z := m.Stats().Commanded[2]
		// Contact at 5 mm/s, then a hold-style stop at 10 mm/s²: 1.25 mm past.
		if z > -11.24 || z < -11.26 {
			t.Fatalf("stopped at Z=%v, want the 1.25 mm deceleration overshoot", z)
		}
		// The parser position was synced: a relative move starts from there.
		h.cmd("G91 G0 Z5")
		h.cmd("G4 P0")
		if got := m.Stats().Commanded[2]; got-z < 4.999 || got-z > 5.001 {
			t.Fatalf("relative move from %v ended at %v", z, got)
		}
	})
}

func TestOverridesInStatus(t *testing.T) {
	tests := []struct {
		name string
		rt   string
		want string
	}{
		{"feed +10 twice", "\x91\x91", "Ov:120,100,100"},
		{"feed clamps at 200", strings.Repeat("\x91", 15), "Ov:200,100,100"},
		{"feed -1", "\x94", "Ov:99,100,100"},
		{"feed clamps at 10", strings.Repeat("\x92", 15), "Ov:10,100,100"},
		{"feed reset", "\x91\x90", "Ov:100,100,100"},
		{"rapid 25", "\x97", "Ov:100,25,100"},
		{"rapid 50", "\x96", "Ov:100,50,100"},
		{"spindle +10", "\x9a", "Ov:100,100,110"},
		{"spindle -1", "\x9d", "Ov:100,100,99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{})
				h := mustConnect(t, m)
				h.status() // WCO
				h.status() // Ov
				h.send(tc.rt)
				if s := h.status(); !strings.Contains(s, "|"+tc.want+">") {
					t.Fatalf("status %q, want %s", s, tc.want)
				}
			})
		})
	}
}

func TestFeedOverrideChangesSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{110: 1000}})
		h := mustConnect(t, m)
		h.send("\x92\x92\x92\x92\x92") // 50 %
		h.cmd("G1 X-60 F600")
		h.cmd("G4 P0")
		want := trapezoid(60, 5, 10)
		if got := m.Stats().MotionTime.Seconds(); got < want*0.99 || got > want*1.01 {
			t.Fatalf("at 50%% feed override: %.3fs, want %.3fs", got, want)
		}
	})
}

func TestWCOAndOvCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		for i := 1; i <= 22; i++ {
			s := h.status()
			wantWCO := i == 1 || i == 11 || i == 21
			wantOv := i == 2 || i == 12 || i == 22
			if strings.Contains(s, "|WCO:") != wantWCO || strings.Contains(s, "|Ov:") != wantOv {
				t.Fatalf("report %d = %q: WCO want %v, Ov want %v", i, s, wantWCO, wantOv)
			}
		}
		h.cmd("G92 X5")
		if s := h.status(); !strings.Contains(s, "|WCO:-5.000,0.000,0.000") {
			t.Fatalf("after G92: %q, want the new WCO at once", s)
		}
		h.send("\x91")
		if s := h.status(); !strings.Contains(s, "|Ov:110,100,100") {
			t.Fatalf("after override: %q", s)
		}
		h.cmd("M8")
		if s := h.status(); !strings.Contains(s, "|Ov:110,100,100|A:F>") {
			t.Fatalf("after M8: %q, want Ov with A:F", s)
		}
		h.cmd("$10=0")
		if s := h.status(); !strings.Contains(s, "<Idle|WPos:5.000,0.000,0.000|") {
			t.Fatalf("$10=0: %q, want WPos", s)
		}
	})
}

func TestCheckMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("G92 X1")
		h.send("$C\n")
		h.expect("[MSG:Enabled]", "ok")
		for _, l := range []string{"G0 X-50", "M3 S1000", "G4 P10", "G1 Y-10 F100"} {
			if got := h.cmd(l); got[0] != "ok" {
				t.Fatalf("%s in check mode: %v", l, got)
			}
		}
		if got := h.cmd("G41"); got[0] != "error:20" {
			t.Fatalf("bad line in check mode: %v", got)
		}
		s := h.status()
		if !strings.HasPrefix(s, "<Check|MPos:0.000,0.000,0.000") {
			t.Fatalf("check mode moved: %q", s)
		}
		if m.Spindle().On {
			t.Fatalf("spindle switched on in check mode")
		}
		h.send("$C\n")
		h.expect("[MSG:Disabled]", "ok", "", "Grbl 1.1h ['$' for help]")
		h.send("$#\n")
		for {
			l := h.next()
			if strings.HasPrefix(l, "[G92:") {
				if l != "[G92:0.000,0.000,0.000]" {
					t.Fatalf("G92 after leaving check mode: %s", l)
				}
				break
			}
		}
	})
}

func TestJogAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("$J=G91 X-50 F300")
		h.waitState("Jog")
		if got := h.cmd("G0 X0"); got[0] != "error:9" {
			t.Fatalf("G-code during jog: %v", got)
		}
		if got := h.cmd("$J=G91 Y-5 F300"); got[0] != "ok" {
			t.Fatalf("second jog: %v", got)
		}
		<-time.After(time.Second)
		h.send("\x85")
		h.waitState("Idle")
		st := m.Stats()
		if x := st.Commanded[0]; x > -2 || x < -10 || st.Commanded[1] != 0 {
			t.Fatalf("after cancel at %v, want X part way and no Y", st.Commanded)
		}
		// The parser knows where the jog stopped.
		h.cmd("G91 G0 X1")
		h.cmd("G4 P0")
		if got := m.Stats().Commanded[0]; got-st.Commanded[0] < 0.999 || got-st.Commanded[0] > 1.001 {
			t.Fatalf("relative move after jog cancel: %v -> %v", st.Commanded[0], got)
		}
	})
}

func TestSafetyDoor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{110: 1000}})
		h := mustConnect(t, m)
		h.cmd("M3 S1000")
		h.cmd("G1 X-50 F600")
		h.waitState("Run")
		h.send("\x84")
		h.expect("[MSG:Check Door]")
		if s := h.status(); !strings.HasPrefix(s, "<Door:2|") {
			t.Fatalf("door while moving: %q", s)
		}
		h.waitState("Door:0")
		if m.Spindle().On {
			t.Fatalf("spindle still on with the door open")
		}
		h.send("~")
		if s := h.status(); !strings.HasPrefix(s, "<Door:3|") {
			t.Fatalf("restoring: %q", s)
		}
		if !m.Spindle().On {
			t.Fatalf("spindle not restored")
		}
		start := time.Now()
		h.waitState("Run")
		if d := time.Since(start); d < 3900*time.Millisecond {
			t.Fatalf("resumed after %v, want the 4 s spin-up delay", d)
		}
		h.waitState("Idle")
	})
}

func TestSpindlePin(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		set   map[int]float64
		want  SpindleState
	}{
		{"M3 full", []string{"M3 S1000"}, nil, SpindleState{On: true, PWM: 255, Duty: 1, RPM: 1000}},
		{"M3 above max", []string{"M3 S5000"}, nil, SpindleState{On: true, PWM: 255, Duty: 1, RPM: 1000}},
		{"M3 half", []string{"M3 S500"}, nil, SpindleState{On: true, PWM: 128, Duty: 128.0 / 255, RPM: 500}},
		{"M3 no S", []string{"M3"}, nil, SpindleState{}},
		{"M4 sets direction", []string{"M4 S1000"}, nil, SpindleState{On: true, CCW: true, PWM: 255, Duty: 1, RPM: 1000}},
		{"M5 keeps direction", []string{"M4 S1000", "M5"}, nil, SpindleState{CCW: true}},
		{"below min", []string{"M3 S100"}, map[int]float64{31: 200}, SpindleState{On: true, PWM: 1, Duty: 1.0 / 255, RPM: 200}},
		{"min >= max: always full", []string{"M3 S0"}, map[int]float64{31: 1000}, SpindleState{On: true, PWM: 255, Duty: 1, RPM: 1000}},
		{"setting $30 switches off", []string{"M3 S1000", "$30=2000"}, nil, SpindleState{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{Settings: tc.set})
				h := mustConnect(t, m)
				for _, l := range tc.lines {
					if got := h.cmd(l); got[len(got)-1] != "ok" {
						t.Fatalf("%s: %v", l, got)
					}
				}
				if got := m.Spindle(); got != tc.want {
					t.Fatalf("Spindle() = %+v, want %+v", got, tc.want)
				}
			})
		})
	}
}

func TestSpindleChangesAndOverride(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		ch := m.SpindleChanges()
		h := mustConnect(t, m)
		h.cmd("M3 S500")
		if s := <-ch; !s.On || s.PWM != 128 {
			t.Fatalf("first change %+v", s)
		}
		h.send("\x9a") // +10 %: 550 rpm
		h.status()
		if s := <-ch; s.RPM != 550 {
			t.Fatalf("after override %+v, want 550 rpm", s)
		}
		h.send("\x18")
		h.expect("", "Grbl 1.1h ['$' for help]")
		if s := <-ch; s.On {
			t.Fatalf("after reset %+v, want off", s)
		}
		m.Close()
		if _, ok := <-ch; ok {
			t.Fatalf("channel not closed by Close")
		}
	})
}

func TestProgramEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("G91 G55 G1 X-1 F500 M3 S800 M8")
		h.send("M30\n")
		h.expect("[MSG:Pgm End]", "ok")
		h.send("$G\n")
		h.expect("[GC:G1 G54 G17 G21 G90 G94 M5 M9 T0 F500 S800]", "ok")
		if m.Spindle().On || m.Coolant() {
			t.Fatalf("spindle/coolant still on after M30")
		}
	})
}

func TestSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("M3 S1000")
		h.send("$SLP\n")
		h.expect("ok", "[MSG:Sleeping]")
		if s := h.status(); !strings.HasPrefix(s, "<Sleep|") {
			t.Fatalf("%q", s)
		}
		if m.Spindle().On {
			t.Fatalf("spindle on while sleeping")
		}
		h.send("$I\n")
		h.noLine(time.Second)
		h.send("\x18")
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
	})
}

func TestDoorDuringHoming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{22: 1}})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		h.send("$H\n")
		<-time.After(time.Second)
		h.send("\x84")
		h.expect("ALARM:7", "ok", "", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
	})
}

func TestHomingSwitchNotFound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		far := [3]float64{-500, 0, 0} // X sits 500 mm from its switch; travel is 200
		m := mustMachine(t, Options{Settings: map[int]float64{22: 1}, HomePosition: &far})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		h.send("$H\n")
		h.expect("ALARM:9", "ok", "", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
	})
}

// X and Y home together, searching for the longer of their travels (×1.5),
// as limits_go_home does: on a 3018 (X 300, Y 180) an X 290 mm from its
// switch is found, though it is beyond 1.5 × Y's travel.
func TestHomingSearchesLongestTravelOfCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		far := [3]float64{-290, -10, 0}
		m := mustMachine(t, Options{Profile: "3018pro", HomePosition: &far})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		h.send("$H\n")
		h.expect("ok")
		if s := h.status(); !strings.HasPrefix(s, "<Idle|") {
			t.Fatalf("after $H: %s", s)
		}
	})
}

func TestHighBytesDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.send("G2\xff\x981\n") // 0xFF and 0x98 are no commands: thrown away
		h.expect("ok")
		h.send("$G\n")
		h.expect("[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]", "ok")
	})
}

func TestHardLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{21: 1}})
		h := mustConnect(t, m)
		h.cmd("G0 X-5")
		h.send("G1 X5 F300\n")                               // the X switch sits at machine 0
		h.expect("ok", "ALARM:1", "[MSG:Reset to continue]") // queued at once; the switch trips mid-move
		if x := m.Stats().Commanded[0]; x < -1e-6 || x > 1e-6 {
			t.Fatalf("stopped at X=%v, want at the switch (0)", x)
		}
		h.noLine(time.Second)
		h.send("\x18")
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
	})
}

func TestCheckLimitsAtBoot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		on := [3]float64{0.5, -10, -10} // X pushed past its switch
		m := mustMachine(t, Options{Settings: map[int]float64{21: 1}, HomePosition: &on})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:Check Limits]", "[MSG:'$H'|'$X' to unlock]")
		if s := h.status(); !strings.Contains(s, "|Pn:X") {
			t.Fatalf("%q, want Pn:X", s)
		}
	})
}
