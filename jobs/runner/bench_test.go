package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
)

// shortSegments is a 3D-carving style program: n lines of about 31 bytes,
// "G1 X12.345 Y23.456 Z-1.234 F1500", each a short move.
func shortSegments(n int, feed int) []byte {
	var b bytes.Buffer
	b.WriteString("G21 G90 G94\n")
	// Rapid to the start first: a long feed move there would keep the
	// planner full (motion-bound) for its whole length.
	fmt.Fprintf(&b, "G0 X%.2f Y%.2f Z%.2f\n", -50+20.0, -50.0, -1.0)
	for i := 0; i < n; i++ {
		a := float64(i) * 0.01
		fmt.Fprintf(&b, "G1 X%.2f Y%.2f Z%.2f F%d\n", -50+20*math.Cos(a)+0.001*float64(i%7), -50+20*math.Sin(a), -1-0.5*math.Sin(3*a), feed)
	}
	return b.Bytes()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fast settings make motion nearly free, so that another limit binds.
var fastMotion = map[int]float64{110: 200000, 111: 200000, 112: 200000, 120: 20000, 121: 20000, 122: 20000, 11: 0.5, 130: 1000, 131: 1000, 132: 1000}

type benchCase struct {
	name     string
	lines    int
	speed    float64
	settings map[int]float64
	process  time.Duration // sim LineProcessing (-1: none)
	raw      bool          // send the file's lines as they are (no wire form)
	feed     int           // mm/min
	poll     time.Duration // status poll interval (0: the default 5 Hz; <0: off)
}

// BenchmarkStream streams a 20,000-line short-segment file through the
// simulated board on its 115200-baud wire, in real time scaled by the sim's
// speed factor, and reports how close the run came to the limit that binds:
//
//	wire:   lines are free to plan and move; the serial wire binds.
//	board:  the board's 4 ms per line (an Uno's ~250 blocks/s) binds.
//	motion: slow feeds; the planner must never run dry.
//
// Run: go test ./jobs/runner -run '^$' -bench BenchmarkStream -benchtime 1x
func BenchmarkStream(b *testing.B) {
	cases := []benchCase{
		{name: "wire/raw", lines: 20000, speed: 1, settings: fastMotion, process: -1, raw: true, feed: 9000},
		{name: "wire/wireform", lines: 20000, speed: 1, settings: fastMotion, process: -1, feed: 9000},
		{name: "board", lines: 5000, speed: 1, settings: fastMotion, process: 0, feed: 9000},
		{name: "board/nopoll", lines: 5000, speed: 1, settings: fastMotion, process: 0, feed: 9000, poll: -1},
		{name: "motion", lines: 2000, speed: 1, settings: map[int]float64{110: 1000, 111: 1000, 112: 1000, 120: 50, 121: 50, 122: 50, 130: 1000, 131: 1000, 132: 1000}, process: 0, feed: 1500},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchOnce(b, bc)
			}
		})
	}
}

// rawProgram sends source lines verbatim (after stripping the newline).
type rawProgram struct {
	lines [][]byte
	i     int
}

func (r *rawProgram) Next() (gcode.WireLine, error) {
	for r.i < len(r.lines) {
		l := r.lines[r.i]
		r.i++
		if len(l) == 0 {
			continue
		}
		return gcode.WireLine{Text: string(l), Source: r.i, Motion: true}, nil
	}
	return gcode.WireLine{}, errEOF
}

var errEOF = io.EOF

func benchOnce(b *testing.B, bc benchCase) {
	b.StopTimer()
	src := shortSegments(bc.lines, bc.feed)
	m, err := sim.New(sim.Options{Speed: bc.speed, Settings: bc.settings, LineProcessing: bc.process})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	port, err := m.Connect()
	if err != nil {
		b.Fatal(err)
	}
	sig := &Signals{}
	conn := grbl.NewConn(port, grbl.Options{OnMessage: sig.Handle, Logger: slog.New(slog.DiscardHandler), PollInterval: bc.poll})
	if err := conn.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var prog Program
	if bc.raw {
		prog = &rawProgram{lines: bytes.Split(src, []byte("\n"))}
	} else {
		prog = gcode.NewCompiler(bytes.NewReader(src), "bench.nc", gcode.Options{Settings: gcode.Settings(conn.Settings())})
	}
	before := m.Stats()
	s := &Stream{Conn: conn, Signals: sig, Program: prog}
	cpu0 := cpuTime()
	start := time.Now()
	b.StartTimer()
	res, err := s.Run(context.Background())
	b.StopTimer()
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	if err != nil {
		b.Fatal(err)
	}
	after := m.Stats()
	if after.Overflows != 0 || after.ErrorCount() != 0 {
		b.Fatalf("overflows=%d errors=%v", after.Overflows, after.Errors)
	}
	// Rates are over the streaming phase (first line out to last ok), in
	// machine seconds; the tail of the program is end-ms.
	machine := res.StreamTime.Seconds() * bc.speed
	_ = wall
	wireSecs := float64(res.BytesSent) * 10 / 115200
	lines := float64(res.Sent)
	b.ReportMetric(lines/machine, "lines/s")
	b.ReportMetric(100*wireSecs/machine, "%wire")
	switch {
	case bc.process >= 0 && strings.HasPrefix(bc.name, "board"):
		b.ReportMetric(100*float64(after.Lines-before.Lines)*0.004/machine, "%board")
	case bc.name == "motion":
		motion := (after.MotionTime - before.MotionTime).Seconds()
		b.ReportMetric(100*motion/machine, "%motion")
		b.ReportMetric((after.Starved - before.Starved).Seconds(), "starved-s")
	}
	b.ReportMetric(cpu.Seconds()/lines*10000, "cpu-s/10k-lines")
	b.ReportMetric(float64(res.EndOverhead.Microseconds())/1000*bc.speed, "end-ms")
}
