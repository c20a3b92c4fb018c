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

// newCmdMachine builds "kerf machine" and its subcommands.
func newCmdMachine(ios IOStreams) *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "machine",
		Short: "Home, unlock, reset, jog and configure the machine through the daemon",
	}
	addClientFlags(cmd, co)
	simple := []struct {
		use, short, long, done string
		act                    func(*web.Client, context.Context) error
	}{
		{"home", "Run the homing cycle ($H)", "Run GRBL's homing cycle ($H) and wait until it has finished.", "homed", (*web.Client).Home},
		{"unlock", "Clear an alarm lock ($X)", "Clear GRBL's alarm lock ($X) without homing. Only do this when you know the\nmachine position is still right; otherwise home.", "unlocked", (*web.Client).Unlock},
		{"reset", "Soft-reset the board (Ctrl-X)", "Soft-reset GRBL (0x18): motion stops at once, the planner is emptied. A reset\nwhile moving loses the position and leaves GRBL in alarm.", "reset sent", (*web.Client).Reset},
	}
	for _, s := range simple {
		cmd.AddCommand(&cobra.Command{
			Use:     s.use,
			Short:   s.short,
			Long:    s.long,
			Example: "  kerf machine " + s.use,
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := co.client()
				if err != nil {
					return err
				}
				if err := s.act(c, cmd.Context()); err != nil {
					return daemonErr(fmt.Errorf("machine %s: %w", s.use, err))
				}
				fmt.Fprintln(ios.ErrOut, s.done)
				return nil
			},
		})
	}
	cmd.AddCommand(newCmdMachineJog(ios, co, nil), newCmdMachineSettings(ios, co, nil), newCmdMachineProbe(ios, co))
	cmd.AddCommand(newCmdMachineOffsets(ios, co, nil), newCmdMachineZero(ios, co, nil))
	return cmd
}

// jogOptions are the inputs of "kerf machine jog".
type jogOptions struct {
	client   *clientOptions
	Request  web.JogRequest
	Absolute bool
	Cancel   bool
}

