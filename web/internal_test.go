package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
)

// TestOpenAPIMatchesRoutes keeps the embedded document true: every route
// is documented and every documented operation is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi=%q, want 3.x", doc.OpenAPI)
	}
	var documented, served []string
	docRoles := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
			var o struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
				Role        string                     `json:"x-kerf-role"`
				Security    *[]json.RawMessage         `json:"security"`
			}
			if err := json.Unmarshal(op, &o); err != nil || o.OperationID == "" || len(o.Responses) == 0 {
				t.Errorf("%s %s: operation without operationId or responses (%v)", method, path, err)
			}
			docRoles[strings.ToUpper(method)+" "+path] = o.Role
			public := o.Role == rolePublic.String()
			if _, ok := o.Responses["401"]; !ok && !public {
				t.Errorf("%s %s (role %s): no 401 documented", method, path, o.Role)
			}
			if _, ok := o.Responses["403"]; !ok && !public {
				t.Errorf("%s %s (role %s): no 403 documented", method, path, o.Role)
			}
			if public != (o.Security != nil && len(*o.Security) == 0) {
				t.Errorf("%s %s (role %s): public routes, and only they, say security: []", method, path, o.Role)
			}
		}
	}
	for _, rt := range (&Server{}).routes() {
		served = append(served, rt.method+" "+rt.path)
		if got, ok := docRoles[rt.method+" "+rt.path]; ok && got != rt.role.String() {
			t.Errorf("%s %s: openapi.json says x-kerf-role %q, the route table %q", rt.method, rt.path, got, rt.role)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not documented in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("openapi.json documents %s, which is not a route", d)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"bad request", fmt.Errorf("x: %w", ErrBadRequest), 400, CodeBadRequest},
		{"jobs invalid", fmt.Errorf("field from_line: %w", jobs.ErrInvalid), 400, CodeBadRequest},
		{"json syntax", &json.SyntaxError{}, 400, CodeBadRequest},
		{"unauthorized", ErrUnauthorized, 401, CodeUnauthorized},
		{"forbidden", fmt.Errorf("role viewer: %w", ErrForbidden), 403, CodeForbidden},
		{"not found", fmt.Errorf("job 00A7: %w", jobs.ErrNotFound), 404, CodeNotFound},
		{"method", ErrMethodNotAllowed, 405, CodeMethod},
		{"conflict", jobs.ErrConflict, 409, CodeConflict},
		{"busy", fmt.Errorf("start: %w", jobs.ErrBusy), 409, CodeConflict},
		{"bad transition", &jobs.TransitionError{From: jobs.StateCompleted, To: jobs.StatePaused}, 409, CodeConflict},
		{"alarm", &grbl.AlarmStateError{}, 409, CodeConflict},
		{"not idle", fmt.Errorf("home: %w", grbl.ErrNotIdle), 409, CodeConflict},
		{"not homed", fmt.Errorf("start: %w", grbl.ErrNotHomed), 409, CodeConflict},
		{"too large", &TooLargeError{Limit: 10}, 413, CodeTooLarge},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413, CodeTooLarge},
		{"program", fmt.Errorf("add: %w", &ProgramError{File: "a.nc"}), 422, CodeInvalidProgram},
		{"empty", jobs.ErrEmpty, 422, CodeUnprocessable},
		{"not streamable", &gcode.DiagnosticError{}, 422, CodeUnprocessable},
		{"grbl error", fmt.Errorf("jog: %w", &grbl.Error{Code: 15, Text: "Travel exceeded"}), 422, CodeUnprocessable},
		{"unprocessable", ErrUnprocessable, 422, CodeUnprocessable},
		{"disconnected", fmt.Errorf("status: %w", grbl.ErrDisconnected), 503, CodeUnavailable},
		{"store closed", jobs.ErrClosed, 503, CodeUnavailable},
		{"unavailable", ErrUnavailable, 503, CodeUnavailable},
		{"other", errors.New("disk on fire"), 500, CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, _ := classify(tt.err)
			if status != tt.status || code != tt.code {
				t.Errorf("classify(%v)=%d %s, want %d %s", tt.err, status, code, tt.status, tt.code)
			}
			// The client's APIError matches the same sentinel back.
			ae := &APIError{Status: status, Code: code}
			for _, s := range []error{ErrBadRequest, ErrUnauthorized, ErrForbidden, jobs.ErrNotFound, jobs.ErrConflict,
				jobs.ErrTooLarge, ErrUnprocessable, ErrUnavailable} {
				st, _, _ := classify(s)
				if want := st == status; errors.Is(ae, s) != want {
					t.Errorf("errors.Is(APIError %d, %v)=%v, want %v", status, s, !want, want)
				}
			}
		})
	}
}

func TestValidateRequests(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name  string
		check func() error
		field string // "" when valid
	}{
		{"jog ok", JogRequest{Z: f(-1), Feed: 100, Incremental: true}.Validate, ""},
		{"jog no axis", JogRequest{Feed: 100}.Validate, "x, y, z"},
		{"jog zero feed", JogRequest{X: f(1)}.Validate, "field feed"},
		{"jog huge feed", JogRequest{X: f(1), Feed: 1e9}.Validate, "field feed"},
		{"jog feed below F0.001", JogRequest{X: f(1), Feed: 5e-324}.Validate, "field feed"},
		{"jog absurd distance", JogRequest{Y: f(1e9), Feed: 10}.Validate, "field y"},
		{"override ok", OverrideRequest{Target: "feed", Op: "-1"}.Validate, ""},
		{"override rapid +1", OverrideRequest{Target: "rapid", Op: "+1"}.Validate, "field op"},
		{"override unknown", OverrideRequest{Target: "coolant", Op: "reset"}.Validate, "field target"},
		{"setting ok", SettingUpdate{Number: 11, Value: "0.010"}.Validate, ""},
		{"setting negative ok", SettingUpdate{Number: 130, Value: "-5"}.Validate, ""},
		{"setting text", SettingUpdate{Number: 11, Value: "abc"}.Validate, "field value"},
		{"setting two dots", SettingUpdate{Number: 11, Value: "1.2.3"}.Validate, "field value"},
		{"setting empty", SettingUpdate{Number: 11, Value: " "}.Validate, "field value"},
		{"setting number", SettingUpdate{Number: -1, Value: "1"}.Validate, "field number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("err=%v, want nil", err)
			case tt.field != "" && (err == nil || !strings.Contains(err.Error(), tt.field) || !errors.Is(err, ErrBadRequest)):
				t.Errorf("err=%v, want ErrBadRequest naming %q", err, tt.field)
			}
		})
	}
}

