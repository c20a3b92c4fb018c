package sim

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestParseFault(t *testing.T) {
	tests := []struct {
		spec    string
		want    Fault
		wantErr string
	}{
		{"z-drift:0.02", Fault{Kind: FaultZDrift, Rate: 0.02}, ""},
		{"z-drift:0.02,at=40s", Fault{Kind: FaultZDrift, Rate: 0.02, At: 40 * time.Second}, ""},
		{"z-drift:0.02,at=x", Fault{}, `"at=x" is not at=DURATION`},
		{"z-drift:0.02,line=3", Fault{}, `"line=3" is not at=DURATION`},
		{"stall:line=120,for=5s", Fault{Kind: FaultStall, Line: 120, For: 5 * time.Second}, ""},
		{"stall:at=30s", Fault{Kind: FaultStall, At: 30 * time.Second}, ""},
		{"reset:line=500", Fault{Kind: FaultReset, Line: 500}, ""},
		{"unplug:at=2m,for=10s", Fault{Kind: FaultUnplug, At: 2 * time.Minute, For: 10 * time.Second}, ""},
		{"error:line=50,code=20", Fault{Kind: FaultError, Line: 50, Code: 20}, ""},
		{"alarm:line=7,code=1", Fault{Kind: FaultAlarm, Line: 7, Code: 1}, ""},
		{"spindle-stuck-off", Fault{Kind: FaultSpindleStuckOff}, ""},
		{"z-drift:abc", Fault{}, `rate "abc"`},
		{"z-drift:-1", Fault{}, `rate "-1"`},
		{"melt:line=1", Fault{}, `unknown kind "melt"`},
		{"stall", Fault{}, "needs line=N or at=DURATION"},
		{"stall:line=0", Fault{}, `line "0"`},
		{"stall:for=5s", Fault{}, "needs line=N or at=DURATION"},
		{"stall:at=5", Fault{}, `at "5"`},
		{"stall:line=3,speed=2", Fault{}, `unknown field "speed"`},
		{"stall:line3", Fault{}, `field "line3" is not key=value`},
		{"error:line=5", Fault{}, "needs code=N"},
		{"error:at=5s,code=2", Fault{}, "needs line=N"},
		{"alarm:line=5,code=300", Fault{}, `code "300"`},
		{"spindle-stuck-off:1", Fault{}, "takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseFault(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrBadFault) {
					t.Fatalf("ParseFault(%q) err = %v, want one containing %q wrapping ErrBadFault", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseFault(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
			}
			if back, err := ParseFault(got.String()); err != nil || back != got {
				t.Fatalf("round trip %q -> %+v, %v", got.String(), back, err)
			}
		})
	}
}

func mustFault(tb testing.TB, spec string) Fault {
	tb.Helper()
	f, err := ParseFault(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestFaultZDriftShowsInProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "z-drift:0.02")}, Probe: FlatSurface(-30)})
		h := mustConnect(t, m)
		h.cmd("M3 S1000")
		for i := 0; i < 3; i++ {
			h.cmd("G1 Z-10 F300") // 10 mm down under load
			h.cmd("G0 Z0")        // rapids up: no loss
		}
		h.cmd("M5")
		st := m.Stats()
		if d := st.Physical[2] - st.Commanded[2]; d < 0.599 || d > 0.601 {
			t.Fatalf("physical-commanded Z = %.4f, want 0.6 (3 × 10 mm × 0.02)", d)
		}
		h.send("G38.2 Z-40 F100\n")
		h.expect("[PRB:0.000,0.000,-30.600:1]", "ok")
	})
}

