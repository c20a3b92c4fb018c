package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

var created = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestJobRoutesRoundTrip(t *testing.T) {
	ctx := t.Context()
	var gotBody, gotName string
	js := &webtest.JobService{T: t,
		AddJobFn: func(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
			b, err := io.ReadAll(body)
			gotName, gotBody = name, string(b)
			return jobs.Job{ID: 7, Name: name, Size: int64(len(b)), Lines: 2, Created: created}, err
		},
		JobFn: func(_ context.Context, id jobs.ID) (jobs.Job, error) {
			if id != 7 {
				return jobs.Job{}, fmt.Errorf("job %s: %w", id, jobs.ErrNotFound)
			}
			return jobs.Job{ID: 7, Name: "part.nc"}, nil
		},
		JobsFn: func(_ context.Context, p jobs.Page) ([]jobs.Job, error) {
			if p.Before != 9 || p.Limit != 2 {
				t.Errorf("page=%+v, want before 9 limit 2", p)
			}
			return []jobs.Job{{ID: 8}, {ID: 7}}, nil
		},
		DeleteJobFn: func(_ context.Context, id jobs.ID) error {
			return fmt.Errorf("job %s has run 0003 running (abort it first): %w", id, jobs.ErrConflict)
		},
		StartJobFn: func(_ context.Context, id jobs.ID, from int) (jobs.Run, error) {
			return jobs.Run{ID: 3, JobID: id, FromLine: from, State: jobs.StateQueued}, nil
		},
	}
	c := MustOpenServer(t, &web.Server{Jobs: js})

	j, err := c.AddJob(ctx, "part.nc", strings.NewReader("G0 X1\nG1 X2 F100\n"))
	if err != nil {
		t.Fatalf("AddJob: %v", err)
	}
	if j.ID != 7 || gotName != "part.nc" || gotBody != "G0 X1\nG1 X2 F100\n" {
		t.Errorf("AddJob: job=%+v name=%q body=%q", j, gotName, gotBody)
	}
	if j, err := c.Job(ctx, 7); err != nil || j.Name != "part.nc" {
		t.Errorf("Job(7)=%+v, %v", j, err)
	}
	_, err = c.Job(ctx, 8)
	var ae *web.APIError
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != web.CodeNotFound || !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Job(8) err=%#v, want 404 not_found matching jobs.ErrNotFound", err)
	}
	if list, err := c.Jobs(ctx, jobs.Page{Before: 9, Limit: 2}); err != nil || len(list) != 2 {
		t.Errorf("Jobs=%v, %v", list, err)
	}
	err = c.DeleteJob(ctx, 7)
	if !errors.Is(err, jobs.ErrConflict) || !strings.Contains(err.Error(), "abort it first") {
		t.Errorf("DeleteJob err=%v, want a 409 naming the run", err)
	}
	r, err := c.StartJob(ctx, 7, 120)
	if err != nil || r.ID != 3 || r.JobID != 7 || r.FromLine != 120 || r.State != jobs.StateQueued {
		t.Errorf("StartJob=%+v, %v", r, err)
	}
}

