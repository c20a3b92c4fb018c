package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MetricType is a Prometheus metric type.
type MetricType string

// The metric types a MetricsSource may report.
const (
	// Gauge is a value that goes up and down (a state, a position).
	Gauge MetricType = "gauge"
	// Counter only increases (lines acknowledged, overflows); its name ends
	// in _total.
	Counter MetricType = "counter"
)

// MetricFamily is one metric with all its label combinations. Names follow
// Prometheus conventions: the kerf_ prefix, snake_case, base units (seconds,
// bytes, millimetres as _mm) and _total for counters.
type MetricFamily struct {
	// Name matches [a-zA-Z_:][a-zA-Z0-9_:]*.
	Name string
	// Help is one line saying what the metric is.
	Help string
	// Type is Gauge or Counter.
	Type MetricType
	// Samples are the values, one per label combination.
	Samples []Sample
}

// Sample is one value of a family.
type Sample struct {
	// Labels name the series; label names match [a-zA-Z_][a-zA-Z0-9_]* and
	// do not start with "__".
	Labels []Label
	// Value is the sample's value.
	Value float64
}

// Label is a label name and value.
type Label struct {
	Name, Value string
}

// MetricsSource reports the daemon's own metrics at scrape time: the
// machine (kerf_machine_connected, kerf_machine_state{state},
// kerf_machine_position_mm{axis,frame}), the relay, the active run
// (kerf_run_lines_acked, kerf_run_drift_micrometres)… The daemon's
// composition root implements it over its components (docs/api.md lists
// them).
type MetricsSource interface {
	// CollectMetrics returns the current families. It should not block:
	// it runs on every scrape. A family that breaks the naming rules, or
	// repeats a name, is left out of the answer and counted in
	// kerf_metrics_errors_total; an error leaves out everything the source
	// returned.
	CollectMetrics(ctx context.Context) ([]MetricFamily, error)
}

// MetricsFunc adapts a function to MetricsSource.
type MetricsFunc func(ctx context.Context) ([]MetricFamily, error)

// CollectMetrics calls f.
func (f MetricsFunc) CollectMetrics(ctx context.Context) ([]MetricFamily, error) { return f(ctx) }

// metricState holds the server's own counters.
type metricState struct {
	once sync.Once

	mu       sync.Mutex
	started  time.Time
	requests map[requestKey]uint64
	logins   map[string]uint64

	wsClients     atomic.Int64
	wsDropped     atomic.Uint64
	wsEventsSent  atomic.Uint64
	collectErrors atomic.Uint64
}

type requestKey struct {
	method, route string
	code          int
}

func (s *Server) metrics() *metricState {
	m := &s.metricsInit
	m.once.Do(func() {
		m.mu.Lock()
		m.started = s.now()
		m.requests = map[requestKey]uint64{}
		m.logins = map[string]uint64{}
		m.mu.Unlock()
	})
	return m
}

// start records when the server opened.
func (m *metricState) start(t time.Time) {
	m.mu.Lock()
	m.started = t
	m.mu.Unlock()
}

func (m *metricState) login(result string) {
	m.mu.Lock()
	m.logins[result]++
	m.mu.Unlock()
}

// knownMethods keeps the method label bounded: anything else is "OTHER".
func metricMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "OTHER"
}

// count wraps a handler to count its answers by route and status code.
// route is "METHOD /path/{pattern}" or "other".
func (m *metricState) count(route string, h http.Handler) http.Handler {
	method, path, ok := strings.Cut(route, " ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		k := requestKey{method: method, route: path, code: rec.code()}
		if !ok {
			k.method, k.route = metricMethod(r.Method), route
		}
		m.mu.Lock()
		m.requests[k]++
		m.mu.Unlock()
	})
}

// statusRecorder remembers the status a handler answered with. It passes
// Hijack (websockets) and Flush through.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

// WriteHeader records the first status.
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes through to the connection.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		if r.status == 0 {
			r.status = http.StatusOK
		}
		f.Flush()
	}
}

// Hijack hands the connection over (websockets); the answer counts as 101.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("response writer does not support hijacking")
	}
	r.hijacked = true
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the connection.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) code() int {
	switch {
	case r.hijacked:
		return http.StatusSwitchingProtocols
	case r.status == 0:
		return http.StatusOK
	}
	return r.status
}

// seqer is implemented by the event hub: its last sequence number is the
// number of events published.
type seqer interface{ Seq() uint64 }

