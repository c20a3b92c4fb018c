package sim

import (
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestRXOverflowCountedForNaiveSender(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{})
		h := mustConnect(t, m)
		var all strings.Builder
		for i := 1; i <= 40; i++ {
			fmt.Fprintf(&all, "G1 X-%d F300\n", i)
		}
		h.send(all.String()) // ignores the 128-byte budget
		<-time.After(3 * time.Second)
		st := m.Stats()
		if st.Overflows == 0 {
			t.Fatalf("Overflows = 0, want dropped bytes when a sender ignores the RX budget")
		}
		h.send("\x18")
		oks := 0
		for {
			l := h.next()
			if l == "ok" {
				oks++
			}
			if strings.HasPrefix(l, "Grbl ") {
				break
			}
		}
		if oks >= 40 {
			t.Fatalf("%d oks for 40 lines with overflow, want fewer", oks)
		}
	})
}

// charCount streams lines keeping at most budget bytes unacknowledged,
// as GRBL's stream.py does; it returns when every line is answered.
func charCount(h *testHost, lines []string, budget int) (oks int, errs []string) {
	var inflight []int
	sum := 0
	next := 0
	for next < len(lines) || len(inflight) > 0 {
		for next < len(lines) && sum+len(lines[next])+1 <= budget {
			h.send(lines[next] + "\n")
			inflight = append(inflight, len(lines[next])+1)
			sum += len(lines[next]) + 1
			next++
		}
		l := h.next()
		switch {
		case l == "ok":
			oks++
		case strings.HasPrefix(l, "error:"):
			errs = append(errs, l)
		default:
			continue
		}
		sum -= inflight[0]
		inflight = inflight[1:]
	}
	return oks, errs
}

func TestCharacterCountingNeverOverflows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{110: 3000, 111: 3000, 120: 200, 121: 200}})
		h := mustConnect(t, m)
		var lines []string
		for i := 0; i < 300; i++ {
			lines = append(lines, fmt.Sprintf("G1 X-%.3f Y-%.3f F2000", float64(i%50)*0.5, float64(i%37)*0.4))
		}
		oks, errs := charCount(h, lines, 128)
		if oks != len(lines) || len(errs) != 0 {
			t.Fatalf("oks=%d errors=%v, want %d oks", oks, errs, len(lines))
		}
		if st := m.Stats(); st.Overflows != 0 {
			t.Fatalf("Overflows = %d, want 0", st.Overflows)
		}
	})
}

func TestRealtimeWhileRXFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{Settings: map[int]float64{10: 3}})
		h := mustConnect(t, m)
		var first, more strings.Builder
		for i := 1; i <= 16; i++ {
			fmt.Fprintf(&first, "G1 X-%d F60\n", i)
		}
		for i := 17; i <= 40; i++ {
			fmt.Fprintf(&more, "G1 X-%d F60\n", i)
		}
		h.send(first.String())
		<-time.After(500 * time.Millisecond) // planner full, 16th line waiting
		h.send(more.String())
		<-time.After(500 * time.Millisecond) // the wire delivered everything by now
		for len(h.lines) > 0 {
			<-h.lines
		}
		start := time.Now()
		h.send("?")
		var s string
		for s == "" || !strings.HasPrefix(s, "<") {
			s = h.next()
		}
		if d := time.Since(start); d > 20*time.Millisecond {
			t.Fatalf("status took %v with a full RX buffer", d)
		}
		if !strings.Contains(s, "|Bf:0,0|") {
			t.Fatalf("status %q, want full planner and RX (Bf:0,0)", s)
		}
		h.send("!")
		h.waitState("Hold")
	})
}

func TestWirePacedAtBaud(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{LineProcessing: -1})
		h := mustConnect(t, m)
		start := time.Now()
		out := h.cmd("$$")
		bytesOut := 0
		for _, l := range out {
			bytesOut += len(l) + 2
		}
		want := time.Duration(3+bytesOut) * time.Second / 11520
		if d := time.Since(start); d < want-time.Millisecond || d > want+2*time.Millisecond {
			t.Fatalf("$$ round trip %v, want %v at 11,520 B/s", d, want)
		}
	})
}

func TestBootloaderSwallowsEarlyBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := mustMachine(t, Options{BootDelay: 1400 * time.Millisecond})
		h := connectRaw(t, m)
		h.send("$I\n") // lost in the bootloader
		h.expect("", "Grbl 1.1h ['$' for help]")
		h.noLine(time.Second)
		h.send("$I\n")
		h.expect("[VER:1.1h.20190830:]", "[OPT:V,15,128]", "ok")
	})
}

func TestStarvationMeasured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Tiny fast segments at a slow baud: the wire cannot keep the planner fed.
		m := mustMachine(t, Options{Baud: 1200, Settings: map[int]float64{110: 6000, 120: 1000}})
		h := mustConnect(t, m)
		var lines []string
		for i := 1; i <= 60; i++ {
			lines = append(lines, fmt.Sprintf("G1 X-%.2f F6000", float64(i)*0.2))
		}
		charCount(h, lines, 127)
		if st := m.Stats(); st.Starved < 100*time.Millisecond {
			t.Fatalf("Starved = %v, want the wire-bound starvation recorded", st.Starved)
		}
	})
}

// TestThroughputModel checks the board model itself, in virtual time: with
// a host that answers at once, each limit in turn is reached to within 1 %.
// (Wall-clock figures are in BenchmarkStream.)
func TestThroughputModel(t *testing.T) {
	fast := map[int]float64{110: 20000, 111: 20000, 112: 20000, 120: 2000, 121: 2000, 122: 2000}
	tests := []struct {
		name  string
		opts  Options
		lines []string
		limit string
	}{
		{"wire", Options{Settings: fast, LineProcessing: time.Millisecond}, shortSegments(2000, 3600), "wire"},
		{"board", Options{Settings: fast, LineProcessing: 6 * time.Millisecond}, shortSegments(1000, 3600), "board"},
		{"motion", Options{Settings: fast, LineProcessing: time.Millisecond}, shortSegments(1000, 600), "motion"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				m := mustMachine(t, tc.opts)
				h := mustConnect(t, m)
				start := time.Now()
				sent := 0
				for _, l := range tc.lines {
					sent += len(l) + 1
				}
				oks, errs := charCount(h, tc.lines, 128)
				h.cmd("G4 P0")
				d := time.Since(start).Seconds()
				st := m.Stats()
				if oks != len(tc.lines) || len(errs) > 0 || st.Overflows > 0 {
					t.Fatalf("oks %d errors %v overflows %d", oks, errs, st.Overflows)
				}
				got := map[string]float64{
					"wire":   float64(sent) / d / 11520,
					"board":  float64(st.Lines) * tc.opts.LineProcessing.Seconds() / d,
					"motion": st.MotionTime.Seconds() / d,
				}
				t.Logf("wire %.2f%%, board %.2f%%, motion %.2f%% over %.2fs", got["wire"]*100, got["board"]*100, got["motion"]*100, d)
				if got[tc.limit] < 0.99 {
					t.Fatalf("%s limit reached to %.1f%% (all: %v)", tc.limit, got[tc.limit]*100, got)
				}
			})
		})
	}
}
