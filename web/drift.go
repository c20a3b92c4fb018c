package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/kerf-cnc/kerf/jobs"
)

// DriftService serves Z-drift tracking: a run's checkpoints, the one-off
// reference probe and the per-job opt-out.
type DriftService interface {
	// Checkpoints returns a run's drift checkpoints, reference first.
	// Errors: jobs.ErrNotFound for an unknown run.
	Checkpoints(ctx context.Context, runID jobs.ID) ([]jobs.Checkpoint, error)
	// ProbeReference probes the machine's reference plate once and
	// compares it with the last reference measured. Errors: jobs.ErrBusy
	// while a run holds the machine; grbl.ErrNotIdle, grbl.ErrAlarm;
	// ErrUnprocessable when the probe did not touch (ALARM:5);
	// ErrUnavailable without a board.
	ProbeReference(ctx context.Context) (ProbeReply, error)
	// SetJobDrift turns drift tracking of one job on or off. Errors:
	// jobs.ErrNotFound.
	SetJobDrift(ctx context.Context, jobID jobs.ID, enabled bool) (jobs.Job, error)
}

// ProbeReply is the answer of POST /api/v1/machine/probe: the machine Z
// just measured, the previous reference and the drift between them (µm),
// both null when no reference had been measured before.
type ProbeReply struct {
	MachineZ   float64  `json:"machine_z"`
	ReferenceZ *float64 `json:"reference_z"`
	DriftUM    *float64 `json:"drift_um"`
}

// ProbeRequest is the body of POST /api/v1/machine/probe: empty for now
// (the probe setup is the daemon's configuration).
type ProbeRequest struct{}

func (s *Server) runDrift(w http.ResponseWriter, r *http.Request) error {
	if s.Drift == nil {
		return errNoService("drift")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	cps, err := s.Drift.Checkpoints(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cps)
	return nil
}

func (s *Server) probe(w http.ResponseWriter, r *http.Request) error {
	if s.Drift == nil {
		return errNoService("drift")
	}
	var req ProbeRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	reply, err := s.Drift.ProbeReference(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// RunDrift returns a run's drift checkpoints, reference first.
func (c *Client) RunDrift(ctx context.Context, id jobs.ID) ([]jobs.Checkpoint, error) {
	var cps []jobs.Checkpoint
	err := c.call(ctx, http.MethodGet, "/api/v1/runs/"+id.String()+"/drift", nil, nil, &cps)
	return cps, err
}

// Probe probes the machine's reference plate once.
func (c *Client) Probe(ctx context.Context) (ProbeReply, error) {
	var reply ProbeReply
	err := c.call(ctx, http.MethodPost, "/api/v1/machine/probe", nil, ProbeRequest{}, &reply)
	return reply, err
}

// driftParam reads an upload's ?drift= parameter: "off" opts the job out
// of drift tracking; "" and "on" leave it on.
func driftParam(v string) (noDrift bool, err error) {
	switch v {
	case "", "on":
		return false, nil
	case "off":
		return true, nil
	}
	return false, fmt.Errorf("query parameter drift: %q: want on or off: %w", v, ErrBadRequest)
}

// AddJobOptions are the choices of an upload besides its name.
type AddJobOptions struct {
	// NoDrift opts the job out of Z-drift checkpoints.
	NoDrift bool
}

// AddJobWith uploads a program as a new job called name with options.
func (c *Client) AddJobWith(ctx context.Context, name string, body io.Reader, o AddJobOptions) (jobs.Job, error) {
	q := url.Values{"name": {name}}
	if o.NoDrift {
		q.Set("drift", "off")
	}
	resp, err := c.request(ctx, http.MethodPost, "/api/v1/jobs", q, body, "application/octet-stream")
	if err != nil {
		return jobs.Job{}, err
	}
	defer resp.Body.Close()
	var j jobs.Job
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil {
		return jobs.Job{}, fmt.Errorf("add job: decode answer: %w", err)
	}
	return j, nil
}
