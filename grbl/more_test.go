package grbl_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/grbltest"
)

func TestCheckIdle(t *testing.T) {
	tests := []struct {
		state   string
		wantErr error
		wantSub string
	}{
		{"Idle", nil, ""},
		{"Alarm", grbl.ErrAlarm, "$X"},
		{"Run", grbl.ErrNotIdle, "state Run"},
		{"Hold:0", grbl.ErrNotIdle, "state Hold:0"},
		{"Door:1", grbl.ErrNotIdle, "state Door:1"},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := grbltest.New()
				c := mustOpen(t, f, grbl.Options{})
				f.SetState(tt.state)
				err := c.CheckIdle(t.Context())
				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Fatalf("CheckIdle = %v, want %v", err, tt.wantErr)
				}
				if err != nil && !strings.Contains(err.Error(), tt.wantSub) {
					t.Errorf("CheckIdle = %q, want it to mention %q", err, tt.wantSub)
				}
			})
		})
	}
}

func TestCloseDuringBlockedSend(t *testing.T) {
	f := grbltest.New()
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	blocked, inLines, _ := fill(t, ctx, c, f)
	err := c.Close()
	if err == nil || !strings.Contains(err.Error(), "$10=1 not restored") {
		t.Errorf("Close = %v, want it to report $10 not restored", err)
	}
	if err := <-blocked; !errors.Is(err, grbl.ErrClosed) {
		t.Errorf("blocked Send = %v, want ErrClosed", err)
	}
	var n int
	for a := range c.Acks() {
		if !errors.Is(a.Err, grbl.ErrClosed) {
			t.Errorf("ack %+v, want ErrClosed", a)
		}
		n++
	}
	if n != inLines {
		t.Errorf("acks after Close = %d, want %d", n, inLines)
	}
	if !errors.Is(c.Err(), grbl.ErrClosed) {
		t.Errorf("Err = %v, want ErrClosed", c.Err())
	}
}

func TestOnMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		msgs := make(chan grbl.Message, 100)
		f := grbltest.New()
		c := mustOpen(t, f, grbl.Options{OnMessage: func(m grbl.Message) { msgs <- m }})
		f.Push("[MSG:Pgm End]")
		f.Push(">G21G90:ok")
		f.Push("garbage from a noisy cable")
		synctest.Wait()
		if _, err := c.WaitStatus(t.Context(), func(grbl.Status) bool { return true }); err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for len(msgs) > 0 {
			m := <-msgs
			switch m := m.(type) {
			case grbl.Banner:
				kinds["banner"] = true
			case grbl.Version:
				kinds["version"] = true
			case grbl.BuildOptions:
				kinds["options"] = true
			case grbl.Setting:
				kinds["setting"] = true
			case grbl.Modal:
				kinds["modal"] = true
			case grbl.Offset:
				kinds["offset"] = true
			case grbl.Status:
				if m.WCO != nil { // merged with the cached WCO
					kinds["status"] = true
				}
			case grbl.Feedback:
				kinds["feedback:"+m.Text] = true
			case grbl.StartupEcho:
				kinds["echo"] = m.Err == nil
			case grbl.Unknown:
				kinds["unknown"] = true
			case grbl.OK:
				kinds["ok"] = true
			}
		}
		for _, k := range []string{"banner", "version", "options", "setting", "modal", "offset", "status", "feedback:Pgm End", "echo", "unknown", "ok"} {
			if !kinds[k] {
				t.Errorf("OnMessage never saw %s", k)
			}
		}
	})
}

func TestAlarmTracking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		c := mustOpen(t, f, grbl.Options{})
		f.Push("ALARM:5")
		synctest.Wait()
		var ae *grbl.AlarmStateError
		if err := c.AlarmError(); !errors.As(err, &ae) || ae.Alarm == nil || ae.Alarm.Code != 5 || !strings.Contains(err.Error(), "$X") {
			t.Fatalf("AlarmError right after ALARM:5 = %v, want alarm 5 with $X hint", err)
		}
		// $H clears the alarm with a plain ok; the next report shows Idle.
		if _, err := c.Command(t.Context(), "$H"); err != nil {
			t.Fatal(err)
		}
		if err := c.CheckIdle(t.Context()); err != nil {
			t.Fatalf("CheckIdle after $H = %v", err)
		}
		if err := c.AlarmError(); err != nil {
			t.Errorf("AlarmError after $H and an Idle report = %v", err)
		}
	})
}

func TestAlarmSurvivesReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		c := mustOpen(t, f, grbl.Options{})
		// Reset during motion: ALARM:3, then the banner and the lock message.
		f.Push("ALARM:3")
		f.Reset()
		f.Push("[MSG:'$H'|'$X' to unlock]")
		if _, err := c.WaitStatus(t.Context(), func(s grbl.Status) bool { return s.State == grbl.StateAlarm }); err != nil {
			t.Fatal(err)
		}
		var ae *grbl.AlarmStateError
		if err := c.CheckIdle(t.Context()); !errors.As(err, &ae) || ae.Alarm == nil || ae.Alarm.Code != 3 {
			t.Fatalf("CheckIdle after ALARM:3 and reset = %v, want ALARM:3", err)
		}
	})
}

func TestWaitStatusRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		c := mustOpen(t, f, grbl.Options{PollTimeout: time.Second}) // polling off
		f.IgnoreStatus(true)                                        // e.g. homing
		got := make(chan error, 1)
		go func() {
			_, err := c.WaitStatus(t.Context(), func(s grbl.Status) bool { return s.State == grbl.StateIdle })
			got <- err
		}()
		time.Sleep(3*time.Second + time.Millisecond)
		synctest.Wait()
		if n := bytes.Count(f.Snapshot().Realtime, []byte{'?'}); n < 4 {
			t.Errorf("'?' sent %d times in 3 s without answers, want one per PollTimeout", n)
		}
		f.IgnoreStatus(false)
		time.Sleep(time.Second)
		if err := <-got; err != nil {
			t.Fatalf("WaitStatus = %v", err)
		}
	})
}
