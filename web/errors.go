package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
)

// Sentinel errors. Service implementations wrap them (or the jobs and grbl
// sentinels) so that the API answers with the right status; the client
// returns *APIError values that match them with errors.Is.
var (
	// ErrBadRequest: the request is malformed (bad JSON, bad ID, a field
	// out of range). HTTP 400.
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized: no or an unknown bearer token. HTTP 401.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the caller may not do this. HTTP 403.
	ErrForbidden = errors.New("forbidden")
	// ErrUnprocessable: the request is well formed but its content cannot
	// be used, e.g. an upload that is not G-code text. HTTP 422.
	ErrUnprocessable = errors.New("unprocessable")
	// ErrUnavailable: the machine or a service is not available. HTTP 503.
	ErrUnavailable = errors.New("unavailable")
	// ErrMethodNotAllowed: the path exists but not with this method. HTTP 405.
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrTooManyRequests: too many login attempts from one address; the
	// answer's Retry-After header says when to try again. HTTP 429.
	ErrTooManyRequests = errors.New("too many requests")
	// ErrSocketInUse: another daemon answers on the Unix socket.
	ErrSocketInUse = errors.New("socket in use")
	// ErrNotRunning: the client found no daemon on the Unix socket.
	ErrNotRunning = errors.New("kerf daemon is not running")
)

// Error codes of the JSON error body, one per HTTP status kerf uses.
const (
	CodeBadRequest     = "bad_request"
	CodeUnauthorized   = "unauthorized"
	CodeForbidden      = "forbidden"
	CodeNotFound       = "not_found"
	CodeMethod         = "method_not_allowed"
	CodeConflict       = "conflict"
	CodeTooLarge       = "too_large"
	CodeInvalidProgram = "invalid_program"
	CodeUnprocessable  = "unprocessable"
	CodeTooMany        = "too_many_requests"
	CodeUnavailable    = "unavailable"
	CodeInternal       = "internal"
)

// errorBody is the one error shape of the API:
// {"error":{"code":"...","message":"...","details":...}}.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// grblErrorDetails is the details object for a GRBL error:N.
type grblErrorDetails struct {
	GrblError int    `json:"grbl_error"`
	Text      string `json:"text"`
}

// programDetails is the details object for a program with errors.
type programDetails struct {
	Diagnostics []gcode.Diagnostic `json:"diagnostics"`
}

// classify maps an error to its HTTP status, code and details. It is the
// one place where errors become statuses.
func classify(err error) (status int, code string, details any) {
	var (
		diag    Diagnoser
		gerr    *grbl.Error
		maxErr  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, jobs.ErrInvalid), errors.Is(err, events.ErrBadTopic),
		errors.As(err, &syntax), errors.As(err, &typeErr):
		return http.StatusBadRequest, CodeBadRequest, nil
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, CodeUnauthorized, nil
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, CodeForbidden, nil
	case errors.Is(err, jobs.ErrNotFound):
		return http.StatusNotFound, CodeNotFound, nil
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed, CodeMethod, nil
	case errors.Is(err, ErrTooManyRequests):
		return http.StatusTooManyRequests, CodeTooMany, nil
	case errors.Is(err, jobs.ErrTooLarge), errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, CodeTooLarge, nil
	case errors.As(err, &diag):
		return http.StatusUnprocessableEntity, CodeInvalidProgram, programDetails{Diagnostics: diag.Diagnostics()}
	case errors.Is(err, jobs.ErrEmpty), errors.Is(err, ErrUnprocessable), errors.Is(err, gcode.ErrNotStreamable):
		return http.StatusUnprocessableEntity, CodeUnprocessable, nil
	case errors.As(err, &gerr):
		return http.StatusUnprocessableEntity, CodeUnprocessable, grblErrorDetails{GrblError: gerr.Code, Text: gerr.Text}
	case errors.Is(err, jobs.ErrConflict), errors.Is(err, jobs.ErrBusy), errors.Is(err, jobs.ErrBadTransition),
		errors.Is(err, grbl.ErrAlarm), errors.Is(err, grbl.ErrNotIdle), errors.Is(err, grbl.ErrNotHomed):
		return http.StatusConflict, CodeConflict, nil
	case errors.Is(err, ErrUnavailable), errors.Is(err, grbl.ErrDisconnected), errors.Is(err, grbl.ErrClosed),
		errors.Is(err, grbl.ErrReset), errors.Is(err, jobs.ErrClosed), errors.Is(err, events.ErrClosed):
		return http.StatusServiceUnavailable, CodeUnavailable, nil
	}
	return http.StatusInternalServerError, CodeInternal, nil
}

// writeError answers with the API's error shape. Internal errors are
// logged and their text is still returned: the API serves the machine's
// owner, who needs the reason.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, details := classify(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kerf"`)
	}
	if status == http.StatusInternalServerError {
		s.logger().Error("request failed", logMethod, r.Method, logPath, r.URL.Path, logStatus, status, logErr, err)
	}
	writeJSON(w, status, errorBody{Error: errorObject{Code: code, Message: err.Error(), Details: details}})
}

// APIError is an error answer decoded by Client. It matches the package's
// sentinels and jobs.ErrNotFound, jobs.ErrConflict and jobs.ErrTooLarge with
// errors.Is, by status.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the machine-readable code (Code* constants).
	Code string
	// Message is the server's explanation.
	Message string
	// Details is the raw details object, if any (for invalid_program:
	// {"diagnostics":[...]}).
	Details json.RawMessage
}

// Error returns the server's message with the status.
func (e *APIError) Error() string {
	if e.Message == "" {
		return "HTTP " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	}
	return e.Message
}

// Is matches the sentinel that corresponds to the status.
func (e *APIError) Is(target error) bool {
	switch e.Status {
	case http.StatusBadRequest:
		return target == ErrBadRequest
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == jobs.ErrNotFound
	case http.StatusConflict:
		return target == jobs.ErrConflict
	case http.StatusRequestEntityTooLarge:
		return target == jobs.ErrTooLarge
	case http.StatusUnprocessableEntity:
		return target == ErrUnprocessable
	case http.StatusServiceUnavailable:
		return target == ErrUnavailable
	case http.StatusTooManyRequests:
		return target == ErrTooManyRequests
	}
	return false
}

// ProgramDiagnostics decodes the diagnostics of an invalid_program error; it
// returns nil for any other error.
func (e *APIError) ProgramDiagnostics() []gcode.Diagnostic {
	if e.Code != CodeInvalidProgram || len(e.Details) == 0 {
		return nil
	}
	var d programDetails
	if err := json.Unmarshal(e.Details, &d); err != nil {
		return nil
	}
	return d.Diagnostics
}

// NotRunningError is returned by a socket client when nothing listens on
// the socket (no file, or a stale one). It matches ErrNotRunning.
type NotRunningError struct {
	// Socket is the socket's path.
	Socket string
	// Err is the dial error.
	Err error
}

// Error says how to start the daemon.
func (e *NotRunningError) Error() string {
	return fmt.Sprintf("kerf daemon is not running (socket %s): start it with `kerf serve`", e.Socket)
}

// Is reports whether target is ErrNotRunning.
func (e *NotRunningError) Is(target error) bool { return target == ErrNotRunning }

// Unwrap returns the dial error.
func (e *NotRunningError) Unwrap() error { return e.Err }
