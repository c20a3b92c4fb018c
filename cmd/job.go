package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
)

// newCmdJob builds "kerf job" and its subcommands.
func newCmdJob(ios IOStreams) *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Add, list, start and watch jobs on the kerf daemon",
		Long: `Jobs are G-code programs stored by the kerf daemon; each execution of a job
is a run. Every subcommand takes a job ID (as printed by "kerf job add").
pause, resume, abort and watch act on that job's current run; give --run to
name a run instead.

The commands talk to the local daemon over its Unix socket (see --data) or to
a remote one with --server and --token.`,
	}
	addClientFlags(cmd, co)
	cmd.AddCommand(
		newCmdJobAdd(ios, co, nil),
		newCmdJobList(ios, co, nil),
		newCmdJobShow(ios, co, nil),
		newCmdJobStart(ios, co, nil),
		newCmdJobRunAction(ios, co, "pause", nil),
		newCmdJobRunAction(ios, co, "resume", nil),
		newCmdJobRunAction(ios, co, "abort", nil),
		newCmdJobWatch(ios, co, nil),
		newCmdJobDelete(ios, co),
	)
	return cmd
}

// jobAddOptions are the inputs of "kerf job add".
type jobAddOptions struct {
	client *clientOptions
	File   string
	Name   string
	Start  bool
	JSON   bool
	// NoDrift opts the job out of Z-drift checkpoints.
	NoDrift bool
}

