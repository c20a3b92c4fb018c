package cmd

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/kerf-cnc/kerf/jobs/probe"
)

// Config is everything `kerf serve` can be told. DefaultConfig gives the
// embedded defaults; a config file (a small TOML subset, see
// configKeys for every key) is laid over them, and flags over that.
type Config struct {
	DataDir  string
	LogLevel string

	Port              string
	Baud              int
	RXBuffer          int
	Sim               bool
	SimProfile        string
	SimSpeed          float64
	SimFaults         []string
	PollInterval      time.Duration
	OwnSettings       bool
	ReconnectInterval time.Duration

	Listen    string
	MaxUpload int64

	RelayMode    string
	RelayOutput  string
	RelaySense   string
	SpinUp       time.Duration
	SenseTimeout time.Duration

	SafeZ             float64 // machine Z (mm) considered retracted
	ToolChangeX       float64 // machine coordinates of the tool-change position
	ToolChangeY       float64
	ToolChangeZ       float64
	ToolChangeEnabled bool

	Probe         probe.Setup   // the reference probe ([probe])
	DriftEnabled  bool          // Z-drift checkpoints during runs
	DriftInterval time.Duration // least run time between checkpoints
	DriftLimitUM  float64       // absolute drift limit (µm) that aborts a run

	CanaryEnabled    bool          // live canary judging of runs against their job's baseline
	CanaryInterval   time.Duration // how often the run so far is judged
	CanaryWindow     time.Duration // target length of a program window in the baseline's time
	CanaryMinSamples int           // fewest samples per side for a single window's metric
}

// DefaultConfig returns the embedded defaults: the built-in simulator of a
// 3018 PRO, no relay, the Unix socket only.
func DefaultConfig() Config {
	c := Config{}
	for _, k := range configKeys {
		if err := k.set(&c, k.def); err != nil {
			panic(fmt.Sprintf("config default %s: %v", k.name, err)) // a programming error
		}
	}
	return c
}

// ConfigError names the key (and, from a file, the line) of a bad value.
type ConfigError struct {
	File  string
	Line  int
	Key   string
	Value any
	Err   error
}

func (e *ConfigError) Error() string {
	where := ""
	if e.File != "" {
		where = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	}
	if e.Value == nil {
		return fmt.Sprintf("%sconfig %s: %v", where, e.Key, e.Err)
	}
	return fmt.Sprintf("%sconfig %s = %v: %v", where, e.Key, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

type configKey struct {
	name string
	def  any
	doc  string
	set  func(c *Config, v any) error
}

var errType = errors.New("wrong type")

func asString(v any, dst *string) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%w: want a string in double quotes", errType)
	}
	*dst = s
	return nil
}

func asBool(v any, dst *bool) error {
	b, ok := v.(bool)
	if !ok {
		return fmt.Errorf("%w: want true or false", errType)
	}
	*dst = b
	return nil
}

func asFloat(v any, dst *float64) error {
	f, ok := v.(float64)
	if !ok {
		return fmt.Errorf("%w: want a number", errType)
	}
	*dst = f
	return nil
}

func asInt(v any, dst *int) error {
	var f float64
	if err := asFloat(v, &f); err != nil {
		return err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return fmt.Errorf("want a whole number")
	}
	*dst = int(f)
	return nil
}

func asDuration(v any, dst *time.Duration) error {
	var s string
	if err := asString(v, &s); err != nil {
		return fmt.Errorf("%w: want a duration such as \"200ms\" or \"3s\"", errType)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"200ms\" or \"3s\"")
	}
	*dst = d
	return nil
}

func asSize(v any, dst *int64) error {
	var s string
	if err := asString(v, &s); err != nil {
		return fmt.Errorf("%w: want a size such as \"64MiB\"", errType)
	}
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			var f float64
			if _, err := fmt.Sscanf(strings.TrimSpace(num), "%g", &f); err != nil || f < 0 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return int64(f * float64(u.mult)), nil
		}
	}
	return 0, fmt.Errorf("bad size %q: want a number with B, KiB, MiB or GiB", s)
}

func asStrings(v any, dst *[]string) error {
	items, ok := v.([]any)
	if !ok {
		return fmt.Errorf("%w: want an array of strings", errType)
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return fmt.Errorf("item %d: want a string", i)
		}
		out = append(out, s)
	}
	*dst = out
	return nil
}

