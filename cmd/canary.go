package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/kerf-cnc/kerf/jobs/canary"
	"github.com/spf13/cobra"
)

// Exit codes of `kerf canary judge`.
const (
	canaryExitPass     = 0
	canaryExitFail     = 1
	canaryExitInvalid  = 2
	canaryExitMarginal = 3
)

// newCmdCanary builds the `canary` command group.
func newCmdCanary(ios IOStreams) *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "canary",
		Short: "Judge runs against a baseline with Kayenta's canary judge",
		Long: `Canary analysis compares a run of a job with a good earlier run of the same job
(the baseline), metric by metric, with a port of Kayenta's NetflixACAJudge-v1.0.
"judge" works offline; "config" and "report" talk to the daemon.`,
	}
	addClientFlags(cmd, co)
	cmd.AddCommand(newCmdCanaryJudge(ios, nil), newCmdCanaryConfig(ios, co, nil), newCmdCanaryReport(ios, co, nil))
	return cmd
}

// canaryJudgeOptions holds the flags and arguments of `kerf canary judge`.
type canaryJudgeOptions struct {
	// File is the judgement request; "-" reads standard input.
	File string
	// Seed seeds the noise added to constant samples.
	Seed uint64
}

// newCmdCanaryJudge builds `kerf canary judge FILE`. runF replaces the run
// logic in flag-parsing tests; nil runs the judge.
func newCmdCanaryJudge(ios IOStreams, runF func(canaryJudgeOptions) error) *cobra.Command {
	opts := canaryJudgeOptions{}
	cmd := &cobra.Command{
		Use:   "judge FILE",
		Short: "Judge a canary offline from a JSON document (no daemon)",
		Long: `Judge a canary offline. FILE ("-" for standard input) holds a Kayenta canary
config whose metrics carry their samples, and the score thresholds:

  {"canaryConfig": {
     "metrics": [{"name": "feed_ratio", "groups": ["motion"],
                  "analysisConfigurations": {"canary": {"direction": "decrease", "critical": true}},
                  "control": [100.1, 99.8, null, 100.3],
                  "experiment": [71.0, 70.4, 69.9, 70.8]}],
     "classifier": {"groupWeights": {"motion": 100}}},
   "scoreThresholds": {"pass": 90, "marginal": 70}}

control is the baseline, experiment the run; null is a missing sample (NaN).
The result is printed as indented JSON in Kayenta's shape (score, groupScores,
results per metric with classification, reason, critical flag, control and
experiment statistics and the mean ratio; a NaN ratio is written as null).
Options Kayenta accepts silently (unknown keys, unrecognised option strings,
weights not totalling 100) are reported as warnings on standard error.

Exit status:
  0  Pass
  1  Fail
  2  invalid input: unreadable file, bad JSON, or a wrong value, reported
     with its JSON path, e.g.
     canaryConfig.metrics[2].analysisConfigurations.canary.critical: must be a boolean, got "true"
  3  Marginal

Metrics that are constant on each side get Gaussian noise (as in Kayenta);
--seed makes those numbers reproducible. Classifications never depend on it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runCanaryJudge(ios, opts)
		},
	}
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 1, "seed of the noise added to constant samples")
	return cmd
}

// runCanaryJudge reads, judges and prints one document.
func runCanaryJudge(ios IOStreams, opts canaryJudgeOptions) error {
	data, err := readCanaryInput(ios, opts.File)
	if err != nil {
		return &ExitError{Code: canaryExitInvalid, Err: err}
	}
	doc, err := canary.ParseDocument(data)
	if err != nil {
		return &ExitError{Code: canaryExitInvalid, Err: fmt.Errorf("%s: %w", opts.File, err)}
	}
	for _, w := range doc.Warnings {
		fmt.Fprintf(ios.ErrOut, "kerf: warning: %s: %s\n", opts.File, w)
	}
	res, err := canary.Judge(doc.Config, doc.Thresholds, doc.Series,
		canary.WithRand(rand.New(rand.NewPCG(opts.Seed, opts.Seed))))
	if err != nil {
		code := 1
		if errors.Is(err, canary.ErrInvalidInput) {
			code = canaryExitInvalid
		}
		return &ExitError{Code: code, Err: fmt.Errorf("%s: %w", opts.File, err)}
	}
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if _, err := fmt.Fprintf(ios.Out, "%s\n", out); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	switch res.Classification {
	case canary.SummaryPass:
		return nil
	case canary.SummaryMarginal:
		return &ExitError{Code: canaryExitMarginal}
	default:
		return &ExitError{Code: canaryExitFail}
	}
}

func readCanaryInput(ios IOStreams, file string) ([]byte, error) {
	if file == "-" {
		data, err := io.ReadAll(ios.In)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read canary document: %w", err)
	}
	return data, nil
}