// serveMetrics writes the Prometheus text exposition format (version
// 0.0.4), by hand.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	var e exposition
	m := s.metrics()
	now := s.now()

	e.family("kerf_build_info", "kerf's version and the Go version it was built with; always 1.", Gauge)
	e.sample("kerf_build_info", 1, Label{"version", s.versionLabel()}, Label{"goversion", runtime.Version()})

	m.mu.Lock()
	started := m.started
	counts := make(map[requestKey]uint64, len(m.requests))
	reqs := make([]requestKey, 0, len(m.requests))
	for k, v := range m.requests {
		counts[k] = v
		reqs = append(reqs, k)
	}
	logins := make(map[string]uint64, len(m.logins))
	for k, v := range m.logins {
		logins[k] = v
	}
	m.mu.Unlock()

	e.family("kerf_start_time_seconds", "When the web server started, in seconds since the Unix epoch.", Gauge)
	e.sample("kerf_start_time_seconds", float64(started.UnixNano())/1e9)
	e.family("kerf_uptime_seconds", "Seconds since the web server started.", Gauge)
	e.sample("kerf_uptime_seconds", now.Sub(started).Seconds())

	e.family("kerf_http_requests_total", "HTTP requests answered, by method, route pattern and status code.", Counter)
	slices.SortFunc(reqs, func(a, b requestKey) int {
		return cmpOr(strings.Compare(a.route, b.route), strings.Compare(a.method, b.method), a.code-b.code)
	})
	for _, k := range reqs {
		e.sample("kerf_http_requests_total", float64(counts[k]), Label{"method", k.method}, Label{"route", k.route}, Label{"code", strconv.Itoa(k.code)})
	}
	e.family("kerf_login_attempts_total", "Login attempts by result (ok, bad_credentials, rate_limited).", Counter)
	for _, res := range []string{"ok", "bad_credentials", "rate_limited"} {
		e.sample("kerf_login_attempts_total", float64(logins[res]), Label{"result", res})
	}
	e.family("kerf_login_sessions", "Login sessions held in memory.", Gauge)
	e.sample("kerf_login_sessions", float64(s.auth().sessions.len()))

	e.family("kerf_websocket_clients", "Websocket event stream clients connected.", Gauge)
	e.sample("kerf_websocket_clients", float64(m.wsClients.Load()))
	e.family("kerf_websocket_events_sent_total", "Events written to websocket clients.", Counter)
	e.sample("kerf_websocket_events_sent_total", float64(m.wsEventsSent.Load()))
	e.family("kerf_websocket_dropped_total", "Websocket clients dropped because they fell behind the event stream.", Counter)
	e.sample("kerf_websocket_dropped_total", float64(m.wsDropped.Load()))
	if h, ok := s.Events.(seqer); ok {
		e.family("kerf_events_published_total", "Events published by the daemon's event hub.", Counter)
		e.sample("kerf_events_published_total", float64(h.Seq()))
	}

	if s.Metrics != nil {
		fams, err := s.Metrics.CollectMetrics(r.Context())
		if err != nil {
			m.collectErrors.Add(1)
			s.logger().Warn("metrics source failed", logErr, err)
		}
		if err != nil {
			fams = nil
		}
		for _, f := range fams {
			if verr := e.add(f); verr != nil {
				m.collectErrors.Add(1)
				s.logger().Warn("metrics source: family left out", logErr, verr)
			}
		}
	}
	e.family("kerf_metrics_errors_total", "Metric families left out of a scrape: the source failed or broke the naming rules.", Counter)
	e.sample("kerf_metrics_errors_total", float64(m.collectErrors.Load()))

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(e.buf.Bytes())
	return nil
}

func cmpOr(vals ...int) int {
	for _, v := range vals {
		if v != 0 {
			return v
		}
	}
	return 0
}

func (s *Server) versionLabel() string {
	if s.Version == "" {
		return "unknown"
	}
	return s.Version
}

// exposition builds the text format and keeps family names unique.
type exposition struct {
	buf  bytes.Buffer
	seen map[string]bool
}

func (e *exposition) family(name, help string, t MetricType) {
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	e.seen[name] = true
	fmt.Fprintf(&e.buf, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, t)
}

func (e *exposition) sample(name string, v float64, labels ...Label) {
	e.buf.WriteString(name)
	if len(labels) > 0 {
		e.buf.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.buf.WriteString(l.Name)
			e.buf.WriteString(`="`)
			e.buf.WriteString(escapeLabel(l.Value))
			e.buf.WriteByte('"')
		}
		e.buf.WriteByte('}')
	}
	e.buf.WriteByte(' ')
	e.buf.WriteString(formatValue(v))
	e.buf.WriteByte('\n')
}

// add validates a source's family and writes it.
func (e *exposition) add(f MetricFamily) error {
	if !validMetricName(f.Name) {
		return fmt.Errorf("family %q: name is not a valid metric name", f.Name)
	}
	if e.seen[f.Name] {
		return fmt.Errorf("family %q: name already used", f.Name)
	}
	switch f.Type {
	case Gauge:
	case Counter:
		if !strings.HasSuffix(f.Name, "_total") {
			return fmt.Errorf("family %q: a counter's name ends in _total", f.Name)
		}
	default:
		return fmt.Errorf("family %q: type %q is not gauge or counter", f.Name, f.Type)
	}
	series := map[string]bool{}
	for i, smp := range f.Samples {
		var key strings.Builder
		for _, l := range smp.Labels {
			if !validLabelName(l.Name) {
				return fmt.Errorf("family %q sample %d: label name %q is not valid", f.Name, i, l.Name)
			}
			fmt.Fprintf(&key, "%s=%q,", l.Name, l.Value)
		}
		if series[key.String()] {
			return fmt.Errorf("family %q sample %d: labels {%s} repeat an earlier sample", f.Name, i, strings.TrimSuffix(key.String(), ","))
		}
		series[key.String()] = true
	}
	e.family(f.Name, f.Help, f.Type)
	for _, smp := range f.Samples {
		e.sample(f.Name, smp.Value, smp.Labels...)
	}
	return nil
}

func validMetricName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

func validLabelName(n string) bool {
	if n == "" || strings.HasPrefix(n, "__") {
		return false
	}
	for i, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || (i > 0 && c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(s string) string { return escape(s, false) }

// escapeLabel escapes a label value: backslash, double quote, line feed.
func escapeLabel(s string) string { return escape(s, true) }

func escape(s string, quote bool) string {
	if !strings.ContainsAny(s, "\\\n\"") {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '"' && quote:
			b.WriteString(`\"`)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// formatValue spells a value as the format wants: shortest float, +Inf,
// -Inf, NaN.
func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