// configKeys documents and binds every config key. `kerf serve
// --print-config` prints them as a commented file.
var configKeys = []configKey{
	{"data_dir", "", "Data directory (database, G-code bodies, socket). Empty: $KERF_DATA, else $XDG_STATE_HOME/kerf (~/.local/state/kerf), or /var/lib/kerf as root.",
		func(c *Config, v any) error { return asString(v, &c.DataDir) }},
	{"log_level", "info", "debug, info, warn or error.",
		func(c *Config, v any) error { return asString(v, &c.LogLevel) }},

	{"machine.port", "", "Serial device of the GRBL board, e.g. /dev/ttyUSB0. Empty: use the built-in simulator.",
		func(c *Config, v any) error { return asString(v, &c.Port) }},
	{"machine.baud", 115200.0, "Serial speed (GRBL 1.1: 115200).",
		func(c *Config, v any) error { return asInt(v, &c.Baud) }},
	{"machine.rx_buffer", 0.0, "Board receive buffer in bytes; 0 reads it from the board's [OPT:] report (128 on GRBL 1.1).",
		func(c *Config, v any) error { return asInt(v, &c.RXBuffer) }},
	{"machine.sim", false, "Run the built-in GRBL simulator instead of a board (the default when no port is set).",
		func(c *Config, v any) error { return asBool(v, &c.Sim) }},
	{"machine.sim_profile", "3018pro", "Simulated machine: 3018pro or longmill30.",
		func(c *Config, v any) error { return asString(v, &c.SimProfile) }},
	{"machine.sim_speed", 1.0, "Simulator speed factor (1 = real time).",
		func(c *Config, v any) error { return asFloat(v, &c.SimSpeed) }},
	{"machine.sim_faults", []any{}, "Simulator faults, e.g. [\"z-drift:0.02\"] (see `kerf sim --help`).",
		func(c *Config, v any) error { return asStrings(v, &c.SimFaults) }},
	{"machine.poll_interval", "200ms", "Status report interval (GRBL answers `?` within milliseconds; 5 Hz is the usual rate).",
		func(c *Config, v any) error { return asDuration(v, &c.PollInterval) }},
	{"machine.own_settings", false, "kerf owns the board's $10 setting: do not restore the user's value on disconnect.",
		func(c *Config, v any) error { return asBool(v, &c.OwnSettings) }},
	{"machine.reconnect_interval", "2s", "How often to try the serial port again after the board disappears.",
		func(c *Config, v any) error { return asDuration(v, &c.ReconnectInterval) }},

	{"server.listen", "", "TCP address for the web panel and remote clients, e.g. \":8080\". Empty: the Unix socket only.",
		func(c *Config, v any) error { return asString(v, &c.Listen) }},
	{"server.max_upload", "64MiB", "Largest G-code upload.",
		func(c *Config, v any) error { return asSize(v, &c.MaxUpload) }},

	{"relay.mode", "none", "Router relay: none, sense (GRBL switches, a GPIO input watches) or drive (a GPIO output switches).",
		func(c *Config, v any) error { return asString(v, &c.RelayMode) }},
	{"relay.output", "GPIO17", "Output line driving the SSR in drive mode: GPIO17, gpiochip0:17, J8p11; \",active-low\" to invert.",
		func(c *Config, v any) error { return asString(v, &c.RelayOutput) }},
	{"relay.sense", "", "Input line watching the router's power (required in sense mode, optional in drive mode).",
		func(c *Config, v any) error { return asString(v, &c.RelaySense) }},
	{"relay.spin_up", "3s", "Dwell after switching the router on before the next motion.",
		func(c *Config, v any) error { return asDuration(v, &c.SpinUp) }},
	{"relay.sense_timeout", "2s", "How long the sense input may take to follow an on/off command before the run fails.",
		func(c *Config, v any) error { return asDuration(v, &c.SenseTimeout) }},

	{"runner.safe_z", -1.0, "Machine Z (mm) at or above which the tool is retracted (for tool changes and restarts).",
		func(c *Config, v any) error { return asFloat(v, &c.SafeZ) }},
	{"runner.tool_change", true, "Handle M6: router off, move to the tool-change position, pause until resumed.",
		func(c *Config, v any) error { return asBool(v, &c.ToolChangeEnabled) }},
	{"runner.tool_change_x", -5.0, "Tool-change position, machine X (mm).",
		func(c *Config, v any) error { return asFloat(v, &c.ToolChangeX) }},
	{"runner.tool_change_y", -5.0, "Tool-change position, machine Y (mm).",
		func(c *Config, v any) error { return asFloat(v, &c.ToolChangeY) }},
	{"runner.tool_change_z", -1.0, "Tool-change position, machine Z (mm).",
		func(c *Config, v any) error { return asFloat(v, &c.ToolChangeZ) }},

	{"probe.x", -10.0, "Reference probe: machine X (mm) of the touch plate or tool setter fixed to the spoilboard.",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.X) }},
	{"probe.y", -10.0, "Reference probe: machine Y (mm) of the plate.",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.Y) }},
	{"probe.plate", 10.0, "Plate thickness (mm); reported with the touch, drift does not depend on it.",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.Plate) }},
	{"probe.safe_z", -1.0, "Machine Z (mm) the tool travels at to and from the plate.",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.SafeZ) }},
	{"probe.feed", 200.0, "Feed (mm/min) of the first, fast touch (G38.2).",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.Feed) }},
	{"probe.slow_feed", 75.0, "Feed (mm/min) of the second, precise touch; at most probe.feed (GRBL records the touch at the step it happens, so a slower touch is not more exact).",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.SlowFeed) }},
	{"probe.back_off", 0.5, "Lift (mm) above the first touch before the second (more than the overshoot of a touch at probe.feed).",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.BackOff) }},
	{"probe.max_travel", 40.0, "How far (mm) below probe.safe_z the first touch may go before GRBL gives up (ALARM:5: a failed checkpoint).",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.MaxTravel) }},
	{"probe.approach", 1.5, "Drift checkpoints (not the reference): go down at rapid to this far (mm) above the reference touch, then probe at most twice this far. 0: every touch from probe.safe_z. At least ten times drift.limit_um: a tool lower than expected by more than this would meet the plate at rapid.",
		func(c *Config, v any) error { return asFloat(v, &c.Probe.Approach) }},

	{"drift.enabled", false, "Z-drift tracking: probe the reference before each run and at safe points during it (jobs may opt out with `kerf job add --no-drift`).",
		func(c *Config, v any) error { return asBool(v, &c.DriftEnabled) }},
	{"drift.interval", "2m", "Least run time between two drift checkpoints (\"0s\": at every safe point); the one after the last cut always happens.",
		func(c *Config, v any) error { return asDuration(v, &c.DriftInterval) }},
	{"drift.limit_um", 100.0, "Absolute drift limit (µm): a checkpoint beyond ± this aborts the run (feed hold, router off, retracted).",
		func(c *Config, v any) error { return asFloat(v, &c.DriftLimitUM) }},

	{"canary.enabled", true, "Live canary judging: a run whose job has a baseline is judged against it while it runs; Fail aborts it (docs/canary.md).",
		func(c *Config, v any) error { return asBool(v, &c.CanaryEnabled) }},
	{"canary.interval", "10s", "How often the run so far is judged and its verdict published (1s…10m); each program window is judged as soon as it completes, whatever this interval.",
		func(c *Config, v any) error { return asDuration(v, &c.CanaryInterval) }},
	{"canary.window", "3s", "Target length of a program window in the baseline's time (1s…1m): the program is cut at source lines into windows judged on their own.",
		func(c *Config, v any) error { return asDuration(v, &c.CanaryWindow) }},
	{"canary.min_samples", 5.0, "Fewest samples a metric needs on each side for one window to be judged on it (5…1000; fewer cannot reach the judge's 98 % confidence; at most canary.window / machine.poll_interval).",
		func(c *Config, v any) error { return asInt(v, &c.CanaryMinSamples) }},
}

