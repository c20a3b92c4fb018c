package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// trapezoid is the textbook time for a rest-to-rest move.
func trapezoid(dist, v, a float64) float64 {
	da := v * v / a // accelerate + decelerate distance
	if da >= dist {
		return 2 * math.Sqrt(dist/a)
	}
	return 2*v/a + (dist-da)/v
}

func TestMotionTiming(t *testing.T) {
	tests := []struct {
		name string
		line string
		set  map[int]float64
		want float64
	}{
		{"100mm G1 F600 a=10", "G1 X-100 F600", map[int]float64{110: 1000}, trapezoid(100, 10, 10)},
		{"short move never cruises", "G1 X-2 F600", map[int]float64{110: 1000}, trapezoid(2, 10, 10)},
		{"G0 at max rate", "G0 Y-50", map[int]float64{111: 1200, 121: 50}, trapezoid(50, 20, 50)},
		{"diagonal limited by the slower axis", "G1 X-30 Y-40 F6000", map[int]float64{110: 3000, 111: 600, 120: 100, 121: 100},
			trapezoid(50, 10/0.8, 100)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{Settings: tc.set})
				h := mustConnect(t, m)
				h.cmd(tc.line)
				h.cmd("G4 P0")
				got := m.Stats().MotionTime.Seconds()
				if math.Abs(got-tc.want)/tc.want > 0.01 {
					t.Fatalf("motion time = %.4fs, want %.4fs ±1%%", got, tc.want)
				}
			})
		})
	}
}

func TestOKDelayedWhilePlannerFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{10: 3}})
		h := mustConnect(t, m)
		// 20 one-second moves; the 16th line's ok must wait for the first block.
		start := time.Now()
		var okAt []time.Duration
		for i := 1; i <= 20; i++ {
			h.send(fmt.Sprintf("G1 X-%d F60\n", i*2))
			if l := h.next(); l != "ok" {
				t.Fatalf("line %d: %q", i, l)
			}
			okAt = append(okAt, time.Since(start))
		}
		if okAt[14] > 200*time.Millisecond {
			t.Fatalf("15th ok at %v, want at once (planner has room)", okAt[14])
		}
		if okAt[15] < time.Second {
			t.Fatalf("16th ok at %v, want after the first block completes", okAt[15])
		}
		s := h.status()
		if !strings.Contains(s, "|Bf:0,128|") {
			t.Fatalf("status %q, want a full planner Bf:0,128", s)
		}
	})
}

func TestSyncLinesWaitForMotion(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"M3 S1000", []string{"ok"}},
		{"G4 P0", []string{"ok"}},
		{"M8", []string{"ok"}},
		{"G92 X0", []string{"ok"}},
		{"G55", []string{"ok"}},
		{"G10 L20 P1 X0", []string{"ok"}},
		{"G28.1", []string{"ok"}},
		{"M2", []string{"[MSG:Pgm End]", "ok"}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{})
				h := mustConnect(t, m)
				h.cmd("G1 X-30 F600") // 3 s of motion plus ramps
				start := time.Now()
				h.send(tc.line + "\n")
				h.expect(tc.want...)
				if d := time.Since(start); d < 3*time.Second {
					t.Fatalf("%s answered after %v, want after the 3.1 s move", tc.line, d)
				}
				if s := h.status(); !strings.HasPrefix(s, "<Idle|MPos:-30.000") {
					t.Fatalf("status %q after sync", s)
				}
			})
		})
	}
}

func TestNonSyncLinesDoNotWait(t *testing.T) {
	for _, line := range []string{"S500", "G54", "M5", "M9", "G21"} {
		t.Run(line, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{})
				h := mustConnect(t, m)
				h.cmd("G1 X-30 F600")
				start := time.Now()
				h.cmd(line)
				if d := time.Since(start); d > 100*time.Millisecond {
					t.Fatalf("%s answered after %v, want at once", line, d)
				}
			})
		})
	}
}

