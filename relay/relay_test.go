package relay

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeOutput records every value written; failOn makes SetValue(v) fail.
type fakeOutput struct {
	mu     sync.Mutex
	values []int
	closed int
	failOn map[int]bool
}

func (f *fakeOutput) SetValue(v int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOn[v] {
		return errors.New("gpio write failed")
	}
	f.values = append(f.values, v)
	return nil
}

func (f *fakeOutput) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func (f *fakeOutput) last() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.values) == 0 {
		return -1
	}
	return f.values[len(f.values)-1]
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
		ok   bool
	}{{"none", ModeNone, true}, {"", ModeNone, true}, {"sense", ModeSense, true}, {"drive", ModeDrive, true}, {"Drive", 0, false}, {"pwm", 0, false}} {
		got, err := ParseMode(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseMode(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestNewDriveSwitchesOffFirst(t *testing.T) {
	out := &fakeOutput{}
	r, err := New(ModeDrive, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.last(); got != 0 {
		t.Fatalf("output after New = %d, want 0", got)
	}
	if c, s := r.State(); c || s != nil {
		t.Fatalf("State() = %v, %v; want off and no sense", c, s)
	}
	if _, err := New(ModeDrive, nil, nil); !errors.Is(err, ErrNoOutput) {
		t.Fatalf("New(drive, nil) err = %v, want ErrNoOutput", err)
	}
	if _, err := New(ModeSense, nil, nil); err == nil {
		t.Fatal("New(sense, no sensor) succeeded")
	}
}

func TestOnOffCloseDrive(t *testing.T) {
	out := &fakeOutput{}
	var events []Event
	r, _ := New(ModeDrive, out, nil)
	r.OnEvent = func(e Event) { events = append(events, e) }
	if err := r.On("M3 at line 4"); err != nil {
		t.Fatal(err)
	}
	if out.last() != 1 {
		t.Fatalf("output = %d after On, want 1", out.last())
	}
	if err := r.Off("M5 at line 9"); err != nil {
		t.Fatal(err)
	}
	if err := r.Off("again"); err != nil { // idempotent, no second event
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Kind != KindSwitch || !events[0].LastSwitch.On || !*events[0].Commanded ||
		events[1].LastSwitch.On || *events[1].Commanded || events[1].LastSwitch.Reason != "M5 at line 9" || events[1].Mode != "drive" {
		t.Fatalf("events = %+v", events)
	}
	if err := r.On("x"); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if out.last() != 0 || out.closed != 1 {
		t.Fatalf("after Close: last=%d closed=%d, want 0 and 1", out.last(), out.closed)
	}
	if err := r.Close(); err != nil || out.closed != 1 {
		t.Fatalf("second Close: %v, closed=%d", err, out.closed)
	}
	if err := r.On("after close"); !errors.Is(err, ErrClosed) {
		t.Fatalf("On after Close = %v, want ErrClosed", err)
	}
	if err := r.Off("after close"); err != nil {
		t.Fatalf("Off after Close = %v, want nil", err)
	}
}

func TestOnFailureLeavesOff(t *testing.T) {
	out := &fakeOutput{failOn: map[int]bool{1: true}}
	r, _ := New(ModeDrive, out, nil)
	if err := r.On("M3"); err == nil {
		t.Fatal("On succeeded with a failing line")
	}
	if c, _ := r.State(); c {
		t.Fatal("commanded on after a failed switch")
	}
	if out.last() != 0 {
		t.Fatalf("line = %d, want 0 after failed On", out.last())
	}
}

func TestOnWithoutOutput(t *testing.T) {
	r, _ := New(ModeSense, nil, NewSensor(false))
	if err := r.On("M3"); !errors.Is(err, ErrNoOutput) {
		t.Fatalf("On in sense mode = %v, want ErrNoOutput", err)
	}
}

// pwm toggles the sensor like GRBL's ~977 Hz spindle output until stop closes.
func pwm(s *Sensor, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(512 * time.Microsecond)
	defer tick.Stop()
	level := false
	for {
		select {
		case <-stop:
			if level {
				s.HandleEdge(false, time.Time{})
			}
			return
		case <-tick.C:
			level = !level
			s.HandleEdge(level, time.Time{})
		}
	}
}

func TestSensorReadsPWMAsOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSensor(false)
		if s.On() {
			t.Fatal("on before any edge")
		}
		stop, done := make(chan struct{}), make(chan struct{})
		go pwm(s, stop, done)
		ctx := context.Background()
		if _, err := s.Wait(ctx, true); err != nil {
			t.Fatal(err)
		}
		// Sample over many PWM periods, at moments when the level is low
		// as well as high: it must read on throughout.
		for i := 0; i < 50; i++ {
			time.Sleep(300 * time.Microsecond)
			if !s.On() {
				t.Fatalf("PWM read as off at sample %d", i)
			}
		}
		close(stop)
		<-done
		start := time.Now()
		if _, err := s.Wait(ctx, false); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < DefaultPWMWindow-time.Millisecond || d > DefaultPWMWindow+time.Millisecond {
			t.Fatalf("off seen after %v, want about the PWM window %v", d, DefaultPWMWindow)
		}
	})
}

func TestSensorSteadyHigh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSensor(false)
		s.HandleEdge(true, time.Time{})
		time.Sleep(time.Second)
		if !s.On() {
			t.Fatal("steady high read as off")
		}
		s.HandleEdge(false, time.Time{})
		if !s.On() {
			t.Fatal("off immediately after a falling edge: a PWM low phase would flicker")
		}
		time.Sleep(DefaultPWMWindow)
		if s.On() {
			t.Fatal("still on a window after the last edge")
		}
	})
}

