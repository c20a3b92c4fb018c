package cmd

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/relay"
	"github.com/kerf-cnc/kerf/web"
)

// machineStates are GRBL's state words, each a kerf_machine_state series
// (1 for the current one, 0 for the others; all 0 while disconnected).
var machineStates = []grbl.State{
	grbl.StateIdle, grbl.StateRun, grbl.StateHold, grbl.StateJog, grbl.StateAlarm,
	grbl.StateDoor, grbl.StateCheck, grbl.StateHome, grbl.StateSleep,
}

// axisNames label the position series in report order.
var axisNames = []string{"x", "y", "z", "a", "b", "c"}

// metrics adds the daemon's own families to the web server's (which
// already exposes kerf_events_published_total from the hub: a second family
// of that name was refused at every scrape and counted as an error).
//
// It never talks to the board: the machine families come from the cached
// status (the last report the link's poller received), the relay's from the
// router's state, the run's from the store. A store read that fails leaves
// the run's families out (logged) rather than failing the whole scrape.
func (d *daemon) metrics(ctx context.Context) ([]web.MetricFamily, error) {
	fams := machineFamilies(d.machine.Status())
	if conn, _, err := d.machine.Conn(); err == nil {
		fams = append(fams, serialFamilies(conn.Counters())...)
	}
	fams = append(fams, relayFamilies(d.runner.RelayStatus())...)

	fams = append(fams, d.lastRunFamilies(ctx)...)
	id := d.runner.ActiveRun()
	fams = append(fams, gauge("kerf_run_active", "1 while a run is running or paused.", boolValue(id != 0)))
	if id != 0 {
		run, err := d.store.Run(ctx, id)
		if err != nil {
			d.log.Warn("metrics: active run left out", "run", id, "err", err)
			return fams, nil
		}
		fams = append(fams, d.runFamilies(ctx, run)...)
	}
	return fams, nil
}

// machineFamilies reports the link and the latest status report.
func machineFamilies(st machine.Status) []web.MetricFamily {
	fams := []web.MetricFamily{
		gauge("kerf_machine_connected", "1 while a GRBL board is connected and answering.", boolValue(st.Connected)),
		gauge("kerf_machine_homed", "1 once the machine completed homing since the link came up and has not lost its position since.", boolValue(st.Homed)),
		gauge("kerf_machine_alarm", "1 while the board is in alarm.", boolValue(st.Alarm != nil)),
	}
	state := web.MetricFamily{Name: "kerf_machine_state", Help: "GRBL's machine state: 1 for the current state, 0 for the others (all 0 while disconnected).", Type: web.Gauge}
	for _, s := range machineStates {
		state.Samples = append(state.Samples, web.Sample{
			Labels: []web.Label{{Name: "state", Value: strings.ToLower(string(s))}},
			Value:  boolValue(st.Connected && st.Report.State == string(s)),
		})
	}
	fams = append(fams, state)
	rep := st.Report
	if !st.Connected || rep.At.IsZero() {
		return fams // no report yet: positions and buffers are unknown, not 0
	}
	pos := web.MetricFamily{Name: "kerf_machine_position_mm", Help: "Position in millimetres per axis, in the machine frame (MPos) and the work frame (WPos).", Type: web.Gauge}
	for _, f := range []struct {
		frame string
		v     []float64
	}{{"machine", rep.MPos}, {"work", rep.WPos}} {
		for i, v := range f.v {
			if i >= len(axisNames) {
				break
			}
			pos.Samples = append(pos.Samples, web.Sample{Labels: []web.Label{{Name: "axis", Value: axisNames[i]}, {Name: "frame", Value: f.frame}}, Value: v})
		}
	}
	fams = append(fams,
		pos,
		gauge("kerf_machine_feed_mm_per_minute", "Actual feed rate in mm/min, as the board reports it.", rep.Feed),
		gauge("kerf_machine_spindle_rpm", "Spindle speed in RPM, as the board reports it.", rep.Speed),
		gauge("kerf_machine_planner_free_blocks", "Free blocks in GRBL's planner buffer (Bf:).", float64(rep.PlannerFree)),
		gauge("kerf_machine_rx_free_bytes", "Free bytes in GRBL's serial receive buffer (Bf:).", float64(rep.RXFree)),
	)
	if o := rep.Overrides; o != (machine.Overrides{}) { // zero before GRBL first reported them
		fams = append(fams, web.MetricFamily{
			Name: "kerf_machine_override_percent", Help: "Feed, rapid and spindle overrides in percent.", Type: web.Gauge,
			Samples: []web.Sample{
				{Labels: []web.Label{{Name: "kind", Value: "feed"}}, Value: float64(o.Feed)},
				{Labels: []web.Label{{Name: "kind", Value: "rapid"}}, Value: float64(o.Rapid)},
				{Labels: []web.Label{{Name: "kind", Value: "spindle"}}, Value: float64(o.Spindle)},
			},
		})
	}
	return fams
}