// LoadConfigFile lays the file's values over c.
func LoadConfigFile(c *Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return loadConfig(c, f, path)
}

func loadConfig(c *Config, r io.Reader, name string) error {
	vals, err := parseTOMLish(r, name)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	known := map[string]configKey{}
	for _, k := range configKeys {
		known[k.name] = k
	}
	// Apply in file order so the first bad line is the one reported.
	type entry struct {
		key string
		tv  tomlValue
	}
	ordered := make([]entry, 0, len(vals))
	for k, tv := range vals {
		ordered = append(ordered, entry{k, tv})
	}
	for i := 1; i < len(ordered); i++ {
		for j := i; j > 0 && ordered[j].tv.line < ordered[j-1].tv.line; j-- {
			ordered[j], ordered[j-1] = ordered[j-1], ordered[j]
		}
	}
	for _, e := range ordered {
		k, ok := known[e.key]
		if !ok {
			return &ConfigError{File: name, Line: e.tv.line, Key: e.key, Err: fmt.Errorf("unknown key%s", suggestKey(e.key))}
		}
		if err := k.set(c, e.tv.v); err != nil {
			return &ConfigError{File: name, Line: e.tv.line, Key: e.key, Value: e.tv.v, Err: err}
		}
	}
	return nil
}

func suggestKey(key string) string {
	_, leaf, _ := strings.Cut(key, ".")
	if leaf == "" {
		leaf = key
	}
	for _, k := range configKeys {
		if strings.HasSuffix(k.name, "."+leaf) || k.name == leaf {
			return fmt.Sprintf(" (did you mean %s?)", k.name)
		}
	}
	return ""
}

