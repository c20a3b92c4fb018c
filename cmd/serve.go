package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/hardware"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/jobs/probe"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/relay"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/ui"
)

var (
	_ runner.Link        = (*machine.Machine)(nil)
	_ web.JobService     = (*runner.Service)(nil)
	_ web.RunService     = (*runner.Service)(nil)
	_ web.MachineService = (*machineService)(nil)
	_ web.RelayService   = (*relayService)(nil)
	_ web.EventSource    = (*events.Hub)(nil)
	_ web.Backupper      = (*jobs.Store)(nil)
	_ web.TokenStore     = (*jobs.Store)(nil)
	_ web.UserStore      = (*jobs.Store)(nil)
)

type serveOptions struct {
	ConfigPath  string
	PrintConfig bool
	UIDir       string
	Faults      []string
	// Ready, when set, is called once the daemon serves (tests wait on it).
	Ready func(d *daemon)
}

func newCmdServe(ios IOStreams) *cobra.Command {
	opts := &serveOptions{}
	cfg := DefaultConfig()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the kerf daemon: the machine link, the job runner and the API",
		Long: `Run the kerf daemon. With no port it runs the built-in GRBL simulator
(a SainSmart 3018 PRO unless --profile says otherwise), so anyone can try
kerf without a machine. Jobs, runs and telemetry are kept in a bbolt
database in the data directory; the CLI talks to the daemon over the Unix
socket there, the panel and remote clients over --listen (authenticated).

Configuration: --config FILE (see --print-config for every key with its
default and meaning), with flags on top. SIGINT/SIGTERM: feed hold, router
off, the active run recorded as interrupted, clean exit.`,
		Example: `  kerf serve --sim
  kerf serve --port /dev/ttyUSB0 --listen :8080
  kerf serve --print-config > kerf.toml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.PrintConfig {
				return WriteDefaultConfig(ios.Out)
			}
			final := DefaultConfig()
			if opts.ConfigPath != "" {
				if err := LoadConfigFile(&final, opts.ConfigPath); err != nil {
					return &ExitError{Code: 2, Err: err}
				}
			}
			applyServeFlags(c, &final, &cfg, opts)
			if err := final.Validate(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return runServe(c.Context(), ios, final, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ConfigPath, "config", "", "config file (see --print-config)")
	f.BoolVar(&opts.PrintConfig, "print-config", false, "print every config key with its default, and exit")
	f.StringVar(&cfg.DataDir, "data", "", "data directory (default $KERF_DATA, $XDG_STATE_HOME/kerf, or /var/lib/kerf as root)")
	f.StringVar(&cfg.Port, "port", "", "serial port of the GRBL board (empty: the simulator)")
	f.IntVar(&cfg.Baud, "baud", cfg.Baud, "serial speed")
	f.IntVar(&cfg.RXBuffer, "rx-buffer", 0, "board receive buffer in bytes (0: from the board)")
	f.BoolVar(&cfg.Sim, "sim", false, "run the built-in GRBL simulator")
	f.StringVar(&cfg.SimProfile, "profile", cfg.SimProfile, "simulated machine: 3018pro or longmill30")
	f.Float64Var(&cfg.SimSpeed, "sim-speed", cfg.SimSpeed, "simulator speed factor")
	f.StringArrayVar(&opts.Faults, "sim-fault", nil, "simulator fault (repeatable; see kerf sim --help)")
	f.StringVar(&cfg.Listen, "listen", "", "TCP address for the panel and remote clients, e.g. :8080")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.StringVar(&cfg.RelayMode, "relay", cfg.RelayMode, "router relay mode: none, sense or drive")
	f.StringVar(&opts.UIDir, "ui-dir", "", "serve the panel from this directory (development)")
	return cmd
}

// applyServeFlags lays the flags the user set over the file's values.
func applyServeFlags(c *cobra.Command, dst, flags *Config, opts *serveOptions) {
	set := func(name string, apply func()) {
		if c.Flags().Changed(name) {
			apply()
		}
	}
	set("data", func() { dst.DataDir = flags.DataDir })
	set("port", func() { dst.Port = flags.Port })
	set("baud", func() { dst.Baud = flags.Baud })
	set("rx-buffer", func() { dst.RXBuffer = flags.RXBuffer })
	set("sim", func() { dst.Sim = flags.Sim })
	set("profile", func() { dst.SimProfile = flags.SimProfile })
	set("sim-speed", func() { dst.SimSpeed = flags.SimSpeed })
	set("sim-fault", func() { dst.SimFaults = opts.Faults })
	set("listen", func() { dst.Listen = flags.Listen })
	set("log-level", func() { dst.LogLevel = flags.LogLevel })
	set("relay", func() { dst.RelayMode = flags.RelayMode })
}

// resolveDataDir picks the data directory: config/flag, $KERF_DATA, the
// default.
func resolveDataDir(cfg Config) (string, error) {
	if cfg.DataDir != "" {
		return cfg.DataDir, nil
	}
	if d := os.Getenv("KERF_DATA"); d != "" {
		return d, nil
	}
	return DefaultDataDir()
}

// daemon holds everything kerf serve runs, in start order; close stops
// them in reverse.
type daemon struct {
	log     *slog.Logger
	dataDir string
	store   *jobs.Store
	hub     *events.Hub
	simM    *sim.Machine
	output  io.Closer
	input   io.Closer
	router  *relay.Router
	machine *machine.Machine
	runner  *runner.Service
	server  *web.Server
	stopSim func()
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func runServe(ctx context.Context, ios IOStreams, cfg Config, opts *serveOptions) error {
	d, err := openDaemon(ctx, ios, cfg, opts)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	if opts.Ready != nil {
		opts.Ready(d)
	}
	<-ctx.Done()
	d.log.Info("stopping: feed hold, router off, recording the active run")
	return d.close()
}

func openDaemon(ctx context.Context, ios IOStreams, cfg Config, opts *serveOptions) (_ *daemon, err error) {
	// d, not the result: the error paths return nil, and the cleanup
	// below must close what was opened.
	d := &daemon{log: newLogger(ios.ErrOut, cfg.LogLevel)}
	defer func() {
		if err != nil {
			_ = d.close()
		}
	}()
	if d.dataDir, err = resolveDataDir(cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", d.dataDir, err)
	}
	d.store = jobs.NewStore(d.dataDir)
	if err := d.store.Open(ctx); err != nil {
		return nil, err
	}
	if _, err := d.store.PruneBodies(ctx, time.Hour); err != nil {
		d.log.Warn("prune orphan uploads", "err", err)
	}
	d.hub = events.NewHub(events.Options{})

	// The machine link: a serial port, or the simulator.
	var dial machine.Dialer
	name := cfg.Port
	if cfg.UseSim() {
		faults := make([]sim.Fault, 0, len(cfg.SimFaults))
		for _, spec := range cfg.SimFaults {
			f, err := sim.ParseFault(spec)
			if err != nil {
				return nil, &ConfigError{Key: "machine.sim_faults", Value: spec, Err: err}
			}
			faults = append(faults, f)
		}
		d.simM, err = sim.New(sim.Options{Profile: cfg.SimProfile, Speed: cfg.SimSpeed, Faults: faults, WorkOffsets: simWorkOffsets(cfg.SimProfile),
			Probe: simPlate(cfg.Probe)})
		if err != nil {
			return nil, err
		}
		dial = func(context.Context) (io.ReadWriteCloser, error) { return d.simM.Connect() }
		name = "sim:" + cfg.SimProfile
	} else {
		port, baud := cfg.Port, cfg.Baud
		dial = func(context.Context) (io.ReadWriteCloser, error) { return hardware.OpenSerial(port, baud) }
	}

	if err := d.openRelay(cfg); err != nil {
		return nil, err
	}

	d.machine = &machine.Machine{
		Name: name, Dial: dial, Events: d.hub, Relay: d.router, ReconnectInterval: cfg.ReconnectInterval,
		ConnOptions: grbl.Options{RXBufferSize: cfg.RXBuffer, PollInterval: cfg.PollInterval, OwnSettings: cfg.OwnSettings,
			Logger: d.log.With("system", "grbl")},
		Logger: d.log.With("system", "machine"),
	}
	if err := d.machine.Open(ctx); err != nil {
		return nil, err
	}
	var tc *[3]float64
	if cfg.ToolChangeEnabled {
		tc = &[3]float64{cfg.ToolChangeX, cfg.ToolChangeY, cfg.ToolChangeZ}
	}
	d.runner = &runner.Service{
		Store: d.store, Link: d.machine, Relay: d.router, Machine: name, MaxUpload: cfg.MaxUpload,
		SpinUp: cfg.SpinUp, SafeZ: cfg.SafeZ, ToolChange: tc,
		Publish: func(topic string, data any) { d.hub.Publish(topic, data) },
		Logger:  d.log.With("system", "runner"),
		Canary: runner.CanaryOptions{Disabled: !cfg.CanaryEnabled, Interval: cfg.CanaryInterval,
			Window: cfg.CanaryWindow, MinSamples: cfg.CanaryMinSamples},
	}
	if cfg.DriftEnabled {
		d.runner.Drift = &runner.DriftConfig{Probe: cfg.Probe, Interval: cfg.DriftInterval, LimitUM: cfg.DriftLimitUM}
		d.runner.Canary.Drift = runner.StoreDrift(d.store) // z_drift_um for the canary judge
	}
	if err := d.runner.Open(ctx); err != nil {
		return nil, err
	}

	d.server = web.NewServer()
	d.server.SocketPath = filepath.Join(d.dataDir, SocketFile)
	d.server.Addr = cfg.Listen
	d.server.Jobs, d.server.Runs = d.runner, d.runner
	d.server.Canary = d.runner
	ms := newMachineService(d.machine, d.router, d.runner.ActiveRun)
	d.server.Machine, d.server.Offsets, d.server.Programs = ms, ms, d.store
	d.server.Relay = &relayService{r: d.runner}
	d.server.Events = d.hub
	d.server.Drift = &driftService{m: d.machine, store: d.store, setup: cfg.Probe, now: time.Now}
	d.server.Backups, d.server.Tokens, d.server.Users = d.store, d.store, d.store
	d.server.UI, d.server.UIDir = ui.FS(), opts.UIDir
	d.server.MaxUpload = cfg.MaxUpload
	d.server.Version = currentBuildInfo().Version
	d.server.Metrics = web.MetricsFunc(d.metrics)
	d.server.Logger = d.log.With("system", "web")
	if cfg.Listen != "" {
		if toks, _ := d.store.Tokens(ctx); len(toks) == 0 {
			if users, _ := d.store.Users(ctx); len(users) == 0 {
				d.log.Warn("no users and no tokens: nobody can log in over TCP yet; create the first admin with `kerf user add NAME --role admin`")
			}
		}
	}
	if err := d.server.Open(); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("kerf serving %s on %s", name, d.server.SocketAddr())
	if a := d.server.TCPAddr(); a != nil {
		msg += fmt.Sprintf(" and http://%s", a)
	}
	d.log.Info(msg, "data", d.dataDir, "relay", d.router.Mode().String())
	return d, nil
}

// openRelay opens the router relay's lines. With the simulator there are
// no GPIO lines: drive mode switches an in-memory output and sense mode
// watches the simulated board's spindle pin, wired as the real thing is.
func (d *daemon) openRelay(cfg Config) error {
	mode, err := relay.ParseMode(cfg.RelayMode)
	if err != nil {
		return &ConfigError{Key: "relay.mode", Value: cfg.RelayMode, Err: err}
	}
	var out relay.Output
	var sensor *relay.Sensor
	switch {
	case d.simM != nil:
		if mode == relay.ModeDrive {
			out = &memOutput{}
		}
		if mode == relay.ModeSense {
			sensor = relay.NewSensor(false)
			d.stopSim = watchSimSpindle(d.simM, sensor)
		}
	default:
		if mode == relay.ModeDrive {
			spec, err := hardware.ParseLineSpec(cfg.RelayOutput)
			if err != nil {
				return &ConfigError{Key: "relay.output", Value: cfg.RelayOutput, Err: err}
			}
			o, err := hardware.OpenOutput(spec)
			if err != nil {
				return err
			}
			out, d.output = o, o
		}
		if cfg.RelaySense != "" && mode != relay.ModeNone {
			spec, err := hardware.ParseLineSpec(cfg.RelaySense)
			if err != nil {
				return &ConfigError{Key: "relay.sense", Value: cfg.RelaySense, Err: err}
			}
			sensor = relay.NewSensor(false)
			in, err := hardware.OpenInput(spec, sensor.HandleEdge)
			if err != nil {
				return err
			}
			d.input = in
			if v, err := in.Value(); err == nil && v == 1 {
				sensor.HandleEdge(true, time.Time{})
			}
		}
	}
	d.router, err = relay.New(mode, out, sensor)
	if err != nil {
		return err
	}
	d.router.SenseTimeout = cfg.SenseTimeout
	d.router.OnEvent = func(e relay.Event) { d.hub.Publish(TopicRelay, e) }
	return nil
}

// simWorkOffsets gives the simulated board the G54 a machine in use has:
// the front-left corner of the travel, 5 mm in from each end, so that
// programs drawn from a front-left work zero fit after homing.
func simWorkOffsets(profile string) *[6][3]float64 {
	st, err := gcode.ProfileSettings(profile)
	if err != nil {
		return nil
	}
	var o [6][3]float64
	for i := 0; i < 3; i++ {
		o[0][i] = -st.Get(130+i) + 5
	}
	return &o
}

// simPlate is the simulator's touch plate: a 30 mm square centred on the
// configured probe point, its top half the probe travel below probe.safe_z,
// so that the reference probe touches it there as on the real machine.
func simPlate(p probe.Setup) sim.ProbeSurface {
	top := p.SafeZ - p.MaxTravel/2
	return sim.PlateAndStock(p.X-15, p.Y-15, p.X+15, p.Y+15, top, nil)
}

// memOutput is the simulator's stand-in for the relay's GPIO output.
type memOutput struct {
	mu sync.Mutex
	v  int
}

func (o *memOutput) SetValue(v int) error { o.mu.Lock(); o.v = v; o.mu.Unlock(); return nil }
func (o *memOutput) Close() error         { return nil }

// watchSimSpindle feeds the simulated spindle pin to a sense input as a
// GPIO would: an edge per level change.
func watchSimSpindle(m *sim.Machine, s *relay.Sensor) (stop func()) {
	ch := m.SpindleChanges()
	done := make(chan struct{})
	go func() {
		defer close(done)
		level := false
		for st := range ch { // closed by m.Close
			if on := st.On && st.Duty > 0; on != level {
				level = on
				s.HandleEdge(on, time.Time{})
			}
		}
	}()
	return func() { <-done }
}

// close stops everything in reverse order. The runner goes first: it holds
// the machine, switches the router off and records the run.
func (d *daemon) close() error {
	var errs []error
	add := func(what string, err error) {
		if err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	if d.runner != nil {
		add("runner", d.runner.Close())
	}
	if d.server != nil {
		add("web", d.server.Close())
	}
	if d.machine != nil {
		add("machine", d.machine.Close())
	}
	if d.router != nil {
		add("relay", d.router.Close())
	}
	if d.input != nil {
		add("sense input", d.input.Close())
	}
	if d.simM != nil {
		add("simulator", d.simM.Close())
	}
	if d.stopSim != nil {
		d.stopSim()
	}
	if d.hub != nil {
		d.hub.Close()
	}
	if d.store != nil {
		add("store", d.store.Close())
	}
	if len(errs) > 0 {
		d.log.Error("shutdown", "err", errors.Join(errs...))
		return errors.Join(errs...)
	}
	return nil
}