// relayFamilies reports the router relay; nothing in mode none.
func relayFamilies(st relay.Status) []web.MetricFamily {
	var fams []web.MetricFamily
	if st.Commanded != nil {
		fams = append(fams, gauge("kerf_relay_commanded", "1 while kerf commands (drive) or expects (sense) the router on.", boolValue(*st.Commanded)))
	}
	if st.Sensed != nil {
		fams = append(fams, gauge("kerf_relay_sensed", "1 while the sense input reads the router running.", boolValue(*st.Sensed)))
	}
	return fams
}

// runFamilies reports the active run's progress as stored, its latest
// drift checkpoint and its canary score when it has them.
func (d *daemon) runFamilies(ctx context.Context, run jobs.Run) []web.MetricFamily {
	fams := []web.MetricFamily{
		gauge("kerf_run_lines_acked", "Last source line of the active run GRBL acknowledged.", float64(run.LastAckedLine)),
		gauge("kerf_run_lines_executed", "Last source line of the active run known to have executed.", float64(run.LastExecutedLine)),
		gauge("kerf_run_lines_sent", "Lines of the active run streamed to the board.", float64(run.Summary.LinesSent)),
		gauge("kerf_run_errors", "GRBL error:N responses counted in the active run.", float64(run.Summary.Errors)),
		gauge("kerf_run_alarms", "GRBL alarms counted in the active run.", float64(run.Summary.Alarms)),
	}
	if job, err := d.store.Job(ctx, run.JobID); err != nil {
		d.log.Warn("metrics: the active run's job left out", "run", run.ID, "job", run.JobID, "err", err)
	} else {
		fams = append(fams, gauge("kerf_run_lines_total", "Source lines of the active run's program.", float64(job.Lines)))
	}
	if cps, err := d.store.Checkpoints(ctx, run.ID); err != nil {
		d.log.Warn("metrics: the active run's drift left out", "run", run.ID, "err", err)
	} else if cp, ok := latestMeasured(cps); ok {
		fams = append(fams, gauge("kerf_run_drift_micrometres", "Z drift of the active run's latest successful probe checkpoint against its reference, in micrometres.", cp.DriftUM))
	}
	if score, ok := verdictScore(run.Summary.Verdict); ok {
		fams = append(fams, gauge("kerf_run_canary_score", "Score (0-100) of the active run's canary verdict.", score))
	}
	return fams
}

// lastRunFamilies reports the canary score of the most recent ended run
// (the runner stores a run's final verdict as the run ends, so the active
// run rarely has one); nothing when that run was not judged.
func (d *daemon) lastRunFamilies(ctx context.Context) []web.MetricFamily {
	runs, err := d.store.Runs(ctx, jobs.RunFilter{
		States: []jobs.RunState{jobs.StateCompleted, jobs.StateAborted, jobs.StateFailed, jobs.StateInterrupted},
		Page:   jobs.Page{Limit: 1},
	})
	if err != nil {
		d.log.Warn("metrics: the last run's verdict left out", "err", err)
		return nil
	}
	if len(runs) == 0 {
		return nil
	}
	score, ok := verdictScore(runs[0].Summary.Verdict)
	if !ok {
		return nil
	}
	return []web.MetricFamily{gauge("kerf_last_run_canary_score", "Score (0-100) of the canary verdict of the most recent ended run.", score)}
}

// latestMeasured is the last checkpoint that measured a Z.
func latestMeasured(cps []jobs.Checkpoint) (jobs.Checkpoint, bool) {
	for i := len(cps) - 1; i >= 0; i-- {
		if cps[i].OK() {
			return cps[i], true
		}
	}
	return jobs.Checkpoint{}, false
}

// verdictScore reads the score out of a stored canary verdict (Kayenta's
// result shape: {"score": {"score": N, …}, …}); false when there is none.
func verdictScore(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var v struct {
		Score struct {
			Score *float64 `json:"score"`
		} `json:"score"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Score.Score == nil {
		return 0, false
	}
	return *v.Score.Score, true
}

// serialFamilies reports the serial link's traffic and the board's
// error:N replies and alarms since the link came up (a reconnect starts
// them again at 0, which Prometheus's rate() takes as a counter reset).
func serialFamilies(c grbl.Counters) []web.MetricFamily {
	counter := func(name, help string, v uint64) web.MetricFamily {
		return web.MetricFamily{Name: name, Help: help, Type: web.Counter, Samples: []web.Sample{{Value: float64(v)}}}
	}
	return []web.MetricFamily{
		counter("kerf_serial_written_bytes_total", "Bytes written to the board (lines and real-time bytes) since the link came up.", c.BytesWritten),
		counter("kerf_serial_read_bytes_total", "Bytes read from the board since the link came up.", c.BytesRead),
		counter("kerf_serial_written_lines_total", "Lines written to the board since the link came up.", c.LinesWritten),
		counter("kerf_serial_read_lines_total", "Lines received from the board since the link came up.", c.LinesRead),
		counter("kerf_grbl_errors_total", "error:N replies from the board since the link came up.", c.Errors),
		counter("kerf_grbl_alarms_total", "ALARM:N messages from the board since the link came up.", c.Alarms),
	}
}

// gauge is a family with one unlabelled sample.
func gauge(name, help string, v float64) web.MetricFamily {
	return web.MetricFamily{Name: name, Help: help, Type: web.Gauge, Samples: []web.Sample{{Value: v}}}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
