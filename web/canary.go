package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/canary"
)

// CanaryService manages baselines, canary configs and verdicts. The
// daemon's runner implements it.
type CanaryService interface {
	// Baseline returns a job's baseline (nil when none) and the run
	// offered as one. Errors: jobs.ErrNotFound for an unknown job.
	Baseline(ctx context.Context, job jobs.ID) (jobs.BaselineInfo, error)
	// SetBaseline makes a completed run of the job its baseline. Errors:
	// jobs.ErrNotFound; jobs.ErrConflict for a run of another job, not
	// completed, or of another machine profile.
	SetBaseline(ctx context.Context, job, run jobs.ID) (jobs.Baseline, error)
	// ClearBaseline removes a job's baseline. Errors: jobs.ErrNotFound.
	ClearBaseline(ctx context.Context, job jobs.ID) error
	// CanaryConfig returns the config a job is judged with. Errors:
	// jobs.ErrNotFound.
	CanaryConfig(ctx context.Context, job jobs.ID) (jobs.CanaryConfigDoc, error)
	// SetCanaryConfig validates and stores a job's override. Errors:
	// jobs.ErrNotFound; canary.ErrInvalidInput naming the JSON path.
	SetCanaryConfig(ctx context.Context, job jobs.ID, doc []byte) (jobs.CanaryConfigDoc, error)
	// CanaryReport returns a run's verdict. Errors: jobs.ErrNotFound
	// (also when there is no baseline to judge against).
	CanaryReport(ctx context.Context, run jobs.ID) (jobs.CanaryReport, error)
}

// BaselineRequest is the body of PUT /api/v1/jobs/{id}/baseline.
type BaselineRequest struct {
	// Run is the completed run to judge later runs against.
	Run jobs.ID `json:"run"`
}

func (s *Server) getBaseline(w http.ResponseWriter, r *http.Request) error {
	if s.Canary == nil {
		return errNoService("canary")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	info, err := s.Canary.Baseline(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

func (s *Server) putBaseline(w http.ResponseWriter, r *http.Request) error {
	if s.Canary == nil {
		return errNoService("canary")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req BaselineRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if req.Run == 0 {
		return fmt.Errorf("set baseline of job %s: field run: missing: %w", id, ErrBadRequest)
	}
	b, err := s.Canary.SetBaseline(r.Context(), id, req.Run)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (s *Server) deleteBaseline(w http.ResponseWriter, r *http.Request) error {
	if s.Canary == nil {
		return errNoService("canary")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Canary.ClearBaseline(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getCanaryConfig(w http.ResponseWriter, r *http.Request) error {
	if s.Canary == nil {
		return errNoService("canary")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	doc, err := s.Canary.CanaryConfig(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// maxCanaryConfig bounds a canary config document.
const maxCanaryConfig = 256 << 10

func (s *Server) putCanaryConfig(w http.ResponseWriter, r *http.Request) error {
	if s.Canary == nil {
		return errNoService("canary")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCanaryConfig))
	if err != nil {
		return fmt.Errorf("canary config: %w", err)
	}
	if len(data) == 0 {
		return fmt.Errorf("canary config: empty body, want a JSON document: %w", ErrBadRequest)
	}
	doc, err := s.Canary.SetCanaryConfig(r.Context(), id, data)
	if errors.Is(err, canary.ErrInvalidInput) {
		return fmt.Errorf("canary config: %w: %w", err, ErrUnprocessable)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

func (s *Server) getCanaryReport(w http.ResponseWriter, r *http.Request) error {
	if s.Canary == nil {
		return errNoService("canary")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rep, err := s.Canary.CanaryReport(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
