package grbl_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/grbltest"
)

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStream streams b.N short lines (~18 bytes, character-counted)
// through Conn into grbltest.Fake over net.Pipe, consuming acks, and
// reports the process CPU time (Conn and fake together) per 10k lines.
//
//	go test ./grbl -run '^$' -bench BenchmarkStream -benchtime 20000x
func BenchmarkStream(b *testing.B) {
	f := grbltest.New()
	c := mustOpen(b, f, grbl.Options{})
	ctx := context.Background()
	lines := make([]string, 1000)
	for i := range lines {
		lines[i] = streamLine(i)
	}
	acked := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, wall0 := cpuTime(b), time.Now()
	go func() {
		for i := 0; i < b.N; i++ {
			if a := <-c.Acks(); a.Err != nil {
				acked <- a.Err
				return
			}
		}
		acked <- nil
	}()
	for i := 0; i < b.N; i++ {
		if err := c.Send(ctx, lines[i%len(lines)], int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-acked; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
	b.ReportMetric(cpu.Seconds()/float64(b.N)*10000, "cpu-s/10k-lines")
	b.ReportMetric(wall.Seconds()/float64(b.N)*10000, "wall-s/10k-lines")
	if s := f.Snapshot(); s.Overflow != 0 {
		b.Fatalf("overflow %d", s.Overflow)
	}
}

// BenchmarkParseStatus measures parsing one full status report.
func BenchmarkParseStatus(b *testing.B) {
	const line = "<Run|MPos:36.572,0.372,-1.000|Bf:14,120|FS:414,500|Ov:100,100,100|A:SF|WCO:1.000,2.000,3.000>"
	for b.Loop() {
		if _, err := grbl.ParseStatus(line); err != nil {
			b.Fatal(err)
		}
	}
}
