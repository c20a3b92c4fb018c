package cmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/web"
)

// newCmdRelay builds "kerf relay status|on|off".
func newCmdRelay(ios IOStreams) *cobra.Command {
	co := &clientOptions{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "relay",
		Short: "Show or switch the router relay through the daemon",
		Long: `Show or switch the router's relay (relay.mode in the daemon's configuration).

  status  the wiring mode, what kerf commanded, what the sense input reads,
          and the last switch with its latency from command to sensed edge.
  on      switch the router on by hand: only when the machine is Idle and no
          run is active (the daemon says why not otherwise). Drive mode
          closes the relay; sense mode sends M3 at S = $30 so that GRBL's
          output is steady, not PWM. With a sense input the command returns
          once the router shows as running.
  off     switch the router off: always allowed. A run that is active is
          stopped (feed hold, reset) and recorded as aborted.`,
		Example: `  kerf relay status
  kerf relay on
  kerf relay off
  kerf relay status --json`,
	}
	addClientFlags(cmd, co)
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the relay status as JSON")
	acts := []struct {
		use, short string
		act        func(*web.Client, context.Context) (web.RelayStatus, error)
	}{
		{"status", "Show the relay's mode, state and last switch", (*web.Client).RelayStatus},
		{"on", "Switch the router on (machine Idle, no run active)", (*web.Client).RelayOn},
		{"off", "Switch the router off (stops an active run)", (*web.Client).RelayOff},
	}
	for _, a := range acts {
		cmd.AddCommand(&cobra.Command{
			Use:     a.use,
			Short:   a.short,
			Example: "  kerf relay " + a.use,
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := co.client()
				if err != nil {
					return err
				}
				st, err := a.act(c, cmd.Context())
				if err != nil {
					return daemonErr(fmt.Errorf("relay %s: %w", a.use, err))
				}
				if asJSON {
					return printJSON(ios.Out, st)
				}
				printRelayStatus(ios.Out, st)
				return nil
			},
		})
	}
	return cmd
}

// printRelayStatus writes the status for people.
func printRelayStatus(w io.Writer, st web.RelayStatus) {
	fmt.Fprintf(w, "mode       %s\n", st.Mode)
	if st.Mode == "none" {
		fmt.Fprintln(w, "           kerf neither switches nor watches the router (set relay.mode to drive or sense)")
		return
	}
	fmt.Fprintf(w, "commanded  %s\n", onOffUnknown(st.Commanded))
	fmt.Fprintf(w, "sensed     %s\n", onOffUnknown(st.Sensed))
	sw := st.LastSwitch
	if sw == nil {
		fmt.Fprintln(w, "last       no switch yet")
		return
	}
	state := "off"
	if sw.On {
		state = "on"
	}
	check := "not checked (no sense input)"
	switch {
	case sw.Mismatch:
		check = "MISMATCH: the sense input did not follow"
	case sw.Confirmed:
		check = "sensed after " + sw.Latency.Round(time.Microsecond).String()
	case sw.Sensed != nil:
		check = "not confirmed yet"
	}
	fmt.Fprintf(w, "last       %s at %s (%s): %s\n", state, sw.Time.Local().Format("2006-01-02 15:04:05.000"), sw.Reason, check)
}

func onOffUnknown(b *bool) string {
	switch {
	case b == nil:
		return "n/a"
	case *b:
		return "on"
	}
	return "off"
}
