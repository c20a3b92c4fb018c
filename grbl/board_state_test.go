package grbl_test

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/grbltest"
	"github.com/kerf-cnc/kerf/grbl/sim"
)

// mustSim opens a Conn on a simulated board (inside a synctest bubble) and
// returns both.
func mustSim(t *testing.T, opts sim.Options) (*grbl.Conn, *sim.Machine) {
	t.Helper()
	m, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	port, err := m.Connect()
	if err != nil {
		t.Fatal(err)
	}
	c := grbl.NewConn(port, grbl.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, m
}

// command runs one line alone and fails the test on any error.
func command(t *testing.T, c *grbl.Conn, line string) {
	t.Helper()
	if _, err := c.Command(context.Background(), line); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
}

// waitState waits for a status report in state s.
func waitState(t *testing.T, c *grbl.Conn, s grbl.State) {
	t.Helper()
	if _, err := c.WaitStatus(context.Background(), func(st grbl.Status) bool { return st.State == s }); err != nil {
		t.Fatalf("waiting for %s: %v", s, err)
	}
}

// Homed follows the machine through everything that gives or loses its
// position, on the simulated 3018 PRO (homing enabled: it starts locked).
func TestHomed(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sim.Options
		// then acts after a successful $H (skipped when home fails).
		then       func(t *testing.T, c *grbl.Conn)
		homeFails  bool
		wantHomed  bool
		wantAlarms bool
	}{
		{name: "homing cycle", wantHomed: true},
		{name: "soft reset while idle keeps the position", wantHomed: true,
			then: func(t *testing.T, c *grbl.Conn) {
				if err := c.SoftReset(context.Background()); err != nil {
					t.Fatal(err)
				}
				waitState(t, c, grbl.StateIdle)
			}},
		{name: "soft reset while moving (ALARM:3) loses it", wantAlarms: true,
			then: func(t *testing.T, c *grbl.Conn) {
				command(t, c, "G91G1X-50F300")
				waitState(t, c, grbl.StateRun)
				if err := c.SoftReset(context.Background()); err != nil {
					t.Fatal(err)
				}
				waitState(t, c, grbl.StateAlarm)
			}},
		{name: "probe alarm (ALARM:5) keeps it", wantHomed: true, wantAlarms: true,
			then: func(t *testing.T, c *grbl.Conn) {
				// No probe surface: the probe never touches.
				if _, err := c.Command(context.Background(), "G91G38.2Z-5F100"); err != nil {
					t.Fatalf("probe: %v", err)
				}
				waitState(t, c, grbl.StateAlarm)
			}},
		{name: "failed homing cycle (ALARM:9) is not homed", homeFails: true, wantAlarms: true,
			// 100 mm below the Z switch: beyond 1.5 × the 45 mm travel.
			opts: sim.Options{HomePosition: &[3]float64{0, 0, -100}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := tc.opts
				opts.Profile = "3018pro"
				c, _ := mustSim(t, opts)
				if c.Homed() {
					t.Fatal("homed right after connecting")
				}
				_, err := c.Command(context.Background(), "$H")
				synctest.Wait()
				switch {
				case tc.homeFails:
					// GRBL still answers ok after ALARM:9 (then resets).
					if c.AlarmError() == nil {
						t.Fatalf("$H = %v and no alarm: the cycle should fail", err)
					}
				case err != nil:
					t.Fatalf("$H: %v", err)
				case !c.Homed():
					t.Fatal("not homed after $H")
				default:
					waitState(t, c, grbl.StateIdle) // the start-up lock is gone
				}
				if tc.then != nil && !tc.homeFails {
					tc.then(t, c)
				}
				if got := c.Homed(); got != tc.wantHomed {
					t.Fatalf("Homed() = %v, want %v", got, tc.wantHomed)
				}
				if got := c.AlarmError() != nil; got != tc.wantAlarms {
					t.Fatalf("in alarm = %v, want %v", got, tc.wantAlarms)
				}
			})
		})
	}
}

// A reset the board did by itself (power glitch, USB reset) loses the
// position; "$h" with spaces is the homing cycle too, "$HX" is not.
func TestHomedLostOnSpontaneousReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		c := mustOpen(t, f, grbl.Options{})
		command(t, c, "$HX")
		if c.Homed() {
			t.Fatal("homed after a single-axis cycle")
		}
		command(t, c, " $h ")
		if !c.Homed() {
			t.Fatal("not homed after \" $h \"")
		}
		f.Reset()
		synctest.Wait()
		if c.Homed() {
			t.Fatal("still homed after the board reset by itself")
		}
	})
}

