package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// bodyRoute is one route whose JSON request body the API decodes.
type bodyRoute struct {
	method, path string
	ok           int   // the status of an accepted body
	also         []int // other statuses a body may earn (besides 400)
}

// fuzzRoutes are the routes FuzzAPIBodies sends bodies to; the fuzzer's
// first argument picks one (modulo the length). Append only: the committed
// corpus names routes by index.
var fuzzRoutes = []bodyRoute{
	{"POST", "/api/v1/jobs/0001/start", 202, nil},
	{"POST", "/api/v1/machine/jog", 204, nil},
	{"POST", "/api/v1/machine/override", 204, nil},
	{"PUT", "/api/v1/machine/settings", 204, nil},
	{"POST", "/api/v1/machine/offsets", 200, nil},
	{"POST", "/api/v1/machine/probe", 200, nil},
	{"POST", "/api/v1/tokens", 201, []int{409}},                      // a name taken
	{"POST", "/api/v1/users", 201, []int{409}},                       // a name taken
	{"PUT", "/api/v1/users/fuzzer/password", 204, nil},               // an existing user
	{"PUT", "/api/v1/jobs/0001/baseline", 200, []int{404, 409}},      // unknown run; a run not completed / of another job
	{"PUT", "/api/v1/jobs/0001/canary-config", 200, []int{413, 422}}, // too large; not a usable config (JSON path named)
	{"POST", "/api/v1/auth/login", 200, []int{401, 429}},             // wrong password; rate limited
}

// fuzzSeeds are valid and invalid bodies per route (index into
// fuzzRoutes); testdata/fuzz/FuzzAPIBodies holds more.
var fuzzSeeds = []struct {
	route uint8
	body  string
}{
	{0, `{"from_line": 12}`}, {0, ``}, {0, `{"from_line": -1}`}, {0, `{"from_line": 1.5}`},
	{1, `{"x": 10, "feed": 500, "incremental": true}`}, {1, `{"z": -1e308, "feed": 1e5}`}, {1, `{"feed": 100}`}, {1, `{"x": 1, "feed": 0}`},
	{2, `{"target": "feed", "op": "+10"}`}, {2, `{"target": "rapid", "op": "+10"}`}, {2, `{"target": "spindle"}`},
	{3, `{"number": 110, "value": " 1200.5 "}`}, {3, `{"number": 256, "value": "1"}`}, {3, `{"number": 1, "value": "1\n$X"}`},
	{4, `{"wcs": "g55", "x": 0, "z": 10}`}, {4, `{"wcs": "G60", "x": 0}`}, {4, `{"x": 1e6}`}, {4, `{}`},
	{5, ``}, {5, `{}`}, {5, `{"plate": 10}`},
	{6, `{"name": "panel", "role": "operator"}`}, {6, `{"name": " ", "role": "viewer"}`}, {6, `{"name": "x", "role": "root"}`},
	{7, `{"name": "ann", "role": "admin", "password": "correct horse"}`}, {7, `{"name": "-ann", "role": "viewer", "password": "correct horse"}`}, {7, `{"name": "bob", "role": "viewer", "password": "short"}`},
	{8, `{"password": "fuzzer password"}`}, {8, `{"password": ""}`}, {8, `{"password": null}`},
	{9, `{"run": "0001"}`}, {9, `{"run": "0002"}`}, {9, `{"run": "ZZZZ"}`}, {9, `{"run": 1}`}, {9, `{}`},
	{10, `{"canaryConfig": {"metrics": [{"name": "feed_ratio", "groups": ["feed"], "analysisConfigurations": {"canary": {"direction": "decrease", "critical": true}}}], "classifier": {"groupWeights": {"feed": 100}}}, "scoreThresholds": {"pass": 95, "marginal": 75}}`},
	{10, `{"canaryConfig": {"metrics": [{"name": "a", "control": [1], "experiment": [2]}]}}`}, {10, `{"canaryConfig": ,}`}, {10, `[]`},
	{11, `{"username": "fuzzer", "password": "fuzzer password"}`}, {11, `{"username": "fuzzer", "password": "wrong one"}`}, {11, `{"username": ""}`},
	{1, `{"x": 1, "feed": 100} {}`}, {1, `{"x": 1, "feed": 100, "speed": 3}`}, {1, "\xff"}, {1, `{"x": "1", "feed": 100}`},
}

// FuzzAPIBodies sends arbitrary bodies to every route that decodes a JSON
// body, on a real web.Server: the token, user, baseline and canary-config
// routes over a real runner.Service and jobs.Store; the machine routes
// over webtest fakes that accept every request. It checks that no body
// panics a handler or earns a 5xx; that every rejection is a 400 (or the
// route's own 404/409/413/422/401/429) in the API's error shape, a 400
// naming the body or the field, a canary config's 422 naming the JSON path
// or line; and that what a fake receives on success satisfies the route's
// documented bounds.
//
//	go test ./web -run '^$' -fuzz '^FuzzAPIBodies$' -fuzztime 30s
func FuzzAPIBodies(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.route, []byte(s.body))
	}
	h, got := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		*got = received{}
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		what := fmt.Sprintf("%s %s %q", rt.method, rt.path, body)
		if rec.Code >= 500 {
			t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
		}
		if rec.Code == rt.ok {
			checkAccepted(t, what, rt, rec, got, body, h)
			return
		}
		if rec.Code != http.StatusBadRequest && !slices.Contains(rt.also, rec.Code) {
			t.Fatalf("%s: status %d, want %d, 400 or one of %v: %s", what, rec.Code, rt.ok, rt.also, rec.Body)
		}
		checkRejected(t, what, rt, rec)
	})
}

