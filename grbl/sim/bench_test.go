package sim

import (
	"bufio"
	"fmt"
	"math"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// shortSegments is a smooth path of 0.1 mm G1 moves around a 20 mm circle
// through the origin, about 31 bytes a line ("G1 Y-13.456 Z0 F900").
func shortSegments(n int, feed int) []string {
	lines := make([]string, n)
	const r, step = 20.0, 0.1
	for i := range lines {
		a := float64(i+1) * step / r
		lines[i] = fmt.Sprintf("G1 X%.3f Y%.3f Z0 F%d", r*math.Cos(a)-r, -r*math.Sin(a), feed)
	}
	return lines
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// streamBench char-counts lines into a fresh machine in real time at the
// given speed factor and returns the machine-time duration, bytes sent and
// the machine's stats.
func streamBench(b *testing.B, opts Options, lines []string) (time.Duration, int, Stats) {
	b.Helper()
	m, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	rw, err := m.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer rw.Close()
	rd := bufio.NewReader(rw)
	readLine := func() string {
		l, err := rd.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	for readLine() != "Grbl 1.1h ['$' for help]\r\n" {
	}
	start := m.now()
	var inflight []int
	sum, next, sent := 0, 0, 0
	buf := make([]byte, 0, 4096)
	for next < len(lines) || len(inflight) > 0 {
		buf = buf[:0]
		for next < len(lines) && sum+len(lines[next])+1 <= rxSize {
			buf = append(buf, lines[next]...)
			buf = append(buf, '\n')
			inflight = append(inflight, len(lines[next])+1)
			sum += len(lines[next]) + 1
			next++
		}
		if len(buf) > 0 {
			rw.Write(buf)
			sent += len(buf)
		}
		l := readLine()
		if l != "ok\r\n" {
			b.Fatalf("unexpected %q", l)
		}
		sum -= inflight[0]
		inflight = inflight[1:]
	}
	rw.Write([]byte("G4P0\n"))
	for readLine() != "ok\r\n" {
	}
	return m.now() - start, sent, m.Stats()
}

// BenchmarkStream streams short segments through the simulator in real
// time (Speed 1: timers have about a millisecond of wake-up granularity, so
// faster factors measure the scheduler, not the board) with a
// character-counting host, with each limit made binding in turn, and
// reports simulator+host CPU per 10k lines and how close the run came to
// each limit, in machine time.
//
//	go test ./grbl/sim -run '^$' -bench Stream -benchtime 1x
func BenchmarkStream(b *testing.B) {
	fast := map[int]float64{110: 20000, 111: 20000, 112: 20000, 120: 2000, 121: 2000, 122: 2000}
	cases := []struct {
		name  string
		opts  Options
		lines []string
	}{
		// 33 bytes at 11,520 B/s = 2.9 ms/line; board 1 ms; motion 0.1 mm at 60 mm/s = 1.7 ms.
		{"wire", Options{Settings: fast, LineProcessing: time.Millisecond}, shortSegments(3000, 3600)},
		// board 6 ms/line binds.
		{"board", Options{Settings: fast, LineProcessing: 6 * time.Millisecond}, shortSegments(1500, 3600)},
		// 0.1 mm at 600 mm/min = 10 ms/line binds.
		{"motion", Options{Settings: fast, LineProcessing: time.Millisecond}, shortSegments(1000, 600)},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var cpu time.Duration
			lines := 0
			for i := 0; i < b.N; i++ {
				c0 := cpuTime()
				d, sent, st := streamBench(b, tc.opts, tc.lines)
				cpu += cpuTime() - c0
				lines += len(tc.lines)
				if st.Overflows != 0 || st.ErrorCount() != 0 {
					b.Fatalf("overflows %d errors %v", st.Overflows, st.Errors)
				}
				secs := d.Seconds()
				b.ReportMetric(float64(sent)/secs/11520*100, "wire-%")
				b.ReportMetric(float64(st.Lines)*tc.opts.LineProcessing.Seconds()/secs*100, "board-%")
				b.ReportMetric(st.MotionTime.Seconds()/secs*100, "motion-%")
				b.ReportMetric(st.Starved.Seconds(), "starved-s")
			}
			b.ReportMetric(cpu.Seconds()/float64(lines)*10000, "cpu-s/10klines")
		})
	}
}
