package grbl_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/grbltest"
)

// TestConnRandomInterleavings streams lines of random length through Conn
// into the fake while the fake answers a random number of lines at a time,
// rejects some with error:N, and resets now and then. Invariants: the
// fake's RX buffer never overflows; every line gets exactly one ack, in
// send order; ok exactly for the lines the board ran, error:20 for the
// rejected ones, ErrReset for the ones a reset discarded.
func TestConnRandomInterleavings(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { randomInterleaving(t, seed) })
		})
	}
}

func randomInterleaving(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	const n = 400
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("N%d", i) + strings.Repeat("X", rng.IntN(grbl.MaxLineLength-5))
	}
	rejected := func(line string) bool { return len(line)%13 == 0 }
	f := grbltest.New()
	f.Respond = func(line string, s grbltest.Snapshot) []string {
		if strings.HasPrefix(line, "N") && rejected(line) {
			return []string{"error:20"}
		}
		return nil
	}
	c := mustOpen(t, f, grbl.Options{})
	f.Hold()
	go func() {
		for i, l := range lines {
			if err := c.Send(t.Context(), l, int64(i)); err != nil {
				t.Errorf("Send %d: %v", i, err)
				return
			}
		}
	}()
	acks := make([]grbl.Ack, 0, n)
	for len(acks) < n {
		synctest.Wait() // everyone is blocked: the fake, Conn, the sender
		switch r := rng.IntN(20); {
		case r == 0:
			f.Reset() // no line is on the wire: see TestResetRace for that
		default:
			f.Allow(rng.IntN(8))
		}
		synctest.Wait()
		if s := f.Snapshot(); s.RXUsed > 128 || s.Overflow != 0 {
			t.Fatalf("RX used %d, overflow %d", s.RXUsed, s.Overflow)
		}
		for drained := false; !drained; {
			select {
			case a := <-c.Acks():
				acks = append(acks, a)
			default:
				drained = true
			}
		}
	}
	ran := map[string]bool{}
	for _, l := range f.Snapshot().Lines {
		ran[l] = true
	}
	resets := 0
	for i, a := range acks {
		if a.Tag != int64(i) || a.Line != lines[i] {
			t.Fatalf("ack %d is for tag %d %q", i, a.Tag, a.Line)
		}
		var want string
		switch {
		case !ran[a.Line]:
			want = "reset"
			resets++
		case rejected(a.Line):
			want = "error:20"
		default:
			want = "ok"
		}
		got := "ok"
		if a.Err != nil {
			got = a.Err.Error()
		}
		if (want == "ok") != (a.Err == nil) || (want == "reset") != (a.Err == grbl.ErrReset) ||
			(want == "error:20" && !strings.HasPrefix(got, "error:20")) {
			t.Fatalf("ack %d (%q) = %s, want %s", i, a.Line, got, want)
		}
	}
	t.Logf("seed %d: %d lines, %d discarded by resets", seed, n, resets)
}

// TestResetRace makes the board reset while it is answering a line, so the
// answer to a line Conn has already failed with ErrReset arrives after the
// banner (as happens to lines that reach a board after its reset but before
// the host has read the banner). Every line is answered with its own
// error code, so a stray answer taken for a later line shows at once.
// Conn must drop the stray answers and send nothing until a status report
// shows the RX buffer empty.
func TestResetRace(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { resetRace(t, seed) })
		})
	}
}

func resetRace(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	const n = 400
	lines := make([]string, n)
	resetAt := map[int]bool{}
	for i := range lines {
		lines[i] = fmt.Sprintf("N%d", i) + strings.Repeat("Y", rng.IntN(30))
		resetAt[i] = rng.IntN(25) == 0
	}
	code := func(i int) int { return 1 + i%37 }
	f := grbltest.New()
	f.Respond = func(line string, s grbltest.Snapshot) []string {
		var i int
		if _, err := fmt.Sscanf(line, "N%d", &i); err != nil {
			return nil
		}
		reply := fmt.Sprintf("error:%d", code(i))
		if resetAt[i] {
			resetAt[i] = false // only the fake's process goroutine touches it
			return []string{grbltest.ResetHere, reply}
		}
		return []string{reply}
	}
	c := mustOpen(t, f, grbl.Options{})
	go func() {
		for i, l := range lines {
			if err := c.Send(t.Context(), l, int64(i)); err != nil {
				t.Errorf("Send %d: %v", i, err)
				return
			}
		}
	}()
	resets := 0
	for i := range n {
		a := <-c.Acks()
		var ge *grbl.Error
		switch {
		case a.Tag != int64(i):
			t.Fatalf("ack %d has tag %d", i, a.Tag)
		case a.Err == grbl.ErrReset:
			resets++
		case !errors.As(a.Err, &ge) || ge.Code != code(i):
			t.Fatalf("ack %d (%q) = %v, want error:%d: a stray answer was taken for this line", i, a.Line, a.Err, code(i))
		}
	}
	if s := f.Snapshot(); s.Overflow != 0 {
		t.Errorf("overflow %d bytes", s.Overflow)
	}
	if resets == 0 {
		t.Errorf("no line failed with ErrReset: the test did not reset")
	}
}

// TestResetRaceWithPoller is TestResetRace with the status poller on: the
// quarantine then ends on the poller's reports.
func TestResetRaceWithPoller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := grbltest.New()
		f.Respond = func(line string, _ grbltest.Snapshot) []string {
			if line == "N5" {
				return []string{grbltest.ResetHere, "ok"}
			}
			return nil
		}
		c := mustOpen(t, f, grbl.Options{PollInterval: 200 * time.Millisecond})
		send := func(from, to int) {
			for i := from; i < to; i++ {
				if err := c.Send(t.Context(), fmt.Sprintf("N%d", i), int64(i)); err != nil {
					t.Fatal(err)
				}
			}
		}
		// N5 resets the board: it and the lines written behind it are
		// lost (ErrReset). A line the writer had not yet written when the
		// banner came waits out the quarantine and then runs normally, so
		// after N5 the acks are some resets, then only oks: which line
		// the writer reached first is the scheduler's choice.
		sawOK := false
		check := func(from, to int) {
			for i := from; i < to; i++ {
				a := <-c.Acks()
				reset := a.Err == grbl.ErrReset
				var ok bool
				switch {
				case i == 5:
					ok = reset
				case i > 5 && i < 10:
					ok = (reset && !sawOK) || a.Err == nil
					sawOK = sawOK || a.Err == nil
				default:
					ok = a.Err == nil
				}
				if a.Tag != int64(i) || !ok {
					t.Fatalf("ack %d = %+v (resets end at the first ok after N5)", i, a)
				}
			}
		}
		send(0, 10) // all fit in the budget at once
		check(0, 10)
		send(10, 20) // flows once a poll shows the board quiet
		check(10, 20)
		if s := f.Snapshot(); s.Overflow != 0 {
			t.Errorf("overflow %d", s.Overflow)
		}
	})
}
