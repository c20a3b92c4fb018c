package cmd

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/spf13/cobra"
)

// newCmdBaseline builds the `baseline` command group.
func newCmdBaseline(ios IOStreams) *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Choose the good run later runs of a job are judged against",
		Long: `A job's baseline is a completed run of it on this machine profile. While a later
run of the job runs, the daemon's canary judge compares it, window by window
of the program, with the baseline and aborts it when the verdict is Fail (see
"kerf canary report"). The first completed run of a job is offered as its
baseline ("kerf baseline show JOB").`,
	}
	addClientFlags(cmd, co)
	cmd.AddCommand(
		newCmdBaselineSet(ios, co, nil),
		newCmdBaselineShow(ios, co, nil),
		newCmdBaselineClear(ios, co, nil),
	)
	return cmd
}

// baselineOptions are the inputs of the baseline subcommands.
type baselineOptions struct {
	client *clientOptions
	// ID is the run (set) or the job (show, clear).
	ID   jobs.ID
	JSON bool
}

func newCmdBaselineSet(ios IOStreams, co *clientOptions, runF func(context.Context, *baselineOptions) error) *cobra.Command {
	o := &baselineOptions{client: co}
	cmd := &cobra.Command{
		Use:     "set RUN",
		Short:   "Make a completed run its job's baseline",
		Example: `  kerf baseline set 00B2`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("run", args[0])
			if err != nil {
				return err
			}
			o.ID = id
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(baselineSetRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the baseline as JSON")
	return cmd
}

func baselineSetRun(ctx context.Context, ios IOStreams, o *baselineOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	run, err := c.Run(ctx, o.ID)
	if err != nil {
		return fmt.Errorf("baseline set: %w", err)
	}
	b, err := c.SetBaseline(ctx, run.JobID, run.ID)
	if err != nil {
		return fmt.Errorf("baseline set: %w", err)
	}
	if o.JSON {
		return printJSON(ios.Out, b)
	}
	fmt.Fprintf(ios.Out, "run %s is now the baseline of job %s\n", b.RunID, b.JobID)
	return nil
}

func newCmdBaselineShow(ios IOStreams, co *clientOptions, runF func(context.Context, *baselineOptions) error) *cobra.Command {
	o := &baselineOptions{client: co}
	cmd := &cobra.Command{
		Use:     "show JOB",
		Short:   "Show a job's baseline, or the run offered as one",
		Example: `  kerf baseline show 00A7`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("job", args[0])
			if err != nil {
				return err
			}
			o.ID = id
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(baselineShowRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: {job, baseline|null, offered}")
	return cmd
}

func baselineShowRun(ctx context.Context, ios IOStreams, o *baselineOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	info, err := c.Baseline(ctx, o.ID)
	if err != nil {
		return fmt.Errorf("baseline show: %w", err)
	}
	if o.JSON {
		return printJSON(ios.Out, info)
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "job\t%s\n", info.Job)
	if info.Baseline != nil {
		fmt.Fprintf(tw, "baseline\trun %s\n", info.Baseline.RunID)
		fmt.Fprintf(tw, "set\t%s\n", info.Baseline.Set.Local().Format(time.DateTime))
	} else {
		fmt.Fprintf(tw, "baseline\tnone\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case info.Baseline == nil && info.Offered != 0:
		fmt.Fprintf(ios.Out, "\nrun %s is the job's first completed run on this machine: make it the baseline with\n  kerf baseline set %s\n", info.Offered, info.Offered)
	case info.Baseline == nil:
		fmt.Fprintf(ios.Out, "\nno completed run yet: runs are judged once the job has a baseline\n")
	}
	return nil
}

func newCmdBaselineClear(ios IOStreams, co *clientOptions, runF func(context.Context, *baselineOptions) error) *cobra.Command {
	o := &baselineOptions{client: co}
	cmd := &cobra.Command{
		Use:     "clear JOB",
		Short:   "Remove a job's baseline (its runs are no longer judged)",
		Example: `  kerf baseline clear 00A7`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("job", args[0])
			if err != nil {
				return err
			}
			o.ID = id
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(baselineClearRun(cmd.Context(), ios, o))
		},
	}
	return cmd
}

func baselineClearRun(ctx context.Context, ios IOStreams, o *baselineOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	if err := c.ClearBaseline(ctx, o.ID); err != nil {
		return fmt.Errorf("baseline clear: %w", err)
	}
	fmt.Fprintf(ios.Out, "job %s has no baseline now\n", o.ID)
	return nil
}
