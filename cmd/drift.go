package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/jobs/probe"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
)

// driftService serves the API's drift routes from the daemon's store and
// machine supervisor.
type driftService struct {
	m     *machine.Machine
	store *jobs.Store
	setup probe.Setup
	now   func() time.Time
}

var _ web.DriftService = (*driftService)(nil)

// Checkpoints returns a run's checkpoints.
func (d *driftService) Checkpoints(ctx context.Context, runID jobs.ID) ([]jobs.Checkpoint, error) {
	return d.store.Checkpoints(ctx, runID)
}

// SetJobDrift records a job's drift opt-out.
func (d *driftService) SetJobDrift(ctx context.Context, id jobs.ID, enabled bool) (jobs.Job, error) {
	return d.store.SetJobDrift(ctx, id, enabled)
}

// ProbeReference probes the plate, compares the touch with the last
// reference and keeps it as the new one.
func (d *driftService) ProbeReference(ctx context.Context) (web.ProbeReply, error) {
	prev, err := d.store.Reference(ctx)
	havePrev := err == nil
	if err != nil && !errors.Is(err, jobs.ErrNotFound) {
		return web.ProbeReply{}, err
	}
	res, err := d.m.Probe(ctx, d.setup)
	if err != nil {
		if errors.Is(err, probe.ErrFailed) {
			return web.ProbeReply{}, &apiError{err: err, kind: web.ErrUnprocessable}
		}
		return web.ProbeReply{}, webErr(err)
	}
	reply := web.ProbeReply{MachineZ: res.Z}
	if havePrev {
		um := math.Round((res.Z-prev.Z)*1e4) / 10
		reply.ReferenceZ, reply.DriftUM = &prev.Z, &um
	}
	if err := d.store.SetReference(ctx, jobs.Reference{Z: res.Z, At: d.now()}); err != nil {
		return reply, err
	}
	return reply, nil
}

// newCmdMachineProbe builds "kerf machine probe".
func newCmdMachineProbe(ios IOStreams, co *clientOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Probe the reference plate once and show the Z drift since the last reference",
		Long: `Probe the touch plate of the daemon's [probe] setup once: the router is
switched off (and, with a sense input, confirmed off), the tool goes to the
plate at probe.safe_z, touches it fast, backs off, touches it slowly, and
comes back up; GRBL's modal state is restored. Prints the machine Z of the
touch and how far it is from the last reference measured (a run's reference
probe or the previous manual probe), which it then replaces.

A probe that does not touch within probe.max_travel is GRBL's ALARM:5: the
command fails and the board stays in alarm until "kerf machine unlock".`,
		Example: `  kerf machine probe
  kerf machine probe --json | jq .drift_um`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := co.client()
			if err != nil {
				return err
			}
			reply, err := c.Probe(cmd.Context())
			if err != nil {
				return daemonErr(fmt.Errorf("machine probe: %w", err))
			}
			if asJSON {
				return printJSON(ios.Out, reply)
			}
			fmt.Fprintf(ios.Out, "machine Z %.3f mm\n", reply.MachineZ)
			if reply.ReferenceZ == nil {
				fmt.Fprintln(ios.Out, "no earlier reference: this touch is the reference now")
				return nil
			}
			fmt.Fprintf(ios.Out, "reference Z %.3f mm, drift %+.1f µm\n", *reply.ReferenceZ, *reply.DriftUM)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the answer as JSON")
	return cmd
}

// printDrift writes a run's checkpoints as a table; nothing when it has none.
func printDrift(w io.Writer, runID jobs.ID, cps []jobs.Checkpoint) error {
	if len(cps) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nZ drift of run %s (limit ±%.0f µm):\n", runID, cps[0].LimitUM)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECKPOINT\tLINE\tELAPSED\tZ (mm)\tDRIFT (µm)")
	for _, c := range cps {
		name := fmt.Sprint(c.Index)
		if c.Index == 0 {
			name = "reference"
		}
		if !c.OK() {
			fmt.Fprintf(tw, "%s\t%d\t%s\tfailed\t%s\n", name, c.Line, c.Elapsed.Round(time.Second), c.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.3f\t%+.1f\n", name, c.Line, c.Elapsed.Round(time.Second), c.Z, c.DriftUM)
	}
	return tw.Flush()
}

// showRunDrift prints the drift of a job's newest run for "kerf job show".
func showRunDrift(ctx context.Context, c *web.Client, w io.Writer, runs []jobs.Run) error {
	if len(runs) == 0 {
		return nil
	}
	cps, err := c.RunDrift(ctx, runs[0].ID)
	if err != nil {
		var ae *web.APIError
		if errors.As(err, &ae) && ae.Status == 503 {
			return nil // a daemon without drift tracking
		}
		return fmt.Errorf("drift of run %s: %w", runs[0].ID, err)
	}
	return printDrift(w, runs[0].ID, cps)
}

// driftLine turns a run.drift event about run id into the line "kerf job
// watch" prints (ok false for other events).
func driftLine(m web.Message, id jobs.ID) (line string, ev runner.DriftEvent, ok bool) {
	if m.Type != web.MsgEvent || m.Topic != "run.drift" {
		return "", ev, false
	}
	if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Run != id {
		return "", ev, false
	}
	what := fmt.Sprintf("checkpoint %d before line %d", ev.Checkpoint, ev.Line)
	if ev.Checkpoint == 0 {
		what = "reference probe"
	}
	if ev.Error != "" {
		return fmt.Sprintf("drift %s failed: %s", what, ev.Error), ev, true
	}
	return fmt.Sprintf("drift %s: %+.1f µm (limit ±%.0f µm, %s into the run)", what, ev.DriftUM, ev.LimitMM*1000,
		time.Duration(ev.ElapsedNS).Round(time.Second)), ev, true
}

// drift prints a run.drift event: a line of its own (above a drawn bar on
// a terminal), or {"drift": event} with --json. It reports whether m was
// one.
func (p *progressPrinter) drift(m web.Message, id jobs.ID) bool {
	line, ev, ok := driftLine(m, id)
	if !ok {
		return false
	}
	if p.json {
		b, err := json.Marshal(struct {
			Drift runner.DriftEvent `json:"drift"`
		}{ev})
		if err == nil {
			fmt.Fprintln(p.ios.Out, string(b))
		}
		return true
	}
	p.interrupt()
	fmt.Fprintln(p.ios.Out, line)
	p.last = ""
	return true
}
