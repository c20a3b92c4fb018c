package machine

import (
	"log/slog"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/relay"
)

// BenchmarkStatusReport measures what a Machine adds to the grbl reader
// goroutine per status report: convert it, publish machine.status to the
// hub (with 0 or 4 subscribers, each drained by its own goroutine) and
// check the relay rule. At 5 Hz this must stay far below the report
// period, so the reader never lags.
func BenchmarkStatusReport(b *testing.B) {
	for _, subs := range []int{0, 4} {
		b.Run(map[int]string{0: "subscribers=0", 4: "subscribers=4"}[subs], func(b *testing.B) {
			hub := events.NewHub(events.Options{})
			defer hub.Close()
			done := make(chan struct{})
			for range subs {
				sub, err := hub.Subscribe(0, "machine.*")
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					defer func() { done <- struct{}{} }()
					for range sub.Events() {
					}
				}()
			}
			r, err := relay.New(relay.ModeDrive, nopOutput{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			m := &Machine{Name: "bench", Events: hub, Relay: r, log: slog.New(slog.DiscardHandler)}
			tap := &messageTap{m: m}
			st, err := grbl.ParseStatus("<Run|MPos:12.345,-67.890,-1.000|Bf:12,96|FS:1200,10000|WCO:0.000,0.000,-5.000|Ov:100,100,100|A:S>")
			if err != nil {
				b.Fatal(err)
			}
			st.At = time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				tap.handle(st)
			}
			b.StopTimer()
			hub.Close()
			for range subs {
				<-done
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/report")
		})
	}
}

type nopOutput struct{}

func (nopOutput) SetValue(int) error { return nil }
func (nopOutput) Close() error       { return nil }
