package canary

import (
	"encoding/json"
	"os"
	"testing"
)

// TestRCrossCheck runs kerf's own cases with CNC-like windows, whose
// interval comes from R's wilcox.test and whose estimate and
// classification come from an independent R implementation of the rules
// (testdata/rcheck/gen.R), and real windows of the canary scenario the live
// judge aborted runs for (testdata/rcheck/scenario.R).
func TestRCrossCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		min  int
	}{
		{"testdata/rcheck/cases.json", 10},
		// Real windows from the canary scenario (scenario.R).
		{"testdata/rcheck/scenario_cases.json", 4},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			rCrossCheck(t, tc.file, tc.min)
		})
	}
}

func rCrossCheck(t *testing.T, path string, minCases int) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct {
			ID                  string
			Control, Experiment []float64
			ConfInt             [2]float64 `json:"conf_int"`
			Estimate            float64
			Ratio               *float64
			Classification      Classification
		}
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < minCases {
		t.Fatalf("%d cases", len(file.Cases))
	}
	for _, c := range file.Cases {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			got := ClassifyMetric(NewMetricConfig(c.ID), c.Control, c.Experiment)
			if got.Classification != c.Classification {
				t.Errorf("classification=%s, want %s", got.Classification, c.Classification)
			}
			if got.Test == nil {
				t.Fatalf("no Mann-Whitney result (%s)", got.DecidedBy)
			}
			for _, f := range []struct {
				name      string
				got, want float64
			}{{"ci lower", got.Test.Lower, c.ConfInt[0]}, {"ci upper", got.Test.Upper, c.ConfInt[1]}, {"estimate", got.Test.Estimate, c.Estimate}} {
				if !closeRel(f.got, f.want) {
					t.Errorf("%s=%.17g, want %.17g", f.name, f.got, f.want)
				}
			}
			if c.Ratio != nil && !closeRel(got.Ratio, *c.Ratio) {
				t.Errorf("ratio=%.17g, want %.17g", got.Ratio, *c.Ratio)
			}
		})
	}
}
