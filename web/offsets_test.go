package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestOffsetRoutes(t *testing.T) {
	ctx := t.Context()
	read := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	offsets := web.WorkOffsets{Active: "G55", WCS: map[string][]float64{"G54": {-100, -50, -10}, "G55": {1, 2, 3}},
		G92: []float64{0, 0, 0}, ReadAt: read, Fresh: true}
	var got []web.ZeroRequest
	var zeroErr error
	svc := &webtest.OffsetService{T: t,
		OffsetsFn: func(context.Context) (web.WorkOffsets, error) { return offsets, nil },
		ZeroAxesFn: func(_ context.Context, z web.ZeroRequest) (web.WorkOffsets, error) {
			got = append(got, z)
			return offsets, zeroErr
		},
	}
	c := MustOpenServer(t, &web.Server{Offsets: svc})

	o, err := c.Offsets(ctx)
	if err != nil || o.Active != "G55" || len(o.WCS) != 2 || o.WCS["G54"][0] != -100 || !o.ReadAt.Equal(read) || !o.Fresh {
		t.Fatalf("Offsets = %+v, %v", o, err)
	}
	zero, two := 0.0, 2.0
	if _, err := c.ZeroAxes(ctx, web.ZeroRequest{WCS: "g54", X: &zero, Z: &two}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].WCS != "G54" || got[0].X == nil || *got[0].X != 0 || got[0].Y != nil || *got[0].Z != 2 {
		t.Fatalf("ZeroAxes got %+v, want G54 X0 Z2 (system upper-cased)", got)
	}

	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"run active", fmt.Errorf("set work offset: run 00A7 holds the machine: %w", jobs.ErrBusy), 409},
		{"alarm", fmt.Errorf("set work offset: %w", &grbl.AlarmStateError{}), 409},
		{"moving", fmt.Errorf("set work offset: %w: the board is in state Jog", grbl.ErrNotIdle), 409},
		{"refused by GRBL", &grbl.Error{Code: 29, Text: "Unsupported coordinate system"}, 422},
		{"no board", fmt.Errorf("no board: %w", web.ErrUnavailable), 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zeroErr = tc.err
			_, err := c.ZeroAxes(ctx, web.ZeroRequest{X: &zero})
			var ae *web.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(ae.Message, tc.err.Error()) {
				t.Errorf("ZeroAxes err = %v, want %d with the service's message", err, tc.status)
			}
		})
	}
}

func TestOffsetBadRequests(t *testing.T) {
	h := (&web.Server{Offsets: &webtest.OffsetService{T: t}}).TrustedHandler()
	for _, tc := range []struct {
		name, body, mention string
	}{
		{"empty body", ``, "empty"},
		{"no axis", `{"wcs":"G54"}`, "at least one axis"},
		{"machine coordinates", `{"wcs":"G53","x":0}`, "field wcs"},
		{"G59.1", `{"wcs":"G59.1","x":0}`, "field wcs"},
		{"far away", `{"z":12000}`, "field z"},
		{"string value", `{"x":"0"}`, "field x"},
		{"unknown field", `{"a":0}`, `"a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, ea := doRaw(t, h, "POST", "/api/v1/machine/offsets", tc.body)
			if rec.Code != 400 || !strings.Contains(ea.Error.Message, tc.mention) {
				t.Errorf("%d %q, want 400 mentioning %q", rec.Code, ea.Error.Message, tc.mention)
			}
		})
	}
	rec, ea := doRaw(t, (&web.Server{}).TrustedHandler(), "GET", "/api/v1/machine/offsets", "")
	if rec.Code != 503 || !strings.Contains(ea.Error.Message, "work offset service") {
		t.Errorf("no service: %d %q, want 503", rec.Code, ea.Error.Message)
	}
}

func TestJobGcode(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	program := "G21 G90\nG0 X10 Y10\nG1 X20 F500\nM2\n"
	sum := sha256.Sum256([]byte(program))
	sha := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, sha), []byte(program), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := strings.Repeat("ab", 32)
	js := &webtest.JobService{T: t,
		JobFn: func(_ context.Context, id jobs.ID) (jobs.Job, error) {
			switch id {
			case 7:
				return jobs.Job{ID: 7, Name: "part one.nc", SHA256: sha, Size: int64(len(program)), Created: created}, nil
			case 8:
				return jobs.Job{ID: 8, Name: "lost.nc", SHA256: missing, Created: created}, nil
			}
			return jobs.Job{}, fmt.Errorf("job %s: %w", id, jobs.ErrNotFound)
		},
	}
	s := &web.Server{Jobs: js, Programs: webtest.ProgramDir(dir)}
	c := MustOpenServer(t, s)
	var buf bytes.Buffer
	if n, err := c.JobGcode(ctx, 7, &buf); err != nil || n != int64(len(program)) || buf.String() != program {
		t.Fatalf("JobGcode = %d, %v, %q", n, err, buf.String())
	}
	if _, err := c.JobGcode(ctx, 8, &buf); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("JobGcode of a job whose body is gone = %v, want 404", err)
	}

	h := s.TrustedHandler()
	tests := []struct {
		name   string
		target string
		hdr    []string
		status int
		body   string
	}{
		{"whole", "/api/v1/jobs/0007/gcode", nil, 200, program},
		{"etag matches", "/api/v1/jobs/0007/gcode", []string{"If-None-Match", `"` + sha + `"`}, 304, ""},
		{"etag differs", "/api/v1/jobs/0007/gcode", []string{"If-None-Match", `"` + missing + `"`}, 200, program},
		{"range", "/api/v1/jobs/0007/gcode", []string{"Range", "bytes=8-17"}, 206, "G0 X10 Y10"},
		{"unknown job", "/api/v1/jobs/0009/gcode", nil, 404, ""},
		{"bad id", "/api/v1/jobs/0!/gcode", nil, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := doRaw(t, h, "GET", tc.target, "", tc.hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body.String())
			}
			if tc.status >= 400 {
				return
			}
			if et := rec.Header().Get("ETag"); et != `"`+sha+`"` {
				t.Errorf("ETag %q, want the SHA-256 quoted", et)
			}
			if tc.status == 304 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := rec.Body.String(); got != tc.body {
				t.Errorf("body %q, want %q", got, tc.body)
			}
		})
	}
	rec, ea := doRaw(t, (&web.Server{Jobs: js}).TrustedHandler(), "GET", "/api/v1/jobs/0007/gcode", "")
	if rec.Code != 503 || !strings.Contains(ea.Error.Message, "program service") {
		t.Errorf("no program store: %d %q, want 503", rec.Code, ea.Error.Message)
	}
}

// The daemon's own store serves the program text: its content-addressed
// bodies, opened by the job's SHA-256.
func TestJobGcodeFromStore(t *testing.T) {
	ctx := t.Context()
	store := jobs.NewStore(t.TempDir())
	if err := store.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	program := "G21\nG0 X1 Y1\nG1 X5 F300\nM2\n"
	sha, size, err := store.PutBody(ctx, strings.NewReader(program), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	job, err := store.CreateJob(ctx, jobs.Job{Name: "square.nc", SHA256: sha, Size: size, Lines: 4})
	if err != nil {
		t.Fatal(err)
	}
	js := &webtest.JobService{T: t, JobFn: store.Job}
	c := MustOpenServer(t, &web.Server{Jobs: js, Programs: store})
	var buf bytes.Buffer
	if _, err := c.JobGcode(ctx, job.ID, &buf); err != nil || buf.String() != program {
		t.Fatalf("JobGcode = %q, %v; want the stored program", buf.String(), err)
	}
}
