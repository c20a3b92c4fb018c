package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
)

// session logs user in to the harness and returns a client carrying the
// session cookie, sending requests as the panel does (same-origin).
func session(t *testing.T, h *harness, user string) func(method, path, body string) (int, []byte) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	do := func(method, path, body string) (int, []byte) {
		req, err := http.NewRequest(method, h.api.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %s: read body: %v", method, path, err)
		}
		return res.StatusCode, data
	}
	if user != "" {
		if code, body := do(http.MethodPost, "/api/v1/auth/login", fmt.Sprintf(`{"username":%q,"password":%q}`, user, testPassword)); code != http.StatusOK {
			t.Fatalf("login %s: %d %s", user, code, body)
		}
	}
	return do
}

// TestHarnessCanaryRoutes checks the harness's canary service through the
// daemon's real routes, as the panel reaches them: the played run's report,
// the baseline rules and the roles the routes need.
func TestHarnessCanaryRoutes(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	job, err := h.addJob(ctx, "square.nc", strings.NewReader("G21 G90\nG0 X1 Y1\nG1 X10 F500\nM2\n"))
	if err != nil {
		t.Fatalf("add job: %v", err)
	}
	other, err := h.addJob(ctx, "other.nc", strings.NewReader("G21 G90\nG0 X2\nM2\n"))
	if err != nil {
		t.Fatalf("add job: %v", err)
	}
	rep, err := h.playCanary(job.ID)
	if err != nil {
		t.Fatalf("play canary: %v", err)
	}
	admin, operator, anon := session(t, h, testAdmin), session(t, h, testUser), session(t, h, "")

	code, body := operator(http.MethodGet, fmt.Sprintf("/api/v1/runs/%s/canary", rep.Run), "")
	var got jobs.CanaryReport
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil {
		t.Fatalf("GET canary report: %d %s", code, body)
	}
	var v struct {
		Score struct {
			Classification string  `json:"classification"`
			Score          float64 `json:"score"`
		} `json:"score"`
		Results map[string]struct {
			Classification string `json:"classification"`
		} `json:"results"`
	}
	if err := json.Unmarshal(got.Verdict, &v); err != nil {
		t.Fatalf("verdict: %v", err)
	}
	if got.Baseline != rep.Baseline || v.Score.Classification != "Marginal" || v.Score.Score != 86.67 || v.Results["segment_duration_ms"].Classification != "High" {
		t.Errorf("report = baseline %s, %s %.2f, segment_duration_ms %s; want baseline %s, Marginal 86.67, High",
			got.Baseline, v.Score.Classification, v.Score.Score, v.Results["segment_duration_ms"].Classification, rep.Baseline)
	}

	tests := []struct {
		name       string
		do         func(method, path, body string) (int, []byte)
		method     string
		path, body string
		want       int
	}{
		{"no session", anon, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%s/baseline", job.ID), "", http.StatusUnauthorized},
		{"baseline's own report", operator, http.MethodGet, fmt.Sprintf("/api/v1/runs/%s/canary", rep.Baseline), "", http.StatusNotFound},
		{"unknown run's report", operator, http.MethodGet, "/api/v1/runs/99/canary", "", http.StatusNotFound},
		{"operator sets a baseline", operator, http.MethodPut, fmt.Sprintf("/api/v1/jobs/%s/baseline", job.ID), fmt.Sprintf(`{"run":"%s"}`, rep.Run), http.StatusForbidden},
		{"run of another job", admin, http.MethodPut, fmt.Sprintf("/api/v1/jobs/%s/baseline", other.ID), fmt.Sprintf(`{"run":"%s"}`, rep.Run), http.StatusConflict},
		{"unknown run", admin, http.MethodPut, fmt.Sprintf("/api/v1/jobs/%s/baseline", job.ID), `{"run":"99"}`, http.StatusNotFound},
		{"no baseline to clear", admin, http.MethodDelete, fmt.Sprintf("/api/v1/jobs/%s/baseline", other.ID), "", http.StatusNotFound},
		{"clear", admin, http.MethodDelete, fmt.Sprintf("/api/v1/jobs/%s/baseline", job.ID), "", http.StatusNoContent},
		{"the judged run as the baseline", admin, http.MethodPut, fmt.Sprintf("/api/v1/jobs/%s/baseline", job.ID), fmt.Sprintf(`{"run":"%s"}`, rep.Run), http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := tc.do(tc.method, tc.path, tc.body); code != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
			}
		})
	}

	// Cleared and set again: the baseline is the judged run now.
	code, body = operator(http.MethodGet, fmt.Sprintf("/api/v1/jobs/%s/baseline", job.ID), "")
	var info jobs.BaselineInfo
	if code != http.StatusOK || json.Unmarshal(body, &info) != nil || info.Baseline == nil || info.Baseline.RunID != rep.Run {
		t.Errorf("GET baseline: %d %s, want the judged run %s", code, body, rep.Run)
	}
}