func TestRunRoutesRoundTrip(t *testing.T) {
	ctx := t.Context()
	samples := []jobs.Sample{
		{T: 0, State: 1, MPos: [3]int32{0, 0, -1500}, Feed: 0, Ov: [3]uint8{100, 100, 100}, SourceLine: 1},
		{T: 250 * time.Millisecond, State: 2, MPos: [3]int32{12345, -5, -1500}, Feed: 800, Spindle: 12000, PlannerFree: 3, RxFree: 100, Ov: [3]uint8{110, 100, 90}, Relay: 1, SourceLine: 2},
	}
	var actions []string
	act := func(name string) func(context.Context, jobs.ID) (jobs.Run, error) {
		return func(_ context.Context, id jobs.ID) (jobs.Run, error) {
			actions = append(actions, name+" "+id.String())
			return jobs.Run{ID: id, JobID: 7, State: jobs.StatePaused}, nil
		}
	}
	rs := &webtest.RunService{T: t,
		RunFn: func(_ context.Context, id jobs.ID) (jobs.Run, error) {
			return jobs.Run{ID: id, JobID: 7, State: jobs.StateRunning}, nil
		},
		RunsFn: func(_ context.Context, f jobs.RunFilter) ([]jobs.Run, error) {
			if f.JobID != 7 || !slices.Equal(f.States, []jobs.RunState{jobs.StateRunning, jobs.StatePaused}) {
				t.Errorf("filter=%+v", f)
			}
			return nil, nil
		},
		PauseRunFn:  act("pause"),
		ResumeRunFn: act("resume"),
		AbortRunFn:  act("abort"),
		TelemetryFn: func(_ context.Context, _ jobs.ID, fn func(jobs.Sample) error) error {
			for _, s := range samples {
				if err := fn(s); err != nil {
					return err
				}
			}
			return nil
		},
	}
	c := MustOpenServer(t, &web.Server{Runs: rs})

	if r, err := c.Run(ctx, 3); err != nil || r.State != jobs.StateRunning {
		t.Errorf("Run=%+v, %v", r, err)
	}
	list, err := c.Runs(ctx, jobs.RunFilter{JobID: 7, States: []jobs.RunState{jobs.StateRunning, jobs.StatePaused}})
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("Runs=%#v, %v; want an empty, non-nil list", list, err)
	}
	for _, f := range []func(context.Context, jobs.ID) (jobs.Run, error){c.PauseRun, c.ResumeRun, c.AbortRun} {
		if _, err := f(ctx, 3); err != nil {
			t.Error(err)
		}
	}
	if want := []string{"pause 0003", "resume 0003", "abort 0003"}; !slices.Equal(actions, want) {
		t.Errorf("actions=%q, want %q", actions, want)
	}

	var csv bytes.Buffer
	if _, err := c.Telemetry(ctx, 3, "csv", &csv); err != nil {
		t.Fatal(err)
	}
	wantCSV := "t_ms,state,x_mm,y_mm,z_mm,feed_mm_min,spindle_rpm,planner_free,rx_free,ov_feed,ov_rapid,ov_spindle,relay,line\n" +
		"0,1,0.000,0.000,-1.500,0,0,0,0,100,100,100,0,1\n" +
		"250,2,12.345,-0.005,-1.500,800,12000,3,100,110,100,90,1,2\n"
	if csv.String() != wantCSV {
		t.Errorf("csv=\n%s\nwant\n%s", csv.String(), wantCSV)
	}
	var js bytes.Buffer
	if _, err := c.Telemetry(ctx, 3, "json", &js); err != nil {
		t.Fatal(err)
	}
	var got []web.TelemetrySample
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("json telemetry %q: %v", js.String(), err)
	}
	if len(got) != 2 || got[1].MPos != [3]float64{12.345, -0.005, -1.5} || got[1].Line != 2 || got[1].TimeMS != 250 {
		t.Errorf("json telemetry=%+v", got)
	}
	if _, err := c.Telemetry(ctx, 3, "xml", io.Discard); !errors.Is(err, web.ErrBadRequest) || !strings.Contains(err.Error(), "format") {
		t.Errorf("format xml: err=%v, want 400 naming format", err)
	}
}