func TestM0Pause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("G1 X-5 F600")
		h.send("M0\n")
		h.waitState("Hold:0")
		h.send("$G\n") // queued: GRBL reads no lines while paused in M0
		h.noLine(5 * time.Second)
		h.send("~")
		h.expect("ok", "[GC:G1 G54 G17 G21 G90 G94 M5 M9 T0 F600 S0]", "ok")
		if s := h.status(); !strings.HasPrefix(s, "<Idle|") {
			t.Fatalf("after resume: %q", s)
		}
	})
}

func TestFeedHoldResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("G1 X-50 F600")
		h.waitState("Run")
		<-time.After(2 * time.Second)
		h.send("!")
		if s := h.status(); !strings.HasPrefix(s, "<Hold:1|") {
			t.Fatalf("right after hold: %q", s)
		}
		h.send("~") // ignored during Hold:1
		s := h.waitState("Hold:0")
		if !strings.Contains(s, "FS:0,") {
			t.Fatalf("Hold:0 report %q, want zero feed", s)
		}
		held := s
		<-time.After(3 * time.Second)
		if s := h.status(); s[:strings.Index(s, "|FS")] != held[:strings.Index(held, "|FS")] {
			t.Fatalf("moved while held: %q then %q", held, s)
		}
		h.send("~")
		h.waitState("Run")
		h.waitState("Idle")
		if got := m.Stats().Commanded; got[0] != -50 {
			t.Fatalf("final X = %v, want -50", got[0])
		}
	})
}

func TestHoldFromIdleQueuesLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.send("!")
		h.waitState("Hold:0")
		h.cmd("G1 X-1 F600")
		<-time.After(2 * time.Second)
		if s := h.status(); !strings.HasPrefix(s, "<Hold:0|MPos:0.000") {
			t.Fatalf("moved during hold: %q", s)
		}
		h.send("~")
		h.waitState("Idle")
		if got := m.Stats().Commanded[0]; got != -1 {
			t.Fatalf("X = %v, want -1", got)
		}
	})
}

func TestSoftReset(t *testing.T) {
	t.Run("while moving raises ALARM:3", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{})
			h := mustConnect(t, m)
			h.cmd("G1 X-50 F600")
			h.waitState("Run")
			h.send("\x18")
			h.expect("ALARM:3", "", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
			s := h.status()
			if !strings.HasPrefix(s, "<Alarm|") {
				t.Fatalf("after reset: %q", s)
			}
			h.expect() // nothing pending
			if got := h.cmd("G0 X0"); got[0] != "error:9" {
				t.Fatalf("G-code in alarm: %v", got)
			}
		})
	})
	t.Run("in Hold:0 no alarm, position kept", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{})
			h := mustConnect(t, m)
			h.cmd("G1 X-50 F600")
			h.waitState("Run")
			h.send("!")
			h.waitState("Hold:0")
			before := m.Stats().Commanded
			h.send("\x18")
			h.expect("", "Grbl 1.1h ['$' for help]")
			s := h.status()
			if !strings.HasPrefix(s, "<Idle|") {
				t.Fatalf("after reset: %q", s)
			}
			if after := m.Stats().Commanded; after != before {
				t.Fatalf("position %v -> %v across reset", before, after)
			}
		})
	})
	t.Run("flushes the RX buffer: unanswered lines get nothing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{})
			h := mustConnect(t, m)
			h.cmd("G4 P5")
			h.send("G4 P1\nG4 P1\n")
			<-time.After(100 * time.Millisecond)
			h.send("\x18")
			h.expect("", "Grbl 1.1h ['$' for help]")
			h.noLine(5 * time.Second)
		})
	})
}

func TestMotionTimeWithoutWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		h.cmd("G1 X-10 F300") // nothing waits on it: motion is integrated lazily
		<-time.After(30 * time.Second)
		want := trapezoid(10, 5, 10)
		if got := m.Stats().MotionTime.Seconds(); math.Abs(got-want) > 0.001 {
			t.Fatalf("motion time %.4fs, want %.4fs", got, want)
		}
		if s := h.status(); !strings.HasPrefix(s, "<Idle|MPos:-10.000,") {
			t.Fatalf("%q", s)
		}
	})
}
