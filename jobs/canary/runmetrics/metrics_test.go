package runmetrics

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/jobs"
)

func mustProgram(t *testing.T, src string) *Program {
	t.Helper()
	p, err := NewProgram(strings.NewReader(src), "t.nc", gcode.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProgramFeeds(t *testing.T) {
	p := mustProgram(t, "G21 G90\nG0 X1\nG1 X2 F300\n(comment)\nX3\nG20\nG1 X0.2 F10\nG93 G1 X0.3 F2\nG94 G0 Z1\nM5\n")
	for _, tc := range []struct {
		after int
		want  float64
	}{
		{0, 0},   // next motion: line 2, a rapid
		{1, 0},   // line 2 rapid
		{2, 300}, // line 3 G1 F300
		{3, 300}, // line 5 (X3, modal G1 F300), skipping the comment
		{4, 300}, // line 5
		{5, 254}, // line 7: G20 F10 = 254 mm/min
		{7, 0},   // line 8: inverse time feed is not a rate
		{8, 0},   // line 9: rapid
		{9, 0},   // nothing moves after line 9
		{99, 0},  // past the end
		{-1, 0},  // before the start
	} {
		if got := p.FeedAfter(tc.after); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("FeedAfter(%d)=%v, want %v", tc.after, got, tc.want)
		}
	}
	if p.LastMotion() != 9 {
		t.Errorf("LastMotion=%d, want 9", p.LastMotion())
	}
	if (*Program)(nil).FeedAfter(3) != 0 || (*Program)(nil).LastMotion() != 0 {
		t.Error("a nil program has feeds")
	}
}

func TestProgramError(t *testing.T) {
	_, err := NewProgram(strings.NewReader("G21\nG1 X1 F100\nG5 X2\n"), "bad.nc", gcode.Options{})
	var de *gcode.DiagnosticError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "bad.nc:3") {
		t.Fatalf("err=%v, want a diagnostic naming bad.nc:3", err)
	}
}

// cut returns samples of a program of 1 mm G1 moves at feed (mm/min) run
// at speed × the feed, every 200 ms, from line 1 to last.
func cut(speed float64, last int, mod func(i int, s *jobs.Sample)) []jobs.Sample {
	var out []jobs.Sample
	for i := 0; ; i++ {
		t := time.Duration(i) * 200 * time.Millisecond
		mm := 600 * speed * t.Minutes()
		line := 1 + int(mm)
		if line > last {
			break
		}
		s := jobs.Sample{T: t, State: stateRun, MPos: [3]int32{int32(mm * 1000)}, Feed: int32(600 * speed),
			PlannerFree: 3, SourceLine: int32(line), Ov: [3]uint8{100, 100, 100}}
		if mod != nil {
			mod(i, &s)
		}
		out = append(out, s)
	}
	return out
}

