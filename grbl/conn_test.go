package grbl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/grbltest"
)

// testTimeout bounds waits in tests that run on the real clock; they
// normally finish in milliseconds.
const testTimeout = 20 * time.Second

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// mustOpen starts f, opens a Conn on it and registers cleanups.
func mustOpen(t testing.TB, f *grbltest.Fake, opts grbl.Options) *grbl.Conn {
	t.Helper()
	port := f.Start()
	t.Cleanup(func() { _ = f.Close() })
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = -1 // tests that want polling ask for it
	}
	c := grbl.NewConn(port, opts)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Open(ctx); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// streamLine is the n-th line of a synthetic program (lengths vary).
func streamLine(n int) string {
	return fmt.Sprintf("G1X%d.%03dY%dF%d", n%400, n%1000, n%37, 100+n%900)
}

// pace plays a board whose planner is busy: it holds the fake's oks until
// the RX buffer is nearly full, then releases them, over and over, until
// ctx ends. It returns when stopped.
func pace(ctx context.Context, f *grbltest.Fake, high int) {
	for {
		f.Hold()
		_, err := f.Wait(ctx, func(s grbltest.Snapshot) bool { return s.RXUsed >= high })
		f.Release()
		if err != nil {
			return
		}
		if _, err := f.Wait(ctx, func(s grbltest.Snapshot) bool { return s.RXUsed == 0 }); err != nil {
			return
		}
	}
}

func TestStream1000LinesWithinBudget(t *testing.T) {
	f := grbltest.New()
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	paceCtx, stopPace := context.WithCancel(ctx)
	paced := make(chan struct{})
	go func() { defer close(paced); pace(paceCtx, f, 100) }()
	const n = 1000
	errc := make(chan error, 1)
	go func() {
		defer stopPace() // the last lines may not reach the pacer's mark
		for i := range n {
			if err := c.Send(ctx, streamLine(i), int64(i+1)); err != nil {
				errc <- fmt.Errorf("send line %d: %w", i+1, err)
				return
			}
			if _, bytes := c.InFlight(); bytes > 128 {
				errc <- fmt.Errorf("after line %d: %d bytes in flight", i+1, bytes)
				return
			}
		}
		errc <- nil
	}()
	for i := range n {
		select {
		case a := <-c.Acks():
			if a.Err != nil || a.Tag != int64(i+1) || a.Line != streamLine(i) {
				t.Fatalf("ack %d = %+v, want ok for tag %d line %q", i, a, i+1, streamLine(i))
			}
		case <-ctx.Done():
			t.Fatalf("waiting for ack %d: %v", i, ctx.Err())
		}
	}
	stopPace()
	<-paced
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	s := f.Snapshot()
	if s.Overflow != 0 {
		t.Errorf("overflow = %d bytes, want 0", s.Overflow)
	}
	if s.MaxRXUsed > 128 || s.MaxRXUsed < 100 {
		t.Errorf("max RX used = %d, want 100..128 (the buffer was kept full, never overfilled)", s.MaxRXUsed)
	}
	if lines, bytes := c.InFlight(); lines != 0 || bytes != 0 {
		t.Errorf("InFlight = %d, %d after all acks, want 0, 0", lines, bytes)
	}
	var streamed int
	for _, l := range s.Lines {
		if l != "" && l[0] != '$' {
			if l != streamLine(streamed) {
				t.Fatalf("board line %d = %q, want %q", streamed, l, streamLine(streamed))
			}
			streamed++
		}
	}
	if streamed != n {
		t.Errorf("board received %d streamed lines, want %d", streamed, n)
	}
}

// fill holds the fake's replies and sends lines tagged 1, 2, … in the
// background: as many as fit in the 128-byte budget, then one more, which
// must block. It returns once the fake holds every line that fit (their
// count and bytes). The channel yields the blocked Send's result.
func fill(t *testing.T, ctx context.Context, c *grbl.Conn, f *grbltest.Fake) (<-chan error, int, int) {
	t.Helper()
	f.Hold()
	fit, used := 0, 0
	for used+len(streamLine(fit))+1 <= 128 {
		used += len(streamLine(fit)) + 1
		fit++
	}
	errc := make(chan error, 1)
	go func() {
		for i := range fit {
			if err := c.Send(ctx, streamLine(i), int64(i+1)); err != nil {
				errc <- err
				return
			}
		}
		errc <- c.Send(ctx, streamLine(fit), int64(fit+1))
	}()
	if _, err := f.Wait(ctx, func(s grbltest.Snapshot) bool { return s.RXUsed == used }); err != nil {
		t.Fatal(err)
	}
	return errc, fit, used
}

