package machine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/jobs/probe"
	"github.com/kerf-cnc/kerf/relay"
)

// fakeOutput is a relay output line that records every value written.
type fakeOutput struct {
	mu     sync.Mutex
	values []int
}

func (f *fakeOutput) SetValue(v int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values = append(f.values, v)
	return nil
}

func (f *fakeOutput) Close() error { return nil }

func (f *fakeOutput) last() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.values) == 0 {
		return -1
	}
	return f.values[len(f.values)-1]
}

// rig is a simulated board behind a Machine with a hub and a drive-mode
// relay on a fake output, inside a synctest bubble.
type rig struct {
	board *sim.Machine
	m     *Machine
	hub   *events.Hub
	sub   *events.Subscription
	out   *fakeOutput
	relay *relay.Router
	dials atomic.Int64
}

func newRig(t *testing.T, opts sim.Options) *rig {
	t.Helper()
	board, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { board.Close() })
	r := &rig{board: board, out: &fakeOutput{}}
	r.relay, err = relay.New(relay.ModeDrive, r.out, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.hub = events.NewHub(events.Options{BufferSize: 1 << 14})
	t.Cleanup(r.hub.Close)
	r.sub, err = r.hub.Subscribe(0, "machine.*")
	if err != nil {
		t.Fatal(err)
	}
	r.m = &Machine{
		Name: "sim",
		Dial: func(context.Context) (io.ReadWriteCloser, error) {
			r.dials.Add(1)
			return board.Connect()
		},
		Events:            r.hub,
		Relay:             r.relay,
		ReconnectInterval: time.Second,
		Logger:            slog.New(slog.DiscardHandler),
	}
	return r
}

func mustOpen(t *testing.T, opts sim.Options) *rig {
	t.Helper()
	r := newRig(t, opts)
	if err := r.m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.m.Close() })
	return r
}

// next returns the next event on topic, skipping others; it fails the test
// if none comes within a (virtual) minute.
func (r *rig) next(t *testing.T, topic string) events.Event {
	t.Helper()
	return r.until(t, topic, func(events.Event) bool { return true })
}

// until returns the first event on topic that satisfies ok.
func (r *rig) until(t *testing.T, topic string, ok func(events.Event) bool) events.Event {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, open := <-r.sub.Events():
			if !open {
				t.Fatalf("subscription ended waiting for %s: %v", topic, r.sub.Err())
			}
			if ev.Topic == topic && ok(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within a minute", topic)
		}
	}
}

func (r *rig) untilState(t *testing.T, state string) Report {
	t.Helper()
	ev := r.until(t, TopicStatus, func(ev events.Event) bool { return ev.Data.(Report).State == state })
	return ev.Data.(Report)
}

func ptr(v float64) *float64 { return &v }

func TestConnectAndStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{})
		ev := r.next(t, TopicConnected)
		c := ev.Data.(Connected)
		if c.Port != "sim" || c.Board.Firmware != "Grbl" || c.Board.Version != "1.1h" || c.Board.RXBufferSize != 128 || c.Board.PlannerBlocks != 15 {
			t.Fatalf("connected event = %+v", c)
		}
		rep := r.untilState(t, "Idle")
		if len(rep.MPos) != 3 || rep.SubState != -1 {
			t.Fatalf("status event = %+v", rep)
		}
		st := r.m.Status()
		if !st.Connected || st.Port != "sim" || st.Report.State != "Idle" || st.Alarm != nil || st.Board == nil || st.Board.HomingEnabled {
			t.Fatalf("Status() = %+v", st)
		}
		if st.Updated.IsZero() || st.Raw.State != grbl.StateIdle || !st.Raw.HasMPos {
			t.Fatalf("Status() Updated %v, Raw %+v", st.Updated, st.Raw)
		}
		conn, sig, err := r.m.Conn()
		if err != nil || conn == nil || sig == nil {
			t.Fatalf("Conn() = %v, %v, %v", conn, sig, err)
		}
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay output = %d, want 0 (off at start and on the banner)", got)
		}
	})
}