func TestTelemetryFailures(t *testing.T) {
	ctx := t.Context()
	big := make([]jobs.Sample, 20000) // far more than the response buffer
	for i := range big {
		big[i].T = time.Duration(i) * time.Millisecond
	}
	rs := &webtest.RunService{T: t,
		RunFn: func(_ context.Context, id jobs.ID) (jobs.Run, error) { return jobs.Run{ID: id}, nil },
	}
	c := MustOpenServer(t, &web.Server{Runs: rs, Logger: discardLogger()})

	t.Run("before the first byte: error answer", func(t *testing.T) {
		rs.TelemetryFn = func(context.Context, jobs.ID, func(jobs.Sample) error) error {
			return fmt.Errorf("chunk 3 of run 0003: %w", jobs.ErrInvalid)
		}
		_, err := c.Telemetry(ctx, 3, "csv", io.Discard)
		if !errors.Is(err, web.ErrBadRequest) || !strings.Contains(err.Error(), "chunk 3") {
			t.Errorf("err=%v", err)
		}
	})
	t.Run("mid-stream: broken transfer", func(t *testing.T) {
		rs.TelemetryFn = func(_ context.Context, _ jobs.ID, fn func(jobs.Sample) error) error {
			for _, s := range big {
				if err := fn(s); err != nil {
					return err
				}
			}
			return errors.New("disk read error")
		}
		_, err := c.Telemetry(ctx, 3, "csv", io.Discard)
		if err == nil {
			t.Fatal("a failed download succeeded")
		}
	})
}

func TestMachineRoutesRoundTrip(t *testing.T) {
	ctx := t.Context()
	var calls []string
	call := func(name string) func(context.Context) error {
		return func(context.Context) error { calls = append(calls, name); return nil }
	}
	sensed := true
	ms := &webtest.MachineService{T: t,
		StatusFn: func(context.Context) (web.MachineStatus, error) {
			return web.MachineStatus{Connected: true, State: "Alarm", SubState: -1, MPos: []float64{1, 2, 3},
				Relay: web.RelayStatus{Mode: "sense", Sensed: &sensed},
				Alarm: &web.AlarmInfo{Code: 1, Text: "Hard limit", Clear: "$H"}}, nil
		},
		HomeFn: call("home"), UnlockFn: call("unlock"), ResetFn: call("reset"),
		JogCancelFn: call("jogcancel"), FeedHoldFn: call("hold"), CycleStartFn: call("resume"),
		JogFn: func(_ context.Context, j web.JogRequest) error {
			if j.X == nil || *j.X != 10 || j.Y != nil || j.Feed != 500 || !j.Incremental {
				t.Errorf("jog=%+v", j)
			}
			return &grbl.Error{Code: 15, Text: "Travel exceeded"}
		},
		OverrideFn: func(_ context.Context, o web.OverrideRequest) error {
			calls = append(calls, "override "+o.Target+" "+o.Op)
			return nil
		},
		SettingsFn: func(context.Context) ([]web.Setting, error) {
			return []web.Setting{{Number: 110, Value: "1000.000"}, {Number: 0, Value: "10"}}, nil
		},
		SetSettingFn: func(_ context.Context, n int, v string) error {
			calls = append(calls, fmt.Sprintf("$%d=%s", n, v))
			return nil
		},
	}
	c := MustOpenServer(t, &web.Server{Machine: ms})

	st, err := c.MachineStatus(ctx)
	if err != nil || !st.Connected || st.Alarm == nil || st.Alarm.Clear != "$H" || st.Relay.Sensed == nil || !*st.Relay.Sensed {
		t.Errorf("status=%+v, %v", st, err)
	}
	for _, f := range []func(context.Context) error{c.Home, c.Unlock, c.Reset, c.JogCancel, c.FeedHold, c.CycleStart} {
		if err := f(ctx); err != nil {
			t.Error(err)
		}
	}
	x := 10.0
	err = c.Jog(ctx, web.JogRequest{X: &x, Feed: 500, Incremental: true})
	var ae *web.APIError
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(string(ae.Details), `"grbl_error": 15`) {
		t.Errorf("jog err=%#v, want 422 with grbl_error 15", err)
	}
	if err := c.Override(ctx, web.OverrideRequest{Target: "rapid", Op: "25"}); err != nil {
		t.Error(err)
	}
	set, err := c.Settings(ctx)
	if err != nil || len(set) != 2 || set[0].Number != 0 {
		t.Errorf("settings=%v, %v; want sorted by number", set, err)
	}
	if err := c.SetSetting(ctx, 110, " 1200.5 "); err != nil {
		t.Error(err)
	}
	want := []string{"home", "unlock", "reset", "jogcancel", "hold", "resume", "override rapid 25", "$110=1200.5"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls=%q, want %q", calls, want)
	}
}

