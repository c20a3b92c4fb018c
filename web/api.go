package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kerf-cnc/kerf/jobs"
)

// route is one API route: a method, a path pattern and its handler.
type route struct {
	method, path string
	handle       func(http.ResponseWriter, *http.Request) error
}

// routes lists every API route. The OpenAPI test checks this list against
// the embedded document in both directions.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/api/v1/jobs", s.listJobs},
		{"POST", "/api/v1/jobs", s.addJob},
		{"GET", "/api/v1/jobs/{id}", s.getJob},
		{"DELETE", "/api/v1/jobs/{id}", s.deleteJob},
		{"POST", "/api/v1/jobs/{id}/start", s.startJob},
		{"GET", "/api/v1/runs", s.listRuns},
		{"GET", "/api/v1/runs/{id}", s.getRun},
		{"POST", "/api/v1/runs/{id}/pause", s.runAction((RunService).PauseRun)},
		{"POST", "/api/v1/runs/{id}/resume", s.runAction((RunService).ResumeRun)},
		{"POST", "/api/v1/runs/{id}/abort", s.runAction((RunService).AbortRun)},
		{"GET", "/api/v1/runs/{id}/telemetry", s.telemetry},
		{"GET", "/api/v1/machine", s.machineStatus},
		{"POST", "/api/v1/machine/home", s.machineAction((MachineService).Home)},
		{"POST", "/api/v1/machine/unlock", s.machineAction((MachineService).Unlock)},
		{"POST", "/api/v1/machine/reset", s.machineAction((MachineService).Reset)},
		{"POST", "/api/v1/machine/jog", s.jog},
		{"POST", "/api/v1/machine/jog/cancel", s.machineAction((MachineService).JogCancel)},
		{"POST", "/api/v1/machine/hold", s.machineAction((MachineService).FeedHold)},
		{"POST", "/api/v1/machine/resume", s.machineAction((MachineService).CycleStart)},
		{"POST", "/api/v1/machine/override", s.override},
		{"GET", "/api/v1/machine/settings", s.settings},
		{"PUT", "/api/v1/machine/settings", s.setSetting},
		{"GET", "/api/v1/backup", s.backup},
		{"GET", "/api/v1/ws", s.websocket},
		{"GET", "/api/v1/openapi.json", s.openAPI},
	}
}

// TrustedHandler returns the API without authentication, as served on the
// Unix socket.
func (s *Server) TrustedHandler() http.Handler { return s.mux() }

// Handler returns the API behind bearer-token authentication, as served on
// TCP. Without a TokenChecker every request is refused.
func (s *Server) Handler() http.Handler { return s.authenticate(s.mux()) }

// mux registers every route on a private ServeMux. Paths answer other
// methods with 405 and unknown paths with 404, both in the API's error
// shape.
func (s *Server) mux() *http.ServeMux {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range s.routes() {
		handle := rt.handle
		mux.HandleFunc(rt.method+" "+rt.path, func(w http.ResponseWriter, r *http.Request) {
			if !s.enter() {
				s.writeError(w, r, fmt.Errorf("server is shutting down: %w", ErrUnavailable))
				return
			}
			defer s.wg.Done()
			if err := handle(w, r); err != nil {
				s.writeError(w, r, err)
			}
		})
		if _, ok := allowed[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, fmt.Errorf("method %s is not allowed on %s (allowed: %s): %w", r.Method, r.URL.Path, allow, ErrMethodNotAllowed))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, fmt.Errorf("no API route %s %s: %w", r.Method, r.URL.Path, jobs.ErrNotFound))
	})
	return mux
}

// writeJSON writes v as the JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

// maxJSONBody bounds a JSON request body.
const maxJSONBody = 64 << 10

// decodeJSON decodes the request body into v. An empty body leaves v as it
// is when allowEmpty. Errors wrap ErrBadRequest and name the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return fmt.Errorf("request body: content type %q: want application/json: %w", ct, ErrBadRequest)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		maxErr  *http.MaxBytesError
	)
	switch {
	case err == nil:
		if dec.More() {
			return fmt.Errorf("request body: more than one JSON value: %w", ErrBadRequest)
		}
		return nil
	case errors.Is(err, io.EOF):
		if allowEmpty {
			return nil
		}
		return fmt.Errorf("request body: empty, want a JSON object: %w", ErrBadRequest)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("request body: invalid JSON: truncated: %w", ErrBadRequest)
	case errors.As(err, &syntax):
		return fmt.Errorf("request body: invalid JSON at byte %d: %v: %w", syntax.Offset, err, ErrBadRequest)
	case errors.As(err, &typeErr):
		return fmt.Errorf("request body: field %s: want %s, got JSON %s: %w", typeErr.Field, typeErr.Type, typeErr.Value, ErrBadRequest)
	case errors.As(err, &maxErr):
		return fmt.Errorf("request body: larger than %d bytes: %w", maxJSONBody, ErrBadRequest)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("request body: %s: %w", strings.TrimPrefix(err.Error(), "json: "), ErrBadRequest)
	}
	return fmt.Errorf("request body: %v: %w", err, ErrBadRequest)
}