func TestNoBoardThenBoard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, err := sim.New(sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer board.Close()
		board.Unplug()
		var dials atomic.Int64
		hub := events.NewHub(events.Options{})
		defer hub.Close()
		sub, _ := hub.Subscribe(0, TopicConnected, TopicDisconnected)
		m := &Machine{Name: "/dev/ttyUSB0", Events: hub, Logger: slog.New(slog.DiscardHandler),
			Dial: func(context.Context) (io.ReadWriteCloser, error) {
				dials.Add(1)
				return board.Connect()
			}}
		if err := m.Open(context.Background()); err != nil {
			t.Fatalf("Open with no board = %v, want nil (keeps retrying)", err)
		}
		defer m.Close()
		st := m.Status()
		if st.Connected || !strings.Contains(st.LastError, "unplugged") {
			t.Fatalf("Status() = %+v, want disconnected with the cause", st)
		}
		_, _, err = m.Conn()
		var nce *NotConnectedError
		if !errors.Is(err, ErrNotConnected) || !errors.As(err, &nce) {
			t.Fatalf("Conn() err = %v, want ErrNotConnected", err)
		}
		for _, want := range []string{"no board connected (port /dev/ttyUSB0)", "check the cable", "retries every 2s", "unplugged"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if err := m.Jog(context.Background(), JogSpec{X: ptr(1), Feed: 100}); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Jog while disconnected = %v, want ErrNotConnected", err)
		}
		time.Sleep(5*DefaultReconnectInterval + time.Millisecond) // virtual time: five more attempts
		if n := dials.Load(); n != 6 {
			t.Fatalf("dial attempts after 10s = %d, want 6 (one every 2s)", n)
		}
		board.Replug()
		var got []string
		for ev := range sub.Events() {
			got = append(got, ev.Topic)
			if ev.Topic == TopicConnected {
				break
			}
		}
		if strings.Join(got, ",") != "machine.disconnected,machine.connected" {
			t.Fatalf("events = %v, want one disconnected (not one per retry), then connected", got)
		}
		if _, _, err := m.Conn(); err != nil {
			t.Fatalf("Conn() after replug = %v", err)
		}
	})
}

func TestUnplugRelayOffAndReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{})
		r.next(t, TopicConnected)
		conn1, _, _ := r.m.Conn()
		if err := r.relay.On("test"); err != nil {
			t.Fatal(err)
		}
		r.board.Unplug()
		ev := r.next(t, TopicDisconnected)
		if d := ev.Data.(Disconnected); !strings.Contains(d.Reason, "disconnected") {
			t.Fatalf("disconnected reason = %q", d.Reason)
		}
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay output after unplug = %d, want 0", got)
		}
		if _, _, err := r.m.Conn(); !errors.Is(err, ErrNotConnected) || !errors.Is(err, grbl.ErrDisconnected) {
			t.Fatalf("Conn() after unplug = %v, want ErrNotConnected wrapping grbl.ErrDisconnected", err)
		}
		if st := r.m.Status(); st.Connected || st.Board != nil {
			t.Fatalf("Status() after unplug = %+v", st)
		}
		select {
		case <-conn1.Done():
		default:
			t.Fatal("old link not closed")
		}
		time.Sleep(3 * time.Second) // virtual: the cable stays out a while
		before := r.dials.Load()
		if before < 3 {
			t.Fatalf("dials while unplugged = %d, want retries every second", before)
		}
		r.board.Replug()
		r.next(t, TopicConnected)
		conn2, _, err := r.m.Conn()
		if err != nil || conn2 == conn1 {
			t.Fatalf("Conn() after replug = %v, %v (old %p)", conn2, err, conn1)
		}
		if st := r.m.Status(); !st.Connected {
			t.Fatalf("Status() after replug = %+v", st)
		}
		// Nothing resumed by itself: the board sits idle at its position.
		if rep := r.untilState(t, "Idle"); rep.Feed != 0 {
			t.Fatalf("after reconnect: %+v", rep)
		}
	})
}

func TestAlarmAtConnectThenUnlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{StartInAlarm: true})
		r.next(t, TopicConnected)
		st := r.m.Status()
		if st.Alarm == nil || st.Report.State != "Alarm" || !strings.Contains(st.Alarm.Hint, "$X") {
			t.Fatalf("Status() = %+v, want alarm with a hint", st)
		}
		err := r.m.Jog(context.Background(), JogSpec{X: ptr(1), Feed: 100})
		if !errors.Is(err, grbl.ErrAlarm) {
			t.Fatalf("Jog in alarm = %v, want grbl.ErrAlarm", err)
		}
		if err := r.m.Unlock(context.Background()); err != nil {
			t.Fatal(err)
		}
		msg := r.next(t, TopicMessage).Data.(Message)
		if msg.Text != "Caution: Unlocked" {
			t.Fatalf("message = %q", msg.Text)
		}
		r.untilState(t, "Idle")
		if st := r.m.Status(); st.Alarm != nil || st.Report.State != "Idle" {
			t.Fatalf("Status() after unlock = %+v", st)
		}
	})
}

func TestHome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Profile: "3018pro"})
		if st := r.m.Status(); st.Alarm == nil || st.Alarm.Code != 0 || !st.Board.HomingEnabled {
			t.Fatalf("3018pro at connect: %+v, want locked (homing enabled)", st)
		}
		start := time.Now()
		if err := r.m.Home(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second {
			t.Fatalf("Home returned after %v: did not wait for the cycle", d)
		}
		rep := r.untilState(t, "Idle")
		for i, v := range rep.MPos {
			if v != -1 { // homed toward +, then pulled off 1 mm ($27)
				t.Fatalf("MPos[%d] after homing = %v, want -1 (%+v)", i, v, rep)
			}
		}
		if st := r.m.Status(); st.Alarm != nil {
			t.Fatalf("alarm after homing: %+v", st.Alarm)
		}
	})
}

// Status.Homed: not at connect, not after $X, yes after $H and after a
// soft reset while idle, not after the link is lost and made again.
func TestHomedStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Profile: "3018pro"})
		ctx := context.Background()
		steps := []struct {
			name string
			do   func() error
			want bool
		}{
			{"connected", func() error { return nil }, false},
			{"unlocked", func() error { return r.m.Unlock(ctx) }, false},
			{"homed", func() error { return r.m.Home(ctx) }, true},
			{"reset while idle", func() error { return r.m.Reset(ctx) }, true},
			{"reconnected", func() error {
				r.board.Unplug()
				r.next(t, TopicDisconnected)
				r.board.Replug()
				r.next(t, TopicConnected)
				return nil
			}, false},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			st := r.m.Status()
			if st.Homed != s.want || !st.Board.HomingEnabled {
				t.Fatalf("%s: homed %v (homing enabled %v), want homed %v", s.name, st.Homed, st.Board.HomingEnabled, s.want)
			}
		}
	})
}

func TestHomeDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{})
		err := r.m.Home(context.Background())
		if !errors.Is(err, ErrHomingDisabled) || !strings.Contains(err.Error(), "$22") {
			t.Fatalf("Home with $22=0 = %v, want ErrHomingDisabled", err)
		}
	})
}

func TestJogAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{})
		ctx := context.Background()
		r.untilState(t, "Idle")
		if err := r.m.Jog(ctx, JogSpec{X: ptr(10), Feed: 100, Incremental: true}); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Jog")
		if err := r.m.JogCancel(ctx); err != nil {
			t.Fatal(err)
		}
		rep := r.untilState(t, "Idle")
		if x := rep.MPos[0]; x <= 0 || x >= 10 {
			t.Fatalf("X after cancelled jog = %v, want between 0 and 10", x)
		}
		// Absolute jog in work coordinates.
		if err := r.m.Jog(ctx, JogSpec{X: ptr(5), Y: ptr(-2.5), Feed: 1000}); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Jog")
		rep = r.untilState(t, "Idle")
		if rep.WPos[0] != 5 || rep.WPos[1] != -2.5 {
			t.Fatalf("WPos after absolute jog = %v, want 5,-2.5", rep.WPos)
		}
	})
}

func TestJogBeyondTravel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Profile: "3018pro", Settings: map[int]float64{20: 1}})
		ctx := context.Background()
		if err := r.m.Home(ctx); err != nil {
			t.Fatal(err)
		}
		err := r.m.Jog(ctx, JogSpec{X: ptr(10), Feed: 500, Incremental: true})
		var ge *grbl.Error
		if !errors.Is(err, ErrJogLimit) || !errors.As(err, &ge) || ge.Code != 15 {
			t.Fatalf("jog beyond travel = %v, want ErrJogLimit wrapping error:15", err)
		}
		if st := r.m.Status(); st.Alarm != nil {
			t.Fatalf("alarm after refused jog: %+v", st.Alarm)
		}
	})
}

func TestJogLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec JogSpec
		want string
		err  string
	}{
		{"incremental", JogSpec{X: ptr(10), Feed: 500, Incremental: true}, "$J=G21G91X10F500", ""},
		{"absolute three axes", JogSpec{X: ptr(1.25), Y: ptr(-0.0001), Z: ptr(-3), Feed: 1234.5}, "$J=G21G90X1.25Y0Z-3F1234.5", ""},
		{"no axis", JogSpec{Feed: 100}, "", "field x, y, z"},
		{"zero feed", JogSpec{X: ptr(1)}, "", "field feed"},
		{"huge distance", JogSpec{Z: ptr(1e7), Feed: 100}, "", "field z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.Line()
			if tc.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Line() err = %v, want ErrInvalid naming %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Line() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{})
		ctx := context.Background()
		r.untilState(t, "Idle")
		for _, o := range [][2]string{{"feed", "+10"}, {"feed", "+10"}, {"feed", "-1"}, {"spindle", "-10"}, {"rapid", "25"}} {
			if err := r.m.Override(ctx, o[0], o[1]); err != nil {
				t.Fatalf("Override(%s, %s) = %v", o[0], o[1], err)
			}
		}
		want := Overrides{Feed: 119, Rapid: 25, Spindle: 90}
		r.until(t, TopicStatus, func(ev events.Event) bool { return ev.Data.(Report).Overrides == want })
		if got := r.m.Status().Report.Overrides; got != want {
			t.Fatalf("Status overrides = %+v, want %+v", got, want)
		}
		for _, bad := range [][2]string{{"laser", "+10"}, {"rapid", "+10"}} {
			if err := r.m.Override(ctx, bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
				t.Errorf("Override(%s, %s) = %v, want ErrInvalid", bad[0], bad[1], err)
			}
		}
	})
}