func cutProgram(t *testing.T, n int) *Program {
	t.Helper()
	var b strings.Builder
	b.WriteString("G21 G90 G1 F600\n")
	for i := 1; i < n; i++ {
		b.WriteString("X" + itoa(i) + "\n")
	}
	return mustProgram(t, b.String())
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestPartition(t *testing.T) {
	base := cut(1, 60, nil) // 10 lines per second
	spans := Partition(base, nil, time.Second)
	if len(spans) < 5 {
		t.Fatalf("spans=%v", spans)
	}
	for i, sp := range spans {
		if sp.End <= sp.Start || (i > 0 && sp.Start != spans[i-1].End) {
			t.Fatalf("span %d %+v does not follow %v", i, sp, spans[:i])
		}
		if i < len(spans)-1 && (sp.Baseline < time.Second || sp.Baseline > 1200*time.Millisecond) {
			t.Errorf("span %d took %v, want about 1 s", i, sp.Baseline)
		}
	}
	if spans[0].Start != 0 || spans[len(spans)-1].End != int(base[len(base)-1].SourceLine)+1 {
		t.Errorf("spans %v do not cover lines 0..%d", spans, base[len(base)-1].SourceLine)
	}
	if Partition(nil, nil, time.Second) != nil {
		t.Error("spans without samples")
	}
	// A change of programmed feed cuts early (once a quarter of the target
	// has passed): lines 1-19 at F600, 21 on at F1200.
	var b strings.Builder
	b.WriteString("G21 G90 G1 F600\n")
	for i := 1; i < 60; i++ {
		if i == 19 {
			b.WriteString("F1200\n")
		}
		b.WriteString("X" + itoa(i) + "\n")
	}
	p := mustProgram(t, b.String())
	cutAt := map[int]bool{}
	for _, sp := range Partition(base, p, 4*time.Second) {
		cutAt[sp.End] = true
	}
	if !cutAt[20] && !cutAt[19] {
		t.Errorf("no window ends where the feed changes: %v", Partition(base, p, 4*time.Second))
	}
}

func TestWindowsMetrics(t *testing.T) {
	prog := cutProgram(t, 61)
	base := cut(1, 60, nil)
	x := &Extractor{Program: prog, Spans: Partition(base, prog, time.Second), PlannerBlocks: 15}
	bw := x.Windows(base, nil, true)
	if len(bw) != len(x.Spans) {
		t.Fatalf("%d baseline windows of %d spans", len(bw), len(x.Spans))
	}
	for _, w := range bw {
		if !w.Complete {
			t.Errorf("window %d-%d incomplete", w.Start, w.End)
		}
	}
	w := bw[1]
	if f := mean(w.Samples[FeedRatio]); math.Abs(f-100) > 0.5 {
		t.Errorf("feed_ratio at speed=%v, want 100", f)
	}
	if d := w.Samples[WindowDuration]; len(d) != 1 || math.Abs(d[0]-float64(x.Spans[1].Baseline/time.Millisecond)) > 1 {
		t.Errorf("window_duration_ms=%v, want %v", d, x.Spans[1].Baseline)
	}
	if f := mean(w.Samples[PlannerFill]); math.Abs(f-80) > 1e-9 {
		t.Errorf("planner_fill=%v, want 80 (12 of 15 blocks)", f)
	}
	if s := mean(w.Samples[SegmentDuration]); math.Abs(s-100) > 1 {
		t.Errorf("segment_duration_ms=%v, want 100 (1 mm at 600 mm/min)", s)
	}
	if a := w.Samples[AlarmErrors]; len(a) != 1 || a[0] != 0 {
		t.Errorf("alarm_error_count=%v", a)
	}
	if _, ok := w.Samples[SpindleMismatch]; ok {
		t.Error("spindle samples without sense data")
	}

	// The same program cut at 70 %, the feed override at 50 % for the
	// first half: feed_ratio divides the override out; durations are
	// scaled and the window's total muted where the override was on.
	slow := cut(0.7*0.5, 60, func(i int, s *jobs.Sample) { s.Ov[0] = 50 })
	ws := x.Windows(slow, nil, true)
	if f := mean(ws[1].Samples[FeedRatio]); math.Abs(f-70) > 0.5 {
		t.Errorf("feed_ratio with override 50 %%=%v, want 70", f)
	}
	if s := mean(ws[1].Samples[SegmentDuration]); math.Abs(s-100/0.7) > 0.05*100/0.7 { // report-interval quantisation
		t.Errorf("segment_duration_ms with override 50 %%=%v, want %v", s, 100/0.7)
	}
	if len(ws[1].Muted) != 1 || ws[1].Muted[0] != WindowDuration || ws[1].Samples[WindowDuration] != nil {
		t.Errorf("muted=%v samples=%v, want window_duration_ms muted", ws[1].Muted, ws[1].Samples[WindowDuration])
	}
	rapid := cut(1, 60, func(i int, s *jobs.Sample) { s.Ov[1] = 25 })
	if ws := x.Windows(rapid, nil, true); len(ws[1].Samples[SegmentDuration]) != 0 || len(ws[1].Muted) != 2 {
		t.Errorf("rapid override: muted=%v segment samples=%d, want both timing metrics muted", ws[1].Muted, len(ws[1].Samples[SegmentDuration]))
	}
}

func TestWindowsProgress(t *testing.T) {
	prog := cutProgram(t, 61)
	base := cut(1, 60, nil)
	x := &Extractor{Program: prog, Spans: Partition(base, prog, time.Second)}
	// A run stopped after 2.5 s in: the windows it passed are complete,
	// the one it is in is not reported yet.
	run := cut(1, 60, nil)[:13]
	ws := x.Windows(run, nil, false)
	for _, w := range ws {
		if !w.Complete || w.End > int(run[len(run)-1].SourceLine) {
			t.Errorf("window %d-%d complete=%v, last line %d", w.Start, w.End, w.Complete, run[len(run)-1].SourceLine)
		}
	}
	// A stall: positions stop, time goes on; past 1.5× the baseline's
	// window duration the window is reported, incomplete, with its
	// feed_ratio samples at 0.
	stall := append([]jobs.Sample(nil), run...)
	last := stall[len(stall)-1]
	for i := 1; i <= 10; i++ {
		s := last
		s.T += time.Duration(i) * 200 * time.Millisecond
		s.Feed = 0
		stall = append(stall, s)
	}
	ws = x.Windows(stall, nil, false)
	cur := ws[len(ws)-1]
	if cur.Complete || cur.Duration < 2*time.Second {
		t.Fatalf("stalled window %+v, want incomplete and overdue", cur)
	}
	zeros := 0
	for _, f := range cur.Samples[FeedRatio] {
		if f == 0 {
			zeros++
		}
	}
	if zeros < 9 {
		t.Errorf("stalled window feed_ratio=%v, want the stall's zeros", cur.Samples[FeedRatio])
	}
}

func TestWindowsSenseAlarmsDrift(t *testing.T) {
	prog := cutProgram(t, 61)
	base := cut(1, 60, nil)
	x := &Extractor{Program: prog, Spans: Partition(base, prog, time.Second)}
	// Commanded on at sample 3, sensed on from sample 6 (600 ms later); an
	// alarm from sample 20.
	run := cut(1, 60, func(i int, s *jobs.Sample) {
		s.Relay = relayHasSense
		if i >= 3 {
			s.Relay |= relayCommanded
		}
		if i >= 6 {
			s.Relay |= relaySensed
		}
		if i >= 20 {
			s.State = stateAlarm
		}
	})
	drift := []DriftSample{{Line: 5, DriftUM: -12}, {Line: 25, DriftUM: 3}}
	ws := x.Windows(run, drift, true)
	var mismatch, latency, alarms float64
	var dz []float64
	for _, w := range ws {
		for _, v := range w.Samples[SpindleMismatch] {
			mismatch += v
		}
		for _, v := range w.Samples[SenseLatency] {
			latency += v
		}
		alarms += w.Samples[AlarmErrors][0]
		dz = append(dz, w.Samples[ZDrift]...)
	}
	if mismatch != 600 || latency != 600 {
		t.Errorf("mismatch %v ms, latency %v ms, want 600 and 600", mismatch, latency)
	}
	if alarms != 1 {
		t.Errorf("alarms=%v, want 1", alarms)
	}
	if len(dz) != 2 || dz[0] != 12 || dz[1] != DriftFloorUM {
		t.Errorf("z_drift_um=%v, want [12 %v] (absolute, 3 µm raised to the floor)", dz, DriftFloorUM)
	}
}
