package runner

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// edgeLine is a fake relay output that timestamps every edge and asks
// since when it should have happened.
type edgeLine struct {
	mu    sync.Mutex
	level int
	since func(v int) time.Time // the reference time of an edge to v; zero: not measured
	lat   []time.Duration
}

func (o *edgeLine) SetValue(v int) error {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if v != o.level && o.since != nil {
		if t0 := o.since(v); !t0.IsZero() {
			o.lat = append(o.lat, now.Sub(t0))
		}
	}
	o.level = v
	return nil
}

func (o *edgeLine) Close() error { return nil }

// benchService is a drive-mode Service on a real-time simulated board.
type benchService struct {
	svc  *Service
	conn *grbl.Conn
	out  *edgeLine
	m    *sim.Machine
}

func newBenchService(b *testing.B, opts sim.Options, onMsg func(grbl.Message)) *benchService {
	b.Helper()
	m, err := sim.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	port, err := m.Connect()
	if err != nil {
		b.Fatal(err)
	}
	sig := &Signals{}
	handle := sig.Handle
	if onMsg != nil {
		handle = func(msg grbl.Message) { onMsg(msg); sig.Handle(msg) }
	}
	// A short poll only makes each run quicker: the latency is measured
	// from the report that arrives, whenever it does.
	conn := grbl.NewConn(port, grbl.Options{OnMessage: handle, PollInterval: 25 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if err := conn.Open(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	if conn.AlarmError() != nil {
		if _, err := conn.Command(ctx, "$X"); err != nil {
			b.Fatal(err)
		}
	}
	store := jobs.NewStore(b.TempDir())
	if err := store.Open(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	out := &edgeLine{}
	r, err := relay.New(relay.ModeDrive, out, nil)
	if err != nil {
		b.Fatal(err)
	}
	link := &simLink{r: &rig{m: m, conn: conn, signals: sig}}
	svc := &Service{Store: store, Link: link, Relay: r, SafeZ: -1, Logger: slog.New(slog.DiscardHandler)}
	if err := svc.Open(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	return &benchService{svc: svc, conn: conn, out: out, m: m}
}

func (bs *benchService) run(b *testing.B, job jobs.Job) jobs.Run {
	ctx := context.Background()
	run, err := bs.svc.StartJob(ctx, job.ID, 0)
	if err != nil {
		b.Fatal(err)
	}
	run, err = bs.svc.Wait(ctx, run.ID)
	if err != nil {
		b.Fatal(err)
	}
	return run
}

// reportLatency reports the 50th and 99th percentiles and the maximum.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		b.Fatal("no latency measured")
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(float64(len(lat))*p+0.999999) - 1
		return float64(lat[min(max(i, 0), len(lat)-1)].Nanoseconds())
	}
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds()), "max-ns")
	b.ReportMetric(float64(len(lat)), "samples")
}

// BenchmarkRelayLatency measures, on the simulated board in real time with
// a fake relay line, how quickly kerf moves the relay:
//
//	command-edge: M3/M5 in drive mode. The reference is the arrival of the
//	    status report that shows every earlier motion executed (Idle,
//	    planner empty) — from then on the switch is kerf's work alone —
//	    and the end is the relay line's write.
//	fault-off: a GRBL ALARM during a cut, from the alarm line arriving at
//	    kerf's reader to the relay line's write of 0, through the runner
//	    (signals, stream stop, OnStop).
//
// Each reports p50-ns, p99-ns and max-ns; the target is p99 < 5 ms.
//
// Run: go test ./jobs/runner -run '^$' -bench BenchmarkRelayLatency -benchtime 100x
func BenchmarkRelayLatency(b *testing.B) {
	b.Run("command-edge", func(b *testing.B) {
		bs := newBenchService(b, sim.Options{Speed: 20}, nil)
		bs.out.since = func(int) time.Time { return bs.conn.Status().At }
		var prog strings.Builder
		prog.WriteString("G21 G90\n")
		for i := 1; i <= 5; i++ {
			prog.WriteString("G0 X-" + itoa(i) + "\nM3 S1000\nG1 X-" + itoa(i+1) + " F3000\nM5\n")
		}
		job, err := bs.svc.AddJob(context.Background(), "pairs.nc", strings.NewReader(prog.String()))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if run := bs.run(b, job); run.State != jobs.StateCompleted {
				b.Fatalf("run %s: %s", run.State, run.Reason)
			}
		}
		b.StopTimer()
		bs.out.mu.Lock()
		defer bs.out.mu.Unlock()
		reportLatency(b, bs.out.lat)
	})
	b.Run("fault-off", func(b *testing.B) {
		var lat []time.Duration
		var prog strings.Builder
		prog.WriteString("G21 G90 G1 F3000\nM3 S1000\n")
		for i := 1; i <= 40; i++ {
			prog.WriteString("X-" + itoa(i) + "\n")
		}
		fault, err := sim.ParseFault("alarm:line=20,code=1")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			var mu sync.Mutex
			var alarmAt time.Time
			bs := newBenchService(b, sim.Options{Speed: 20, Faults: []sim.Fault{fault}}, func(msg grbl.Message) {
				if _, ok := msg.(*grbl.Alarm); ok {
					mu.Lock()
					alarmAt = time.Now()
					mu.Unlock()
				}
			})
			bs.out.since = func(v int) time.Time {
				mu.Lock()
				defer mu.Unlock()
				if v != 0 {
					return time.Time{}
				}
				return alarmAt
			}
			job, err := bs.svc.AddJob(context.Background(), "long.nc", strings.NewReader(prog.String()))
			if err != nil {
				b.Fatal(err)
			}
			if run := bs.run(b, job); run.State != jobs.StateFailed || !strings.Contains(run.Reason, "ALARM:1") {
				b.Fatalf("run %s: %s, want failed by the alarm", run.State, run.Reason)
			}
			bs.out.mu.Lock()
			lat = append(lat, bs.out.lat...)
			bs.out.mu.Unlock()
		}
		b.StopTimer()
		reportLatency(b, lat)
	})
}
