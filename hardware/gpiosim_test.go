//go:build gpiosim && linux

// This file is an opt-in test against the Linux kernel's gpio-sim driver:
// real GPIO character-device lines, driven through go-gpiocdev exactly as
// on a Raspberry Pi, with the simulator standing in for the wires. It needs
// root (configfs and sysfs writes) and the gpio-sim module:
//
//	sudo modprobe gpio-sim
//	sudo mount -t configfs none /sys/kernel/config   # if not mounted
//	sudo go test -tags gpiosim -run GPIOSim -v ./hardware/
//
// See docs/wiring.md ("Testing on a Pi").

package hardware

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/relay"
)

const configfsSim = "/sys/kernel/config/gpio-sim"

// simChip is one live gpio-sim chip of 8 lines, removed at cleanup.
type simChip struct {
	dir   string // configfs directory of the device
	chip  string // gpiochipN
	sysfs string // /sys/devices/platform/<dev>/<chip>
}

func newSimChip(t *testing.T) *simChip {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("gpio-sim needs root: sudo go test -tags gpiosim ./hardware/")
	}
	if _, err := os.Stat(configfsSim); err != nil {
		t.Fatalf("no %s (%v): load the driver with `modprobe gpio-sim` (and mount configfs on /sys/kernel/config)", configfsSim, err)
	}
	dir := filepath.Join(configfsSim, fmt.Sprintf("kerf-test-%d", os.Getpid()))
	write := func(p, v string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatalf("gpio-sim: write %s: %v", p, err)
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("gpio-sim: %v", err)
	}
	bank := filepath.Join(dir, "bank0")
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(dir, "live"), []byte("0"), 0o644)
		_ = os.Remove(bank)
		_ = os.Remove(dir)
	})
	if err := os.Mkdir(bank, 0o755); err != nil {
		t.Fatalf("gpio-sim: %v", err)
	}
	write(filepath.Join(bank, "num_lines"), "8")
	write(filepath.Join(dir, "live"), "1")
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("gpio-sim: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	c := &simChip{dir: dir, chip: read(filepath.Join(bank, "chip_name"))}
	c.sysfs = filepath.Join("/sys/devices/platform", read(filepath.Join(dir, "dev_name")), c.chip)
	return c
}

// value reads what the line is driven to (an output's value).
func (c *simChip) value(t *testing.T, off int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.sysfs, fmt.Sprintf("sim_gpio%d", off), "value"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pull drives an input line from outside, as the optocoupler would.
func (c *simChip) pull(t *testing.T, off int, high bool) {
	t.Helper()
	v := "pull-down"
	if high {
		v = "pull-up"
	}
	if err := os.WriteFile(filepath.Join(c.sysfs, fmt.Sprintf("sim_gpio%d", off), "pull"), []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The relay output starts off, follows the Router, and is left off by
// Close; an active-low output is inverted on the wire.
func TestGPIOSimOutput(t *testing.T) {
	c := newSimChip(t)
	out, err := OpenOutput(LineSpec{Chip: c.chip, Line: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.value(t, 0); v != 0 {
		t.Fatalf("output requested at %d, want 0 (off from the first instant)", v)
	}
	r, err := relay.New(relay.ModeDrive, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.On("test"); err != nil {
		t.Fatal(err)
	}
	if v := c.value(t, 0); v != 1 {
		t.Fatalf("after On: %d, want 1", v)
	}
	if err := r.Off("test"); err != nil {
		t.Fatal(err)
	}
	if v := c.value(t, 0); v != 0 {
		t.Fatalf("after Off: %d, want 0", v)
	}
	_ = r.On("test")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if v := c.value(t, 0); v != 0 {
		t.Fatalf("after Close with the router on: %d, want 0", v)
	}

	low, err := OpenOutput(LineSpec{Chip: c.chip, Line: "2", ActiveLow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer low.Close()
	if v := c.value(t, 2); v != 1 {
		t.Fatalf("active-low output off: wire %d, want 1", v)
	}
	if err := low.SetValue(1); err != nil {
		t.Fatal(err)
	}
	if v := c.value(t, 2); v != 0 {
		t.Fatalf("active-low output on: wire %d, want 0", v)
	}
}

// The sense input reports edges to a Sensor: a steady level and a PWM
// signal both read as on, and off follows the last edge.
func TestGPIOSimSenseInput(t *testing.T) {
	c := newSimChip(t)
	c.pull(t, 1, false)
	s := relay.NewSensor(false)
	in, err := OpenInput(LineSpec{Chip: c.chip, Line: "1"}, s.HandleEdge)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	start := time.Now()
	c.pull(t, 1, true)
	at, err := s.Wait(ctx, true)
	if err != nil {
		t.Fatalf("rising edge not seen: %v", err)
	}
	t.Logf("pull-up to sensed edge: %v", at.Sub(start))
	if v, err := in.Value(); err != nil || v != 1 {
		t.Fatalf("Value = %d, %v; want 1", v, err)
	}
	c.pull(t, 1, false)
	if _, err := s.Wait(ctx, false); err != nil {
		t.Fatalf("off not seen: %v", err)
	}

	// A slow PWM (the sysfs writes cannot reach GRBL's 977 Hz): on
	// throughout, as long as the edges come within the window.
	s.Window = 50 * time.Millisecond
	c.pull(t, 1, true)
	if _, err := s.Wait(ctx, true); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 20; i++ {
		c.pull(t, 1, i%2 == 0)
		time.Sleep(5 * time.Millisecond) // the simulated signal's own period, not synchronisation
		if !s.On() {
			t.Fatalf("PWM read as off at edge %d", i)
		}
	}
	c.pull(t, 1, false)
	if _, err := s.Wait(ctx, false); err != nil {
		t.Fatal(err)
	}
	if s.Edges() < 20 {
		t.Fatalf("%d edges seen, want at least 20", s.Edges())
	}
}
