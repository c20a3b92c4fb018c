package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// statusPayload is the size and shape of a machine status event.
var statusPayload = web.MachineStatus{
	Connected: true, Port: "/dev/ttyUSB0", State: "Run", SubState: -1,
	MPos: []float64{-120.125, -80.5, -3.2}, WPos: []float64{29.875, 19.5, -1.2}, WCO: []float64{-150, -100, -2},
	Feed: 800, Spindle: 12000, Overrides: web.Overrides{Feed: 100, Rapid: 100, Spindle: 100},
	Relay: web.RelayStatus{Mode: "sense"}, ActiveRun: 3,
}

// BenchmarkBroadcast50 publishes machine status events to 50 websocket
// clients in lock step (every client has the event before the next is
// published). One op is one event delivered to all 50. cpu-µs/event counts
// the whole process, server and the 50 in-process clients together, so it
// is an upper bound on the daemon's share; cpu-%-at-10Hz is what a 10 Hz
// status stream to 50 clients costs one core.
func BenchmarkBroadcast50(b *testing.B) {
	const clients = 50
	hub := events.NewHub(events.Options{BufferSize: 64})
	s := &web.Server{Events: hub}
	ts := httptest.NewServer(s.TrustedHandler())
	defer ts.Close()
	defer s.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/ws?topics=machine.status"

	acks := make(chan struct{}, clients)
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil { // hello
			b.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, r, err := c.NextReader()
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
				acks <- struct{}{}
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, wall0 := cpuTime(b), time.Now()
	for b.Loop() {
		hub.Publish("machine.status", statusPayload)
		for range clients {
			<-acks
		}
	}
	cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
	b.StopTimer()
	perEvent := float64(cpu.Microseconds()) / float64(b.N)
	b.ReportMetric(perEvent, "cpu-µs/event")
	b.ReportMetric(perEvent*10/1e6*100, "cpu-%-at-10Hz")
	b.ReportMetric(float64(b.N*clients)/wall.Seconds(), "deliveries/s")
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
}

// BenchmarkTelemetryCSV streams a run's telemetry as CSV through the real
// handler and HTTP stack. One op is one download of 100 000 samples (about
// 5.5 h at 5 Hz).
func BenchmarkTelemetryCSV(b *testing.B) {
	const n = 100000
	samples := make([]jobs.Sample, n)
	for i := range samples {
		samples[i] = jobs.Sample{T: time.Duration(i) * 200 * time.Millisecond, State: 2,
			MPos: [3]int32{int32(i * 13 % 300000), int32(i * 7 % 180000), -1500}, Feed: 800, Spindle: 12000,
			PlannerFree: 3, RxFree: 90, Ov: [3]uint8{100, 100, 100}, SourceLine: int32(i / 3)}
	}
	rs := &webtest.RunService{T: b,
		RunFn: func(_ context.Context, id jobs.ID) (jobs.Run, error) { return jobs.Run{ID: id}, nil },
		TelemetryFn: func(_ context.Context, _ jobs.ID, fn func(jobs.Sample) error) error {
			for _, s := range samples {
				if err := fn(s); err != nil {
					return err
				}
			}
			return nil
		},
	}
	ts := httptest.NewServer((&web.Server{Runs: rs}).TrustedHandler())
	defer ts.Close()
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Get(ts.URL + "/api/v1/runs/0001/telemetry?format=csv")
		if err != nil {
			b.Fatal(err)
		}
		m, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		bytes = m
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(bytes)/n, "bytes/sample")
}