func TestVerify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		out := &fakeOutput{}
		s := NewSensor(false)
		r, _ := New(ModeDrive, out, s)
		r.SenseTimeout = 500 * time.Millisecond
		var events []Event
		r.OnEvent = func(e Event) { events = append(events, e) }
		ctx := context.Background()

		// The router starts 120 ms after the relay closes.
		if err := r.On("M3 line 3"); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(120 * time.Millisecond)
			s.HandleEdge(true, time.Time{})
		}()
		if err := r.Verify(ctx, "M3 line 3"); err != nil {
			t.Fatalf("Verify on: %v", err)
		}
		last := events[len(events)-1]
		if sw := last.LastSwitch; last.Kind != KindSensed || sw.Latency != 120*time.Millisecond || !sw.Confirmed || sw.Sensed == nil || !*sw.Sensed {
			t.Fatalf("sensed event = %+v (switch %+v), want latency 120ms and sensed on", last, last.LastSwitch)
		}

		// Stuck on: commanded off, the input stays high.
		if err := r.Off("M5 line 9"); err != nil {
			t.Fatal(err)
		}
		err := r.Verify(ctx, "M5 line 9")
		var me *MismatchError
		if !errors.As(err, &me) || !errors.Is(err, ErrMismatch) || me.Want {
			t.Fatalf("Verify stuck-on = %v, want a MismatchError wanting off", err)
		}
		if st := r.Status(); st.LastSwitch == nil || !st.LastSwitch.Mismatch || st.LastSwitch.Confirmed || events[len(events)-1].Kind != KindMismatch {
			t.Fatalf("after stuck-on: status %+v, last event %+v", st.LastSwitch, events[len(events)-1])
		}

		// Never starts.
		s.HandleEdge(false, time.Time{})
		time.Sleep(DefaultPWMWindow)
		_ = r.On("M3 line 20")
		err = r.Verify(ctx, "M3 line 20")
		if !errors.As(err, &me) || !me.Want {
			t.Fatalf("Verify not-starting = %v, want a MismatchError wanting on", err)
		}
		if want := "router did not start: sense input still off after 500ms (M3 line 20)"; err.Error() != want {
			t.Fatalf("message = %q, want %q", err.Error(), want)
		}

		// A cancelled context wins over the timeout.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := r.Verify(cctx, "x"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Verify with cancelled ctx = %v", err)
		}
	})
}

