package hardware

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/grbltest"
)

// bridge joins a pty master to the fake board; it returns a func that
// unplugs (closes both) and waits for the copiers.
func bridge(t *testing.T, master io.ReadWriteCloser, f *grbltest.Fake) func() {
	host := f.Start()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = io.Copy(host, master) }()
	go func() { defer wg.Done(); _, _ = io.Copy(master, host) }()
	var once sync.Once
	unplug := func() {
		once.Do(func() {
			master.Close()
			f.Close()
			wg.Wait()
		})
	}
	t.Cleanup(unplug)
	return unplug
}

// TestConnOverPTY runs grbl.Conn over the real serial code path: a
// pseudo-terminal opened with OpenSerial, bridged to grbltest.Fake.
func TestConnOverPTY(t *testing.T) {
	tests := []struct {
		name   string
		unplug bool
	}{
		{"stream and close", false},
		{"unplug mid-stream", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master, slave := openPTY(t)
			f := grbltest.New()
			unplug := bridge(t, master, f)
			port, err := OpenSerial(slave, 115200)
			if err != nil {
				t.Fatal(err)
			}
			c := grbl.NewConn(port, grbl.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			if err := c.Open(ctx); err != nil {
				t.Fatalf("Open over pty: %v", err)
			}
			defer c.Close()
			const n = 300
			sendErr := make(chan error, 1)
			go func() {
				for i := range n {
					if err := c.Send(ctx, "G1X1Y2F300", int64(i)); err != nil {
						sendErr <- err
						return
					}
				}
				sendErr <- nil
			}()
			for i := range n {
				if tt.unplug && i == n/2 {
					unplug()
					break
				}
				if a := <-c.Acks(); a.Err != nil || a.Tag != int64(i) {
					t.Fatalf("ack %d = %+v", i, a)
				}
			}
			if tt.unplug {
				<-c.Done()
				if !errors.Is(c.Err(), grbl.ErrDisconnected) || !errors.Is(c.Err(), ErrDeviceGone) {
					t.Errorf("Err after unplug = %v, want ErrDisconnected caused by ErrDeviceGone", c.Err())
				}
				// Answers that arrived before the unplug come first, then
				// every line still in flight fails, in order.
				next, failing := int64(n/2), false
				for a := range c.Acks() {
					if a.Tag != next {
						t.Fatalf("ack tag %d, want %d", a.Tag, next)
					}
					next++
					switch {
					case errors.Is(a.Err, grbl.ErrDisconnected):
						failing = true
					case failing || a.Err != nil:
						t.Fatalf("ack %+v after a failed one, want ErrDisconnected", a)
					}
				}
				// The sender may have finished before the unplug.
				if err := <-sendErr; err != nil && !errors.Is(err, grbl.ErrDisconnected) {
					t.Errorf("Send after unplug = %v, want ErrDisconnected", err)
				}
				return
			}
			if err := <-sendErr; err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := f.Setting(10); got != "1" {
				t.Errorf("$10 after Close = %q, want 1 restored", got)
			}
			if s := f.Snapshot(); s.Overflow != 0 {
				t.Errorf("overflow = %d", s.Overflow)
			}
		})
	}
}