func TestRealtimeJumpsAheadOfFullBuffer(t *testing.T) {
	f := grbltest.New()
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	blocked, _, used := fill(t, ctx, c, f)
	for _, b := range []byte{grbl.RTFeedHold, grbl.RTFeedOvPlus10, grbl.RTStatus, grbl.RTCycleStart} {
		if err := c.Realtime(b); err != nil {
			t.Fatalf("Realtime(%#02x): %v", b, err)
		}
	}
	s, err := f.Wait(ctx, func(s grbltest.Snapshot) bool { return bytes.HasSuffix(s.Realtime, []byte{'!', 0x91, '?', '~'}) })
	if err != nil {
		t.Fatal(err)
	}
	if s.RXUsed != used || used < 110 {
		t.Errorf("RX used = %d while held, want %d (>= 110)", s.RXUsed, used)
	}
	select {
	case err := <-blocked:
		t.Fatalf("Send returned %v while the RX budget was full", err)
	default:
	}
	f.Release()
	if err := <-blocked; err != nil {
		t.Fatalf("blocked Send: %v", err)
	}
	if err := c.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if s := f.Snapshot(); s.Overflow != 0 {
		t.Errorf("overflow = %d", s.Overflow)
	}
	if err := c.Realtime('a'); !errors.Is(err, grbl.ErrNotRealtime) {
		t.Errorf("Realtime('a') = %v, want ErrNotRealtime", err)
	}
}

func TestErrorMappedToTag(t *testing.T) {
	f := grbltest.New()
	f.Respond = func(line string, s grbltest.Snapshot) []string {
		switch line {
		case "M6":
			return []string{"error:20"}
		case "G1X1Y":
			return []string{"error:2"}
		}
		return nil
	}
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	lines := []string{"G21", "G90", "M6", "G0X1", "G1X1Y", "G0X0"}
	for i, l := range lines {
		if err := c.Send(ctx, l, int64(100+i)); err != nil {
			t.Fatalf("Send(%q): %v", l, err)
		}
	}
	wantCode := map[int64]int{102: 20, 104: 2}
	for i, l := range lines {
		a := <-c.Acks()
		if a.Tag != int64(100+i) || a.Line != l {
			t.Fatalf("ack %d = tag %d line %q, want tag %d line %q", i, a.Tag, a.Line, 100+i, l)
		}
		code, wantErr := wantCode[a.Tag]
		var ge *grbl.Error
		switch {
		case wantErr && (!errors.As(a.Err, &ge) || ge.Code != code || ge.Tag != a.Tag || ge.Line != l):
			t.Errorf("ack tag %d err = %v, want error:%d for %q", a.Tag, a.Err, code, l)
		case !wantErr && a.Err != nil:
			t.Errorf("ack tag %d err = %v, want ok", a.Tag, a.Err)
		}
	}
}