// Validate checks the values together and returns the first problem as a
// *ConfigError naming the key.
func (c Config) Validate() error {
	bad := func(key string, v any, format string, args ...any) error {
		return &ConfigError{Key: key, Value: v, Err: fmt.Errorf(format, args...)}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", c.LogLevel, "want debug, info, warn or error")
	}
	if c.Port != "" && c.Sim {
		return bad("machine.sim", c.Sim, "machine.port is set too (%s): choose the board or the simulator", c.Port)
	}
	if c.Baud <= 0 {
		return bad("machine.baud", c.Baud, "must be positive")
	}
	if c.RXBuffer != 0 && (c.RXBuffer < 64 || c.RXBuffer > 1<<16) {
		return bad("machine.rx_buffer", c.RXBuffer, "must be 0 (from the board) or 64…65536")
	}
	if c.UseSim() {
		switch c.SimProfile {
		case "3018pro", "longmill30":
		default:
			return bad("machine.sim_profile", c.SimProfile, "want 3018pro or longmill30")
		}
		if c.SimSpeed <= 0 || c.SimSpeed > 1000 {
			return bad("machine.sim_speed", c.SimSpeed, "must be in (0, 1000]")
		}
	}
	if c.PollInterval < 20*time.Millisecond || c.PollInterval > 5*time.Second {
		return bad("machine.poll_interval", c.PollInterval, "must be between 20ms and 5s")
	}
	if c.ReconnectInterval < 100*time.Millisecond {
		return bad("machine.reconnect_interval", c.ReconnectInterval, "must be at least 100ms")
	}
	if c.MaxUpload < 1024 {
		return bad("server.max_upload", c.MaxUpload, "must be at least 1KiB")
	}
	switch c.RelayMode {
	case "none":
	case "sense":
		if c.RelaySense == "" {
			return bad("relay.sense", c.RelaySense, "sense mode needs an input line, e.g. \"GPIO27\"")
		}
	case "drive":
		if c.RelayOutput == "" {
			return bad("relay.output", c.RelayOutput, "drive mode needs an output line, e.g. \"GPIO17\"")
		}
	default:
		return bad("relay.mode", c.RelayMode, "want none, sense or drive")
	}
	if c.SpinUp < 0 || c.SpinUp > time.Minute {
		return bad("relay.spin_up", c.SpinUp, "must be between 0 and 1m")
	}
	if c.SenseTimeout <= 0 || c.SenseTimeout > time.Minute {
		return bad("relay.sense_timeout", c.SenseTimeout, "must be between 0 and 1m")
	}
	for _, k := range []struct {
		key string
		v   float64
	}{{"runner.safe_z", c.SafeZ}, {"runner.tool_change_x", c.ToolChangeX}, {"runner.tool_change_y", c.ToolChangeY}, {"runner.tool_change_z", c.ToolChangeZ}} {
		if math.IsNaN(k.v) || math.IsInf(k.v, 0) {
			return bad(k.key, k.v, "must be a finite number")
		}
	}
	if err := c.Probe.Validate(); err != nil {
		var fe *probe.FieldError
		if errors.As(err, &fe) {
			return bad("probe."+fe.Field, probeField(c.Probe, fe.Field), "%s", fe.Problem)
		}
		return bad("probe", nil, "%v", err)
	}
	if c.DriftInterval < 0 || c.DriftInterval > 24*time.Hour {
		return bad("drift.interval", c.DriftInterval, "must be between 0s and 24h")
	}
	if math.IsNaN(c.DriftLimitUM) || c.DriftLimitUM <= 0 || c.DriftLimitUM > 10000 {
		return bad("drift.limit_um", c.DriftLimitUM, "must be above 0 and at most 10000 µm")
	}
	if a := c.Probe.Approach; a > 0 && a*1000 < 10*c.DriftLimitUM {
		return bad("probe.approach", a, "must be 0 (off) or at least ten times drift.limit_um (%v mm): a tool lower than expected by more than the approach would meet the plate at rapid", 10*c.DriftLimitUM/1000)
	}
	return c.validateCanary()
}

