package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// The harness's work offsets (web.OffsetService over its machine status),
// router relay (web.RelayService) and reference probe (web.DriftService);
// its baselines and canary reports are in harness_canary_test.go. Each of
// probe, relay and baseline routes can be switched off through the
// control plane (POST /features) to answer as an older daemon does: 404
// "no API route".

// features says which of the daemon's optional routes answer.
type features struct {
	Probe    bool `json:"probe"`
	Relay    bool `json:"relay"`
	Baseline bool `json:"baseline"`
}

// extraState is the state of the harness's extra services, under harness.mu.
type extraState struct {
	features  features
	wcs       map[string][]float64
	active    string
	baselines map[jobs.ID]jobs.Baseline
	reports   map[jobs.ID]jobs.CanaryReport // run → its stored verdict
}

func (h *harness) initExtras() {
	h.extra = extraState{
		features:  features{Probe: true, Relay: true, Baseline: true},
		wcs:       map[string][]float64{"G54": slices.Clone(h.status.WCO), "G55": {0, 0, 0}, "G56": {0, 0, 0}, "G57": {0, 0, 0}, "G58": {0, 0, 0}, "G59": {0, 0, 0}},
		active:    "G54",
		baselines: map[jobs.ID]jobs.Baseline{},
		reports:   map[jobs.ID]jobs.CanaryReport{},
	}
}

func (h *harness) offsets(context.Context) (web.WorkOffsets, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.offsetsLocked(), nil
}

func (h *harness) offsetsLocked() web.WorkOffsets {
	o := web.WorkOffsets{Active: h.extra.active, WCS: map[string][]float64{}, G92: []float64{0, 0, 0},
		ReadAt: time.Now().UTC(), Fresh: h.status.ActiveRun == 0}
	for k, v := range h.extra.wcs {
		o.WCS[k] = slices.Clone(v)
	}
	return o
}

// zeroAxes is G10 L20 on the harness's machine: the system's origin moves
// so that the current machine position reads the given values.
func (h *harness) zeroAxes(_ context.Context, z web.ZeroRequest) (web.WorkOffsets, error) {
	h.mu.Lock()
	if h.status.ActiveRun != 0 {
		h.mu.Unlock()
		return web.WorkOffsets{}, fmt.Errorf("set work offset refused: the machine is in use by run %s: %w", h.status.ActiveRun, jobs.ErrBusy)
	}
	if h.status.State != "Idle" {
		h.mu.Unlock()
		return web.WorkOffsets{}, fmt.Errorf("set work offset: %w: the board is in state %s (needs Idle)", grbl.ErrNotIdle, h.status.State)
	}
	wcs := z.WCS
	if wcs == "" {
		wcs = h.extra.active
	}
	if wcs == h.extra.active && len(h.status.WCO) == 3 {
		// The control plane may have moved the work offset meanwhile.
		h.extra.wcs[wcs] = slices.Clone(h.status.WCO)
	}
	call := "zero " + wcs
	for i, v := range []*float64{z.X, z.Y, z.Z} {
		if v == nil {
			continue
		}
		h.extra.wcs[wcs][i] = h.status.MPos[i] - *v
		call += fmt.Sprintf(" %c%g", "XYZ"[i], *v)
	}
	h.calls = append(h.calls, call)
	if wcs == h.extra.active {
		h.status.WCO = slices.Clone(h.extra.wcs[wcs])
		h.status.WPos = make([]float64, 3)
		for i := range 3 {
			h.status.WPos[i] = h.status.MPos[i] - h.status.WCO[i]
		}
	}
	o, st := h.offsetsLocked(), h.snapshot()
	h.mu.Unlock()
	h.hub.Publish("machine.status", report(st))
	return o, nil
}

func (h *harness) relayStatus(context.Context) (web.RelayStatus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status.Relay, nil
}

// relaySwitch switches the harness's relay as the runner does: on only in
// drive mode with no run active and the machine Idle; off always.
func (h *harness) relaySwitch(on bool) func(context.Context) (web.RelayStatus, error) {
	return func(context.Context) (web.RelayStatus, error) {
		h.mu.Lock()
		rs := h.status.Relay
		switch {
		case rs.Mode != "drive":
			h.mu.Unlock()
			return rs, fmt.Errorf("router relay: mode %s cannot switch the router: %w", rs.Mode, jobs.ErrConflict)
		case on && h.status.ActiveRun != 0:
			h.mu.Unlock()
			return rs, fmt.Errorf("router on refused: run %s is active: %w", h.status.ActiveRun, jobs.ErrConflict)
		}
		h.status.Relay.Commanded = &on
		rs = h.status.Relay
		h.calls = append(h.calls, map[bool]string{true: "relay on", false: "relay off"}[on])
		h.mu.Unlock()
		h.hub.Publish("relay.state", rs)
		return rs, nil
	}
}

