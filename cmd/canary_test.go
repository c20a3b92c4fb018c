package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCanaryJudgeFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    canaryJudgeOptions
		wantErr bool
	}{
		{"file", []string{"doc.json"}, canaryJudgeOptions{File: "doc.json", Seed: 1}, false},
		{"stdin and seed", []string{"-", "--seed", "42"}, canaryJudgeOptions{File: "-", Seed: 42}, false},
		{"no file", []string{}, canaryJudgeOptions{}, true},
		{"two files", []string{"a", "b"}, canaryJudgeOptions{}, true},
		{"bad seed", []string{"a", "--seed", "x"}, canaryJudgeOptions{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := TestStreams()
			var got canaryJudgeOptions
			ran := false
			cmd := newCmdCanaryJudge(ios, func(o canaryJudgeOptions) error { got, ran = o, true; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err=%v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && (!ran || got != tt.want) {
				t.Errorf("options=%+v (ran %v), want %+v", got, ran, tt.want)
			}
		})
	}
}

// canaryCaseInput returns the input document of a reference canary case.
func canaryCaseInput(t *testing.T, index int) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "jobs", "canary", "testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cf struct {
		CanaryCases []struct{ Input json.RawMessage } `json:"canary_cases"`
	}
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	return cf.CanaryCases[index].Input
}

const failingDoc = `{"canaryConfig": {"metrics": [
  {"name": "feed_ratio", "groups": ["motion"],
   "analysisConfigurations": {"canary": {"direction": "decrease", "critical": true,
     "effectSize": {"allowedDecrease": 0.95, "criticalDecrease": 0.8}}},
   "control": [100.1, 99.8, null, 100.3, 99.9, 100.2, 100.0, 99.7],
   "experiment": [71.0, 70.4, 69.9, 70.8, 70.1, 70.6, 69.8, 70.2]}],
  "classifier": {"groupWeights": {"motion": 100}}},
 "scoreThresholds": {"pass": 90, "marginal": 70}}`

func TestCanaryJudge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass := write("pass.json", canaryCaseInput(t, 0))
	marginal := write("marginal.json", canaryCaseInput(t, 1))
	fail := write("fail.json", []byte(failingDoc))
	badBool := write("bad.json", []byte(strings.Replace(failingDoc, `"critical": true`, `"critical": "true"`, 1)))
	warn := write("warn.json", []byte(strings.Replace(failingDoc, `"critical": true`, `"critical": true, "critcal": 1`, 1)))

	tests := []struct {
		name                   string
		args                   []string
		stdin                  string
		wantCode               int
		wantScore              float64
		wantClass              string
		wantStderr, wantStdout string
	}{
		{name: "pass", args: []string{pass}, wantCode: canaryExitPass, wantScore: 75, wantClass: "Pass"},
		{name: "marginal", args: []string{marginal}, wantCode: canaryExitMarginal, wantScore: 30, wantClass: "Marginal"},
		{name: "fail", args: []string{fail}, wantCode: canaryExitFail, wantScore: 0, wantClass: "Fail",
			wantStdout: `"classificationReason": "Canary Failed: The metric feed_ratio was classified as Low (Critical)"`},
		{name: "stdin", args: []string{"-"}, stdin: failingDoc, wantCode: canaryExitFail, wantScore: 0, wantClass: "Fail"},
		{name: "boolean as string", args: []string{badBool}, wantCode: canaryExitInvalid,
			wantStderr: `canaryConfig.metrics[0].analysisConfigurations.canary.critical: must be a boolean, got "true"`},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.json")}, wantCode: canaryExitInvalid,
			wantStderr: "read canary document"},
		{name: "syntax error", args: []string{"-"}, stdin: "{\n ]", wantCode: canaryExitInvalid,
			wantStderr: "-: line 2, column 2: invalid JSON"},
		{name: "warning", args: []string{warn}, wantCode: canaryExitFail, wantScore: 0, wantClass: "Fail",
			wantStderr: "warning: " + warn + ": canaryConfig.metrics[0].analysisConfigurations.canary.critcal: unknown key, ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, in, out, errOut := TestStreams()
			in.WriteString(tt.stdin)
			code := Execute(context.Background(), append([]string{"canary", "judge"}, tt.args...), ios)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(errOut.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.wantStderr)
			}
			if tt.wantCode == canaryExitInvalid {
				if out.Len() != 0 {
					t.Errorf("stdout on invalid input: %s", out)
				}
				return
			}
			if !strings.Contains(out.String(), tt.wantStdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantStdout, out)
			}
			var res struct {
				Score struct {
					Score          float64
					Classification string
				}
				GroupScores map[string]float64
				Results     map[string]struct{ Classification string }
			}
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out)
			}
			if res.Score.Score != tt.wantScore || res.Score.Classification != tt.wantClass {
				t.Errorf("score %v %s, want %v %s", res.Score.Score, res.Score.Classification, tt.wantScore, tt.wantClass)
			}
			if len(res.Results) == 0 || len(res.GroupScores) == 0 {
				t.Errorf("empty results or group scores: %s", out)
			}
		})
	}
}

func TestCanaryHelpDocumentsExitCodes(t *testing.T) {
	t.Parallel()
	ios, _, out, _ := TestStreams()
	if code := Execute(context.Background(), []string{"canary", "judge", "--help"}, ios); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"0  Pass", "1  Fail", "2  invalid input", "3  Marginal", "null is a missing sample"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