func TestVerifyWithoutSenseIsNoop(t *testing.T) {
	r, _ := New(ModeDrive, &fakeOutput{}, nil)
	_ = r.On("M3")
	if err := r.Verify(context.Background(), "M3"); err != nil {
		t.Fatal(err)
	}
}

// The latency is measured to the sense edge, not to when Verify noticed:
// a PWM signal's first rising edge for on, its last edge for off (not the
// end of the PWM window), and zero when the edge came before the command.
func TestSwitchLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSensor(false)
		r, _ := New(ModeSense, nil, s)
		ctx := context.Background()
		stop, done := make(chan struct{}), make(chan struct{})

		r.SetCommanded(true, "M3 at line 3")
		time.Sleep(7 * time.Millisecond)
		go pwm(s, stop, done)
		time.Sleep(50 * time.Millisecond) // Verify starts long after the edge
		if err := r.Verify(ctx, "M3 at line 3"); err != nil {
			t.Fatal(err)
		}
		if sw := r.Status().LastSwitch; !sw.Confirmed || sw.Latency != 7*time.Millisecond+512*time.Microsecond {
			t.Fatalf("on switch %+v, want latency 7.512ms (command to the first rising edge)", sw)
		}

		r.SetCommanded(false, "M5 at line 9")
		time.Sleep(3 * time.Millisecond)
		close(stop)
		<-done
		if err := r.Verify(ctx, "M5 at line 9"); err != nil {
			t.Fatal(err)
		}
		sw := r.Status().LastSwitch
		if !sw.Confirmed || sw.On || sw.Latency < 2*time.Millisecond || sw.Latency > 3*time.Millisecond {
			t.Fatalf("off switch %+v, want the last edge 2-3 ms after the command, not the %v window", sw, DefaultPWMWindow)
		}

		// GRBL switched and then acknowledged: the edge came first.
		s.HandleEdge(true, time.Time{})
		time.Sleep(time.Millisecond)
		r.SetCommanded(true, "M3 at line 20")
		if err := r.Verify(ctx, "M3 at line 20"); err != nil {
			t.Fatal(err)
		}
		if sw := r.Status().LastSwitch; !sw.Confirmed || sw.Latency != 0 {
			t.Fatalf("edge before command: %+v, want confirmed with latency 0", sw)
		}
		// Repeating the commanded state is not a switch.
		before := r.Status().LastSwitch.Time
		time.Sleep(time.Second)
		r.SetCommanded(true, "M3 again")
		if got := r.Status().LastSwitch; got.Time != before || got.Reason != "M3 at line 20" {
			t.Fatalf("repeated M3 recorded as a switch: %+v", got)
		}
	})
}

func TestStatusAndSubscribe(t *testing.T) {
	none, _ := New(ModeNone, nil, nil)
	if st := none.Status(); st.Mode != "none" || st.Commanded != nil || st.Sensed != nil || st.LastSwitch != nil {
		t.Fatalf("mode none status = %+v", st)
	}
	out := &fakeOutput{}
	r, _ := New(ModeDrive, out, NewSensor(false))
	var got []EventKind
	unsub := r.Subscribe(func(e Event) { got = append(got, e.Kind) })
	var all int
	r.OnEvent = func(Event) { all++ }
	if err := r.On("operator"); err != nil {
		t.Fatal(err)
	}
	if err := r.On("again"); err != nil { // no second switch
		t.Fatal(err)
	}
	st := r.Status()
	if st.Mode != "drive" || st.Commanded == nil || !*st.Commanded || st.Sensed == nil || *st.Sensed || st.LastSwitch == nil || st.LastSwitch.Reason != "operator" {
		t.Fatalf("status = %+v", st)
	}
	// The snapshot is a copy.
	*st.LastSwitch.Sensed = true
	if *r.Status().LastSwitch.Sensed {
		t.Fatal("Status shares the switch record")
	}
	unsub()
	unsub() // idempotent
	_ = r.Off("operator")
	if len(got) != 1 || got[0] != KindSwitch || all != 2 {
		t.Fatalf("subscriber saw %v, OnEvent %d events; want [switch] and 2", got, all)
	}
}