// received is what the fakes were last called with.
type received struct {
	called   bool
	fromLine int
	jog      web.JogRequest
	override web.OverrideRequest
	setting  web.SettingUpdate
	zero     web.ZeroRequest
}

// newFuzzServer opens the server FuzzAPIBodies talks to: job 0001 with a
// completed run 0001 and a running run 0002, and user "fuzzer".
func newFuzzServer(f *testing.F) (http.Handler, *received) {
	ctx := context.Background()
	st := mustOpenStore(f)
	sha, size, err := st.PutBody(ctx, strings.NewReader("G21 G90\nG1 X1 F600\n"), 1<<20)
	if err != nil {
		f.Fatal(err)
	}
	job, err := st.CreateJob(ctx, jobs.Job{Name: "fuzz.nc", SHA256: sha, Size: size, Lines: 2})
	if err != nil {
		f.Fatal(err)
	}
	for _, end := range []jobs.RunState{jobs.StateCompleted, jobs.StateRunning} {
		r, err := st.CreateRun(ctx, jobs.Run{JobID: job.ID, Machine: "3018pro"})
		if err != nil {
			f.Fatal(err)
		}
		if _, err := st.UpdateRun(ctx, r.ID, func(r *jobs.Run) error { r.State = jobs.StateRunning; return nil }); err != nil {
			f.Fatal(err)
		}
		if end != jobs.StateRunning {
			if _, err := st.UpdateRun(ctx, r.ID, func(r *jobs.Run) error { r.State = end; return nil }); err != nil {
				f.Fatal(err)
			}
		}
	}
	pw, err := jobs.HashPassword("fuzzer password", 1)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, jobs.User{Name: "fuzzer", Role: "operator", Password: pw}); err != nil {
		f.Fatal(err)
	}

	got := &received{}
	s := &web.Server{
		Jobs: &webtest.JobService{T: f, StartJobFn: func(_ context.Context, id jobs.ID, from int) (jobs.Run, error) {
			got.called, got.fromLine = true, from
			return jobs.Run{ID: 9, JobID: id, State: jobs.StateRunning}, nil
		}},
		Machine: &webtest.MachineService{T: f,
			JogFn:      func(_ context.Context, j web.JogRequest) error { got.called, got.jog = true, j; return nil },
			OverrideFn: func(_ context.Context, o web.OverrideRequest) error { got.called, got.override = true, o; return nil },
			SetSettingFn: func(_ context.Context, n int, v string) error {
				got.called, got.setting = true, web.SettingUpdate{Number: n, Value: v}
				return nil
			},
		},
		Offsets: &webtest.OffsetService{T: f, ZeroAxesFn: func(_ context.Context, z web.ZeroRequest) (web.WorkOffsets, error) {
			got.called, got.zero = true, z
			return web.WorkOffsets{}, nil
		}},
		Drift:              probeOnly{got},
		Canary:             &runner.Service{Store: st, Machine: "3018pro"},
		Tokens:             st,
		Users:              st,
		PasswordIterations: 1, // the fuzzer creates users; PBKDF2's real cost is not under test
	}
	return s.TrustedHandler(), got
}

// probeOnly is a web.DriftService whose probe always touches; the fuzzer
// sends nothing else to it.
type probeOnly struct{ got *received }

func (p probeOnly) Checkpoints(context.Context, jobs.ID) ([]jobs.Checkpoint, error) {
	return nil, fmt.Errorf("not under fuzzing")
}

func (p probeOnly) ProbeReference(context.Context) (web.ProbeReply, error) {
	p.got.called = true
	return web.ProbeReply{}, nil
}

func (p probeOnly) SetJobDrift(context.Context, jobs.ID, bool) (jobs.Job, error) {
	return jobs.Job{}, fmt.Errorf("not under fuzzing")
}

// finite reports whether every set coordinate is a finite number.
func finite(vs ...*float64) bool {
	for _, v := range vs {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return false
		}
	}
	return true
}

