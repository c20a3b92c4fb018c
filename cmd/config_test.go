package cmd

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValidates(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.UseSim() || c.SimProfile != "3018pro" || c.PollInterval != 200*time.Millisecond || c.MaxUpload != 64<<20 {
		t.Fatalf("defaults = %+v", c)
	}
}

// The printed default file must parse back to exactly the defaults: the
// documentation cannot drift from the code.
func TestPrintedDefaultsRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteDefaultConfig(&buf); err != nil {
		t.Fatal(err)
	}
	c := Config{}
	if err := loadConfig(&c, &buf, "defaults.toml"); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if want := DefaultConfig(); !reflect.DeepEqual(c, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", c, want)
	}
}

func TestLoadConfig(t *testing.T) {
	src := `
# a LongMill on a real port
log_level = "debug"
[machine]
port = "/dev/ttyACM0"   # the Uno
poll_interval = "100ms"
[relay]
mode = "drive"
output = "GPIO22,active-low"
spin_up = "2.5s"
[server]
listen = ":8080"
max_upload = "1.5MiB"
`
	c := DefaultConfig()
	if err := loadConfig(&c, strings.NewReader(src), "kerf.toml"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Port != "/dev/ttyACM0" || c.UseSim() || c.PollInterval != 100*time.Millisecond || c.RelayMode != "drive" ||
		c.RelayOutput != "GPIO22,active-low" || c.SpinUp != 2500*time.Millisecond || c.Listen != ":8080" || c.MaxUpload != 1572864 || c.LogLevel != "debug" {
		t.Fatalf("loaded %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unknown key", "[machine]\nbaudrate = 9600\n", "kerf.toml:2: config machine.baudrate: unknown key"},
		{"suggestion", "[relay]\nport = \"x\"\n", "kerf.toml:2: config relay.port: unknown key (did you mean machine.port?)"},
		{"wrong type", "[machine]\nbaud = \"fast\"\n", "kerf.toml:2: config machine.baud = fast: wrong type: want a number"},
		{"bad duration", "[relay]\nspin_up = \"3 seconds\"\n", "kerf.toml:2: config relay.spin_up = 3 seconds: want a duration such as \"200ms\" or \"3s\""},
		{"not whole", "[machine]\nbaud = 1.5\n", "kerf.toml:2: config machine.baud = 1.5: want a whole number"},
		{"unquoted string", "[relay]\nmode = drive\n", "kerf.toml:2: mode: bad value drive (strings need double quotes)"},
		{"duplicate", "[relay]\nmode = \"drive\"\nmode = \"sense\"\n", "kerf.toml:3: relay.mode set again (first set on line 2)"},
		{"no equals", "[relay]\nmode\n", "kerf.toml:2: expected key = value"},
		{"bad header", "[relay\n", "kerf.toml:1: malformed section header"},
		{"bad size", "[server]\nmax_upload = \"lots\"\n", "kerf.toml:2: config server.max_upload = lots: bad size \"lots\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			err := loadConfig(&c, strings.NewReader(tc.src), "kerf.toml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateNamesKey(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*Config)
		key    string
	}{
		{func(c *Config) { c.RelayMode = "pwm" }, "relay.mode"},
		{func(c *Config) { c.RelayMode = "sense"; c.RelaySense = "" }, "relay.sense"},
		{func(c *Config) { c.Port = "/dev/ttyUSB0"; c.Sim = true }, "machine.sim"},
		{func(c *Config) { c.SimProfile = "shapeoko" }, "machine.sim_profile"},
		{func(c *Config) { c.PollInterval = time.Millisecond }, "machine.poll_interval"},
		{func(c *Config) { c.RXBuffer = 12 }, "machine.rx_buffer"},
		{func(c *Config) { c.LogLevel = "loud" }, "log_level"},
		{func(c *Config) { c.MaxUpload = 10 }, "server.max_upload"},
		{func(c *Config) { c.Probe.SlowFeed = 500 }, "probe.slow_feed"},
		{func(c *Config) { c.Probe.Feed = 0 }, "probe.feed"},
		{func(c *Config) { c.Probe.BackOff = 0 }, "probe.back_off"},
		{func(c *Config) { c.Probe.MaxTravel = 0.5 }, "probe.max_travel"},
		{func(c *Config) { c.Probe.Plate = -2 }, "probe.plate"},
		{func(c *Config) { c.Probe.X = math.Inf(1) }, "probe.x"},
		{func(c *Config) { c.DriftInterval = -time.Second }, "drift.interval"},
		{func(c *Config) { c.DriftLimitUM = 0 }, "drift.limit_um"},
		{func(c *Config) { c.Probe.Approach = -1 }, "probe.approach"},
		{func(c *Config) { c.DriftLimitUM = 500 }, "probe.approach"}, // 1.5 mm is under 10 × 0.5 mm
	} {
		t.Run(tc.key, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("Validate() = %v, want a ConfigError for %s", err, tc.key)
			}
		})
	}
}