// Bounds of the [canary] keys.
const (
	minCanaryInterval   = time.Second
	maxCanaryInterval   = 10 * time.Minute
	minCanaryWindow     = time.Second
	maxCanaryWindow     = time.Minute
	minCanaryMinSamples = 5 // 4 against 4 cannot reach the judge's 98 % (two-sided p ≥ 0.03)
	maxCanaryMinSamples = 1000
)

// validateCanary checks the [canary] keys, also against
// machine.poll_interval: a window holds about window/poll_interval status
// samples, so a min_samples above that would never judge a window.
func (c Config) validateCanary() error {
	bad := func(key string, v any, format string, args ...any) error {
		return &ConfigError{Key: key, Value: v, Err: fmt.Errorf(format, args...)}
	}
	if c.CanaryInterval < minCanaryInterval || c.CanaryInterval > maxCanaryInterval {
		return bad("canary.interval", c.CanaryInterval, "must be between %v and %v", minCanaryInterval, maxCanaryInterval)
	}
	if c.CanaryWindow < minCanaryWindow || c.CanaryWindow > maxCanaryWindow {
		return bad("canary.window", c.CanaryWindow, "must be between %v and %v", minCanaryWindow, maxCanaryWindow)
	}
	if c.CanaryMinSamples < minCanaryMinSamples || c.CanaryMinSamples > maxCanaryMinSamples {
		return bad("canary.min_samples", c.CanaryMinSamples, "must be between %d and %d (fewer than %d samples a side cannot reach the judge's 98 %% confidence)",
			minCanaryMinSamples, maxCanaryMinSamples, minCanaryMinSamples)
	}
	if c.PollInterval > 0 {
		if most := int(c.CanaryWindow / c.PollInterval); c.CanaryMinSamples > most {
			return bad("canary.min_samples", c.CanaryMinSamples, "a %v canary.window holds at most %d status samples at machine.poll_interval %v: no window would ever be judged",
				c.CanaryWindow, most, c.PollInterval)
		}
	}
	return nil
}

// probeField returns the value of a probe setup field by its config name.
func probeField(p probe.Setup, field string) float64 {
	return map[string]float64{"x": p.X, "y": p.Y, "plate": p.Plate, "safe_z": p.SafeZ, "feed": p.Feed,
		"slow_feed": p.SlowFeed, "back_off": p.BackOff, "max_travel": p.MaxTravel, "approach": p.Approach}[field]
}

// UseSim reports whether the built-in simulator stands in for a board.
func (c Config) UseSim() bool { return c.Sim || c.Port == "" }

// WriteDefaultConfig writes every key with its default and documentation,
// as a config file.
func WriteDefaultConfig(w io.Writer) error {
	section := ""
	fmt.Fprintln(w, "# kerf serve configuration. Every key, with its default.")
	for _, k := range configKeys {
		sec, leaf, ok := strings.Cut(k.name, ".")
		if !ok {
			sec, leaf = "", k.name
		}
		if sec != section {
			fmt.Fprintf(w, "\n[%s]\n", sec)
			section = sec
		}
		fmt.Fprintf(w, "# %s\n%s = %s\n", k.doc, leaf, formatTOML(k.def))
	}
	return nil
}

func formatTOML(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case float64:
		return fmt.Sprintf("%g", x)
	case bool:
		return fmt.Sprintf("%t", x)
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = formatTOML(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}