func TestAddJobErrors(t *testing.T) {
	ctx := t.Context()
	js := &webtest.JobService{T: t}
	c := MustOpenServer(t, &web.Server{Jobs: js, MaxUpload: 1000})

	t.Run("program with errors: 422 with diagnostics", func(t *testing.T) {
		js.AddJobFn = func(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
			return jobs.Job{}, &web.ProgramError{File: name, Diags: []gcode.Diagnostic{
				{File: name, Line: 3, Col: 1, Severity: gcode.Error, GrblError: 20, Message: "M6 is not supported"},
				{File: name, Line: 9, Col: 4, Severity: gcode.Warning, Message: "no spindle speed"},
			}}
		}
		_, err := c.AddJob(ctx, "bad.nc", strings.NewReader("M6\n"))
		var ae *web.APIError
		if !errors.As(err, &ae) || ae.Status != 422 || ae.Code != web.CodeInvalidProgram {
			t.Fatalf("err=%#v, want 422 invalid_program", err)
		}
		d := ae.ProgramDiagnostics()
		if len(d) != 2 || d[0].String() != "bad.nc:3:1: error: M6 is not supported" || d[1].Severity != gcode.Warning {
			t.Errorf("diagnostics=%v", d)
		}
		if !strings.Contains(ae.Message, "bad.nc:3:1") {
			t.Errorf("message %q does not name file:line:col", ae.Message)
		}
	})
	t.Run("empty: 422", func(t *testing.T) {
		js.AddJobFn = func(context.Context, string, io.Reader) (jobs.Job, error) {
			return jobs.Job{}, fmt.Errorf("body: %w", jobs.ErrEmpty)
		}
		_, err := c.AddJob(ctx, "empty.nc", strings.NewReader(""))
		if !errors.Is(err, web.ErrUnprocessable) {
			t.Errorf("err=%v, want 422", err)
		}
	})
	t.Run("over the limit: 413 naming it", func(t *testing.T) {
		js.AddJobFn = func(_ context.Context, _ string, body io.Reader) (jobs.Job, error) {
			_, err := io.Copy(io.Discard, body)
			return jobs.Job{}, fmt.Errorf("store body: %v", err) // not even wrapped
		}
		_, err := c.AddJob(ctx, "big.nc", io.LimitReader(neverEnding('G'), 5000))
		var ae *web.APIError
		if !errors.As(err, &ae) || ae.Status != 413 || !strings.Contains(ae.Message, "1000 bytes") {
			t.Errorf("err=%#v, want 413 naming 1000 bytes", err)
		}
	})
	t.Run("far over the limit: the client still gets the 413, not a broken pipe", func(t *testing.T) {
		js.AddJobFn = func(_ context.Context, _ string, body io.Reader) (jobs.Job, error) {
			_, err := io.Copy(io.Discard, body)
			return jobs.Job{}, err
		}
		_, err := c.AddJob(ctx, "huge.nc", io.LimitReader(neverEnding('G'), 100<<20))
		var ae *web.APIError
		if !errors.As(err, &ae) || ae.Status != 413 {
			t.Errorf("err=%v, want 413", err)
		}
	})
	t.Run("exactly the limit is fine", func(t *testing.T) {
		js.AddJobFn = func(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
			n, err := io.Copy(io.Discard, body)
			return jobs.Job{ID: 1, Size: n}, err
		}
		j, err := c.AddJob(ctx, "edge.nc", io.LimitReader(neverEnding('G'), 1000))
		if err != nil || j.Size != 1000 {
			t.Errorf("job=%+v err=%v", j, err)
		}
	})
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestMultipartUpload(t *testing.T) {
	var gotName, gotBody string
	js := &webtest.JobService{T: t, AddJobFn: func(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
		b, err := io.ReadAll(body)
		gotName, gotBody = name, string(b)
		return jobs.Job{ID: 1, Name: name}, err
	}}
	ts := httptest.NewServer((&web.Server{Jobs: js}).TrustedHandler())
	defer ts.Close()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("note", "ignored")
	fw, _ := mw.CreateFormFile("file", `C:\cnc\sign.gcode`)
	_, _ = fw.Write([]byte("G0 X0\n"))
	_ = mw.Close()
	resp, err := http.Post(ts.URL+"/api/v1/jobs", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "/api/v1/jobs/0001" {
		t.Errorf("status=%d location=%q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if gotName != "sign.gcode" || gotBody != "G0 X0\n" {
		t.Errorf("name=%q body=%q", gotName, gotBody)
	}
}

// errorAnswer is the decoded error shape.
type errorAnswer struct {
	Error struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	} `json:"error"`
}

func doRaw(t *testing.T, h http.Handler, method, target, body string, hdr ...string) (*httptest.ResponseRecorder, errorAnswer) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var ea errorAnswer
	if rec.Code >= 400 {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: error content type %q, want application/json", method, target, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &ea); err != nil || ea.Error.Code == "" || ea.Error.Message == "" {
			t.Errorf("%s %s: body %q is not the error shape (%v)", method, target, rec.Body.String(), err)
		}
	}
	return rec, ea
}