func TestProbeAndDriftKeys(t *testing.T) {
	c := DefaultConfig()
	if c.DriftEnabled || c.DriftLimitUM != 100 || c.DriftInterval != 2*time.Minute || c.Probe.MaxTravel != 40 || c.Probe.Approach != 1.5 {
		t.Fatalf("defaults: enabled=%v limit=%v interval=%v probe=%+v", c.DriftEnabled, c.DriftLimitUM, c.DriftInterval, c.Probe)
	}
	src := "[probe]\nx = -280.5\ny = -170\nslow_feed = 10\n[drift]\nenabled = true\ninterval = \"30s\"\nlimit_um = 50\n"
	if err := loadConfig(&c, strings.NewReader(src), "kerf.toml"); err != nil {
		t.Fatal(err)
	}
	if c.Probe.X != -280.5 || c.Probe.Y != -170 || c.Probe.SlowFeed != 10 || !c.DriftEnabled || c.DriftInterval != 30*time.Second || c.DriftLimitUM != 50 {
		t.Fatalf("loaded: %+v enabled=%v interval=%v limit=%v", c.Probe, c.DriftEnabled, c.DriftInterval, c.DriftLimitUM)
	}
	err := loadConfig(&c, strings.NewReader("[drift]\nlimit_um = \"big\"\n"), "kerf.toml")
	if err == nil || !strings.Contains(err.Error(), "kerf.toml:2: config drift.limit_um") {
		t.Fatalf("bad value: %v, want the file, line and key", err)
	}
	c = DefaultConfig()
	c.Probe.SlowFeed = 500
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "config probe.slow_feed = 500: must be above 0 and at most feed (200 mm/min)") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestCanaryKeys(t *testing.T) {
	c := DefaultConfig()
	if !c.CanaryEnabled || c.CanaryInterval != 10*time.Second || c.CanaryWindow != 3*time.Second || c.CanaryMinSamples != 5 {
		t.Fatalf("defaults: enabled=%v interval=%v window=%v min_samples=%d", c.CanaryEnabled, c.CanaryInterval, c.CanaryWindow, c.CanaryMinSamples)
	}
	for _, tc := range []struct {
		name, src string
		enabled   bool
		interval  time.Duration
		window    time.Duration
		min       int
		err       string // a substring of the load or Validate error; "" for none
	}{
		{"empty section keeps defaults", "[canary]\n", true, 10 * time.Second, 3 * time.Second, 5, ""},
		{"all set", "[canary]\nenabled = false\ninterval = \"5s\"\nwindow = \"4s\"\nmin_samples = 8\n", false, 5 * time.Second, 4 * time.Second, 8, ""},
		{"bounds", "[canary]\ninterval = \"1s\"\nwindow = \"1m\"\nmin_samples = 300\n", true, time.Second, time.Minute, 300, ""},
		{"enabled not bool", "[canary]\nenabled = \"yes\"\n", true, 0, 0, 0, "kerf.toml:2: config canary.enabled = yes: wrong type: want true or false"},
		{"interval not a duration", "[canary]\ninterval = 10\n", true, 0, 0, 0, "kerf.toml:2: config canary.interval = 10: wrong type"},
		{"window unparsable", "[canary]\nwindow = \"3 s\"\n", true, 0, 0, 0, "kerf.toml:2: config canary.window = 3 s: want a duration"},
		{"min_samples fraction", "[canary]\nmin_samples = 5.5\n", true, 0, 0, 0, "kerf.toml:2: config canary.min_samples = 5.5: want a whole number"},
		{"unknown key", "[canary]\nthreshold = 75\n", true, 0, 0, 0, "kerf.toml:2: config canary.threshold: unknown key"},
		{"interval zero", "[canary]\ninterval = \"0s\"\n", true, 0, 0, 0, "config canary.interval = 0s: must be between 1s and 10m0s"},
		{"interval negative", "[canary]\ninterval = \"-10s\"\n", true, 0, 0, 0, "config canary.interval = -10s: must be between"},
		{"interval too long", "[canary]\ninterval = \"1h\"\n", true, 0, 0, 0, "config canary.interval = 1h0m0s: must be between"},
		{"window too short", "[canary]\nwindow = \"500ms\"\n", true, 0, 0, 0, "config canary.window = 500ms: must be between 1s and 1m0s"},
		{"window too long", "[canary]\nwindow = \"2m\"\n", true, 0, 0, 0, "config canary.window = 2m0s: must be between"},
		{"min_samples too few", "[canary]\nmin_samples = 4\n", true, 0, 0, 0, "config canary.min_samples = 4: must be between 5 and 1000"},
		{"min_samples above a window", "[canary]\nmin_samples = 16\n", true, 0, 0, 0,
			"config canary.min_samples = 16: a 3s canary.window holds at most 15 status samples at machine.poll_interval 200ms"},
		{"min_samples with a faster poll", "[machine]\npoll_interval = \"100ms\"\n[canary]\nmin_samples = 30\n", true, 10 * time.Second, 3 * time.Second, 30, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			err := loadConfig(&c, strings.NewReader(tc.src), "kerf.toml")
			if err == nil {
				err = c.Validate()
			}
			if tc.err != "" {
				var ce *ConfigError
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &ce) || !strings.HasPrefix(ce.Key, "canary.") {
					t.Fatalf("err = %v, want a canary ConfigError containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.CanaryEnabled != tc.enabled || c.CanaryInterval != tc.interval || c.CanaryWindow != tc.window || c.CanaryMinSamples != tc.min {
				t.Fatalf("got enabled=%v interval=%v window=%v min_samples=%d", c.CanaryEnabled, c.CanaryInterval, c.CanaryWindow, c.CanaryMinSamples)
			}
		})
	}
}
