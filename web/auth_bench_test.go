package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// BenchmarkAuthenticatedRequest measures what authentication adds to a
// small read (GET /api/v1/jobs answering an empty list), handler called
// directly: the trusted socket handler, a bearer token checked in a real
// bbolt store, and a login session (session table plus the user's record).
func BenchmarkAuthenticatedRequest(b *testing.B) {
	st := jobs.NewStore(b.TempDir())
	if err := st.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	_, secret, err := st.IssueToken(context.Background(), "bench", "viewer")
	if err != nil {
		b.Fatal(err)
	}
	h, err := jobs.HashPassword("bench password", 1000)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateUser(context.Background(), jobs.User{Name: "ada", Role: "viewer", Password: h}); err != nil {
		b.Fatal(err)
	}
	js := &webtest.JobService{T: b, JobsFn: func(context.Context, jobs.Page) ([]jobs.Job, error) { return nil, nil }}
	s := &web.Server{Jobs: js, Tokens: st, Users: st, Logger: discardLogger()}
	tcp := s.Handler()

	rec := httptest.NewRecorder()
	login := httptest.NewRequest("POST", "/api/v1/auth/login", stringsReader(`{"username":"ada","password":"bench password"}`))
	login.RemoteAddr = "192.0.2.1:1"
	tcp.ServeHTTP(rec, login)
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		cookie = c
	}
	if rec.Code != 200 || cookie == nil {
		b.Fatalf("login: %d", rec.Code)
	}

	cases := []struct {
		name string
		h    http.Handler
		set  func(*http.Request)
	}{
		{"socket", s.TrustedHandler(), func(*http.Request) {}},
		{"bearer", tcp, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }},
		{"session", tcp, func(r *http.Request) { r.AddCookie(cookie) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "/api/v1/jobs", nil)
				c.set(r)
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// BenchmarkMetricsScrape measures one /metrics scrape with 40 request
// series and a source of 10 families.
func BenchmarkMetricsScrape(b *testing.B) {
	src := web.MetricsFunc(func(context.Context) ([]web.MetricFamily, error) {
		fams := make([]web.MetricFamily, 10)
		for i := range fams {
			fams[i] = web.MetricFamily{Name: "kerf_source_" + string(rune('a'+i)), Help: "x", Type: web.Gauge,
				Samples: []web.Sample{{Labels: []web.Label{{"state", "Idle"}}, Value: 1}, {Labels: []web.Label{{"state", "Run"}}, Value: 0}}}
		}
		return fams, nil
	})
	s := &web.Server{Metrics: src, Logger: discardLogger()}
	h := s.TrustedHandler()
	for _, p := range []string{"/api/v1/jobs", "/api/v1/runs", "/api/v1/machine", "/nope"} {
		for range 10 {
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
		}
	}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