func TestSettings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Profile: "3018pro", Settings: map[int]float64{20: 1}})
		ctx := context.Background()
		list, err := r.m.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 34 || list[0].Number != 0 || list[33].Number != 132 {
			t.Fatalf("settings: %d entries, first %+v last %+v", len(list), list[0], list[len(list)-1])
		}
		for i := 1; i < len(list); i++ {
			if list[i].Number <= list[i-1].Number {
				t.Fatalf("settings out of order at %d: %v", i, list)
			}
		}
		find := func(list []Setting, n int) Setting {
			for _, s := range list {
				if s.Number == n {
					return s
				}
			}
			t.Fatalf("setting $%d missing", n)
			return Setting{}
		}
		if s := find(list, 110); s.Value != "1000.000" || !strings.Contains(s.Name, "X-axis maximum rate") {
			t.Fatalf("$110 = %+v", s)
		}
		if s := find(list, 22); s.Value != "1" {
			t.Fatalf("$22 = %+v", s)
		}
		// In Alarm (locked at start-up) settings may be written.
		if err := r.m.SetSetting(ctx, 110, "1234.5"); err != nil {
			t.Fatal(err)
		}
		// $22=0 also turns soft limits off: the read-back shows it.
		if err := r.m.SetSetting(ctx, 22, "0"); err != nil {
			t.Fatal(err)
		}
		list, _ = r.m.Settings(ctx)
		if s := find(list, 110); s.Value != "1234.500" {
			t.Fatalf("$110 after write = %+v", s)
		}
		if s := find(list, 20); s.Value != "0" {
			t.Fatalf("$20 after $22=0 = %+v, want 0 (read back)", s)
		}
		if st := r.m.Status(); st.Board.HomingEnabled {
			t.Fatal("board still says homing enabled after $22=0")
		}
		var ge *grbl.Error
		if err := r.m.SetSetting(ctx, 20, "1"); !errors.As(err, &ge) || ge.Code != 10 {
			t.Fatalf("$20=1 without homing = %v, want error:10", err)
		}
		for _, bad := range []struct {
			n     int
			v     string
			field string
		}{{110, "fast", "field value"}, {110, "", "field value"}, {300, "1", "field number"}, {110, "1e3", "field value"}} {
			if err := r.m.SetSetting(ctx, bad.n, bad.v); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), bad.field) {
				t.Errorf("SetSetting(%d, %q) = %v, want ErrInvalid naming %s", bad.n, bad.v, err, bad.field)
			}
		}
	})
}

func TestSetSettingRefusedWhileMoving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{})
		ctx := context.Background()
		if err := r.m.Jog(ctx, JogSpec{X: ptr(10), Feed: 100, Incremental: true}); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Jog")
		if err := r.m.SetSetting(ctx, 110, "800"); !errors.Is(err, grbl.ErrNotIdle) || !strings.Contains(err.Error(), "state Jog") {
			t.Fatalf("SetSetting while jogging = %v, want ErrNotIdle naming the state", err)
		}
	})
}

func TestLeaseExclusive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{})
		ctx := context.Background()
		r.untilState(t, "Idle")
		release, err := r.m.Acquire(ctx, "run 00A7")
		if err != nil {
			t.Fatal(err)
		}
		var be *BusyError
		if _, err := r.m.Acquire(ctx, "run 00A8"); !errors.As(err, &be) || be.Owner != "run 00A7" {
			t.Fatalf("second Acquire = %v, want BusyError naming run 00A7", err)
		}
		refused := map[string]func() error{
			"jog":        func() error { return r.m.Jog(ctx, JogSpec{X: ptr(1), Feed: 100}) },
			"jog cancel": func() error { return r.m.JogCancel(ctx) },
			"home":       func() error { return r.m.Home(ctx) },
			"unlock":     func() error { return r.m.Unlock(ctx) },
			"set":        func() error { return r.m.SetSetting(ctx, 110, "800") },
		}
		for name, f := range refused {
			if err := f(); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "run 00A7") {
				t.Errorf("%s while leased = %v, want ErrBusy naming the owner", name, err)
			}
		}
		if err := r.m.FeedHold(ctx); err != nil {
			t.Fatalf("FeedHold while leased = %v", err)
		}
		r.untilState(t, "Hold")
		if err := r.m.CycleStart(ctx); err != nil {
			t.Fatalf("CycleStart while leased = %v", err)
		}
		if err := r.m.Override(ctx, "feed", "+10"); err != nil {
			t.Fatalf("Override while leased = %v", err)
		}
		if st := r.m.Status(); st.LeasedBy != "run 00A7" {
			t.Fatalf("Status().LeasedBy = %q", st.LeasedBy)
		}
		release()
		release() // idempotent
		if err := r.m.Jog(ctx, JogSpec{X: ptr(1), Feed: 100, Incremental: true}); err != nil {
			t.Fatalf("Jog after release = %v", err)
		}
	})
}

