package cmd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/web"
)

// statusOptions are the inputs of "kerf status".
type statusOptions struct {
	client *clientOptions
	JSON   bool
}

func newCmdStatus(ios IOStreams) *cobra.Command {
	o := &statusOptions{client: &clientOptions{}}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the machine's state, position and alarms",
		Long: `Show what the daemon knows about the machine: connection, GRBL state,
positions, feed and spindle, overrides, the router relay, an alarm with how to
clear it, and the active run.`,
		Example: `  kerf status
  kerf status --json | jq .wpos`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return daemonErr(statusRun(cmd.Context(), ios, o))
		},
	}
	addClientFlags(cmd, o.client)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func statusRun(ctx context.Context, ios IOStreams, o *statusOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	st, err := c.MachineStatus(ctx)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if o.JSON {
		return printJSON(ios.Out, st)
	}
	return printStatus(ios, st)
}

func printStatus(ios IOStreams, st web.MachineStatus) error {
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	if !st.Connected {
		fmt.Fprintln(tw, "machine\tnot connected")
		if st.Port != "" {
			fmt.Fprintf(tw, "port\t%s (waiting for the board)\n", st.Port)
		}
	} else {
		fmt.Fprintf(tw, "machine\tconnected on %s\n", orDash(st.Port))
		state := st.State
		if st.SubState >= 0 && (st.State == "Hold" || st.State == "Door") {
			state += ":" + strconv.Itoa(st.SubState)
		}
		fmt.Fprintf(tw, "state\t%s\n", state)
		fmt.Fprintf(tw, "homed\t%s\n", homedText(st))
		if st.Alarm != nil {
			text := st.Alarm.Text
			if st.Alarm.Code > 0 {
				text = fmt.Sprintf("ALARM:%d %s", st.Alarm.Code, st.Alarm.Text)
			}
			fmt.Fprintf(tw, "alarm\t%s\n", text)
			fmt.Fprintf(tw, "to clear\t%s\n", st.Alarm.Clear)
		}
		if len(st.WPos) > 0 {
			fmt.Fprintf(tw, "work position\t%s\n", axes(st.WPos))
		}
		if len(st.MPos) > 0 {
			fmt.Fprintf(tw, "machine position\t%s\n", axes(st.MPos))
		}
		fmt.Fprintf(tw, "feed\t%g mm/min\n", st.Feed)
		fmt.Fprintf(tw, "spindle\t%g rpm\n", st.Spindle)
		fmt.Fprintf(tw, "overrides\tfeed %d%%  rapid %d%%  spindle %d%%\n", st.Overrides.Feed, st.Overrides.Rapid, st.Overrides.Spindle)
	}
	fmt.Fprintf(tw, "relay\t%s\n", relayText(st.Relay))
	if st.ActiveRun != 0 {
		fmt.Fprintf(tw, "active run\t%s\n", st.ActiveRun)
	} else {
		fmt.Fprintln(tw, "active run\tnone")
	}
	return tw.Flush()
}

// homedText says whether the machine is homed and, when homing is enabled
// and it is not, what to do.
func homedText(st web.MachineStatus) string {
	switch {
	case st.Homed:
		return "yes"
	case st.HomingEnabled:
		return "no: jobs will not start until you run kerf machine home"
	}
	return "no (homing is disabled: $22=0)"
}

func axes(v []float64) string {
	names := "XYZABC"
	parts := make([]string, 0, len(v))
	for i, x := range v {
		name := "?"
		if i < len(names) {
			name = names[i : i+1]
		}
		parts = append(parts, fmt.Sprintf("%s %.3f", name, x))
	}
	return strings.Join(parts, "  ")
}

func onOff(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "on"
	}
	return "off"
}

func relayText(r web.RelayStatus) string {
	switch r.Mode {
	case "", "none":
		return "none (router switched by hand)"
	case "drive":
		return fmt.Sprintf("drive: commanded %s, sensed %s", onOff(r.Commanded), onOff(r.Sensed))
	}
	return fmt.Sprintf("%s: sensed %s", r.Mode, onOff(r.Sensed))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