func TestProgramErrorMessage(t *testing.T) {
	e := &ProgramError{File: "p.nc", Diags: []gcode.Diagnostic{
		{File: "p.nc", Line: 1, Col: 1, Severity: gcode.Warning, Message: "w"},
		{File: "p.nc", Line: 4, Col: 7, Severity: gcode.Error, Message: "bad"},
		{File: "p.nc", Line: 5, Col: 2, Severity: gcode.Error, Message: "worse"},
	}}
	if got, want := e.Error(), "program p.nc has 2 errors, the first: p.nc:4:7: error: bad"; got != want {
		t.Errorf("Error()=%q, want %q", got, want)
	}
	if !errors.Is(e, gcode.ErrNotStreamable) {
		t.Error("ProgramError does not match gcode.ErrNotStreamable")
	}
}

func TestEventCache(t *testing.T) {
	var c eventCache
	enc := func(seq uint64, topic string) Message {
		t.Helper()
		b, err := c.encode(events.Event{Seq: seq, Topic: topic, Data: map[string]uint64{"n": seq}})
		if err != nil {
			t.Fatal(err)
		}
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Seq 1 and 1+eventCacheSize share a slot; each must encode as itself.
	for _, seq := range []uint64{1, 1 + eventCacheSize, 1, 2} {
		m := enc(seq, fmt.Sprintf("t%d", seq))
		if m.Type != MsgEvent || m.Seq != seq || m.Topic != fmt.Sprintf("t%d", seq) || string(m.Data) != fmt.Sprintf(`{"n":%d}`, seq) {
			t.Errorf("seq %d encoded as %+v", seq, m)
		}
	}
	if _, err := c.encode(events.Event{Seq: 9, Data: make(chan int)}); err == nil {
		t.Error("an unencodable payload encoded")
	}
}

func TestRunCommandMalformed(t *testing.T) {
	s := &Server{}
	operator := Identity{Name: "op", Role: RoleOperator, Via: ViaToken}
	viewer := Identity{Name: "watcher", Role: RoleViewer, Via: ViaSession}
	tests := []struct {
		id          *Identity
		in, mention string
	}{
		{&operator, `jog please`, "not a command object"},
		{&operator, `{"cmd":"hold","extra":1}`, "unknown field"},
		{&operator, `{"cmd":"hold"}`, "machine service is not available"},
		{&viewer, `{"cmd":"hold"}`, `websocket command "hold" needs role operator; user "watcher" (via session) has role viewer`},
		{nil, `{"cmd":"hold"}`, "needs role operator"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ctx := t.Context()
			if tt.id != nil {
				ctx = withIdentity(ctx, *tt.id)
			}
			r := s.runCommand(ctx, []byte(tt.in))
			if r.Type != MsgReply || r.OK || r.Error == nil || !strings.Contains(r.Error.Message, tt.mention) {
				t.Errorf("reply=%+v, want an error mentioning %q", r, tt.mention)
			}
		})
	}
}

// TestEveryRouteHasARole: the route table is the one place access is
// decided, so every route must declare its least role, and the roles follow
// the rules: reads are viewer, machine and job control operator, settings
// writes, deletions, backups, tokens and users admin; only login, logout
// and the API description are public.
func TestEveryRouteHasARole(t *testing.T) {
	publicOK := map[string]bool{
		"POST /api/v1/auth/login": true, "POST /api/v1/auth/logout": true,
		"GET /api/v1/openapi.json": true, "GET /api/docs": true, "GET /api/docs/{file}": true,
	}
	for _, rt := range (&Server{}).routes() {
		name := rt.method + " " + rt.path
		t.Run(name, func(t *testing.T) {
			switch {
			case rt.role == roleNone:
				t.Fatal("no role declared")
			case rt.role == rolePublic && !publicOK[name]:
				t.Errorf("public, but only login, logout and the docs may be")
			case rt.method == "GET" && rt.role > RoleViewer && rt.path != "/api/v1/backup" && !strings.HasPrefix(rt.path, "/api/v1/tokens") && !strings.HasPrefix(rt.path, "/api/v1/users"):
				t.Errorf("a read needs %s, want viewer", rt.role)
			case rt.method == "DELETE" || rt.method == "PUT" || strings.HasPrefix(rt.path, "/api/v1/tokens") || strings.HasPrefix(rt.path, "/api/v1/users"):
				if rt.role != RoleAdmin {
					t.Errorf("role %s, want admin", rt.role)
				}
			case rt.method == "POST" && !publicOK[name] && rt.role != RoleOperator:
				t.Errorf("control route has role %s, want operator", rt.role)
			}
		})
	}
	// A route without a role is refused to everyone, even the socket's admin.
	err := authorize(Identity{Name: "local", Role: RoleAdmin, Via: ViaSocket}, roleNone, "GET /x")
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("authorize with no role: err=%v, want ErrForbidden", err)
	}
}
