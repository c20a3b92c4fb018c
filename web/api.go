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

// route is one route: a method, a path pattern, the least role that may
// call it, and its handler.
type route struct {
	method, path string
	role         Role
	handle       func(http.ResponseWriter, *http.Request) error
}

// wsCommandRole is the least role that may send machine commands on the
// websocket (jog, overrides, hold, resume): the same as their REST routes.
const wsCommandRole = RoleOperator

// routes lists every route with the least role that may call it: this table
// is the one place access is decided (serve checks it before any handler
// runs). Viewer reads; operator runs jobs and moves the machine; admin
// changes settings, deletes, backs up and manages tokens and users. Public
// routes need no identity. The OpenAPI test checks this list against the
// embedded document in both directions, roles included.
func (s *Server) routes() []route {
	const (
		pub = rolePublic
		vw  = RoleViewer
		op  = RoleOperator
		adm = RoleAdmin
	)
	return []route{
		{"GET", "/api/v1/jobs", vw, s.listJobs},
		{"POST", "/api/v1/jobs", op, s.addJob},
		{"GET", "/api/v1/jobs/{id}", vw, s.getJob},
		{"DELETE", "/api/v1/jobs/{id}", adm, s.deleteJob},
		{"POST", "/api/v1/jobs/{id}/start", op, s.startJob},
		{"GET", "/api/v1/runs", vw, s.listRuns},
		{"GET", "/api/v1/runs/{id}", vw, s.getRun},
		{"POST", "/api/v1/runs/{id}/pause", op, s.runAction((RunService).PauseRun)},
		{"POST", "/api/v1/runs/{id}/resume", op, s.runAction((RunService).ResumeRun)},
		{"POST", "/api/v1/runs/{id}/abort", op, s.runAction((RunService).AbortRun)},
		{"GET", "/api/v1/runs/{id}/telemetry", vw, s.telemetry},
		{"GET", "/api/v1/runs/{id}/canary", vw, s.getCanaryReport},
		{"GET", "/api/v1/jobs/{id}/baseline", vw, s.getBaseline},
		{"PUT", "/api/v1/jobs/{id}/baseline", adm, s.putBaseline},
		{"DELETE", "/api/v1/jobs/{id}/baseline", adm, s.deleteBaseline},
		{"GET", "/api/v1/jobs/{id}/canary-config", vw, s.getCanaryConfig},
		{"PUT", "/api/v1/jobs/{id}/canary-config", adm, s.putCanaryConfig},
		{"GET", "/api/v1/runs/{id}/drift", vw, s.runDrift},
		{"GET", "/api/v1/machine", vw, s.machineStatus},
		{"POST", "/api/v1/machine/home", op, s.machineAction((MachineService).Home)},
		{"POST", "/api/v1/machine/unlock", op, s.machineAction((MachineService).Unlock)},
		{"POST", "/api/v1/machine/reset", op, s.machineAction((MachineService).Reset)},
		{"POST", "/api/v1/machine/jog", op, s.jog},
		{"POST", "/api/v1/machine/jog/cancel", op, s.machineAction((MachineService).JogCancel)},
		{"POST", "/api/v1/machine/hold", op, s.machineAction((MachineService).FeedHold)},
		{"POST", "/api/v1/machine/resume", op, s.machineAction((MachineService).CycleStart)},
		{"POST", "/api/v1/machine/override", op, s.override},
		{"POST", "/api/v1/machine/probe", op, s.probe},
		{"GET", "/api/v1/machine/settings", vw, s.settings},
		{"PUT", "/api/v1/machine/settings", adm, s.setSetting},
		{"GET", "/api/v1/relay", vw, s.relayStatus},
		{"POST", "/api/v1/relay/on", op, s.relaySwitch((RelayService).RelayOn)},
		{"POST", "/api/v1/relay/off", op, s.relaySwitch((RelayService).RelayOff)},
		{"GET", "/api/v1/backup", adm, s.backup},
		{"GET", "/api/v1/ws", vw, s.websocket},
		{"POST", "/api/v1/auth/login", pub, s.login},
		{"POST", "/api/v1/auth/logout", pub, s.logout},
		{"GET", "/api/v1/auth/me", vw, s.me},
		{"GET", "/api/v1/tokens", adm, s.listTokens},
		{"POST", "/api/v1/tokens", adm, s.createToken},
		{"DELETE", "/api/v1/tokens/{id}", adm, s.deleteToken},
		{"GET", "/api/v1/users", adm, s.listUsers},
		{"POST", "/api/v1/users", adm, s.createUser},
		{"DELETE", "/api/v1/users/{name}", adm, s.deleteUser},
		{"PUT", "/api/v1/users/{name}/password", adm, s.setPassword},
		{"GET", "/api/v1/openapi.json", pub, s.openAPI},
		{"GET", "/api/docs", pub, s.apiDocs},
		{"GET", "/api/docs/{file}", pub, s.apiDocs},
		{"GET", "/metrics", vw, s.serveMetrics},
		// Work offsets and program text (web/offsets.go).
		{"GET", "/api/v1/machine/offsets", vw, s.getOffsets},
		{"POST", "/api/v1/machine/offsets", op, s.zeroOffsets},
		{"GET", "/api/v1/jobs/{id}/gcode", vw, s.jobGcode},
	}
}

