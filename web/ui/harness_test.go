package ui_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// harness is the daemon the browser tests talk to: a real web.Server (API,
// login sessions, websocket, event hub, and the embedded panel it serves), with the job, run and
// machine services played by the webtest fakes over a small in-memory
// state. Uploads are checked by the real gcode checker against the 3018
// PRO profile. A second server, the control plane, lets the browser tests
// publish events, change the machine status, read the calls the panel
// made and cut the connection.
type harness struct {
	t       testing.TB
	hub     *events.Hub
	profile gcode.Settings

	mu        sync.Mutex
	status    web.MachineStatus
	jobList   []jobs.Job
	runs      []jobs.Run
	nextID    jobs.ID
	calls     []string
	wsQueries []string
	offline   bool
	conns     map[net.Conn]struct{}
	extra     extraState
	bodies    webtest.ProgramDir

	api     *httptest.Server
	control *httptest.Server
}

// newHarness starts both servers; they stop in t.Cleanup.
func newHarness(t testing.TB) *harness {
	t.Helper()
	profile, err := gcode.ProfileSettings("3018pro")
	if err != nil {
		t.Fatalf("profile 3018pro: %v", err)
	}
	h := &harness{
		t:       t,
		hub:     events.NewHub(events.Options{}),
		profile: profile,
		nextID:  1,
		conns:   map[net.Conn]struct{}{},
		status: web.MachineStatus{
			Connected: true, Port: "sim", State: "Idle", SubState: -1,
			MPos: []float64{-150, -90, -5}, WPos: []float64{0, 0, 0}, WCO: []float64{-150, -90, -5},
			Overrides: web.Overrides{Feed: 100, Rapid: 100, Spindle: 100},
			Relay:     web.RelayStatus{Mode: "sense", Sensed: new(bool)},
		},
	}
	t.Cleanup(h.hub.Close)
	h.bodies = webtest.ProgramDir(t.TempDir())
	h.initExtras()

	srv := web.NewServer()
	// Every browser test file logs in from 127.0.0.1 (the panel test twice,
	// a wrong password first): the default burst of 5 ran out on a slow CI
	// run and the 360 px suite met 429s. The limiter has its own tests in
	// web; here it only has to stay out of the way.
	srv.LoginBurst = 1000
	srv.Jobs = &webtest.JobService{T: t, AddJobFn: h.addJob, JobFn: h.job, JobsFn: h.jobs, DeleteJobFn: h.deleteJob, StartJobFn: h.startJob}
	srv.Runs = &webtest.RunService{T: t, RunFn: h.run, RunsFn: h.listRuns, PauseRunFn: h.transition(jobs.StatePaused, "Hold"),
		ResumeRunFn: h.transition(jobs.StateRunning, "Run"), AbortRunFn: h.transition(jobs.StateAborted, "Idle"), TelemetryFn: h.telemetry}
	srv.Machine = &webtest.MachineService{T: t,
		StatusFn:     h.machineStatus,
		HomeFn:       h.record("home", "Idle"),
		UnlockFn:     h.record("unlock", "Idle"),
		ResetFn:      h.record("reset", ""),
		FeedHoldFn:   h.record("hold", "Hold"),
		CycleStartFn: h.record("resume", "Run"),
		JogCancelFn:  h.record("jog_cancel", ""),
		JogFn: func(_ context.Context, j web.JogRequest) error {
			b, _ := json.Marshal(j)
			h.addCall("jog " + string(b))
			return nil
		},
		OverrideFn: func(_ context.Context, o web.OverrideRequest) error {
			h.addCall("override " + o.Target + " " + o.Op)
			return nil
		},
		SettingsFn: h.settings,
	}
	srv.Events = h.hub
	srv.Offsets = &webtest.OffsetService{T: t, OffsetsFn: h.offsets, ZeroAxesFn: h.zeroAxes}
	srv.Programs = h.bodies
	srv.Drift = harnessDrift{h}
	srv.Canary = h.canaryService()
	srv.Relay = &webtest.RelayService{T: t, RelayStatusFn: h.relayStatus, RelayOnFn: h.relaySwitch(true), RelayOffFn: h.relaySwitch(false)}
	authenticate(t, srv)

	// The server serves the panel itself (the embedded ui.FS, SPA fallback)
	// next to the API, as the daemon does.
	h.api = httptest.NewUnstartedServer(h.gate(h.extras(apiHandler(srv))))
	// Track every connection, websockets (hijacked) included, so going
	// offline can cut them all.
	h.api.Config.ConnState = func(c net.Conn, st http.ConnState) {
		h.mu.Lock()
		defer h.mu.Unlock()
		switch st {
		case http.StateNew:
			h.conns[c] = struct{}{}
		case http.StateClosed:
			delete(h.conns, c)
		}
	}
	h.api.Start()
	t.Cleanup(h.api.Close)
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("web server close: %v", err)
		}
	})
	h.control = httptest.NewServer(h.controlHandler())
	t.Cleanup(h.control.Close)
	return h
}

