package grbl

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestWindowProperty drives the character-counting window with random
// line lengths and random interleavings of sends, acks and resets, checking
// against a plain model: bytes in flight never exceed the budget, every ack
// pops the oldest line, and a reset empties the window.
func TestWindowProperty(t *testing.T) {
	for _, budget := range []int{2, 80, 127, 128, 256, 1024} {
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(seed, uint64(budget)))
			w := newWindow(budget)
			var model []sent
			var tag int64
			for step := range 5000 {
				switch op := rng.IntN(10); {
				case op < 6: // try to send a line
					n := 1 + rng.IntN(min(budget, 80))
					tag++
					if w.fits(n) != (sum(model)+n <= budget) {
						t.Fatalf("budget %d seed %d step %d: fits(%d) = %v with %d in flight", budget, seed, step, n, w.fits(n), sum(model))
					}
					if w.fits(n) {
						s := sent{line: strings.Repeat("x", n-1), tag: tag, n: n}
						w.push(s)
						model = append(model, s)
					}
				case op < 9: // an ok or error arrives
					got, ok := w.pop()
					if ok != (len(model) > 0) {
						t.Fatalf("budget %d seed %d step %d: pop ok = %v with %d in model", budget, seed, step, ok, len(model))
					}
					if ok {
						if got.tag != model[0].tag || got.n != model[0].n {
							t.Fatalf("budget %d seed %d step %d: popped tag %d (%d bytes), want tag %d (%d bytes)", budget, seed, step, got.tag, got.n, model[0].tag, model[0].n)
						}
						model = model[1:]
					}
				default: // the board resets
					dropped := w.reset()
					if len(dropped) != len(model) {
						t.Fatalf("reset dropped %d lines, want %d", len(dropped), len(model))
					}
					for i := range dropped {
						if dropped[i].tag != model[i].tag {
							t.Fatalf("reset dropped tag %d at %d, want %d", dropped[i].tag, i, model[i].tag)
						}
					}
					model = nil
				}
				lines, bytes := w.inFlight()
				if bytes > budget {
					t.Fatalf("budget %d seed %d step %d: %d bytes in flight", budget, seed, step, bytes)
				}
				if lines != len(model) || bytes != sum(model) {
					t.Fatalf("budget %d seed %d step %d: inFlight = %d, %d, model %d, %d", budget, seed, step, lines, bytes, len(model), sum(model))
				}
			}
		}
	}
}

func sum(q []sent) int {
	n := 0
	for _, s := range q {
		n += s.n
	}
	return n
}

func TestCheckLine(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		budget  int
		wantErr error
		wantCol int
	}{
		{"ok", "G1X10Y10F500", 128, nil, 0},
		{"empty line is a ping", "", 128, nil, 0},
		{"79 chars", strings.Repeat("G", 79), 128, nil, 0},
		{"80 chars", strings.Repeat("G", 80), 128, ErrLineTooLong, 0},
		{"over budget", strings.Repeat("G", 50), 50, ErrLineTooLong, 0},
		{"exactly budget with newline", strings.Repeat("G", 49), 50, nil, 0},
		{"newline", "G1\nX1", 128, ErrBadLine, 3},
		{"CR", "G1X1\r", 128, ErrBadLine, 5},
		{"question mark in comment", "G1X1(why?)", 128, ErrBadLine, 9},
		{"bang", "M0!", 128, ErrBadLine, 3},
		{"tilde", "~", 128, ErrBadLine, 1},
		{"high byte", "G1X1\xb0", 128, ErrBadLine, 5},
		{"ctrl-x", "G1\x18", 128, ErrBadLine, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkLine(tt.line, tt.budget)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("checkLine(%q, %d) = %v, want %v", tt.line, tt.budget, err, tt.wantErr)
			}
			var le *LineError
			if err != nil && (!errors.As(err, &le) || le.Column != tt.wantCol) {
				t.Errorf("checkLine(%q) = %#v, want column %d", tt.line, err, tt.wantCol)
			}
		})
	}
}

func TestSendAlone(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"$$", true}, {"$#", true}, {"$I", true}, {"$N", true}, {"$10=3", true}, {"$N0=G21", true},
		{"$H", true}, {"$X", true}, {"$C", true}, {"$J=G91X10F100", true}, {"$SLP", true}, {"$RST=*", true},
		{" $x", true},
		{"G10 L2 P1 X0 Y0", true}, {"g10l20p1x0", true}, {"G10 P0 L20 Z0", true},
		{"G28.1", true}, {"G30.1", true}, {"g28.1 (store)", true},
		{"G28", false}, {"G30", false}, {"G28 G91 Z0", false}, {"G10", false},
		{"G1 X10 L2", false}, {"G01X1", false}, {"", false}, {"(G10 L2)", false}, {"G1X1 ; G28.1", false},
		{"M3 S1000", false}, {"G54", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			if got := SendAlone(tt.line); got != tt.want {
				t.Errorf("SendAlone(%q) = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

func TestIsRealtime(t *testing.T) {
	want := map[byte]bool{'?': true, '!': true, '~': true, 0x18: true, 0x84: true, 0x85: true,
		0x9E: true, 0xA0: true, 0xA1: true}
	for b := 0x90; b <= 0x9D; b++ {
		want[byte(b)] = b != 0x98
	}
	for b := range 256 {
		if got := IsRealtime(byte(b)); got != want[byte(b)] {
			t.Errorf("IsRealtime(%#02x) = %v, want %v", b, got, want[byte(b)])
		}
	}
}