// TrustedHandler returns the routes as served on the Unix socket: every
// caller is the local admin.
func (s *Server) TrustedHandler() http.Handler { return s.mux(socketIdentity) }

// Handler returns the routes as served on TCP: every route but the public
// ones needs a bearer token, a login session or (in proxy mode) a trusted
// proxy's identity header, and a role at least the route's.
func (s *Server) Handler() http.Handler { return s.mux(s.tcpIdentity) }

// mux registers every route on a private ServeMux, each behind the access
// check of its role. Paths answer other methods with 405 and unknown /api/
// paths with 404, both in the API's error shape; any other GET is the
// panel (see serveUI).
func (s *Server) mux(authn authenticator) *http.ServeMux {
	mux := http.NewServeMux()
	m := s.metrics()
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range s.routes() {
		label := rt.method + " " + rt.path
		mux.Handle(label, m.count(label, s.guard(rt, authn)))
		if _, ok := allowed[rt.path]; !ok {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		mux.Handle(p, m.count("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, fmt.Errorf("method %s is not allowed on %s (allowed: %s): %w", r.Method, r.URL.Path, allow, ErrMethodNotAllowed))
		})))
	}
	mux.Handle("/", m.count("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			s.writeError(w, r, fmt.Errorf("no API route %s %s: %w", r.Method, r.URL.Path, jobs.ErrNotFound))
			return
		}
		s.serveUI(w, r) // public: the panel must load to show its login form
	})))
	return mux
}

// guard wraps a route's handler: it refuses requests during shutdown,
// authenticates the caller (except on public routes), checks the route's
// role, and maps the handler's error to the API's answer.
func (s *Server) guard(rt route, authn authenticator) http.Handler {
	what := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			s.writeError(w, r, fmt.Errorf("server is shutting down: %w", ErrUnavailable))
			return
		}
		defer s.wg.Done()
		if rt.role != rolePublic {
			id, err := authn(r)
			if err == nil {
				err = authorize(id, rt.role, what)
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			r = r.WithContext(withIdentity(r.Context(), id))
		}
		if err := rt.handle(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
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

// validated is a request body that checks its own fields, naming the
// field in its error.
type validated interface{ Validate() error }

// decodeValid decodes a required JSON body into a T and validates it.
func decodeValid[T validated](w http.ResponseWriter, r *http.Request) (T, error) {
	var req T
	if err := decodeJSON(w, r, &req, false); err != nil {
		return req, err
	}
	return req, req.Validate()
}

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
	req, err := decodeValid[JogRequest](w, r)
	if err != nil {
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
	req, err := decodeValid[OverrideRequest](w, r)
	if err != nil {
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
	req, err := decodeValid[SettingUpdate](w, r)
	if err != nil {
		return err
	}
	if err := s.Machine.SetSetting(r.Context(), req.Number, strings.TrimSpace(req.Value)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