func newCmdJobAdd(ios IOStreams, co *clientOptions, runF func(context.Context, *jobAddOptions) error) *cobra.Command {
	o := &jobAddOptions{client: co}
	cmd := &cobra.Command{
		Use:   "add FILE",
		Short: "Upload a G-code file as a new job",
		Long: `Upload a G-code file to the daemon, which checks it against GRBL 1.1 and
stores it. Prints the new job's ID. A file GRBL would reject is not added:
its problems are printed as FILE:LINE:COL and the command exits with 1.`,
		Example: `  kerf job add sign.nc
  kerf job add sign.nc --name "oak sign" --start
  id=$(kerf job add part.gcode --json | jq -r .id)`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(jobAddRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", "", "job name (default: the file's base name)")
	cmd.Flags().BoolVar(&o.Start, "start", false, "queue a run of the job right away")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the job as JSON (with the run when --start)")
	cmd.Flags().BoolVar(&o.NoDrift, "no-drift", false, "no Z-drift checkpoints for this job (no reference probe either)")
	return cmd
}

func jobAddRun(ctx context.Context, ios IOStreams, o *jobAddOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	f, err := os.Open(o.File)
	if err != nil {
		return fmt.Errorf("job add: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("job add: %s is a directory, not a G-code file", o.File)
	}
	name := o.Name
	if name == "" {
		name = filepath.Base(o.File)
	}
	job, err := c.AddJobWith(ctx, name, f, web.AddJobOptions{NoDrift: o.NoDrift})
	if err != nil {
		var ae *web.APIError
		if errors.As(err, &ae) {
			if diags := ae.ProgramDiagnostics(); len(diags) > 0 {
				for _, d := range diags {
					d.File = o.File // point at the file as the user named it
					fmt.Fprintln(ios.ErrOut, d)
				}
				return &ExitError{Code: 1, Err: fmt.Errorf("%s was not added: GRBL would reject it", o.File)}
			}
		}
		return fmt.Errorf("job add %s: %w", o.File, err)
	}
	var run *jobs.Run
	if o.Start {
		r, err := c.StartJob(ctx, job.ID, 0)
		if err != nil {
			return fmt.Errorf("job %s added, but starting it failed: %w", job.ID, err)
		}
		run = &r
	}
	if o.JSON {
		return printJSON(ios.Out, struct {
			jobs.Job
			Run *jobs.Run `json:"run,omitempty"`
		}{job, run})
	}
	fmt.Fprintln(ios.Out, job.ID)
	if run != nil {
		fmt.Fprintf(ios.ErrOut, "run %s queued; follow it with: kerf job watch %s\n", run.ID, job.ID)
	}
	return nil
}

// jobListOptions are the inputs of "kerf job list".
type jobListOptions struct {
	client *clientOptions
	Limit  int
	JSON   bool
}

func newCmdJobList(ios IOStreams, co *clientOptions, runF func(context.Context, *jobListOptions) error) *cobra.Command {
	o := &jobListOptions{client: co}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List jobs, newest first",
		Example: `  kerf job list
  kerf job list --limit 5 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Limit < 1 || o.Limit > jobs.MaxPageLimit {
				return fmt.Errorf("--limit: %d is not between 1 and %d", o.Limit, jobs.MaxPageLimit)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(jobListRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().IntVar(&o.Limit, "limit", 50, "show at most this many jobs")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func jobListRun(ctx context.Context, ios IOStreams, o *jobListOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	list, err := c.Jobs(ctx, jobs.Page{Limit: o.Limit})
	if err != nil {
		return fmt.Errorf("job list: %w", err)
	}
	if o.JSON {
		if list == nil {
			list = []jobs.Job{}
		}
		return printJSON(ios.Out, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(ios.ErrOut, "no jobs yet: add one with kerf job add FILE")
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tLINES\tSIZE\tADDED")
	for _, j := range list {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", j.ID, j.Name, j.Lines, sizeText(j.Size), j.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// jobShowOptions are the inputs of "kerf job show".
type jobShowOptions struct {
	client *clientOptions
	ID     jobs.ID
	JSON   bool
}

// recentRuns is how many runs "kerf job show" lists.
const recentRuns = 10

func newCmdJobShow(ios IOStreams, co *clientOptions, runF func(context.Context, *jobShowOptions) error) *cobra.Command {
	o := &jobShowOptions{client: co}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a job and its recent runs",
		Example: `  kerf job show 00A7
  kerf job show 00A7 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("job", args[0])
			if err != nil {
				return err
			}
			o.ID = id
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(jobShowRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON: the job with a runs array")
	return cmd
}

func jobShowRun(ctx context.Context, ios IOStreams, o *jobShowOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	job, err := c.Job(ctx, o.ID)
	if err != nil {
		return fmt.Errorf("job show: %w", err)
	}
	runs, err := c.Runs(ctx, jobs.RunFilter{JobID: o.ID, Page: jobs.Page{Limit: recentRuns}})
	if err != nil {
		return fmt.Errorf("job show: runs of job %s: %w", o.ID, err)
	}
	if runs == nil {
		runs = []jobs.Run{}
	}
	if o.JSON {
		return printJSON(ios.Out, struct {
			jobs.Job
			Runs []jobs.Run `json:"runs"`
		}{job, runs})
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\n", job.ID)
	fmt.Fprintf(tw, "name\t%s\n", job.Name)
	fmt.Fprintf(tw, "lines\t%d\n", job.Lines)
	fmt.Fprintf(tw, "size\t%s\n", sizeText(job.Size))
	fmt.Fprintf(tw, "sha256\t%s\n", job.SHA256)
	fmt.Fprintf(tw, "added\t%s\n", job.Created.Local().Format(time.DateTime))
	if job.NoDrift {
		fmt.Fprintf(tw, "drift\toff for this job (added with --no-drift)\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintf(ios.Out, "\nno runs yet: start one with kerf job start %s\n", job.ID)
		return nil
	}
	fmt.Fprintln(ios.Out)
	tw = tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATE\tSTARTED\tLINE\tREASON")
	for _, r := range runs {
		started := "-"
		if !r.Started.IsZero() {
			started = r.Started.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\n", r.ID, r.State, started, r.LastExecutedLine, job.Lines, r.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return showRunDrift(ctx, c, ios.Out, runs)
}

// jobStartOptions are the inputs of "kerf job start".
type jobStartOptions struct {
	client   *clientOptions
	ID       jobs.ID
	FromLine int
	JSON     bool
}

func newCmdJobStart(ios IOStreams, co *clientOptions, runF func(context.Context, *jobStartOptions) error) *cobra.Command {
	o := &jobStartOptions{client: co}
	cmd := &cobra.Command{
		Use:   "start ID",
		Short: "Queue a run of a job",
		Long: `Queue a run of the job and print the run's ID. The daemon runs one job at a
time; with --from-line the run starts at that source line, with the modal
state (units, offsets, feed, spindle…) rebuilt and a safe approach.`,
		Example: `  kerf job start 00A7
  kerf job start 00A7 --from-line 1200`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("job", args[0])
			if err != nil {
				return err
			}
			if o.FromLine < 0 {
				return fmt.Errorf("--from-line: %d is negative", o.FromLine)
			}
			o.ID = id
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(jobStartRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().IntVar(&o.FromLine, "from-line", 0, "start at this 1-based source line (0: the beginning)")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the run as JSON")
	return cmd
}

func jobStartRun(ctx context.Context, ios IOStreams, o *jobStartOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	run, err := c.StartJob(ctx, o.ID, o.FromLine)
	if err != nil {
		return fmt.Errorf("job start %s: %w", o.ID, err)
	}
	if o.JSON {
		return printJSON(ios.Out, run)
	}
	fmt.Fprintln(ios.Out, run.ID)
	return nil
}

// jobRunActionOptions are the inputs of "kerf job pause|resume|abort".
type jobRunActionOptions struct {
	client *clientOptions
	Action string
	JobID  jobs.ID
	RunID  jobs.ID
	JSON   bool
}

// actionStates lists the run states an action applies to; the job's
// newest run in one of them is the one acted on.
func actionStates(action string) []jobs.RunState {
	switch action {
	case "pause":
		return []jobs.RunState{jobs.StateRunning}
	case "resume":
		return []jobs.RunState{jobs.StatePaused}
	}
	return []jobs.RunState{jobs.StateQueued, jobs.StateRunning, jobs.StatePaused}
}

func newCmdJobRunAction(ios IOStreams, co *clientOptions, action string, runF func(context.Context, *jobRunActionOptions) error) *cobra.Command {
	o := &jobRunActionOptions{client: co, Action: action}
	short := map[string]string{
		"pause":  "Pause a job's running run (feed hold)",
		"resume": "Resume a job's paused run",
		"abort":  "Abort a job's queued, running or paused run",
	}[action]
	cmd := &cobra.Command{
		Use:   action + " ID",
		Short: short,
		Long: short + `.

ID is the job ID; the command acts on that job's run that is in a state the
action applies to. With --run, ID may be omitted and the named run is used.`,
		Example: fmt.Sprintf("  kerf job %s 00A7\n  kerf job %s --run 0012", action, action),
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := jobOrRun("job "+action, args, o.RunID)
			if err != nil {
				return err
			}
			o.JobID = id
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(jobRunActionRun(cmd.Context(), ios, o))
		},
	}
	runIDFlag(cmd, &o.RunID)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the run as JSON")
	return cmd
}

// jobOrRun reads the optional job ID argument of a command that acts on a
// job's run or on the run named by --run (runID): the job ID, or 0 when
// only --run names the run. Neither is an error naming the command.
func jobOrRun(command string, args []string, runID jobs.ID) (jobs.ID, error) {
	if len(args) == 1 {
		return parseIDArg("job", args[0])
	}
	if runID == 0 {
		return 0, fmt.Errorf("%s: give a job ID or --run RUN", command)
	}
	return 0, nil
}

// idValue is a pflag.Value holding a jobs.ID.
type idValue struct{ id *jobs.ID }

func (v idValue) String() string {
	if v.id == nil || *v.id == 0 {
		return ""
	}
	return v.id.String()
}

func (v idValue) Set(s string) error {
	id, err := jobs.ParseID(s)
	if err != nil {
		return err
	}
	*v.id = id
	return nil
}

func (v idValue) Type() string { return "RUN" }

func runIDFlag(cmd *cobra.Command, id *jobs.ID) {
	cmd.Flags().Var(idValue{id}, "run", "act on this run ID instead of the job's current run")
}

// findRun returns the run to act on: runID when set (checked to belong to
// jobID when both are), otherwise the newest run of jobID in one of states
// (any state when none are given).
func findRun(ctx context.Context, c *web.Client, jobID, runID jobs.ID, what string, states ...jobs.RunState) (jobs.Run, error) {
	if runID != 0 {
		r, err := c.Run(ctx, runID)
		if err != nil {
			return jobs.Run{}, err
		}
		if jobID != 0 && r.JobID != jobID {
			return jobs.Run{}, fmt.Errorf("run %s belongs to job %s, not job %s", runID, r.JobID, jobID)
		}
		return r, nil
	}
	runs, err := c.Runs(ctx, jobs.RunFilter{JobID: jobID, States: states, Page: jobs.Page{Limit: 1}})
	if err != nil {
		return jobs.Run{}, err
	}
	if len(runs) == 0 {
		if len(states) == 0 {
			return jobs.Run{}, fmt.Errorf("job %s has no runs to %s: start one with kerf job start %s", jobID, what, jobID)
		}
		return jobs.Run{}, fmt.Errorf("job %s has no %v run to %s", jobID, states, what)
	}
	return runs[0], nil
}

func jobRunActionRun(ctx context.Context, ios IOStreams, o *jobRunActionOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	run, err := findRun(ctx, c, o.JobID, o.RunID, o.Action, actionStates(o.Action)...)
	if err != nil {
		return fmt.Errorf("job %s: %w", o.Action, err)
	}
	act := c.AbortRun
	switch o.Action {
	case "pause":
		act = c.PauseRun
	case "resume":
		act = c.ResumeRun
	}
	before := run
	run, err = act(ctx, before.ID)
	if err != nil {
		if !slices.Contains(actionStates(o.Action), before.State) {
			return fmt.Errorf("job %s: run %s is %s: %w", o.Action, before.ID, before.State, err)
		}
		return fmt.Errorf("job %s: run %s: %w", o.Action, before.ID, err)
	}
	if o.JSON {
		return printJSON(ios.Out, run)
	}
	fmt.Fprintf(ios.Out, "run %s %s\n", run.ID, run.State)
	return nil
}

func newCmdJobDelete(ios IOStreams, co *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a job with its runs and telemetry",
		Long: `Delete a job, its runs, their telemetry and its baseline. A job with a queued,
running or paused run cannot be deleted: abort the run first.`,
		Example: "  kerf job delete 00A7",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIDArg("job", args[0])
			if err != nil {
				return err
			}
			c, err := co.client()
			if err != nil {
				return err
			}
			if err := c.DeleteJob(cmd.Context(), id); err != nil {
				return daemonErr(fmt.Errorf("job delete: %w", err))
			}
			fmt.Fprintf(ios.ErrOut, "deleted job %s\n", id)
			return nil
		},
	}
}

// jobWatchOptions are the inputs of "kerf job watch".
type jobWatchOptions struct {
	client *clientOptions
	JobID  jobs.ID
	RunID  jobs.ID
	JSON   bool
	// Interval is how often the run is re-read when no event says it
	// changed.
	Interval time.Duration
	now      func() time.Time
}

func newCmdJobWatch(ios IOStreams, co *clientOptions, runF func(context.Context, *jobWatchOptions) error) *cobra.Command {
	o := &jobWatchOptions{client: co, now: time.Now}
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a job's run until it ends",
		Long: `Follow the job's newest run (or --run RUN) until it ends: a live progress
bar with ETA and state on a terminal, one plain line per change otherwise,
one JSON object per change with --json.

The exit code is the run's outcome: 0 when it completed, 1 when it failed,
was aborted or was interrupted.`,
		Example: `  kerf job add part.nc --start && kerf job watch 00A7
  kerf job watch 00A7 --json | jq -c '{state, last_executed_line}'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := jobOrRun("job watch", args, o.RunID)
			if err != nil {
				return err
			}
			o.JobID = id
			if o.Interval <= 0 {
				return fmt.Errorf("--interval: %v must be positive", o.Interval)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(jobWatchRun(cmd.Context(), ios, o))
		},
	}
	runIDFlag(cmd, &o.RunID)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the run as one JSON object per line whenever it changes")
	cmd.Flags().DurationVar(&o.Interval, "interval", time.Second, "re-read the run at least this often")
	_ = cmd.Flags().MarkHidden("interval")
	return cmd
}

// eventConcerns reports whether an event on a run.* topic may be about run
// id: it names id, or names no run at all (then the run is simply re-read).
func eventConcerns(m web.Message, id jobs.ID) bool {
	if m.Type != web.MsgEvent {
		return m.Type == web.MsgGap
	}
	var fields map[string]any
	if len(m.Data) == 0 || json.Unmarshal(m.Data, &fields) != nil {
		return true
	}
	named := false
	for _, k := range []string{"run", "run_id", "id"} { // the fields a run event may name its run with
		if v, ok := fields[k].(string); ok {
			named = true
			if other, err := jobs.ParseID(v); err == nil && other == id {
				return true
			}
		}
	}
	return !named
}

func jobWatchRun(ctx context.Context, ios IOStreams, o *jobWatchOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	// Subscribe before reading the run, so no change between the two is
	// missed.
	msgs := make(chan web.Message)
	st, err := c.Watch(ctx, 0, "run.*")
	switch {
	case errors.Is(err, web.ErrNotRunning):
		return err
	case err != nil:
		fmt.Fprintf(ios.ErrOut, "kerf: no event stream (%v); polling every %v\n", err, o.Interval)
	default:
		if _, err := st.Next(); err != nil { // hello: the subscription is in place
			st.Close()
			return fmt.Errorf("job watch: %w", err)
		}
		readerDone := make(chan struct{})
		stop := make(chan struct{})
		go func() {
			defer close(readerDone)
			for {
				m, err := st.Next()
				if err != nil {
					return // polling carries on
				}
				select {
				case msgs <- m:
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			st.Close() // unblocks Next
			<-readerDone
		}()
	}

	run, err := findRun(ctx, c, o.JobID, o.RunID, "watch")
	if err != nil {
		return fmt.Errorf("job watch: %w", err)
	}
	job, err := c.Job(ctx, run.JobID)
	if err != nil {
		return fmt.Errorf("job watch: job %s: %w", run.JobID, err)
	}
	p := &progressPrinter{ios: ios, json: o.JSON, lines: job.Lines, profile: runner.ProfileOf(job), now: o.now}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for {
		if err := p.show(run); err != nil {
			return err
		}
		if run.State.Terminal() {
			return p.finish(run)
		}
		select {
		case m := <-msgs:
			if p.drift(m, run.ID) || !eventConcerns(m, run.ID) {
				continue
			}
		case <-tick.C:
		case <-ctx.Done():
			p.interrupt()
			return fmt.Errorf("stopped watching run %s, which is still %s: %w", run.ID, run.State, ctx.Err())
		}
		r, err := c.Run(ctx, run.ID)
		if err != nil {
			p.interrupt()
			return fmt.Errorf("job watch: run %s: %w", run.ID, err)
		}
		run = r
	}
}

// progressPrinter renders a run's progress: a redrawn bar on a terminal,
// a line per change otherwise, a JSON object per change with --json.
type progressPrinter struct {
	ios   IOStreams
	json  bool
	lines int
	// profile is the job's time estimate by line (nil: none; the ETA is
	// then the share of lines).
	profile *runner.TimeProfile
	now     func() time.Time
	last    string // the last plain line or JSON printed
	drawn   bool   // a bar is on the terminal's current line
}

// fraction returns the share of the run's lines executed, in [0, 1].
func (p *progressPrinter) fraction(r jobs.Run) float64 {
	from := max(r.FromLine, 1) - 1
	total := p.lines - from
	if total <= 0 {
		return 0
	}
	done := max(r.LastExecutedLine-from, 0)
	return min(float64(done)/float64(total), 1)
}

// eta extrapolates the remaining time from the time spent so far (pauses
// left out): by the job's time estimate of the lines done and left when
// there is one (runner.TimeProfile), by the share of lines otherwise; it
// returns false when there is not enough to go on.
func (p *progressPrinter) eta(r jobs.Run, frac float64) (time.Duration, bool) {
	if r.State != jobs.StateRunning || r.Started.IsZero() || frac <= 0.005 || frac >= 1 {
		return 0, false
	}
	spent := p.now().Sub(r.Started) - r.Summary.Paused
	if spent <= 0 {
		return 0, false
	}
	if left, ok := p.profile.Left(r.FromLine, r.LastExecutedLine, spent); ok {
		return left.Round(time.Second), true
	}
	return time.Duration(float64(spent) * (1 - frac) / frac).Round(time.Second), true
}

func (p *progressPrinter) show(r jobs.Run) error {
	if p.json {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("job watch: %w", err)
		}
		if s := string(b); s != p.last {
			p.last = s
			fmt.Fprintln(p.ios.Out, s)
		}
		return nil
	}
	if r.State.Terminal() {
		return nil // finish says how it ended
	}
	frac := p.fraction(r)
	pct := int(frac * 100)
	text := fmt.Sprintf("run %s %s %d%% (line %d/%d)", r.ID, r.State, pct, r.LastExecutedLine, p.lines)
	eta, haveETA := p.eta(r, frac)
	if p.ios.IsTerminal {
		line := fmt.Sprintf("\r\033[K%s %3d%%  line %d/%d  %s", bar(frac), pct, r.LastExecutedLine, p.lines, r.State)
		if haveETA {
			line += "  ETA " + eta.String()
		}
		fmt.Fprint(p.ios.Out, line)
		p.drawn = true
		return nil
	}
	if text != p.last {
		p.last = text
		if haveETA {
			text += " ETA " + eta.String()
		}
		fmt.Fprintln(p.ios.Out, text)
	}
	return nil
}

// interrupt ends a drawn bar's line before an error is printed.
func (p *progressPrinter) interrupt() {
	if p.drawn {
		fmt.Fprintln(p.ios.Out)
		p.drawn = false
	}
}

// finish prints the outcome and turns it into the exit status.
func (p *progressPrinter) finish(r jobs.Run) error {
	p.interrupt()
	took := ""
	if !r.Started.IsZero() && !r.Ended.IsZero() {
		took = " in " + r.Ended.Sub(r.Started).Round(time.Second).String()
	}
	if r.State == jobs.StateCompleted {
		if !p.json {
			fmt.Fprintf(p.ios.Out, "run %s completed%s\n", r.ID, took)
		}
		return nil
	}
	msg := fmt.Sprintf("run %s %s at line %d%s", r.ID, r.State, r.LastExecutedLine, took)
	if r.Reason != "" {
		msg += ": " + r.Reason
	}
	return &ExitError{Code: 1, Err: errors.New(msg)}
}
