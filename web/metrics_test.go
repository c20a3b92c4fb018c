package web_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/web"
)

// expoSample is one parsed sample line.
type expoSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)`)
)

// parseExposition is a small parser of the Prometheus text format 0.0.4: it
// checks that every sample belongs to a family announced by HELP and TYPE
// lines before it, that families are not repeated or interleaved, that
// label values are well escaped, values are numbers, and no series repeats.
func parseExposition(text string) (types map[string]string, samples []expoSample, err error) {
	types = map[string]string{}
	helps := map[string]bool{}
	series := map[string]bool{}
	current := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if helps[name] {
				return nil, nil, fmt.Errorf("line %d: second HELP for %s", n, name)
			}
			helps[name] = true
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(strings.TrimPrefix(line, "# TYPE "))
			if len(f) != 2 || (f[1] != "gauge" && f[1] != "counter") {
				return nil, nil, fmt.Errorf("line %d: bad TYPE line %q", n, line)
			}
			if _, dup := types[f[0]]; dup {
				return nil, nil, fmt.Errorf("line %d: second TYPE for %s", n, f[0])
			}
			if !helps[f[0]] {
				return nil, nil, fmt.Errorf("line %d: TYPE before HELP for %s", n, f[0])
			}
			types[f[0]], current = f[1], f[0]
		case line == "" || strings.HasPrefix(line, "#"):
			return nil, nil, fmt.Errorf("line %d: unexpected %q", n, line)
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				return nil, nil, fmt.Errorf("line %d: not a sample: %q", n, line)
			}
			if m[1] != current {
				return nil, nil, fmt.Errorf("line %d: sample of %s outside its family (current %s)", n, m[1], current)
			}
			s := expoSample{name: m[1], labels: map[string]string{}}
			rest := m[3]
			for rest != "" {
				lm := labelPair.FindStringSubmatch(rest)
				if lm == nil {
					return nil, nil, fmt.Errorf("line %d: bad labels %q", n, m[3])
				}
				v := strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(lm[2])
				s.labels[lm[1]] = v
				rest = rest[len(lm[0]):]
			}
			switch m[4] {
			case "+Inf":
				s.value = math.Inf(1)
			case "-Inf":
				s.value = math.Inf(-1)
			case "NaN":
				s.value = math.NaN()
			default:
				v, err := strconv.ParseFloat(m[4], 64)
				if err != nil {
					return nil, nil, fmt.Errorf("line %d: value %q: %v", n, m[4], err)
				}
				s.value = v
			}
			key := m[1] + "{" + m[3] + "}"
			if series[key] {
				return nil, nil, fmt.Errorf("line %d: series %s repeated", n, key)
			}
			series[key] = true
			samples = append(samples, s)
		}
	}
	return types, samples, sc.Err()
}

func find(samples []expoSample, name string, labels map[string]string) (float64, bool) {
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range labels {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			return s.value, true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 8, BufferSize: 8})
	hub.Publish("machine.status", map[string]int{"x": 1})
	hub.Publish("machine.status", map[string]int{"x": 2})
	clk := newClock()
	src := web.MetricsFunc(func(context.Context) ([]web.MetricFamily, error) {
		return []web.MetricFamily{
			{Name: "kerf_machine_connected", Help: "1 when a board answers.", Type: web.Gauge, Samples: []web.Sample{{Value: 1}}},
			{Name: "kerf_machine_state", Help: "GRBL state, one series per state.\nSecond line.", Type: web.Gauge, Samples: []web.Sample{
				{Labels: []web.Label{{"state", "Idle"}}, Value: 1}, {Labels: []web.Label{{"state", `Door "1" \ back`}}, Value: 0}}},
			{Name: "kerf_run_lines_acked_total", Help: "Lines GRBL acknowledged.", Type: web.Counter, Samples: []web.Sample{{Value: 1234}}},
			{Name: "kerf_feed_mm_per_minute", Help: "Feed.", Type: web.Gauge, Samples: []web.Sample{{Value: math.Inf(1)}}},
			// Each of these breaks a rule and is left out.
			{Name: "kerf_overflows", Help: "a counter without _total", Type: web.Counter},
			{Name: "kerf bad", Help: "space in the name", Type: web.Gauge},
			{Name: "kerf_uptime_seconds", Help: "clashes with the server's own", Type: web.Gauge},
			{Name: "kerf_dup", Help: "repeated series", Type: web.Gauge, Samples: []web.Sample{{Value: 1}, {Value: 2}}},
			{Name: "kerf_badlabel", Help: "reserved label", Type: web.Gauge, Samples: []web.Sample{{Labels: []web.Label{{"__name__", "x"}}}}},
			{Name: "kerf_histo", Help: "no such type here", Type: "histogram"},
		}, nil
	})
	s := &web.Server{Events: hub, Metrics: src, Version: "v1.2.3", Now: clk.Now, Logger: discardLogger()}
	h := s.TrustedHandler()
	serve(t, h, req{method: "GET", target: "/api/v1/jobs"})    // 503: no job service
	serve(t, h, req{method: "GET", target: "/api/v1/jobs"})    // twice
	serve(t, h, req{method: "GET", target: "/api/v1/nothing"}) // 404, route "other"
	clk.Advance(90 * time.Second)

	got := serve(t, h, req{method: "GET", target: "/metrics"})
	if got.code != 200 || got.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: %d %q", got.code, got.header.Get("Content-Type"))
	}
	types, samples, err := parseExposition(got.body)
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, got.body)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
		typ    string
	}{
		{"kerf_build_info", map[string]string{"version": "v1.2.3"}, 1, "gauge"},
		{"kerf_uptime_seconds", nil, 90, "gauge"},
		{"kerf_http_requests_total", map[string]string{"method": "GET", "route": "/api/v1/jobs", "code": "503"}, 2, "counter"},
		{"kerf_http_requests_total", map[string]string{"method": "GET", "route": "other", "code": "404"}, 1, "counter"},
		{"kerf_websocket_clients", nil, 0, "gauge"},
		{"kerf_events_published_total", nil, 2, "counter"},
		{"kerf_machine_connected", nil, 1, "gauge"},
		{"kerf_machine_state", map[string]string{"state": `Door "1" \ back`}, 0, "gauge"},
		{"kerf_run_lines_acked_total", nil, 1234, "counter"},
		{"kerf_feed_mm_per_minute", nil, math.Inf(1), "gauge"},
		{"kerf_metrics_errors_total", nil, 6, "counter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := find(samples, tt.name, tt.labels)
			if !ok || v != tt.want || types[tt.name] != tt.typ {
				t.Errorf("%s%v=%v (found %v, type %q), want %v %s", tt.name, tt.labels, v, ok, types[tt.name], tt.want, tt.typ)
			}
		})
	}
	for _, left := range []string{"kerf_overflows", "kerf_dup", "kerf_badlabel", "kerf_histo"} {
		if _, ok := types[left]; ok {
			t.Errorf("%s broke a rule but was exposed", left)
		}
	}
	if !strings.Contains(got.body, `# HELP kerf_machine_state GRBL state, one series per state.\nSecond line.`) {
		t.Error("HELP text with a line feed is not escaped")
	}

	t.Run("a failing source adds nothing and is counted", func(t *testing.T) {
		s := &web.Server{Logger: discardLogger(), Metrics: web.MetricsFunc(func(context.Context) ([]web.MetricFamily, error) {
			return []web.MetricFamily{{Name: "kerf_half", Help: "x", Type: web.Gauge}}, errors.New("machine gone")
		})}
		got := serve(t, s.TrustedHandler(), req{method: "GET", target: "/metrics"})
		types, samples, err := parseExposition(got.body)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := types["kerf_half"]; ok {
			t.Error("families of a failed collection were exposed")
		}
		if v, _ := find(samples, "kerf_metrics_errors_total", nil); v != 1 {
			t.Errorf("kerf_metrics_errors_total=%v, want 1", v)
		}
	})
}

func TestParseExpositionRejects(t *testing.T) {
	for name, text := range map[string]string{
		"no TYPE":        "# HELP a x\na 1\n",
		"bad value":      "# HELP a x\n# TYPE a gauge\na one\n",
		"bad escape":     "# HELP a x\n# TYPE a gauge\na{l=\"x\"y\"} 1\n",
		"repeated":       "# HELP a x\n# TYPE a gauge\na 1\na 2\n",
		"outside family": "# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\na 1\n",
	} {
		if _, _, err := parseExposition(text); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