func newCmdMachineJog(ios IOStreams, co *clientOptions, runF func(context.Context, *jogOptions) error) *cobra.Command {
	o := &jogOptions{client: co}
	var x, y, z float64
	cmd := &cobra.Command{
		Use:   "jog [--x MM] [--y MM] [--z MM] --feed MM_PER_MIN",
		Short: "Jog the machine",
		Long: `Jog with GRBL's $J= command. By default the distances are relative to where
the machine is (G91); with --absolute they are a target in work coordinates
(G90). Jogs outside the soft limits are refused by GRBL. --cancel stops a jog
in progress.`,
		Example: `  kerf machine jog --x 10 --feed 1000
  kerf machine jog --z -0.5 --feed 100
  kerf machine jog --absolute --x 0 --y 0 --feed 2000
  kerf machine jog --cancel`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if o.Cancel {
				if f.Changed("x") || f.Changed("y") || f.Changed("z") || f.Changed("feed") || o.Absolute {
					return fmt.Errorf("--cancel takes no other flags")
				}
			} else {
				o.Request.Incremental = !o.Absolute
				if f.Changed("x") {
					o.Request.X = &x
				}
				if f.Changed("y") {
					o.Request.Y = &y
				}
				if f.Changed("z") {
					o.Request.Z = &z
				}
				if err := o.Request.Validate(); err != nil {
					return flagError(err)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(jogRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().Float64Var(&x, "x", 0, "X distance (or target with --absolute) in mm")
	cmd.Flags().Float64Var(&y, "y", 0, "Y distance (or target with --absolute) in mm")
	cmd.Flags().Float64Var(&z, "z", 0, "Z distance (or target with --absolute) in mm")
	cmd.Flags().Float64Var(&o.Request.Feed, "feed", 0, "feed rate in mm/min (required)")
	cmd.Flags().BoolVar(&o.Absolute, "absolute", false, "the axes are a target in work coordinates, not distances")
	cmd.Flags().BoolVar(&o.Cancel, "cancel", false, "cancel the jog in progress")
	return cmd
}

// flagError rewords a request validation error in terms of the CLI's flags.
func flagError(err error) error {
	msg := err.Error()
	msg = strings.TrimSuffix(msg, ": "+web.ErrBadRequest.Error())
	msg = strings.ReplaceAll(msg, "fields x, y, z", "--x, --y, --z")
	for _, f := range []string{"feed", "x", "y", "z"} {
		msg = strings.ReplaceAll(msg, "field "+f+":", "--"+f+":")
	}
	return fmt.Errorf("%s", msg)
}

func jogRun(ctx context.Context, ios IOStreams, o *jogOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	if o.Cancel {
		if err := c.JogCancel(ctx); err != nil {
			return fmt.Errorf("machine jog --cancel: %w", err)
		}
		return nil
	}
	if err := c.Jog(ctx, o.Request); err != nil {
		return fmt.Errorf("machine jog: %w", err)
	}
	return nil
}

// settingsOptions are the inputs of "kerf machine settings".
type settingsOptions struct {
	client *clientOptions
	Set    []web.SettingUpdate
	JSON   bool
}

func newCmdMachineSettings(ios IOStreams, co *clientOptions, runF func(context.Context, *settingsOptions) error) *cobra.Command {
	o := &settingsOptions{client: co}
	cmd := &cobra.Command{
		Use:   "settings [$N=VALUE...]",
		Short: "Show or change GRBL's $ settings",
		Long: `Without arguments, list GRBL's $ settings. With N=VALUE arguments, write those
settings in order (GRBL stores them in EEPROM; the machine must be idle). The $
in front of N is optional.`,
		Example: `  kerf machine settings
  kerf machine settings --json | jq '.[] | select(.number >= 110 and .number <= 112)'
  kerf machine settings 110=2000 111=2000`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Set = o.Set[:0]
			for _, a := range args {
				u, err := parseSettingArg(a)
				if err != nil {
					return err
				}
				o.Set = append(o.Set, u)
			}
			if o.JSON && len(o.Set) > 0 {
				return fmt.Errorf("--json only applies when listing settings")
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(settingsRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

// parseSettingArg parses "$N=VALUE" or "N=VALUE".
func parseSettingArg(a string) (web.SettingUpdate, error) {
	k, v, ok := strings.Cut(strings.TrimPrefix(a, "$"), "=")
	if !ok {
		return web.SettingUpdate{}, fmt.Errorf("setting %q: want N=VALUE, e.g. 110=1000", a)
	}
	n, err := strconv.Atoi(k)
	if err != nil {
		return web.SettingUpdate{}, fmt.Errorf("setting %q: %q is not a setting number", a, k)
	}
	u := web.SettingUpdate{Number: n, Value: v}
	if err := u.Validate(); err != nil {
		msg := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "setting: "), ": "+web.ErrBadRequest.Error())
		return web.SettingUpdate{}, fmt.Errorf("setting %q: %s", a, msg)
	}
	return u, nil
}

func settingsRun(ctx context.Context, ios IOStreams, o *settingsOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	for _, u := range o.Set {
		if err := c.SetSetting(ctx, u.Number, u.Value); err != nil {
			return fmt.Errorf("machine settings: $%d=%s: %w", u.Number, u.Value, err)
		}
		fmt.Fprintf(ios.ErrOut, "$%d=%s\n", u.Number, u.Value)
	}
	if len(o.Set) > 0 {
		return nil
	}
	list, err := c.Settings(ctx)
	if err != nil {
		return fmt.Errorf("machine settings: %w", err)
	}
	if o.JSON {
		if list == nil {
			list = []web.Setting{}
		}
		return printJSON(ios.Out, list)
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	for _, s := range list {
		fmt.Fprintf(tw, "$%d=%s\t%s\n", s.Number, s.Value, s.Name)
	}
	return tw.Flush()
}