func TestResetMidStream(t *testing.T) {
	tests := []struct {
		name  string
		reset func(ctx context.Context, c *grbl.Conn, f *grbltest.Fake) error
	}{
		{"board resets by itself", func(_ context.Context, _ *grbl.Conn, f *grbltest.Fake) error { f.Reset(); return nil }},
		{"soft reset from us", func(ctx context.Context, c *grbl.Conn, _ *grbltest.Fake) error { return c.SoftReset(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := grbltest.New()
			c := mustOpen(t, f, grbl.Options{})
			ctx := testCtx(t)
			blocked, inLines, _ := fill(t, ctx, c, f)
			if err := tt.reset(ctx, c, f); err != nil {
				t.Fatalf("reset: %v", err)
			}
			// every line in flight fails with ErrReset, in order
			for i := range inLines {
				a := <-c.Acks()
				if a.Tag != int64(i+1) || !errors.Is(a.Err, grbl.ErrReset) {
					t.Fatalf("ack %d = %+v, want tag %d ErrReset", i, a, i+1)
				}
			}
			// the blocked Send got room once the count was zeroed
			if err := <-blocked; err != nil {
				t.Fatalf("blocked Send: %v", err)
			}
			f.Release()
			a := <-c.Acks()
			if a.Err != nil || a.Tag != int64(inLines+1) {
				t.Fatalf("ack after reset = %+v, want ok for tag %d", a, inLines+1)
			}
			if err := c.Send(ctx, "G0X0", 9999); err != nil {
				t.Fatal(err)
			}
			if a := <-c.Acks(); a.Err != nil || a.Tag != 9999 {
				t.Fatalf("ack = %+v, want ok tag 9999", a)
			}
			if lines, bytes := c.InFlight(); lines != 0 || bytes != 0 {
				t.Errorf("InFlight = %d, %d, want 0, 0", lines, bytes)
			}
		})
	}
}

func TestDisconnectMidStream(t *testing.T) {
	f := grbltest.New()
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	blocked, inLines, _ := fill(t, ctx, c, f)
	f.Unplug()
	<-c.Done()
	if err := c.Err(); !errors.Is(err, grbl.ErrDisconnected) {
		t.Errorf("Err() = %v, want ErrDisconnected", err)
	}
	var got int
	for a := range c.Acks() { // closed once everything is failed
		if !errors.Is(a.Err, grbl.ErrDisconnected) || a.Tag != int64(got+1) {
			t.Fatalf("ack %d = %+v, want tag %d ErrDisconnected", got, a, got+1)
		}
		got++
	}
	if got != inLines {
		t.Errorf("failed acks = %d, want %d", got, inLines)
	}
	if err := <-blocked; !errors.Is(err, grbl.ErrDisconnected) {
		t.Errorf("blocked Send = %v, want ErrDisconnected", err)
	}
	if err := c.Send(ctx, "G0X0", 1); !errors.Is(err, grbl.ErrDisconnected) {
		t.Errorf("Send after disconnect = %v, want ErrDisconnected", err)
	}
	if _, err := c.Command(ctx, "$G"); !errors.Is(err, grbl.ErrDisconnected) {
		t.Errorf("Command after disconnect = %v, want ErrDisconnected", err)
	}
	if err := c.FeedHold(); !errors.Is(err, grbl.ErrDisconnected) {
		t.Errorf("FeedHold after disconnect = %v, want ErrDisconnected", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after disconnect: %v", err)
	}
}

func TestLineRefusedBeforeSending(t *testing.T) {
	f := grbltest.New()
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	before := len(f.Snapshot().Lines)
	long := "G1X1" + strings.Repeat("0", 76)
	if err := c.Send(ctx, long, 7); !errors.Is(err, grbl.ErrLineTooLong) {
		t.Errorf("Send(80 chars) = %v, want ErrLineTooLong", err)
	}
	if err := c.Send(ctx, "G1X1(ok?)", 8); !errors.Is(err, grbl.ErrBadLine) {
		t.Errorf("Send with '?' = %v, want ErrBadLine", err)
	}
	if _, err := c.Command(ctx, long); !errors.Is(err, grbl.ErrLineTooLong) {
		t.Errorf("Command(80 chars) = %v, want ErrLineTooLong", err)
	}
	if err := c.Send(ctx, "", 9); err != nil { // an empty line is a legal ping
		t.Fatal(err)
	}
	if a := <-c.Acks(); a.Tag != 9 || a.Err != nil {
		t.Fatalf("ack = %+v, want ok for tag 9", a)
	}
	if got := f.Snapshot().Lines[before:]; len(got) != 1 || got[0] != "" {
		t.Errorf("board received %q, want only the empty line", got)
	}
}

func TestCommand(t *testing.T) {
	f := grbltest.New()
	f.Respond = func(line string, s grbltest.Snapshot) []string {
		switch line {
		case "$999=1":
			return []string{"error:3"}
		case "$N":
			return []string{"$N0=G21G90", "$N1=", "ok"}
		}
		return nil
	}
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	resp, err := c.Command(ctx, "$N")
	if err != nil {
		t.Fatal(err)
	}
	want := []grbl.Message{grbl.StartupLine{Index: 0, Line: "G21G90"}, grbl.StartupLine{Index: 1}}
	if !reflect.DeepEqual(resp.Lines, want) {
		t.Errorf("$N lines = %#v, want %#v", resp.Lines, want)
	}
	_, err = c.Command(ctx, "$999=1")
	var ge *grbl.Error
	if !errors.As(err, &ge) || ge.Code != 3 || ge.Line != "$999=1" {
		t.Errorf("Command($999=1) = %v, want error:3 for that line", err)
	}
	if _, err := c.Command(ctx, "$110=800"); err != nil {
		t.Fatal(err)
	}
	if got := c.Settings()[110]; got != 800 {
		t.Errorf("Settings()[110] = %v after $110=800, want 800", got)
	}
}
