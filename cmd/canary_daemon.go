package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/canary"
	"github.com/spf13/cobra"
)

// canaryConfigOptions are the inputs of `kerf canary config JOB [FILE]`.
type canaryConfigOptions struct {
	client *clientOptions
	Job    jobs.ID
	// File is the override to store ("" shows the config, "-" reads stdin).
	File string
}

func newCmdCanaryConfig(ios IOStreams, co *clientOptions, runF func(context.Context, *canaryConfigOptions) error) *cobra.Command {
	o := &canaryConfigOptions{client: co}
	cmd := &cobra.Command{
		Use:   "config JOB [FILE]",
		Short: "Show a job's canary config, or override it with FILE",
		Long: `Without FILE, print the canary config JOB's runs are judged with: its override,
or kerf's default. With FILE ("-" for standard input), validate it and store it
as JOB's override. FILE is a Kayenta-shaped document without samples:

  {"canaryConfig": {"metrics": [{"name": "feed_ratio", "groups": ["motion"],
       "analysisConfigurations": {"canary": {"direction": "decrease", "critical": true,
         "effectSize": {"allowedDecrease": 0.95, "criticalDecrease": 0.8}}}}, …],
     "classifier": {"groupWeights": {"motion": 40, …}}},
   "scoreThresholds": {"pass": 90, "marginal": 70}}

Start from the default ("kerf canary config JOB > mine.json", edit the
"document" object). Errors name the JSON path of the problem.`,
		Example: `  kerf canary config 00A7
  kerf canary config 00A7 strict.json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("job", args[0])
			if err != nil {
				return err
			}
			o.Job = id
			if len(args) == 2 {
				o.File = args[1]
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(canaryConfigRun(cmd.Context(), ios, o))
		},
	}
	return cmd
}

func canaryConfigRun(ctx context.Context, ios IOStreams, o *canaryConfigOptions) error {
	if o.File != "" {
		// Validate locally first: the error names FILE and the JSON path
		// without a round trip.
		data, err := readCanaryInput(ios, o.File)
		if err != nil {
			return &ExitError{Code: canaryExitInvalid, Err: err}
		}
		d, err := canary.ParseDocument(data)
		if err != nil {
			return &ExitError{Code: canaryExitInvalid, Err: fmt.Errorf("%s: %w", o.File, err)}
		}
		if len(d.Series) > 0 {
			return &ExitError{Code: canaryExitInvalid, Err: fmt.Errorf("%s: canaryConfig.metrics: a config carries no control or experiment samples", o.File)}
		}
		c, err := o.client.client()
		if err != nil {
			return err
		}
		doc, err := c.SetCanaryConfig(ctx, o.Job, data)
		if err != nil {
			return fmt.Errorf("canary config: %w", err)
		}
		for _, w := range doc.Warnings {
			fmt.Fprintf(ios.ErrOut, "warning: %s\n", w)
		}
		fmt.Fprintf(ios.Out, "job %s is judged with %s now\n", o.Job, o.File)
		return nil
	}
	c, err := o.client.client()
	if err != nil {
		return err
	}
	doc, err := c.CanaryConfig(ctx, o.Job)
	if err != nil {
		return fmt.Errorf("canary config: %w", err)
	}
	return printJSON(ios.Out, doc)
}

// canaryReportOptions are the inputs of `kerf canary report RUN`.
type canaryReportOptions struct {
	client *clientOptions
	Run    jobs.ID
	JSON   bool
}

func newCmdCanaryReport(ios IOStreams, co *clientOptions, runF func(context.Context, *canaryReportOptions) error) *cobra.Command {
	o := &canaryReportOptions{client: co}
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Show a run's canary verdict against its job's baseline",
		Long: `Print the canary verdict of RUN: per metric the baseline's and the run's
statistics, the classification and the mean ratio; the group scores; the score
and its classification. The verdict is the one live judging stored at the end of
the run, or, when there is none, one judged now from the stored telemetry.`,
		Example: `  kerf canary report 00B3
  kerf canary report 00B3 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("run", args[0])
			if err != nil {
				return err
			}
			o.Run = id
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(canaryReportRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: {run, baseline, live, verdict: Kayenta's result}")
	return cmd
}

// verdictJSON is the part of Kayenta's result the report prints.
type verdictJSON struct {
	Score struct {
		Score          float64 `json:"score"`
		Classification string  `json:"classification"`
		Reason         string  `json:"classificationReason"`
	} `json:"score"`
	GroupScores map[string]float64 `json:"groupScores"`
	Results     map[string]struct {
		Classification string `json:"classification"`
		Critical       bool   `json:"critical"`
		Muted          bool   `json:"muted"`
		Control        struct {
			Stats statsJSON `json:"stats"`
		} `json:"controlMetadata"`
		Experiment struct {
			Stats statsJSON `json:"stats"`
		} `json:"experimentMetadata"`
		Result *struct {
			Ratio *float64 `json:"ratio"`
		} `json:"resultMetadata"`
	} `json:"results"`
}

type statsJSON struct {
	Count int      `json:"count"`
	Mean  *float64 `json:"mean"`
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
}

func (s statsJSON) String() string {
	if s.Count == 0 || s.Mean == nil {
		return "no data"
	}
	return fmt.Sprintf("%s [%s–%s] n=%d", num(s.Mean), num(s.Min), num(s.Max), s.Count)
}

func num(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return "-"
	}
	return fmt.Sprintf("%.4g", *v)
}

func canaryReportRun(ctx context.Context, ios IOStreams, o *canaryReportOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	rep, err := c.CanaryReport(ctx, o.Run)
	if err != nil {
		return fmt.Errorf("canary report: %w", err)
	}
	if o.JSON {
		return printJSON(ios.Out, rep)
	}
	var v verdictJSON
	if err := json.Unmarshal(rep.Verdict, &v); err != nil {
		return fmt.Errorf("canary report: run %s: verdict: %w", o.Run, err)
	}
	source := "stored by live judging"
	if !rep.Live {
		source = "judged now from the stored telemetry"
	}
	fmt.Fprintf(ios.Out, "run %s against baseline run %s (%s)\n", rep.Run, rep.Baseline, source)
	if len(rep.Muted) > 0 {
		fmt.Fprintf(ios.Out, "muted where an override was not 100 %%: %s\n", strings.Join(rep.Muted, ", "))
	}
	fmt.Fprintln(ios.Out)
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tCLASSIFICATION\tBASELINE mean [min–max]\tRUN mean [min–max]\tRATIO")
	names := make([]string, 0, len(v.Results))
	for n := range v.Results {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		m := v.Results[n]
		class := m.Classification
		if m.Critical {
			class += " (critical)"
		}
		if m.Muted {
			class += " (muted)"
		}
		ratio := "-"
		if m.Result != nil {
			ratio = num(m.Result.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n, class, m.Control.Stats, m.Experiment.Stats, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	groups := make([]string, 0, len(v.GroupScores))
	for g := range v.GroupScores {
		groups = append(groups, fmt.Sprintf("%s %.4g", g, v.GroupScores[g]))
	}
	slices.Sort(groups)
	fmt.Fprintf(ios.Out, "\ngroups: %s\n", strings.Join(groups, ", "))
	fmt.Fprintf(ios.Out, "score:  %.2f %s", v.Score.Score, v.Score.Classification)
	if v.Score.Reason != "" {
		fmt.Fprintf(ios.Out, " (%s)", v.Score.Reason)
	}
	fmt.Fprintln(ios.Out)
	return nil
}