func TestManualCommandBlocksAcquire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Profile: "3018pro"})
		ctx := context.Background()
		homed := make(chan error, 1)
		go func() { homed <- r.m.Home(ctx) }()
		synctest.Wait() // Home is blocked on the board's answer to $H
		var be *BusyError
		if _, err := r.m.Acquire(ctx, "run 1"); !errors.As(err, &be) || be.Owner != "manual home" {
			t.Fatalf("Acquire while homing = %v, want BusyError naming manual home", err)
		}
		if err := <-homed; err != nil {
			t.Fatal(err)
		}
		release, err := r.m.Acquire(ctx, "run 1")
		if err != nil {
			t.Fatalf("Acquire after homing = %v", err)
		}
		release()
	})
}

func TestRelayOffOnAlarmDoorAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustOpen(t, sim.Options{Profile: "3018pro", Settings: map[int]float64{20: 1}})
		ctx := context.Background()
		if err := r.m.Home(ctx); err != nil {
			t.Fatal(err)
		}
		conn, _, err := r.m.Conn()
		if err != nil {
			t.Fatal(err)
		}

		// Door.
		if err := r.relay.On("test"); err != nil {
			t.Fatal(err)
		}
		if err := conn.Realtime(grbl.RTSafetyDoor); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Door")
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay after Door = %d, want 0", got)
		}
		if err := r.m.CycleStart(ctx); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Idle")

		// Soft limit: ALARM:2, even while a run holds the lease.
		release, err := r.m.Acquire(ctx, "run 7")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.relay.On("test"); err != nil {
			t.Fatal(err)
		}
		if err := conn.Send(ctx, "G0X10", 1); err != nil {
			t.Fatal(err)
		}
		a := r.next(t, TopicAlarm).Data.(AlarmInfo)
		if a.Code != 2 || a.Hint == "" {
			t.Fatalf("alarm event = %+v", a)
		}
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay after ALARM:2 = %d, want 0", got)
		}
		if st := r.m.Status(); st.Alarm == nil || st.Alarm.Code != 2 || st.Report.State != "Alarm" {
			t.Fatalf("Status() after ALARM:2 = %+v", st)
		}

		// Reset is allowed while leased; the relay goes off first.
		if err := r.relay.On("test"); err != nil {
			t.Fatal(err)
		}
		if err := r.m.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		rs := r.next(t, TopicReset).Data.(Reset)
		if !strings.HasPrefix(rs.Banner, "Grbl 1.1h") {
			t.Fatalf("reset event = %+v", rs)
		}
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay after Reset = %d, want 0", got)
		}
		release()
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sim.Options{})
		if err := r.m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.next(t, TopicConnected)
		conn, _, _ := r.m.Conn()
		if err := r.relay.On("test"); err != nil {
			t.Fatal(err)
		}
		if err := r.m.Close(); err != nil {
			t.Fatal(err)
		}
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay after Close = %d, want 0", got)
		}
		select {
		case <-conn.Done():
		default:
			t.Fatal("link still open after Close")
		}
		if !errors.Is(conn.Err(), grbl.ErrClosed) {
			t.Fatalf("link err = %v, want closed by us", conn.Err())
		}
		if err := r.m.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if _, _, err := r.m.Conn(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Conn() after Close = %v, want ErrClosed", err)
		}
		if _, err := r.m.Acquire(context.Background(), "x"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Acquire after Close = %v, want ErrClosed", err)
		}
		r.next(t, TopicDisconnected)
	})
}

func TestOpenValidates(t *testing.T) {
	m := &Machine{}
	if err := m.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "Dial") {
		t.Fatalf("Open without Dial = %v", err)
	}
}

func TestSpontaneousResetRelayOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, err := sim.ParseFault("reset:at=30s")
		if err != nil {
			t.Fatal(err)
		}
		r := mustOpen(t, sim.Options{Faults: []sim.Fault{f}})
		r.next(t, TopicConnected)
		if err := r.relay.On("test"); err != nil {
			t.Fatal(err)
		}
		rs := r.next(t, TopicReset).Data.(Reset)
		if rs.Firmware != "Grbl" || rs.Version != "1.1h" {
			t.Fatalf("reset event = %+v", rs)
		}
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay after a spontaneous reset = %d, want 0", got)
		}
		if _, _, err := r.m.Conn(); err != nil {
			t.Fatalf("a reset is not a disconnect: Conn() = %v", err)
		}
	})
}

func TestEventsAreJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sim.Options{StartInAlarm: true})
		all, err := r.hub.Subscribe(0)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer r.m.Close()
		if err := r.m.Unlock(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.untilState(t, "Idle")
		r.board.Unplug()
		r.next(t, TopicDisconnected)
		all.Close()
		seen := map[string]bool{}
		for ev := range all.Events() {
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("event %s: %v", ev.Topic, err)
			}
			seen[ev.Topic] = true
			if !bytes.Contains(b, []byte(`"data":{`)) {
				t.Fatalf("event %s data is not an object: %s", ev.Topic, b)
			}
		}
		for _, topic := range []string{TopicConnected, TopicDisconnected, TopicStatus, TopicMessage, TopicReset} {
			if !seen[topic] {
				t.Errorf("no %s event", topic)
			}
		}
	})
}

func TestCloseDuringHome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, sim.Options{Profile: "3018pro"})
		if err := r.m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		homed := make(chan error, 1)
		go func() { homed <- r.m.Home(context.Background()) }()
		synctest.Wait() // Home waits for the board's answer to $H
		if err := r.relay.On("test"); err != nil {
			t.Fatal(err)
		}
		if err := r.m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-homed; err == nil || !errors.Is(err, grbl.ErrClosed) {
			t.Fatalf("Home interrupted by Close = %v, want grbl.ErrClosed", err)
		}
		if got := r.out.last(); got != 0 {
			t.Fatalf("relay after Close = %d, want 0", got)
		}
	})
}

func TestProbeManual(t *testing.T) {
	setup := probe.Setup{X: -50, Y: -40, SafeZ: -1, Feed: 200, SlowFeed: 25, BackOff: 1, MaxTravel: 40}
	t.Run("probes with the router off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := mustOpen(t, sim.Options{Probe: sim.FlatSurface(-20)})
			if err := r.relay.On("test"); err != nil {
				t.Fatal(err)
			}
			res, err := r.m.Probe(context.Background(), setup)
			if err != nil {
				t.Fatal(err)
			}
			if res.Z > -19.998 || res.Z < -20.002 || r.out.last() != 0 {
				t.Fatalf("Z %v, relay %d; want -20 with the relay off", res.Z, r.out.last())
			}
		})
	})
	t.Run("refused while a run holds the machine", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := mustOpen(t, sim.Options{Probe: sim.FlatSurface(-20)})
			release, err := r.m.Acquire(context.Background(), "run 0001")
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if _, err := r.m.Probe(context.Background(), setup); !errors.Is(err, ErrBusy) {
				t.Fatalf("Probe during a run = %v, want ErrBusy", err)
			}
		})
	})
	t.Run("bad setup names the field", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := mustOpen(t, sim.Options{})
			bad := setup
			bad.SlowFeed = 0
			if _, err := r.m.Probe(context.Background(), bad); !errors.Is(err, probe.ErrInvalid) || !strings.Contains(err.Error(), "slow_feed") {
				t.Fatalf("Probe = %v, want ErrInvalid naming slow_feed", err)
			}
		})
	})
}