// pathID parses the {id} path parameter.
func pathID(r *http.Request) (jobs.ID, error) {
	id, err := jobs.ParseID(r.PathValue("id"))
	if err != nil {
		return 0, fmt.Errorf("path parameter id: %w", err)
	}
	return id, nil
}

// pageQuery parses ?before=ID&limit=N.
func pageQuery(r *http.Request) (jobs.Page, error) {
	var p jobs.Page
	q := r.URL.Query()
	if v := q.Get("before"); v != "" {
		id, err := jobs.ParseID(v)
		if err != nil {
			return p, fmt.Errorf("query parameter before: %w", err)
		}
		p.Before = id
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > jobs.MaxPageLimit {
			return p, fmt.Errorf("query parameter limit: %q is not a number from 1 to %d: %w", v, jobs.MaxPageLimit, ErrBadRequest)
		}
		p.Limit = n
	}
	return p, nil
}

// errNoService answers a route whose service the daemon did not provide.
func errNoService(name string) error {
	return fmt.Errorf("%s service is not available in this daemon: %w", name, ErrUnavailable)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	if s.Jobs == nil {
		return errNoService("job")
	}
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	list, err := s.Jobs.Jobs(r.Context(), p)
	if err != nil {
		return err
	}
	if list == nil {
		list = []jobs.Job{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	if s.Jobs == nil {
		return errNoService("job")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	j, err := s.Jobs.Job(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) error {
	if s.Jobs == nil {
		return errNoService("job")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Jobs.DeleteJob(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// StartRequest is the optional body of POST /api/v1/jobs/{id}/start.
type StartRequest struct {
	// FromLine is the 1-based source line to start from (0: the start).
	FromLine int `json:"from_line"`
}

func (s *Server) startJob(w http.ResponseWriter, r *http.Request) error {
	if s.Jobs == nil {
		return errNoService("job")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req StartRequest
	if err := decodeJSON(w, r, &req, true); err != nil {
		return err
	}
	if req.FromLine < 0 {
		return fmt.Errorf("start job %s: field from_line: %d is negative: %w", id, req.FromLine, ErrBadRequest)
	}
	run, err := s.Jobs.StartJob(r.Context(), id, req.FromLine)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/runs/"+run.ID.String())
	writeJSON(w, http.StatusAccepted, run)
	return nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) error {
	if s.Runs == nil {
		return errNoService("run")
	}
	p, err := pageQuery(r)
	if err != nil {
		return err
	}
	f := jobs.RunFilter{Page: p}
	q := r.URL.Query()
	if v := q.Get("job"); v != "" {
		if f.JobID, err = jobs.ParseID(v); err != nil {
			return fmt.Errorf("query parameter job: %w", err)
		}
	}
	if v := q.Get("state"); v != "" {
		for st := range strings.SplitSeq(v, ",") {
			rs := jobs.RunState(strings.TrimSpace(st))
			if !rs.Valid() {
				return fmt.Errorf("query parameter state: %q is not a run state (%v): %w", st, jobs.RunStates(), ErrBadRequest)
			}
			f.States = append(f.States, rs)
		}
	}
	list, err := s.Runs.Runs(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []jobs.Run{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) error {
	if s.Runs == nil {
		return errNoService("run")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	run, err := s.Runs.Run(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

// runAction serves pause, resume and abort.
func (s *Server) runAction(act func(RunService, context.Context, jobs.ID) (jobs.Run, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Runs == nil {
			return errNoService("run")
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		run, err := act(s.Runs, r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, run)
		return nil
	}
}

func (s *Server) machineStatus(w http.ResponseWriter, r *http.Request) error {
	if s.Machine == nil {
		return errNoService("machine")
	}
	st, err := s.Machine.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// machineAction serves the body-less machine commands.
func (s *Server) machineAction(act func(MachineService, context.Context) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Machine == nil {
			return errNoService("machine")
		}
		if err := act(s.Machine, r.Context()); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) jog(w http.ResponseWriter, r *http.Request) error {
	if s.Machine == nil {
		return errNoService("machine")
	}
	var req JogRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	if err := s.Machine.Jog(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) override(w http.ResponseWriter, r *http.Request) error {
	if s.Machine == nil {
		return errNoService("machine")
	}
	var req OverrideRequest
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	if err := s.Machine.Override(r.Context(), req); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) error {
	if s.Machine == nil {
		return errNoService("machine")
	}
	list, err := s.Machine.Settings(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []Setting{}
	}
	slices.SortFunc(list, func(a, b Setting) int { return a.Number - b.Number })
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (s *Server) setSetting(w http.ResponseWriter, r *http.Request) error {
	if s.Machine == nil {
		return errNoService("machine")
	}
	var req SettingUpdate
	if err := decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if err := req.Validate(); err != nil {
		return err
	}
	if err := s.Machine.SetSetting(r.Context(), req.Number, strings.TrimSpace(req.Value)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
