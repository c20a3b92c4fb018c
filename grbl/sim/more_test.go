package sim

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestStartInAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{StartInAlarm: true})
		h := connectRaw(t, m)
		h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		if s := h.status(); !strings.HasPrefix(s, "<Alarm|") {
			t.Fatalf("%q", s)
		}
		if got := h.cmd("$H"); got[0] != "error:5" {
			t.Fatalf("$H without homing: %v", got)
		}
	})
}

func TestSpindleSpeedChangeWhileOnWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("M3 S500")
		h.cmd("G1 X-20 F600") // about 2.4 s at the 500 mm/min cap
		start := time.Now()
		h.cmd("S800")
		if d := time.Since(start); d < 2*time.Second {
			t.Fatalf("S change with the spindle on answered after %v, want after the move", d)
		}
		if got := m.Spindle().RPM; got != 800 {
			t.Fatalf("rpm %v", got)
		}
		h.cmd("M5")
		h.cmd("G1 X0")
		start = time.Now()
		h.cmd("S100") // spindle off: only stored
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("S change with the spindle off waited %v", d)
		}
	})
}

func TestSpindleStopInHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("M3 S1000")
		h.send("\x9e") // ignored outside Hold
		h.status()
		if !m.Spindle().On {
			t.Fatalf("0x9E outside hold stopped the spindle")
		}
		h.cmd("G1 X-30 F500")
		h.send("!")
		h.waitState("Hold:0")
		h.send("\x9e")
		h.status()
		if m.Spindle().On {
			t.Fatalf("0x9E in Hold:0 did not stop the spindle")
		}
		h.send("~")
		h.status()
		if !m.Spindle().On {
			t.Fatalf("resume did not restart the spindle")
		}
		start := time.Now()
		h.waitState("Run")
		if d := time.Since(start); d < 3900*time.Millisecond {
			t.Fatalf("motion resumed after %v, want the 4 s spin-up", d)
		}
	})
}

func TestCoolantToggle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.send("\xa0")
		h.status()
		if !m.Coolant() {
			t.Fatalf("0xA0 did not switch flood on")
		}
		h.send("$G\n")
		h.expect("[GC:G0 G54 G17 G21 G90 G94 M5 M8 T0 F0 S0]", "ok")
		h.send("\xa1") // mist: not in this build, ignored
		h.send("\xa0")
		h.status()
		if m.Coolant() {
			t.Fatalf("second 0xA0 did not switch flood off")
		}
	})
}

func TestArcSegmentsAndG28(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		// Half circle of radius 10: segments = floor(0.5·π·10 / sqrt(0.002·(20-0.002))).
		h.cmd("G2 X-20 Y0 I-10 J0 F300")
		h.cmd("G4 P0")
		if got := m.Stats().Blocks; got != 78 {
			t.Fatalf("arc made %d blocks, want 78", got)
		}
		h.cmd("G0 X-5 Y-5")
		h.cmd("G28.1")
		h.cmd("G0 X-50 Y-40 Z-3")
		h.cmd("G28 G91 Z2") // via Z-1 (relative); with axis words only Z goes home
		h.cmd("G4 P0")
		if got := m.Stats().Commanded; got != [3]float64{-50, -40, 0} {
			t.Fatalf("after G28 Z2 at %v", got)
		}
		h.cmd("G28") // no axis words: every axis to the stored position
		h.cmd("G4 P0")
		if got := m.Stats().Commanded; got != [3]float64{-5, -5, 0} {
			t.Fatalf("after G28 at %v", got)
		}
		h.send("$#\n")
		for l := h.next(); l != "ok"; l = h.next() {
			if strings.HasPrefix(l, "[G28:") && l != "[G28:-5.000,-5.000,0.000]" {
				t.Fatalf("stored %s", l)
			}
		}
	})
}

func TestInchReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{13: 1}})
		h := mustConnect(t, m)
		h.cmd("G20 G0 X-1")
		h.cmd("G4 P0")
		if s := h.status(); !strings.HasPrefix(s, "<Idle|MPos:-1.0000,0.0000,0.0000|FS:0.0,0") {
			t.Fatalf("inch report %q", s)
		}
	})
}

func TestStatusRequestsCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.send("G4P0\n???") // the three '?' arrive while the line is parsed
		if l := h.next(); !strings.HasPrefix(l, "<Idle|") {
			t.Fatalf("first line %q, want one status report", l)
		}
		h.expect("ok")
		h.noLine(time.Second)
	})
}

func TestProgramEndRestoresOverrides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.status()
		h.status()
		h.send("\x91\x96\x9a")
		if s := h.status(); !strings.Contains(s, "Ov:110,50,110") {
			t.Fatalf("%q", s)
		}
		h.send("M30\n")
		h.expect("[MSG:Pgm End]", "ok")
		if s := h.status(); !strings.Contains(s, "|WCO:") { // M30 re-reads G54: WCO first
			t.Fatalf("after M30: %q", s)
		}
		if s := h.status(); !strings.Contains(s, "Ov:100,100,100") {
			t.Fatalf("after M30: %q", s)
		}
	})
}

func TestTXBufferStallsTheBoard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{LineProcessing: -1})
		h := mustConnect(t, m)
		// $$ answers ~375 bytes (33 ms of wire): GRBL reads no further line
		// until its 104-byte TX buffer has room again.
		h.send("$$\nG21\n")
		<-time.After(10 * time.Millisecond)
		if got := m.Stats().Lines; got != 1 {
			t.Fatalf("lines taken while TX is backed up = %d, want 1", got)
		}
		for l := h.next(); l != "ok"; l = h.next() {
		}
		h.expect("ok")
		if got := m.Stats().Lines; got != 2 {
			t.Fatalf("lines = %d, want 2", got)
		}
	})
}
