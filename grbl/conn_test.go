package grbl_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

func TestStream1000LinesWithinBudget(t *testing.T) {
	f := grbltest.New()
	c := mustOpen(t, f, grbl.Options{})
	ctx := testCtx(t)
	const n = 1000
	errc := make(chan error, 1)
	go func() {
		for i := range n {
			if err := c.Send(ctx, streamLine(i), int64(i+1)); err != nil {
				errc <- fmt.Errorf("send line %d: %w", i+1, err)
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
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	s := f.Snapshot()
	if s.Overflow != 0 {
		t.Errorf("overflow = %d bytes, want 0", s.Overflow)
	}
	if s.MaxRXUsed > 128 {
		t.Errorf("max RX used = %d, want <= 128", s.MaxRXUsed)
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
	_ = errors.Is
}