func TestAlarmKeepsPosition(t *testing.T) {
	for code, want := range map[int]bool{1: false, 2: true, 3: false, 4: true, 5: true, 6: false, 9: false, 10: false, 11: false} {
		if got := (&grbl.Alarm{Code: code}).KeepsPosition(); got != want {
			t.Errorf("ALARM:%d KeepsPosition = %v, want %v", code, got, want)
		}
	}
}

// Settings stays true when writing one setting changes another: GRBL
// clears $20 (soft limits) when $22 (homing) is switched off, and the
// next "$$" shows it.
func TestSettingsFollowReread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := mustSim(t, sim.Options{Profile: "3018pro", Settings: map[int]float64{20: 1}})
		if s := c.Settings(); s[20] != 1 || s[22] != 1 {
			t.Fatalf("at connect $20=%v $22=%v, want both 1", s[20], s[22])
		}
		command(t, c, "$X")
		command(t, c, "$22=0")
		if s := c.Settings(); s[22] != 0 {
			t.Fatalf("after writing $22=0 the cache says $22=%v", s[22])
		}
		resp, err := c.Command(context.Background(), "$$")
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Lines) < 30 {
			t.Fatalf("$$ answered %d lines", len(resp.Lines))
		}
		if s := c.Settings(); s[20] != 0 || s[22] != 0 {
			t.Fatalf("after $$: $20=%v $22=%v, want both 0", s[20], s[22])
		}
		if info := c.Info(); info.Settings[20] != 0 {
			t.Fatalf("Info().Settings[20] = %v after $$", info.Settings[20])
		}
	})
}

// Every spindle override byte GRBL 1.1 defines changes the override as
// GRBL-FACTS §4 says (10–200 %), on the simulated board.
func TestSpindleOverrideBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := mustSim(t, sim.Options{})
		steps := []struct {
			name string
			b    byte
			want int
		}{
			{"-10", grbl.RTSpindleOvMinus10, 90},
			{"+1", grbl.RTSpindleOvPlus1, 91},
			{"+10", grbl.RTSpindleOvPlus10, 101},
			{"-1", grbl.RTSpindleOvMinus1, 100},
			{"-10 again", grbl.RTSpindleOvMinus10, 90},
			{"reset", grbl.RTSpindleOv100, 100},
		}
		for _, s := range steps {
			if !grbl.IsRealtime(s.b) {
				t.Fatalf("%s: IsRealtime(%#02x) = false", s.name, s.b)
			}
			if err := c.Realtime(s.b); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			st, err := c.WaitStatus(context.Background(), func(st grbl.Status) bool { return st.HasOv && st.Ov.Spindle == s.want })
			if err != nil {
				t.Fatalf("%s (%#02x): spindle override never reached %d%% (last %+v): %v", s.name, s.b, s.want, c.Status().Ov, err)
			}
			if st.Ov.Feed != 100 || st.Ov.Rapid != 100 {
				t.Fatalf("%s: feed/rapid overrides moved: %+v", s.name, st.Ov)
			}
		}
	})
}

// Counters follow the traffic: a command adds its line and bytes written and
// the reply lines read; a refused line counts an error; real-time bytes
// count as bytes, not lines.
func TestCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := mustSim(t, sim.Options{Profile: "3018pro", Settings: map[int]float64{22: 0}})
		ctx := context.Background()
		before := c.Counters()
		if before.LinesWritten == 0 || before.BytesRead == 0 || before.LinesRead == 0 {
			t.Fatalf("after the handshake: %+v, want its lines counted", before)
		}
		if _, err := c.Command(ctx, "G4P0.01"); err != nil {
			t.Fatal(err)
		}
		after := c.Counters()
		if after.LinesWritten != before.LinesWritten+1 || after.BytesWritten < before.BytesWritten+uint64(len("G4P0.01\n")) {
			t.Errorf("one command: %+v → %+v, want one more line and its bytes", before, after)
		}
		if after.LinesRead <= before.LinesRead || after.Errors != 0 || after.Alarms != 0 {
			t.Errorf("one ok: %+v → %+v", before, after)
		}
		if _, err := c.Command(ctx, "G5"); err == nil {
			t.Fatal("G5 accepted")
		}
		if got := c.Counters().Errors; got != 1 {
			t.Errorf("errors = %d after one error:N, want 1", got)
		}
		b := c.Counters().BytesWritten
		if err := c.Realtime(grbl.RTStatus); err != nil {
			t.Fatal(err)
		}
		if got := c.Counters(); got.BytesWritten != b+1 || got.LinesWritten != after.LinesWritten+1 {
			t.Errorf("a real-time byte: %+v, want one more byte and no more lines (bytes before %d)", got, b)
		}
		if got := c.Counters().Alarms; got != 0 {
			t.Errorf("alarms = %d with none raised", got)
		}
	})
}
