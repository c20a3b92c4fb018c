package cmd

import (
	"context"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/relay"
	"github.com/kerf-cnc/kerf/web"
)

// scrape parses the Prometheus text into series ("name{labels}") → value,
// and the set of families named by # TYPE lines.
func scrape(t *testing.T, text string) (series map[string]float64, families map[string]string) {
	t.Helper()
	series, families = map[string]float64{}, map[string]string{}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			families[name] = typ
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("metrics line without a value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	return series, families
}

// TestDaemonMetricsOnSim runs the composition root on the simulator, homes
// it, jogs X and scrapes /metrics: the machine families carry the cached
// report (the jogged position among them), the relay's are there in drive
// mode, the run's are absent without a run and present during one, and
// the web server's naming check refused nothing.
func TestDaemonMetricsOnSim(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon on the simulator in real time")
	}
	cfg := faultConfig(t)
	r := &faultRig{t: t, ctx: context.Background(), cfg: cfg, log: &lockedBuffer{}}
	d, err := openDaemon(r.ctx, IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: r.log}, cfg, &serveOptions{})
	if err != nil {
		t.Fatalf("openDaemon: %v\n%s", err, r.log)
	}
	r.d = d
	t.Cleanup(func() {
		if err := d.close(); err != nil {
			t.Errorf("daemon close: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", r.log)
		}
	})
	r.c = web.NewSocketClient(filepath.Join(cfg.DataDir, SocketFile))
	t.Cleanup(r.c.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	if err := r.c.Home(ctx); err != nil {
		t.Fatalf("home: %v", err)
	}
	conn, _, err := d.machine.Conn()
	if err != nil {
		t.Fatal(err)
	}
	idle := func(s grbl.Status) bool { return s.State == grbl.StateIdle && len(s.MPos) == 3 }
	home, err := conn.WaitStatus(ctx, idle)
	if err != nil {
		t.Fatalf("wait for idle after homing: %v", err)
	}
	dx := -10.0
	if err := r.c.Jog(ctx, web.JogRequest{X: &dx, Feed: 3000, Incremental: true}); err != nil {
		t.Fatalf("jog: %v", err)
	}
	wantX := home.MPos[0] + dx
	if _, err := conn.WaitStatus(ctx, func(s grbl.Status) bool {
		return idle(s) && math.Abs(s.MPos[0]-wantX) < 0.001
	}); err != nil {
		t.Fatalf("wait for the jog to end at X %.3f: %v", wantX, err)
	}

	series, families := scrape(t, r.metrics())
	for _, name := range []string{
		"kerf_machine_connected", "kerf_machine_homed", "kerf_machine_alarm", "kerf_machine_state",
		"kerf_machine_position_mm", "kerf_machine_feed_mm_per_minute", "kerf_machine_spindle_rpm",
		"kerf_machine_planner_free_blocks", "kerf_machine_rx_free_bytes", "kerf_machine_override_percent",
		"kerf_relay_commanded", "kerf_run_active",
	} {
		if families[name] != "gauge" {
			t.Errorf("family %s: type %q, want gauge", name, families[name])
		}
	}
	for _, name := range []string{"kerf_serial_written_bytes_total", "kerf_serial_read_bytes_total", "kerf_serial_written_lines_total",
		"kerf_serial_read_lines_total", "kerf_grbl_errors_total", "kerf_grbl_alarms_total"} {
		if families[name] != "counter" {
			t.Errorf("family %s: type %q, want counter", name, families[name])
		}
	}
	if series["kerf_serial_written_lines_total"] < 3 || series["kerf_serial_read_bytes_total"] <= 0 {
		t.Errorf("serial counters after homing and a jog: %v lines written, %v bytes read", series["kerf_serial_written_lines_total"], series["kerf_serial_read_bytes_total"])
	}
	for _, name := range []string{"kerf_run_lines_acked", "kerf_run_lines_total", "kerf_run_drift_micrometres", "kerf_run_canary_score"} {
		if _, ok := families[name]; ok {
			t.Errorf("family %s present without an active run", name)
		}
	}
	idleWant := map[string]float64{
		`kerf_machine_connected`:                             1,
		`kerf_machine_homed`:                                 1,
		`kerf_machine_alarm`:                                 0,
		`kerf_machine_state{state="idle"}`:                   1,
		`kerf_machine_state{state="run"}`:                    0,
		`kerf_machine_state{state="alarm"}`:                  0,
		`kerf_machine_position_mm{axis="x",frame="machine"}`: wantX,
		`kerf_machine_position_mm{axis="y",frame="machine"}`: home.MPos[1],
		`kerf_machine_position_mm{axis="z",frame="machine"}`: home.MPos[2],
		`kerf_machine_feed_mm_per_minute`:                    0,
		`kerf_machine_override_percent{kind="feed"}`:         100,
		`kerf_machine_override_percent{kind="rapid"}`:        100,
		`kerf_machine_override_percent{kind="spindle"}`:      100,
		`kerf_relay_commanded`:                               0,
		`kerf_run_active`:                                    0,
		`kerf_metrics_errors_total`:                          0,
	}
	check := func(t *testing.T, want map[string]float64) {
		t.Helper()
		for k, w := range want {
			got, ok := series[k]
			if !ok {
				t.Errorf("%s missing", k)
			} else if math.Abs(got-w) > 0.0005 {
				t.Errorf("%s = %v, want %v", k, got, w)
			}
		}
	}
	t.Run("idle after a jog", func(t *testing.T) {
		check(t, idleWant)
		if _, ok := series[`kerf_machine_position_mm{axis="x",frame="work"}`]; !ok {
			t.Error("no work-frame X position")
		}
		if series["kerf_machine_planner_free_blocks"] <= 0 || series["kerf_machine_rx_free_bytes"] <= 0 {
			t.Errorf("buffers: planner %v blocks, rx %v bytes free; want both > 0 when idle",
				series["kerf_machine_planner_free_blocks"], series["kerf_machine_rx_free_bytes"])
		}
	})

	t.Run("during a run", func(t *testing.T) {
		job, run := r.startMidJob() // relay on, more than 20 lines acknowledged and stored
		series, families = scrape(t, r.metrics())
		check(t, map[string]float64{
			`kerf_run_active`:           1,
			`kerf_run_lines_total`:      float64(job.Lines),
			`kerf_relay_commanded`:      1,
			`kerf_metrics_errors_total`: 0,
		})
		if job.Lines != zigzagLines(400) {
			t.Errorf("job lines = %d, want %d", job.Lines, zigzagLines(400))
		}
		acked, executed := series["kerf_run_lines_acked"], series["kerf_run_lines_executed"]
		if acked <= 20 || acked > float64(job.Lines) || executed > acked {
			t.Errorf("run lines: acked %v, executed %v of %d; want 20 < acked <= total and executed <= acked", acked, executed, job.Lines)
		}
		if _, ok := families["kerf_run_drift_micrometres"]; ok {
			t.Error("drift reported for a run without drift checkpoints")
		}
		if _, err := r.c.AbortRun(r.ctx, run.ID); err != nil {
			t.Fatalf("abort: %v", err)
		}
		r.wait(run.ID)
		series, _ = scrape(t, r.metrics())
		check(t, map[string]float64{`kerf_run_active`: 0, `kerf_relay_commanded`: 0, `kerf_metrics_errors_total`: 0})
		if _, ok := series["kerf_run_lines_total"]; ok {
			t.Error("run lines still reported after the run ended")
		}
	})
}