// gate answers 503 while the harness is offline and records the query of
// every websocket request.
func (h *harness) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		off := h.offline
		if r.URL.Path == "/api/v1/ws" && !off {
			h.wsQueries = append(h.wsQueries, r.URL.RawQuery)
		}
		h.mu.Unlock()
		if off {
			http.Error(w, `{"error":{"code":"unavailable","message":"harness offline"}}`, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *harness) addCall(c string) {
	h.mu.Lock()
	h.calls = append(h.calls, c)
	h.mu.Unlock()
}

// record returns a machine action that logs its name and, when state is
// set, moves the machine to that state and publishes the status.
func (h *harness) record(name, state string) func(context.Context) error {
	return func(context.Context) error {
		h.addCall(name)
		if state != "" {
			h.mu.Lock()
			h.status.State, h.status.Alarm = state, nil
			st := h.snapshot()
			h.mu.Unlock()
			h.hub.Publish("machine.status", report(st))
		}
		return nil
	}
}

// report is a status as the daemon publishes it on machine.status: the
// board's status report (jobs/machine.Report), not the API's
// MachineStatus.
func report(st web.MachineStatus) machine.Report {
	return machine.Report{State: st.State, SubState: st.SubState, MPos: st.MPos, WPos: st.WPos, WCO: st.WCO,
		Feed: st.Feed, Speed: st.Spindle, At: st.Updated,
		Overrides: machine.Overrides{Feed: st.Overrides.Feed, Rapid: st.Overrides.Rapid, Spindle: st.Overrides.Spindle}}
}

// runEvent is the data of run.state events, as the runner publishes it.
type runEvent struct {
	Run    jobs.ID       `json:"run"`
	Job    jobs.ID       `json:"job"`
	State  jobs.RunState `json:"state"`
	Reason string        `json:"reason,omitempty"`
}

func (h *harness) publishRun(r jobs.Run) {
	h.hub.Publish("run.state", runEvent{Run: r.ID, Job: r.JobID, State: r.State, Reason: r.Reason})
}

// snapshot copies the status; h.mu is held.
func (h *harness) snapshot() web.MachineStatus {
	st := h.status
	st.Updated = time.Now().UTC()
	return st
}

func (h *harness) machineStatus(context.Context) (web.MachineStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snapshot(), nil
}

func (h *harness) settings(context.Context) ([]web.Setting, error) {
	var out []web.Setting
	for _, n := range []int{20, 22, 23, gcode.SetTravelX, gcode.SetTravelX + 1, gcode.SetTravelX + 2} {
		out = append(out, web.Setting{Number: n, Value: strconv.FormatFloat(h.profile.Get(n), 'f', 3, 64)})
	}
	return out, nil
}

func (h *harness) addJob(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("read upload: %w", err)
	}
	if len(data) == 0 {
		return jobs.Job{}, fmt.Errorf("upload %s: %w", name, jobs.ErrEmpty)
	}
	rep, err := gcode.Check(bytes.NewReader(data), name, gcode.Options{Settings: h.profile})
	if err != nil {
		return jobs.Job{}, fmt.Errorf("check %s: %w", name, err)
	}
	if rep.Errors > 0 {
		return jobs.Job{}, &web.ProgramError{File: name, Diags: rep.Diagnostics}
	}
	check, err := json.Marshal(rep)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("encode check report: %w", err)
	}
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	if err := h.storeBody(sha, data); err != nil {
		return jobs.Job{}, fmt.Errorf("store %s: %w", name, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	j := jobs.Job{ID: h.nextID, Name: name, SHA256: sha, Size: int64(len(data)), Lines: rep.Lines, Created: time.Now().UTC(), Check: check}
	h.nextID++
	h.jobList = append([]jobs.Job{j}, h.jobList...)
	return j, nil
}

func (h *harness) job(_ context.Context, id jobs.ID) (jobs.Job, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, j := range h.jobList {
		if j.ID == id {
			return j, nil
		}
	}
	return jobs.Job{}, fmt.Errorf("job %s: %w", id, jobs.ErrNotFound)
}

func (h *harness) jobs(context.Context, jobs.Page) ([]jobs.Job, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]jobs.Job(nil), h.jobList...), nil
}