// checkAccepted checks what an accepted body reached.
func checkAccepted(t *testing.T, what string, rt bodyRoute, rec *httptest.ResponseRecorder, got *received, body []byte, h http.Handler) {
	t.Helper()
	switch rt.path {
	case "/api/v1/jobs/0001/start":
		if !got.called || got.fromLine < 0 {
			t.Fatalf("%s: accepted with from_line %d (called %v)", what, got.fromLine, got.called)
		}
	case "/api/v1/machine/jog":
		j := got.jog
		if !got.called || (j.X == nil && j.Y == nil && j.Z == nil) || !(j.Feed > 0) || math.IsInf(j.Feed, 0) || !finite(j.X, j.Y, j.Z) {
			t.Fatalf("%s: accepted as %+v (called %v)", what, j, got.called)
		}
	case "/api/v1/machine/override":
		ops := map[string][]string{"feed": {"reset", "+10", "-10", "+1", "-1"}, "spindle": {"reset", "+10", "-10", "+1", "-1"}, "rapid": {"reset", "50", "25"}}
		if !got.called || !slices.Contains(ops[got.override.Target], got.override.Op) {
			t.Fatalf("%s: accepted as %+v (called %v)", what, got.override, got.called)
		}
	case "/api/v1/machine/settings":
		v := got.setting.Value
		if !got.called || got.setting.Number < 0 || got.setting.Number > 255 || v == "" || v != strings.TrimSpace(v) ||
			strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == '$' || r == 0x7f }) {
			t.Fatalf("%s: accepted as $%d=%q (called %v)", what, got.setting.Number, v, got.called)
		}
	case "/api/v1/machine/offsets":
		z := got.zero
		if !got.called || (z.WCS != "" && !regexp.MustCompile(`^G5[4-9]$`).MatchString(z.WCS)) || !finite(z.X, z.Y, z.Z) {
			t.Fatalf("%s: accepted as %+v (called %v)", what, z, got.called)
		}
	case "/api/v1/machine/probe":
		if !got.called {
			t.Fatalf("%s: accepted without probing", what)
		}
	case "/api/v1/tokens":
		var tok struct{ Name, Role, Secret string }
		if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.Name == "" || tok.Name != strings.TrimSpace(tok.Name) ||
			!slices.Contains([]string{"admin", "operator", "viewer"}, tok.Role) || tok.Secret == "" {
			t.Fatalf("%s: token answer %s (%v)", what, rec.Body, err)
		}
	case "/api/v1/users":
		var u struct{ Name, Role string }
		if err := json.Unmarshal(rec.Body.Bytes(), &u); err != nil || jobs.ValidUserName(u.Name) != nil ||
			!slices.Contains([]string{"admin", "operator", "viewer"}, u.Role) {
			t.Fatalf("%s: user answer %s (%v)", what, rec.Body, err)
		}
	case "/api/v1/auth/login":
		if len(rec.Result().Cookies()) == 0 {
			t.Fatalf("%s: logged in without a session cookie", what)
		}
	case "/api/v1/jobs/0001/canary-config":
		// What was accepted is what the job is judged with from now on.
		get := httptest.NewRecorder()
		h.ServeHTTP(get, httptest.NewRequest("GET", rt.path, nil))
		var doc struct {
			Custom   bool            `json:"custom"`
			Document json.RawMessage `json:"document"`
		}
		if err := json.Unmarshal(get.Body.Bytes(), &doc); err != nil || get.Code != 200 || !doc.Custom {
			t.Fatalf("%s: accepted, then GET answers %d %s (%v)", what, get.Code, get.Body, err)
		}
		// The same JSON value; the answer's encoding may differ (indented,
		// HTML characters escaped).
		var want, have any
		if json.Unmarshal(body, &want) != nil || json.Unmarshal(doc.Document, &have) != nil || !reflect.DeepEqual(want, have) {
			t.Fatalf("%s: accepted, then GET answers document %s", what, doc.Document)
		}
	}
}

// statusCodes is the error code of each status the API answers with.
var statusCodes = map[int]string{400: web.CodeBadRequest, 401: web.CodeUnauthorized, 404: web.CodeNotFound,
	409: web.CodeConflict, 413: web.CodeTooLarge, 422: web.CodeUnprocessable, 429: web.CodeTooMany}

// canaryWhere is how a canary config's 422 names the place of the problem:
// a JSON path ((document) for the root), or a line and column of a
// syntax error.
var canaryWhere = regexp.MustCompile(`^canary config: (line \d+, column \d+|\(document\)|[A-Za-z][A-Za-z0-9_.\[\]"-]*): \S`)

// checkRejected checks a rejection's shape and that it says where.
func checkRejected(t *testing.T, what string, rt bodyRoute, rec *httptest.ResponseRecorder) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: %d with content type %q", what, rec.Code, ct)
	}
	var ea errorAnswer
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ea); err != nil || ea.Error.Message == "" {
		t.Fatalf("%s: %d body %q is not {\"error\":{\"code\",\"message\"}} (%v)", what, rec.Code, rec.Body, err)
	}
	if want := statusCodes[rec.Code]; ea.Error.Code != want {
		t.Fatalf("%s: %d with code %q, want %q", what, rec.Code, ea.Error.Code, want)
	}
	msg := ea.Error.Message
	switch {
	case rec.Code == http.StatusBadRequest && !strings.Contains(msg, "request body") && !strings.Contains(msg, "field") &&
		!strings.HasPrefix(msg, "canary config: empty body"):
		t.Fatalf("%s: 400 %q names neither the body nor a field", what, msg)
	case rec.Code == http.StatusUnprocessableEntity && !canaryWhere.MatchString(msg):
		t.Fatalf("%s: 422 %q names no JSON path or line", what, msg)
	}
}