func TestVerdictScore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		raw   string
		want  float64
		found bool
	}{
		{"none", "", 0, false},
		{"kayenta shape", `{"judgeName":"NetflixACAJudge-v1.0","score":{"score":87.5,"classification":"Marginal"}}`, 87.5, true},
		{"null score", `{"score":{"score":null}}`, 0, false},
		{"not json", `{`, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := verdictScore([]byte(tc.raw))
			if got != tc.want || ok != tc.found {
				t.Errorf("verdictScore(%s) = %v, %v; want %v, %v", tc.raw, got, ok, tc.want, tc.found)
			}
		})
	}
}

// BenchmarkDaemonMetrics measures the daemon's own families on a connected
// simulator with a finished run in the store: what every /metrics scrape
// adds to the web server's families.
func BenchmarkDaemonMetrics(b *testing.B) {
	cfg := DefaultConfig()
	cfg.DataDir = b.TempDir()
	cfg.Sim = true
	cfg.SimSpeed = faultSpeed
	cfg.RelayMode = "drive"
	cfg.LogLevel = "error"
	ctx := context.Background()
	d, err := openDaemon(ctx, IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, cfg, &serveOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.close()
	c := web.NewSocketClient(filepath.Join(cfg.DataDir, SocketFile))
	defer c.CloseIdleConnections()
	if err := c.Home(ctx); err != nil {
		b.Fatalf("home: %v", err)
	}
	job, err := d.runner.AddJob(ctx, "short.nc", strings.NewReader("G21 G90\nG0 X1\nM30\n"))
	if err != nil {
		b.Fatal(err)
	}
	run, err := d.runner.StartJob(ctx, job.ID, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.runner.Wait(ctx, run.ID); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		fams, err := d.metrics(ctx)
		if err != nil || len(fams) == 0 {
			b.Fatalf("metrics = %d families, %v", len(fams), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/scrape")
}

func TestMachineAndRelayFamilies(t *testing.T) {
	on, off := true, false
	names := func(fams []web.MetricFamily) string {
		var out []string
		for _, f := range fams {
			out = append(out, f.Name)
		}
		return strings.Join(out, ",")
	}
	t.Run("disconnected: no report families, every state 0", func(t *testing.T) {
		fams := machineFamilies(machine.Status{Port: "sim", LastError: "no board"})
		if got, want := names(fams), "kerf_machine_connected,kerf_machine_homed,kerf_machine_alarm,kerf_machine_state"; got != want {
			t.Fatalf("families %s, want %s", got, want)
		}
		for _, s := range fams[3].Samples {
			if s.Value != 0 {
				t.Errorf("state %v = %v while disconnected", s.Labels, s.Value)
			}
		}
	})
	t.Run("connected before any report overrides", func(t *testing.T) {
		fams := machineFamilies(machine.Status{Connected: true, Report: machine.Report{State: "Hold", MPos: []float64{1, 2, 3}, At: time.Unix(1, 0)}})
		if got := names(fams); strings.Contains(got, "override") || !strings.Contains(got, "kerf_machine_position_mm") {
			t.Errorf("families %s: want positions and no overrides", got)
		}
		for _, s := range fams[3].Samples {
			if want := boolValue(s.Labels[0].Value == "hold"); s.Value != want {
				t.Errorf("state %s = %v, want %v", s.Labels[0].Value, s.Value, want)
			}
		}
	})
	for _, tc := range []struct {
		name string
		st   relay.Status
		want string
		vals []float64
	}{
		{"mode none", relay.Status{Mode: "none"}, "", nil},
		{"drive", relay.Status{Mode: "drive", Commanded: &on}, "kerf_relay_commanded", []float64{1}},
		{"sense, router running uncommanded", relay.Status{Mode: "sense", Commanded: &off, Sensed: &on}, "kerf_relay_commanded,kerf_relay_sensed", []float64{0, 1}},
	} {
		t.Run("relay "+tc.name, func(t *testing.T) {
			fams := relayFamilies(tc.st)
			if got := names(fams); got != tc.want {
				t.Fatalf("families %q, want %q", got, tc.want)
			}
			for i, f := range fams {
				if f.Samples[0].Value != tc.vals[i] {
					t.Errorf("%s = %v, want %v", f.Name, f.Samples[0].Value, tc.vals[i])
				}
			}
		})
	}
}
