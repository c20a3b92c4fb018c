package grbl_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/grbltest"
)

func TestOpenHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		c := mustOpen(t, f, grbl.Options{})
		info := c.Info()
		if info.Banner.Firmware != "Grbl" || info.Banner.Version != "1.1h" {
			t.Errorf("banner = %+v", info.Banner)
		}
		if info.Version.Version != "1.1h.20190830" || info.Options.Letters != "V" || info.PlannerBlocks != 15 || info.RXBufferSize != 128 {
			t.Errorf("info = %+v, want 1.1h, V, 15 blocks, rx 128", info)
		}
		if info.Settings[110] != 500 || info.Settings[11] != 0.01 {
			t.Errorf("settings = %v", info.Settings)
		}
		if info.Modal.WCS != "G54" || info.Modal.Units != "G21" {
			t.Errorf("modal = %+v", info.Modal)
		}
		if len(info.Offsets) != 10 || len(info.Offsets["TLO"]) != 1 {
			t.Errorf("offsets = %v, want G54..G59, G28, G30, G92, TLO", info.Offsets)
		}
		if !info.StatusMaskChanged || info.UserStatusMask != 1 || f.Setting(10) != "3" || c.Settings()[10] != 3 {
			t.Errorf("$10 fix-up: changed=%v user=%d board=%q", info.StatusMaskChanged, info.UserStatusMask, f.Setting(10))
		}
		want := []string{"$I", "$$", "$G", "$#", "$10=3"}
		if got := f.Snapshot().Lines; !equal(got, want) {
			t.Errorf("handshake sent %q, want %q", got, want)
		}
		if st := c.Status(); st.State != grbl.StateIdle || !st.HasBuffer || !st.HasMPos {
			t.Errorf("status after open = %+v, want Idle with MPos and Bf", st)
		}
		if err := c.AlarmError(); err != nil {
			t.Errorf("AlarmError = %v, want nil", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if f.Setting(10) != "1" {
			t.Errorf("$10 after Close = %q, want the user's 1 restored", f.Setting(10))
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := c.Send(context.Background(), "G0X0", 1); !errors.Is(err, grbl.ErrClosed) {
			t.Errorf("Send after Close = %v, want ErrClosed", err)
		}
	})
}

func TestOpenStatusMask(t *testing.T) {
	tests := []struct {
		name        string
		user        string
		own         bool
		wantSet     bool
		wantOnClose string
	}{
		{"restored on close", "0", false, true, "0"},
		{"owned: kept", "2", true, true, "3"},
		{"already 3", "3", false, false, "3"},
		{"3018 sheet value 115 behaves like 3", "115", false, false, "115"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := grbltest.New()
				f.Settings[10] = tt.user
				c := mustOpen(t, f, grbl.Options{OwnSettings: tt.own})
				sent := false
				for _, l := range f.Snapshot().Lines {
					sent = sent || strings.HasPrefix(l, "$10=")
				}
				if sent != tt.wantSet {
					t.Errorf("$10 written = %v, want %v", sent, tt.wantSet)
				}
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				if got := f.Setting(10); got != tt.wantOnClose {
					t.Errorf("$10 after Close = %q, want %q", got, tt.wantOnClose)
				}
			})
		})
	}
}

func TestOpenBanners(t *testing.T) {
	tests := []struct {
		name, banner, firmware string
	}{
		{"grbl 1.1f", "Grbl 1.1f ['$' for help]", "Grbl"},
		{"grblHAL", "GrblHAL 1.1f ['$' or '$HELP' for help]", "GrblHAL"},
		{"FluidNC", "Grbl 3.7 [FluidNC v3.7.8 (wifi) '$' for help]", "FluidNC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := grbltest.New()
				f.Banner = tt.banner
				f.Greeting = "\r\n[MSG:INFO: booting]\r\n" + tt.banner + "\r\n"
				c := mustOpen(t, f, grbl.Options{})
				if got := c.Info().Banner.Firmware; got != tt.firmware {
					t.Errorf("firmware = %q, want %q", got, tt.firmware)
				}
			})
		})
	}
}