// TestFaultZDriftOnset: with at=, the plunges before the onset lose no
// steps and those after it do.
func TestFaultZDriftOnset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "z-drift:0.02,at=10s")}, Probe: FlatSurface(-30)})
		h := mustConnect(t, m)
		h.cmd("M3 S1000")
		h.cmd("G1 Z-10 F300") // 2 s, before the onset
		h.cmd("G0 Z0")
		h.cmd("G4 P0")
		if st := m.Stats(); st.Physical[2] != st.Commanded[2] {
			t.Fatalf("lost %.4f mm before the onset", st.Physical[2]-st.Commanded[2])
		}
		<-time.After(10 * time.Second)
		h.cmd("G1 Z-10 F300")
		h.cmd("G0 Z0")
		h.cmd("G4 P0")
		if st := m.Stats(); st.Physical[2]-st.Commanded[2] < 0.199 || st.Physical[2]-st.Commanded[2] > 0.201 {
			t.Fatalf("physical-commanded Z = %.4f after the onset, want 0.2 (10 mm × 0.02)", st.Physical[2]-st.Commanded[2])
		}
		h.cmd("M5")
	})
}

func TestFaultStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{110: 1000}, Faults: []Fault{mustFault(t, "stall:line=1,for=5s")}})
		h := mustConnect(t, m)
		start := time.Now()
		h.cmd("G1 X-10 F600")
		<-time.After(3 * time.Second)
		if s := h.status(); !strings.HasPrefix(s, "<Run|MPos:0.000,0.000,0.000|") {
			t.Fatalf("during stall: %q, want Run without progress", s)
		}
		h.cmd("G4 P0")
		if d := time.Since(start); d < 7*time.Second || d > 7100*time.Millisecond {
			t.Fatalf("stalled 2 s move took %v, want 5 s + 2 s", d)
		}
	})
}

func TestFaultErrorAndAlarmAtLine(t *testing.T) {
	t.Run("error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "error:line=2,code=24")}})
			h := mustConnect(t, m)
			h.send("G21\nG21\nG21\n")
			h.expect("ok", "error:24", "ok")
		})
	})
	t.Run("alarm 1 locks up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "alarm:line=2,code=1")}})
			h := mustConnect(t, m)
			h.send("G21\nG21\nG21\n")
			h.expect("ok", "ALARM:1", "[MSG:Reset to continue]")
			h.noLine(2 * time.Second)
			h.send("\x18")
			h.expect("", "Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]")
		})
	})
}

func TestFaultSpontaneousReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "reset:line=3")}})
		h := mustConnect(t, m)
		h.send("G21\nG21\nG21\nG21\n")
		h.expect("ok", "ok", "", "Grbl 1.1h ['$' for help]")
		h.noLine(time.Second)
	})
}

func TestFaultUnplugAndReplug(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "unplug:line=2")}})
		rw, err := m.Connect()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		rw.Write([]byte("G21\n"))
		var got []byte
		for !strings.HasSuffix(string(got), "ok\r\n") {
			n, err := rw.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
		}
		rw.Write([]byte("G21\n")) // the 2nd line pulls the cable
		for {
			n, err := rw.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				if !errors.Is(err, ErrUnplugged) {
					t.Fatalf("read error %v, want ErrUnplugged", err)
				}
				break
			}
		}
		if want := banner + "ok\r\n"; string(got) != want {
			t.Fatalf("before unplug got %q, want %q", got, want)
		}
		if _, err := rw.Write([]byte("?")); !errors.Is(err, ErrUnplugged) {
			t.Fatalf("write after unplug: %v", err)
		}
		if _, err := m.Connect(); !errors.Is(err, ErrUnplugged) {
			t.Fatalf("Connect while unplugged: %v", err)
		}
		m.Replug()
		h := mustConnect(t, m) // banner again: the board reset on open
		h.cmd("G21")
	})
}

func TestFaultUnplugForDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "unplug:at=1s,for=2s")}})
		h := mustConnect(t, m)
		<-time.After(1500 * time.Millisecond)
		if _, err := m.Connect(); !errors.Is(err, ErrUnplugged) {
			t.Fatalf("Connect during unplug: %v", err)
		}
		if _, ok := <-h.lines; ok {
			t.Fatalf("old link still delivers lines")
		}
		<-time.After(2 * time.Second)
		h2 := mustConnect(t, m)
		h2.cmd("$I")
	})
}

func TestFaultSpindleStuckOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "spindle-stuck-off")}})
		h := mustConnect(t, m)
		h.status()
		h.cmd("M3 S1000")
		s := h.status()
		if !strings.Contains(s, "FS:0,1000") || !strings.Contains(s, "|A:S") {
			t.Fatalf("GRBL's own report %q should still claim the spindle runs", s)
		}
		if m.Spindle().On {
			t.Fatalf("pin on despite spindle-stuck-off")
		}
	})
}

func TestConnectReplacesEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		first, err := m.Connect()
		if err != nil {
			t.Fatal(err)
		}
		h := mustConnect(t, m)
		buf := make([]byte, 256)
		for {
			if _, err := first.Read(buf); err != nil {
				if err != io.EOF {
					t.Fatalf("old endpoint read: %v, want io.EOF", err)
				}
				break
			}
		}
		h.cmd("G21")
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Connect(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Connect after Close: %v", err)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"profile", Options{Profile: "shapeoko"}, `profile "shapeoko"`},
		{"setting", Options{Settings: map[int]float64{0: 1}}, "$0=1"},
		{"unknown setting", Options{Settings: map[int]float64{77: 1}}, "$77=1"},
		{"speed", Options{Speed: -2}, "speed -2"},
		{"baud", Options{Baud: 10}, "baud 10"},
		{"fault", Options{Faults: []Fault{{Kind: "melt"}}}, "fault 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := New(tc.opts)
			if err == nil {
				m.Close()
				t.Fatalf("New(%+v) succeeded", tc.opts)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	if got := strings.Join(Profiles(), ","); got != "3018pro,longmill30" {
		t.Fatalf("Profiles() = %s", got)
	}
	for _, p := range Profiles() {
		t.Run(p, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, Options{Profile: p})
				h := connectRaw(t, m)
				h.expect("", "Grbl 1.1h ['$' for help]")
				if p == "3018pro" {
					h.expect("[MSG:'$H'|'$X' to unlock]") // ships with homing on
				}
				out := h.cmd("$$")
				want := map[string]string{"3018pro": "$130=300.000", "longmill30": "$130=770.000"}[p]
				if !strings.Contains(strings.Join(out, " "), want) {
					t.Fatalf("$$ = %v, want %s", out, want)
				}
			})
		})
	}
}

func TestSpeedFactorRealTime(t *testing.T) {
	// Real clock, no bubble: a 2 s machine move at Speed 100 takes ~20 ms.
	m := mustMachine(t, Options{Speed: 100, Settings: map[int]float64{110: 1000}})
	h := mustConnect(t, m)
	start := time.Now()
	h.cmd("G1 X-10 F600")
	h.cmd("G4 P0")
	if d := time.Since(start); d < 15*time.Millisecond || d > 2*time.Second {
		t.Fatalf("2 s of machine time at Speed 100 took %v of wall time", d)
	}
}

func TestFaultsAtTime(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "reset:at=2s")}})
			h := mustConnect(t, m)
			h.noLine(1500 * time.Millisecond)
			h.expect("", "Grbl 1.1h ['$' for help]")
			if st := m.Stats(); st.Resets != 2 {
				t.Fatalf("resets = %d, want the connect and the fault", st.Resets)
			}
		})
	})
	t.Run("stall forever", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Faults: []Fault{mustFault(t, "stall:at=1s")}})
			h := mustConnect(t, m)
			h.cmd("G1 X-100 F300")
			<-time.After(time.Minute)
			s := h.status()
			x := m.Stats().Commanded[0]
			if !strings.HasPrefix(s, "<Run|") || x < -3.8 || x > -3.6 {
				t.Fatalf("after a minute: %q at X=%v, want Run, frozen where 1 s of the trapezoid got it (-3.7)", s, x)
			}
		})
	})
}