func TestBadRequests(t *testing.T) {
	s := &web.Server{
		Jobs:    &webtest.JobService{T: t},
		Runs:    &webtest.RunService{T: t},
		Machine: &webtest.MachineService{T: t},
	}
	h := s.TrustedHandler()
	tests := []struct {
		name, method, target, body string
		status                     int
		mention                    string
	}{
		{"bad id", "GET", "/api/v1/jobs/0U!", "", 400, "path parameter id"},
		{"zero id", "GET", "/api/v1/runs/0000", "", 400, "zero"},
		{"bad limit", "GET", "/api/v1/jobs?limit=0", "", 400, "limit"},
		{"bad before", "GET", "/api/v1/jobs?before=%21", "", 400, "before"},
		{"bad state", "GET", "/api/v1/runs?state=running,sleeping", "", 400, `"sleeping"`},
		{"bad job filter", "GET", "/api/v1/runs?job=x!", "", 400, "query parameter job"},
		{"start: bad json", "POST", "/api/v1/jobs/0001/start", `{"from_line":`, 400, "invalid JSON"},
		{"start: wrong type", "POST", "/api/v1/jobs/0001/start", `{"from_line":"ten"}`, 400, "field from_line"},
		{"start: unknown field", "POST", "/api/v1/jobs/0001/start", `{"from":3}`, 400, `"from"`},
		{"start: negative line", "POST", "/api/v1/jobs/0001/start", `{"from_line":-1}`, 400, "field from_line"},
		{"start: two values", "POST", "/api/v1/jobs/0001/start", `{} {}`, 400, "more than one"},
		{"jog: empty body", "POST", "/api/v1/machine/jog", ``, 400, "empty"},
		{"jog: no axis", "POST", "/api/v1/machine/jog", `{"feed":100}`, 400, "at least one axis"},
		{"jog: no feed", "POST", "/api/v1/machine/jog", `{"x":1}`, 400, "field feed"},
		{"override: bad target", "POST", "/api/v1/machine/override", `{"target":"laser","op":"reset"}`, 400, "field target"},
		{"override: bad op", "POST", "/api/v1/machine/override", `{"target":"rapid","op":"+10"}`, 400, "field op"},
		{"setting: bad number", "PUT", "/api/v1/machine/settings", `{"number":300,"value":"1"}`, 400, "field number"},
		{"setting: bad value", "PUT", "/api/v1/machine/settings", `{"number":110,"value":"1\n$X"}`, 400, "field value"},
		{"upload: no name", "POST", "/api/v1/jobs", "G0 X1\n", 400, "field name"},
		{"upload: control chars in name", "POST", "/api/v1/jobs?name=a%0Ab", "G0 X1\n", 400, "field name"},
		{"ws: no hub", "GET", "/api/v1/ws?since=-1", "", 503, "event service"},
		{"wrong content type", "POST", "/api/v1/machine/jog", `x=1`, 400, "content type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.name == "wrong content type" {
				hdr = []string{"Content-Type", "application/x-www-form-urlencoded"}
			}
			rec, ea := doRaw(t, h, tt.method, tt.target, tt.body, hdr...)
			if rec.Code != tt.status || !strings.Contains(ea.Error.Message, tt.mention) {
				t.Errorf("status=%d message=%q, want %d mentioning %q", rec.Code, ea.Error.Message, tt.status, tt.mention)
			}
		})
	}
}