func (h *harness) deleteJob(_ context.Context, id jobs.ID) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, j := range h.jobList {
		if j.ID == id {
			h.jobList = append(h.jobList[:i], h.jobList[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("job %s: %w", id, jobs.ErrNotFound)
}

// startJob queues and at once starts a run: the machine goes to Run and the
// run's state is published. Progress comes from the tests' events.
func (h *harness) startJob(_ context.Context, id jobs.ID, from int) (jobs.Run, error) {
	h.mu.Lock()
	var job *jobs.Job
	for i := range h.jobList {
		if h.jobList[i].ID == id {
			job = &h.jobList[i]
		}
	}
	switch {
	case job == nil:
		h.mu.Unlock()
		return jobs.Run{}, fmt.Errorf("job %s: %w", id, jobs.ErrNotFound)
	case from > job.Lines:
		h.mu.Unlock()
		return jobs.Run{}, fmt.Errorf("start job %s: line %d is past the end (%d lines): %w", id, from, job.Lines, jobs.ErrInvalid)
	case h.status.State == "Alarm":
		h.mu.Unlock()
		return jobs.Run{}, fmt.Errorf("start job %s: machine in alarm: %w", id, jobs.ErrBusy)
	}
	for _, r := range h.runs {
		if r.State.Active() || r.State == jobs.StateQueued {
			h.mu.Unlock()
			return jobs.Run{}, fmt.Errorf("start job %s: run %s is %s: %w", id, r.ID, r.State, jobs.ErrBusy)
		}
	}
	now := time.Now().UTC()
	run := jobs.Run{ID: h.nextID, JobID: id, Machine: "sim", State: jobs.StateRunning, Created: now, Started: now, FromLine: from}
	h.nextID++
	h.runs = append([]jobs.Run{run}, h.runs...)
	h.status.State, h.status.ActiveRun = "Run", run.ID
	st := h.snapshot()
	h.calls = append(h.calls, fmt.Sprintf("start job %s run %s from %d", id, run.ID, from))
	h.mu.Unlock()
	h.publishRun(run)
	h.hub.Publish("machine.status", report(st))
	return run, nil
}

func (h *harness) run(_ context.Context, id jobs.ID) (jobs.Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.runs {
		if r.ID == id {
			return r, nil
		}
	}
	return jobs.Run{}, fmt.Errorf("run %s: %w", id, jobs.ErrNotFound)
}

func (h *harness) listRuns(context.Context, jobs.RunFilter) ([]jobs.Run, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]jobs.Run(nil), h.runs...), nil
}

// transition moves a run to state (checking the run state machine) and the
// machine to machineState, and publishes both.
func (h *harness) transition(to jobs.RunState, machineState string) func(context.Context, jobs.ID) (jobs.Run, error) {
	return func(_ context.Context, id jobs.ID) (jobs.Run, error) {
		h.mu.Lock()
		var run *jobs.Run
		for i := range h.runs {
			if h.runs[i].ID == id {
				run = &h.runs[i]
			}
		}
		if run == nil {
			h.mu.Unlock()
			return jobs.Run{}, fmt.Errorf("run %s: %w", id, jobs.ErrNotFound)
		}
		next, err := run.State.Transition(to)
		if err != nil {
			h.mu.Unlock()
			return jobs.Run{}, fmt.Errorf("run %s: %w", id, err)
		}
		run.State = next
		if next == jobs.StateRunning {
			run.Reason = ""
		}
		if next.Terminal() {
			run.Ended = time.Now().UTC()
			run.Reason = "aborted from the panel"
			h.status.ActiveRun = 0
		}
		h.status.State = machineState
		h.calls = append(h.calls, fmt.Sprintf("run %s %s", id, to))
		r, st := *run, h.snapshot()
		h.mu.Unlock()
		h.publishRun(r)
		h.hub.Publish("machine.status", report(st))
		return r, nil
	}
}

func (h *harness) telemetry(_ context.Context, id jobs.ID, fn func(jobs.Sample) error) error {
	if _, err := h.run(context.Background(), id); err != nil {
		return err
	}
	for i := range 3 {
		if err := fn(jobs.Sample{T: time.Duration(i) * 100 * time.Millisecond, MPos: [3]int32{int32(i) * 1000, 0, -5000}, Feed: 800, SourceLine: int32(i + 1)}); err != nil {
			return err
		}
	}
	return nil
}

// controlHandler is the browser tests' side door:
//
//	POST /publish {"topic":..,"data":..}   publish an event
//	POST /machine {partial MachineStatus}  merge into the status, publish it
//	                                       (machine.status as a machine.Report; machine.alarm too in alarm)
//	POST /run {"id":..,"last_executed_line":..,"summary":{..}}  update a stored run
//	POST /pause {"run":..,"reason":..}     pause a running run as the runner does at M0/M6
//	GET  /calls                            the machine/run calls so far
//	GET  /ws                               the query strings of websocket requests
//	POST /offline, POST /online            cut the API off (503, connections closed) and back
//	POST /features, POST /finish           see extraControl
//	POST /canary                           see canaryControl
func (h *harness) controlHandler() http.Handler {
	mux := http.NewServeMux()
	h.extraControl(mux)
	h.canaryControl(mux)
	mux.HandleFunc("POST /publish", func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Topic string          `json:"topic"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Topic == "" {
			http.Error(w, fmt.Sprintf("publish: want {topic, data}: %v", err), http.StatusBadRequest)
			return
		}
		e := h.hub.Publish(ev.Topic, ev.Data)
		writeJSON(w, map[string]uint64{"seq": e.Seq})
	})
	mux.HandleFunc("POST /machine", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		err := json.NewDecoder(r.Body).Decode(&h.status)
		if h.status.State != "Alarm" {
			h.status.Alarm = nil
		}
		st := h.snapshot()
		h.mu.Unlock()
		if err != nil {
			http.Error(w, fmt.Sprintf("machine: %v", err), http.StatusBadRequest)
			return
		}
		if st.Alarm != nil {
			h.hub.Publish("machine.alarm", machine.AlarmInfo{Code: st.Alarm.Code, Text: st.Alarm.Text, Hint: st.Alarm.Clear})
		}
		h.hub.Publish("machine.status", report(st))
		writeJSON(w, st)
	})
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		var upd jobs.Run
		if err := json.NewDecoder(r.Body).Decode(&upd); err != nil {
			http.Error(w, fmt.Sprintf("run: %v", err), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for i := range h.runs {
			if h.runs[i].ID == upd.ID {
				h.runs[i].LastExecutedLine, h.runs[i].LastAckedLine = upd.LastExecutedLine, upd.LastExecutedLine
				if upd.Summary.Verdict != nil {
					h.runs[i].Summary.Verdict = upd.Summary.Verdict
				}
				writeJSON(w, h.runs[i])
				return
			}
		}
		http.Error(w, "run: no such run", http.StatusNotFound)
	})
	mux.HandleFunc("POST /pause", func(w http.ResponseWriter, r *http.Request) {
		// As the runner does at an M0 or M6: the run waits for the
		// operator, with the reason saying why.
		var req struct {
			Run    jobs.ID `json:"run"`
			Reason string  `json:"reason"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, fmt.Sprintf("pause: %v", err), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		var run *jobs.Run
		for i := range h.runs {
			if h.runs[i].ID == req.Run {
				run = &h.runs[i]
			}
		}
		if run == nil || run.State != jobs.StateRunning {
			h.mu.Unlock()
			http.Error(w, "pause: no such running run", http.StatusConflict)
			return
		}
		run.State, run.Reason = jobs.StatePaused, req.Reason
		h.status.State = "Idle"
		got, st := *run, h.snapshot()
		h.mu.Unlock()
		h.publishRun(got)
		h.hub.Publish("machine.status", report(st))
		writeJSON(w, got)
	})
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		writeJSON(w, append([]string{}, h.calls...))
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		writeJSON(w, append([]string{}, h.wsQueries...))
	})
	mux.HandleFunc("POST /offline", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.offline = true
		for c := range h.conns {
			_ = c.Close()
			delete(h.conns, c)
		}
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /online", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.offline = false
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
