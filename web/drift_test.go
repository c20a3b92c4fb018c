package web_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// driftService is a web.DriftService whose answers the test sets.
type driftService struct {
	probeErr error
	ref      *float64
	optOut   []jobs.ID
}

func (d *driftService) Checkpoints(_ context.Context, id jobs.ID) ([]jobs.Checkpoint, error) {
	if id != 3 {
		return nil, fmt.Errorf("run %s: %w", id, jobs.ErrNotFound)
	}
	at := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	return []jobs.Checkpoint{
		{Run: 3, Index: 0, At: at, Z: -20, ReferenceZ: -20, LimitUM: 100},
		{Run: 3, Index: 1, Line: 40, At: at.Add(time.Minute), Elapsed: time.Minute, Z: -20.02, ReferenceZ: -20, DriftUM: -20, LimitUM: 100},
	}, nil
}

func (d *driftService) ProbeReference(context.Context) (web.ProbeReply, error) {
	if d.probeErr != nil {
		return web.ProbeReply{}, d.probeErr
	}
	r := web.ProbeReply{MachineZ: -20.031}
	if d.ref != nil {
		um := (r.MachineZ - *d.ref) * 1000
		r.ReferenceZ, r.DriftUM = d.ref, &um
	}
	return r, nil
}

func (d *driftService) SetJobDrift(_ context.Context, id jobs.ID, enabled bool) (jobs.Job, error) {
	if !enabled {
		d.optOut = append(d.optOut, id)
	}
	return jobs.Job{ID: id, Name: "part.nc", NoDrift: !enabled}, nil
}

func TestDriftRoutes(t *testing.T) {
	ctx := t.Context()
	ds := &driftService{}
	js := &webtest.JobService{T: t,
		AddJobFn: func(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
			_, err := io.ReadAll(body)
			return jobs.Job{ID: 7, Name: name}, err
		},
	}
	s := &web.Server{Drift: ds, Jobs: js}
	c := MustOpenServer(t, s)

	cps, err := c.RunDrift(ctx, 3)
	if err != nil || len(cps) != 2 || cps[1].DriftUM != -20 || cps[1].Line != 40 || cps[1].Elapsed != time.Minute {
		t.Fatalf("RunDrift = %+v, %v", cps, err)
	}
	reply, err := c.Probe(ctx)
	if err != nil || reply.MachineZ != -20.031 || reply.ReferenceZ != nil || reply.DriftUM != nil {
		t.Fatalf("Probe without a reference = %+v, %v; want null reference and drift", reply, err)
	}
	ref := -20.0
	ds.ref = &ref
	if reply, err = c.Probe(ctx); err != nil || reply.ReferenceZ == nil || *reply.ReferenceZ != -20 || reply.DriftUM == nil || *reply.DriftUM > -30 {
		t.Fatalf("Probe = %+v, %v", reply, err)
	}
	j, err := c.AddJobWith(ctx, "part.nc", strings.NewReader("G0 X1\n"), web.AddJobOptions{NoDrift: true})
	if err != nil || !j.NoDrift || len(ds.optOut) != 1 || ds.optOut[0] != 7 {
		t.Fatalf("AddJobWith(NoDrift) = %+v, %v; opted out %v", j, err, ds.optOut)
	}
	if j, err := c.AddJob(ctx, "other.nc", strings.NewReader("G0 X1\n")); err != nil || j.NoDrift || len(ds.optOut) != 1 {
		t.Fatalf("AddJob = %+v, %v: opted out without asking", j, err)
	}
}

func TestDriftRouteErrors(t *testing.T) {
	js := &webtest.JobService{T: t}
	tests := []struct {
		name      string
		drift     web.DriftService
		method    string
		target    string
		body      string
		wantCode  int
		wantInMsg string
	}{
		{"unknown run", &driftService{}, "GET", "/api/v1/runs/0009/drift", "", 404, "run 0009"},
		{"bad run id", &driftService{}, "GET", "/api/v1/runs/!!/drift", "", 400, "path parameter id"},
		{"probe body with a field", &driftService{}, "POST", "/api/v1/machine/probe", `{"feed":5}`, 400, "feed"},
		{"probe not JSON", &driftService{}, "POST", "/api/v1/machine/probe", `{`, 400, ""},
		{"probe while a run holds the machine", &driftService{probeErr: fmt.Errorf("probe: run 0003 holds the machine: %w", jobs.ErrBusy)}, "POST", "/api/v1/machine/probe", `{}`, 409, "run 0003"},
		{"probe in alarm", &driftService{probeErr: fmt.Errorf("probe: %w", &grbl.AlarmStateError{})}, "POST", "/api/v1/machine/probe", ``, 409, "alarm"},
		{"probe did not touch", &driftService{probeErr: fmt.Errorf("probe first touch: no touch within 40 mm (ALARM:5): %w", web.ErrUnprocessable)}, "POST", "/api/v1/machine/probe", `{}`, 422, "ALARM:5"},
		{"no board", &driftService{probeErr: fmt.Errorf("no board: %w", web.ErrUnavailable)}, "POST", "/api/v1/machine/probe", `{}`, 503, "no board"},
		{"no drift service", nil, "GET", "/api/v1/runs/0003/drift", "", 503, "drift service"},
		{"upload with a bad drift value", &driftService{}, "POST", "/api/v1/jobs?name=a.nc&drift=maybe", "G0 X1\n", 400, "query parameter drift"},
		{"opt-out upload without drift tracking", nil, "POST", "/api/v1/jobs?name=a.nc&drift=off", "G0 X1\n", 503, "drift service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &web.Server{Jobs: js}
			if tt.drift != nil {
				s.Drift = tt.drift
			}
			rec, ea := doRaw(t, s.TrustedHandler(), tt.method, tt.target, tt.body)
			if rec.Code != tt.wantCode || !strings.Contains(ea.Error.Message, tt.wantInMsg) {
				t.Fatalf("%d %q, want %d containing %q", rec.Code, ea.Error.Message, tt.wantCode, tt.wantInMsg)
			}
		})
	}
}