func TestRoutingErrors(t *testing.T) {
	h := (&web.Server{}).TrustedHandler()
	rec, ea := doRaw(t, h, "PATCH", "/api/v1/jobs", "")
	if rec.Code != 405 || ea.Error.Code != web.CodeMethod || rec.Header().Get("Allow") != "GET, POST" {
		t.Errorf("PATCH jobs: %d %+v allow=%q", rec.Code, ea, rec.Header().Get("Allow"))
	}
	rec, ea = doRaw(t, h, "GET", "/api/v1/nothing", "")
	if rec.Code != 404 || ea.Error.Code != web.CodeNotFound || !strings.Contains(ea.Error.Message, "/api/v1/nothing") {
		t.Errorf("unknown route: %d %+v", rec.Code, ea)
	}
	// No services at all: every service route answers 503, not a panic.
	for _, rt := range [][2]string{{"GET", "/api/v1/jobs"}, {"GET", "/api/v1/runs/0001"}, {"GET", "/api/v1/machine"},
		{"GET", "/api/v1/backup"}, {"GET", "/api/v1/ws"}, {"POST", "/api/v1/machine/home"}} {
		rec, ea := doRaw(t, h, rt[0], rt[1], "")
		if rec.Code != 503 || ea.Error.Code != web.CodeUnavailable {
			t.Errorf("%s %s without services: %d %+v", rt[0], rt[1], rec.Code, ea)
		}
	}
	rec, _ = doRaw(t, h, "GET", "/api/v1/openapi.json", "")
	if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
		t.Errorf("openapi: %d", rec.Code)
	}
}

func TestBackup(t *testing.T) {
	ctx := t.Context()
	payload := bytes.Repeat([]byte("bolt"), 50000)
	b := &webtest.Backupper{T: t}
	c := MustOpenServer(t, &web.Server{Backups: b, Logger: discardLogger()})
	t.Run("ok", func(t *testing.T) {
		b.BackupFn = func(_ context.Context, w io.Writer) (int64, error) {
			n, err := w.Write(payload)
			return int64(n), err
		}
		var got bytes.Buffer
		n, err := c.Backup(ctx, &got)
		if err != nil || n != int64(len(payload)) || !bytes.Equal(got.Bytes(), payload) {
			t.Errorf("n=%d err=%v", n, err)
		}
	})
	t.Run("fails before writing", func(t *testing.T) {
		b.BackupFn = func(context.Context, io.Writer) (int64, error) {
			return 0, fmt.Errorf("store: %w", jobs.ErrClosed)
		}
		_, err := c.Backup(ctx, io.Discard)
		if !errors.Is(err, web.ErrUnavailable) {
			t.Errorf("err=%v, want 503", err)
		}
	})
	t.Run("fails mid-way: the client sees a broken transfer", func(t *testing.T) {
		b.BackupFn = func(_ context.Context, w io.Writer) (int64, error) {
			n, _ := w.Write(payload)
			return int64(n), errors.New("read error")
		}
		if _, err := c.Backup(ctx, io.Discard); err == nil {
			t.Error("a broken backup succeeded")
		}
	})
}
