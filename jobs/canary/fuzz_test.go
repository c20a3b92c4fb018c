package canary

import (
	"errors"
	"os"
	"testing"
)

// FuzzParseDocument checks that no input makes the parser (or the judge,
// on what the parser accepts) panic, and that every rejection is an
// *InputError that says where the problem is.
//
//	go test ./jobs/canary -run '^$' -fuzz FuzzParseDocument -fuzztime 60s
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(defaultDocument))
	f.Add([]byte(doc(`[` + okMetric + `]`)))
	f.Add([]byte(doc(`[{"name": "b", "analysisConfigurations": {"canary": {"critical": "true"}}}]`)))
	f.Add([]byte(doc(`[{"name": "a", "analysisConfigurations": {"canary": {"outliers": {"strategy": "remove", "outlierFactor": -1}}}, "control": [1, null], "experiment": [1e308, -1e308]}]`)))
	f.Add([]byte("{\n  \"canaryConfig\": ,\n}"))
	f.Add([]byte(`{"canaryConfig": {"metrics": []}, "scoreThresholds": {"pass": 1, "marginal": 1}} x`))
	f.Add([]byte(``))
	if data, err := os.ReadFile("testdata/cases.json"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDocument(data)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %T %q is not an *InputError", err, err)
			}
			if ie.Path == "" && ie.Line < 1 {
				t.Fatalf("error %q names no path and no line", err)
			}
			return
		}
		res, err := Judge(d.Config, d.Thresholds, d.Series)
		if err != nil {
			t.Fatalf("Judge rejected a parsed document: %v", err)
		}
		if len(res.Metrics) != len(d.Config.Metrics) {
			t.Fatalf("%d results for %d metrics", len(res.Metrics), len(d.Config.Metrics))
		}
		if _, err := res.MarshalJSON(); err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
	})
}