func TestOpenProvokesBanner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		f.Silent = true // board was already running: no reset on port open
		start := time.Now()
		c := mustOpen(t, f, grbl.Options{BannerTimeout: 2 * time.Second})
		if waited := time.Since(start); waited < 2*time.Second {
			t.Errorf("Open provoked the banner after %v, want it to wait BannerTimeout first", waited)
		}
		if rt := f.Snapshot().Realtime; len(rt) == 0 || rt[0] != grbl.RTSoftReset {
			t.Errorf("realtime bytes = %q, want 0x18 first", rt)
		}
		if c.Info().Version.Version == "" {
			t.Errorf("handshake did not complete after the provoked banner")
		}
	})
}

func TestOpenNotGRBL(t *testing.T) {
	tests := []struct {
		name     string
		greeting string
		silent   bool
		wantSub  string
	}{
		{"garbage", "\x00\xfeAT+OK\r\nwhat", false, `received: 13 bytes "\x00\xfeAT+OK\r\nwhat"`},
		{"nothing", "", true, "received: nothing"},
		{"endless noise without newline", strings.Repeat("\xaa", 5000), false, `received: at least 512 bytes, starting "\xaa\xaa`},
		{"wrong baud rate", "\x80\x00\xf8\x80\xf8\x00\x80\x80\xf8\x00", false, `received: 10 bytes "\x80\x00\xf8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := grbltest.New()
				f.Mute, f.Greeting, f.Silent = true, tt.greeting, tt.silent
				port := f.Start()
				defer f.Close()
				c := grbl.NewConn(port, grbl.Options{Logger: testLogger(t), BannerTimeout: time.Second})
				err := c.Open(context.Background())
				if !errors.Is(err, grbl.ErrNoBanner) || !strings.Contains(err.Error(), tt.wantSub) {
					t.Fatalf("Open = %v, want ErrNoBanner mentioning %s", err, tt.wantSub)
				}
				<-c.Done() // a failed Open closes the Conn
				if rt := f.Snapshot().Realtime; !bytes.Equal(rt, []byte{grbl.RTSoftReset}) {
					t.Errorf("bytes sent to a non-GRBL device = %q, want only the provoking 0x18", rt)
				}
				if len(f.Snapshot().Lines) != 0 {
					t.Errorf("lines sent to a non-GRBL device: %q", f.Snapshot().Lines)
				}
			})
		})
	}
}

func TestOpenInAlarm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		f.StartInAlarm = true
		c := mustOpen(t, f, grbl.Options{})
		if st := c.Status(); st.State != grbl.StateAlarm {
			t.Fatalf("state = %q, want Alarm", st.State)
		}
		err := c.AlarmError()
		var ae *grbl.AlarmStateError
		if !errors.Is(err, grbl.ErrAlarm) || !errors.As(err, &ae) || !strings.Contains(err.Error(), "$X") || !strings.Contains(err.Error(), "$H") {
			t.Fatalf("AlarmError = %v, want ErrAlarm saying $H or $X", err)
		}
		if f.Setting(10) != "3" {
			t.Errorf("$10 not fixed up in alarm state")
		}
		resp, err := c.Command(t.Context(), "$X")
		if err != nil || len(resp.Lines) != 1 || resp.Lines[0] != (grbl.Feedback{Text: "Caution: Unlocked"}) {
			t.Fatalf("$X = %#v, %v", resp, err)
		}
		if _, err := c.WaitStatus(t.Context(), func(s grbl.Status) bool { return s.State == grbl.StateIdle }); err != nil {
			t.Fatal(err)
		}
		if err := c.AlarmError(); err != nil {
			t.Errorf("AlarmError after $X = %v", err)
		}

		// An alarm pushed later is reported with its code and hint.
		f.Push("ALARM:1")
		if _, err := c.WaitStatus(t.Context(), func(s grbl.Status) bool { return s.State == grbl.StateAlarm }); err != nil {
			t.Fatal(err)
		}
		if !errors.As(c.AlarmError(), &ae) || ae.Alarm == nil || ae.Alarm.Code != 1 || !strings.Contains(ae.Error(), "home") {
			t.Errorf("AlarmError = %v, want ALARM:1 with a homing hint", c.AlarmError())
		}
	})
}

func TestOpenRXBudget(t *testing.T) {
	tests := []struct {
		name       string
		opt        string
		rxSize     int
		override   int
		wantBudget int
	}{
		{"OPT rx 256 raises the budget", "V,15,256", 256, 0, 256},
		{"OPT without rx: 128", "V", 128, 0, 128},
		{"override wins", "V,15,256", 256, 64, 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := grbltest.New()
				f.Options, f.RXSize = tt.opt, tt.rxSize
				c := mustOpen(t, f, grbl.Options{RXBufferSize: tt.override})
				if got := c.Info().RXBufferSize; got != tt.wantBudget {
					t.Fatalf("budget = %d, want %d", got, tt.wantBudget)
				}
				f.Hold()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				done := make(chan struct{})
				go func() {
					defer close(done)
					for i := 0; ; i++ {
						if c.Send(ctx, streamLine(i), int64(i)) != nil {
							return
						}
					}
				}()
				synctest.Wait() // the sender is blocked on a full budget
				_, inFlight := c.InFlight()
				if inFlight > tt.wantBudget || inFlight < tt.wantBudget-18 {
					t.Errorf("bytes in flight = %d, want just under %d", inFlight, tt.wantBudget)
				}
				if s := f.Snapshot(); s.RXUsed != inFlight || s.Overflow != 0 {
					t.Errorf("board holds %d bytes (overflow %d), want %d", s.RXUsed, s.Overflow, inFlight)
				}
				cancel()
				<-done
			})
		})
	}
}

func TestSendAloneOrdering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		type seen struct {
			line   string
			rxUsed int
		}
		var alone []seen
		f.Respond = func(line string, s grbltest.Snapshot) []string {
			if line == "G10L20P1X0" || line == "$#" {
				alone = append(alone, seen{line, s.RXUsed})
			}
			return nil
		}
		c := mustOpen(t, f, grbl.Options{})
		alone = nil
		ctx := t.Context()
		f.Hold()
		before := len(f.Snapshot().Lines)
		for i := range 3 {
			if err := c.Send(ctx, streamLine(i), int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		_, threeBytes := c.InFlight()
		errc := make(chan error, 1)
		go func() {
			if err := c.Send(ctx, "G10L20P1X0", 3); err != nil {
				errc <- err
				return
			}
			if err := c.Send(ctx, "G0X5", 4); err != nil {
				errc <- err
				return
			}
			_, err := c.Command(ctx, "$#")
			errc <- err
		}()
		synctest.Wait()
		if s := f.Snapshot(); s.RXUsed != threeBytes {
			t.Fatalf("board holds %d bytes, want only the first three lines (%d): G10 L20 must wait", s.RXUsed, threeBytes)
		}
		f.Release()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if a := <-c.Acks(); a.Err != nil || a.Tag != int64(i) {
				t.Fatalf("ack %d = %+v", i, a)
			}
		}
		want := []string{streamLine(0), streamLine(1), streamLine(2), "G10L20P1X0", "G0X5", "$#"}
		if got := f.Snapshot().Lines[before:]; !equal(got, want) {
			t.Errorf("board lines = %q, want %q", got, want)
		}
		for _, s := range alone {
			if s.rxUsed != 0 {
				t.Errorf("%s was processed with %d other bytes in the RX buffer, want it alone", s.line, s.rxUsed)
			}
		}
		if len(alone) != 2 {
			t.Errorf("send-alone lines seen = %v", alone)
		}
	})
}

func TestPoller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		c := mustOpen(t, f, grbl.Options{PollInterval: 200 * time.Millisecond, PollTimeout: time.Second})
		count := func() int { return bytes.Count(f.Snapshot().Realtime, []byte{'?'}) }
		n0 := count()
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		if got := count() - n0; got != 5 {
			t.Errorf("polls in 1 s at 5 Hz = %d, want 5", got)
		}
		if st := c.Status(); st.At.IsZero() || st.State != grbl.StateIdle {
			t.Errorf("status = %+v, want a fresh Idle report", st)
		}
		// A board that stops answering (homing, limit lock-up) gets one '?'
		// per PollTimeout, not one per tick.
		f.IgnoreStatus(true)
		n1 := count()
		time.Sleep(2*time.Second + time.Millisecond)
		synctest.Wait()
		if got := count() - n1; got < 2 || got > 3 {
			t.Errorf("polls in 2 s without answers = %d, want 2..3 (one per PollTimeout)", got)
		}
		f.IgnoreStatus(false)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if _, err := c.WaitStatus(ctx, func(s grbl.Status) bool { return s.State == grbl.StateIdle }); err != nil {
			t.Errorf("WaitStatus after the board answers again: %v", err)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