// harnessDrift is the harness's web.DriftService: a reference plate at
// machine Z -42.305, touched 13 µm lower every time.
type harnessDrift struct{ h *harness }

func (d harnessDrift) Checkpoints(context.Context, jobs.ID) ([]jobs.Checkpoint, error) {
	return []jobs.Checkpoint{}, nil
}

func (d harnessDrift) ProbeReference(context.Context) (web.ProbeReply, error) {
	h := d.h
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.status.ActiveRun != 0:
		return web.ProbeReply{}, fmt.Errorf("probe refused: the machine is in use by run %s: %w", h.status.ActiveRun, jobs.ErrBusy)
	case h.status.State != "Idle":
		return web.ProbeReply{}, fmt.Errorf("probe: %w: the board is in state %s (needs Idle)", grbl.ErrNotIdle, h.status.State)
	}
	h.calls = append(h.calls, "probe")
	ref, drift := -42.305, -13.0
	return web.ProbeReply{MachineZ: -42.318, ReferenceZ: &ref, DriftUM: &drift}, nil
}

func (d harnessDrift) SetJobDrift(ctx context.Context, jobID jobs.ID, _ bool) (jobs.Job, error) {
	return d.h.job(ctx, jobID)
}

// noRoute answers as a daemon without the route.
func noRoute(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, `{"error":{"code":"not_found","message":"no API route %s %s: not found"}}`, r.Method, r.URL.Path)
}

// extras puts the feature switches in front of the real API.
func (h *harness) extras(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", api)
	// The probe route is the daemon's own (web.DriftService, played by
	// harnessDrift); switched off, it answers as an older daemon.
	mux.HandleFunc("/api/v1/machine/probe", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		on := h.extra.features.Probe
		h.mu.Unlock()
		if !on {
			noRoute(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
	// The relay routes are the daemon's own (web.RelayService, played by
	// the harness); switched off, they answer as an older daemon.
	relay := func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		on := h.extra.features.Relay
		h.mu.Unlock()
		if !on {
			noRoute(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}
	mux.HandleFunc("/api/v1/relay", relay)
	mux.HandleFunc("/api/v1/relay/", relay)
	// The baseline routes are the daemon's own (web.CanaryService, played
	// by harnessCanary); switched off, they answer as an older daemon.
	baseline := func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		on := h.extra.features.Baseline
		h.mu.Unlock()
		if !on {
			noRoute(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}
	mux.HandleFunc("/api/v1/jobs/{id}/baseline", baseline)
	return mux
}

// extraControl adds to the control plane:
//
//	POST /features {"probe":bool,"relay":bool,"baseline":bool}  switch routes off (an older daemon)
//	POST /finish {"run":ID}   complete a running run, as the runner does at M2
func (h *harness) extraControl(mux *http.ServeMux) {
	mux.HandleFunc("POST /features", func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := json.NewDecoder(r.Body).Decode(&h.extra.features); err != nil {
			http.Error(w, "features: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, h.extra.features)
	})
	mux.HandleFunc("POST /finish", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Run jobs.ID `json:"run"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "finish: "+err.Error(), http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		i := slices.IndexFunc(h.runs, func(x jobs.Run) bool { return x.ID == req.Run })
		if i < 0 || h.runs[i].State != jobs.StateRunning {
			h.mu.Unlock()
			http.Error(w, "finish: no such running run", http.StatusConflict)
			return
		}
		run := &h.runs[i]
		run.State, run.Ended, run.Reason = jobs.StateCompleted, time.Now().UTC(), ""
		for _, j := range h.jobList {
			if j.ID == run.JobID {
				run.LastAckedLine, run.LastExecutedLine = j.Lines, j.Lines
			}
		}
		h.status.State, h.status.ActiveRun = "Idle", 0
		got, st := *run, h.snapshot()
		h.mu.Unlock()
		h.publishRun(got)
		h.hub.Publish("machine.status", report(st))
		writeJSON(w, got)
	})
}

// storeBody keeps an uploaded program under its SHA-256 for
// GET /api/v1/jobs/{id}/gcode.
func (h *harness) storeBody(sha string, data []byte) error {
	return os.WriteFile(filepath.Join(string(h.bodies), sha), data, 0o600)
}
