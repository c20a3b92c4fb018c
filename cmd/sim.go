package cmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/grbl/sim"
)

// simOptions holds the flags of `kerf sim`.
type simOptions struct {
	PTY       string
	Profile   string
	Speed     float64
	Baud      int
	BootDelay time.Duration
	LineTime  time.Duration
	Faults    []string
	Settings  []string
	ProbeZ    string
}

// simFlagError names the flag whose value is wrong.
type simFlagError struct {
	Flag  string
	Value string
	Err   error
}

func (e *simFlagError) Error() string {
	return fmt.Sprintf("--%s %q: %v", e.Flag, e.Value, e.Err)
}

func (e *simFlagError) Unwrap() error { return e.Err }

func newCmdSim(ios IOStreams) *cobra.Command {
	o := &simOptions{}
	c := &cobra.Command{
		Use:   "sim --pty PATH [--profile P] [--speed X] [--fault SPEC]...",
		Short: "Run a simulated GRBL 1.1h board on a pseudo-terminal",
		Long: `Run a simulated GRBL 1.1h board (kerf's grbl/sim) behind a pseudo-terminal.

PATH becomes a symlink to the pseudo-terminal's slave device, so any serial
program (kerf, CNCjs, UGS, minicom) can open it at any baud rate. Opening the
port resets the board and prints the banner, like an Arduino on DTR. The
symlink is removed when kerf sim stops (Ctrl-C).

Profiles: ` + strings.Join(sim.Profiles(), ", ") + ` (default: GRBL's generic settings).

Faults (repeat --fault):
  z-drift:RATE[,at=DUR]           mm of Z lost per mm plunged under the router
                                  (steeper than 60°; from DUR on): z-drift:0.02
  stall:line=N|at=DUR[,for=DUR]   motion freezes in Run, for DUR or forever
  reset:line=N|at=DUR             the board resets by itself
  unplug:line=N|at=DUR[,for=DUR]  the USB cable comes out (back after for=)
  error:line=N,code=C             the Nth received line is answered error:C
  alarm:line=N,code=C             ALARM:C when the Nth line arrives
  spindle-stuck-off               the spindle output never turns on
Durations are machine time (500ms, 30s, 2m).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := o.simConfig()
			if err != nil {
				return err
			}
			return runSim(cmd.Context(), ios, o.PTY, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&o.PTY, "pty", "", "path of the symlink to create to the pseudo-terminal (required)")
	f.StringVar(&o.Profile, "profile", "", "machine profile: "+strings.Join(sim.Profiles(), ", "))
	f.Float64Var(&o.Speed, "speed", 1, "time factor: 10 runs wire, processing and motion ten times faster")
	f.IntVar(&o.Baud, "baud", 115200, "simulated serial rate (8N1) that paces the wire")
	f.DurationVar(&o.BootDelay, "boot-delay", 0, "time from port open to banner (an Uno takes about 1.4s)")
	f.DurationVar(&o.LineTime, "line-time", 0, "board time to parse and plan a line (default 4ms; -1ns for none)")
	f.StringArrayVar(&o.Faults, "fault", nil, "inject a fault (repeatable; see above)")
	f.StringArrayVar(&o.Settings, "set", nil, "override a setting, N=VALUE (repeatable), e.g. --set 22=1")
	f.StringVar(&o.ProbeZ, "probe-z", "", "machine Z of a flat probe surface (touch plate); none by default")
	return c
}

// simConfig validates the flags and turns them into sim.Options.
func (o *simOptions) simConfig() (sim.Options, error) {
	var opts sim.Options
	if o.PTY == "" {
		return opts, &simFlagError{Flag: "pty", Value: "", Err: errors.New("required: where to put the pseudo-terminal symlink")}
	}
	if o.Speed <= 0 {
		return opts, &simFlagError{Flag: "speed", Value: strconv.FormatFloat(o.Speed, 'g', -1, 64), Err: errors.New("must be > 0")}
	}
	if o.Baud < 300 {
		return opts, &simFlagError{Flag: "baud", Value: strconv.Itoa(o.Baud), Err: errors.New("must be at least 300")}
	}
	if o.BootDelay < 0 {
		return opts, &simFlagError{Flag: "boot-delay", Value: o.BootDelay.String(), Err: errors.New("must not be negative")}
	}
	known := false
	for _, p := range sim.Profiles() {
		known = known || p == o.Profile
	}
	if o.Profile != "" && !known {
		return opts, &simFlagError{Flag: "profile", Value: o.Profile, Err: fmt.Errorf("unknown (want one of %s)", strings.Join(sim.Profiles(), ", "))}
	}
	opts = sim.Options{Profile: o.Profile, Speed: o.Speed, Baud: o.Baud, BootDelay: o.BootDelay, LineProcessing: o.LineTime}
	for _, spec := range o.Faults {
		f, err := sim.ParseFault(spec)
		if err != nil {
			return opts, &simFlagError{Flag: "fault", Value: spec, Err: err}
		}
		opts.Faults = append(opts.Faults, f)
	}
	for _, kv := range o.Settings {
		k, v, ok := strings.Cut(kv, "=")
		n, err1 := strconv.Atoi(strings.TrimPrefix(k, "$"))
		val, err2 := strconv.ParseFloat(v, 64)
		if !ok || err1 != nil || err2 != nil {
			return opts, &simFlagError{Flag: "set", Value: kv, Err: errors.New("want N=VALUE, e.g. 22=1")}
		}
		if opts.Settings == nil {
			opts.Settings = map[int]float64{}
		}
		opts.Settings[n] = val
	}
	if o.ProbeZ != "" {
		z, err := strconv.ParseFloat(o.ProbeZ, 64)
		if err != nil {
			return opts, &simFlagError{Flag: "probe-z", Value: o.ProbeZ, Err: errors.New("not a number")}
		}
		opts.Probe = sim.FlatSurface(z)
	}
	return opts, nil
}

// runSim serves the simulator until ctx is cancelled.
func runSim(ctx context.Context, ios IOStreams, path string, opts sim.Options) error {
	m, err := sim.New(opts)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer m.Close()
	profile := opts.Profile
	if profile == "" {
		profile = "generic"
	}
	// Said once the symlink exists (and again after a replug): a script
	// may open the port from then on.
	ready := func(device string) {
		fmt.Fprintf(ios.ErrOut, "kerf sim: GRBL 1.1h (%s profile, speed ×%g, %d baud) on %s -> %s; Ctrl-C to stop\n",
			profile, opts.Speed, opts.Baud, path, device)
	}
	if err := (&sim.PTY{Path: path, Machine: m, Ready: ready}).Serve(ctx); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	st := m.Stats()
	fmt.Fprintf(ios.ErrOut, "kerf sim: stopped after %d lines, %d errors, %d alarms, %d bytes dropped (RX overflow)\n",
		st.Lines, st.ErrorCount(), st.AlarmCount(), st.Overflows)
	return nil
}
