package cmd

import (
	"os"
	"testing"
	"time"
)

// kerf serve hands the [canary] keys to the runner it composes.
func TestServePassesCanaryOptions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon")
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
	}{
		{"defaults", func(*Config) {}},
		{"tuned", func(c *Config) {
			c.CanaryEnabled, c.CanaryInterval, c.CanaryWindow, c.CanaryMinSamples = false, 4*time.Second, 5*time.Second, 12
		}},
		{"with drift", func(c *Config) { c.DriftEnabled, c.CanaryInterval = true, 2*time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "kerfcanary") // short: the socket path must stay under ~100 bytes
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			cfg := DefaultConfig()
			cfg.DataDir, cfg.Sim, cfg.LogLevel = dir, true, "error"
			tc.mutate(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			ios, _, _, _ := TestStreams()
			d, err := openDaemon(t.Context(), ios, cfg, &serveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.close() })
			got := d.runner.Canary
			if got.Disabled != !cfg.CanaryEnabled || got.Interval != cfg.CanaryInterval || got.Window != cfg.CanaryWindow || got.MinSamples != cfg.CanaryMinSamples {
				t.Errorf("runner.Canary = {Disabled:%v Interval:%v Window:%v MinSamples:%d}, want the config's enabled=%v interval=%v window=%v min_samples=%d",
					got.Disabled, got.Interval, got.Window, got.MinSamples, cfg.CanaryEnabled, cfg.CanaryInterval, cfg.CanaryWindow, cfg.CanaryMinSamples)
			}
			if (got.Drift != nil) != cfg.DriftEnabled {
				t.Errorf("runner.Canary.Drift set = %v, want %v (drift.enabled)", got.Drift != nil, cfg.DriftEnabled)
			}
		})
	}
}
