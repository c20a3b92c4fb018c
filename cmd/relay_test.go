package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/relay"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestRelayCommands(t *testing.T) {
	off := false
	at := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	rs := &webtest.RelayService{T: t,
		RelayStatusFn: func(context.Context) (web.RelayStatus, error) {
			return web.RelayStatus{Mode: "sense", Commanded: &off, Sensed: &off,
				LastSwitch: &web.RelaySwitch{Time: at, On: false, Reason: "M5 at line 40", Sensed: &off, Confirmed: true, Latency: 2500 * time.Microsecond}}, nil
		},
		RelayOnFn: func(context.Context) (web.RelayStatus, error) {
			return web.RelayStatus{}, &runner.RelayRefusedError{Reason: "run 000C is active: its program switches the router"}
		},
		RelayOffFn: func(context.Context) (web.RelayStatus, error) {
			return web.RelayStatus{Mode: "drive", Commanded: &off,
				LastSwitch: &web.RelaySwitch{Time: at, Reason: "switched off by the operator"}}, nil
		},
	}
	data := startDaemon(t, &web.Server{Relay: rs})
	last := "last       off at " + at.Local().Format("2006-01-02 15:04:05.000")
	for _, tc := range []struct {
		args    []string
		code    int
		out     []string
		errPart string
	}{
		{[]string{"relay", "status"}, 0, []string{"mode       sense\n", "commanded  off\n", "sensed     off\n", last + " (M5 at line 40): sensed after 2.5ms\n"}, ""},
		{[]string{"relay", "on"}, 1, nil, "kerf: relay on: router on refused: run 000C is active: its program switches the router\n"},
		{[]string{"relay", "off"}, 0, []string{"mode       drive\n", "commanded  off\n", "sensed     n/a\n", "(switched off by the operator): not checked (no sense input)\n"}, ""},
		{[]string{"relay", "status", "extra"}, 1, nil, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, stderr := runKerf(t, append(tc.args, "--data", data)...)
			if code != tc.code || !strings.Contains(stderr, tc.errPart) {
				t.Fatalf("code=%d stderr=%q; want %d and %q", code, stderr, tc.code, tc.errPart)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	code, out, _ := runKerf(t, "relay", "status", "--json", "--data", data)
	var st web.RelayStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || st.Mode != "sense" || st.LastSwitch.Latency != 2500*time.Microsecond {
		t.Fatalf("--json: code %d, %+v, %v", code, st, err)
	}
}

// The relay.state event's data is a RelayStatus with a kind: the relay
// package's Event and the API's RelayStatus must keep the same JSON.
func TestRelayEventIsRelayStatus(t *testing.T) {
	on := true
	at := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	st := relay.Status{Mode: "drive", Commanded: &on, Sensed: &on,
		LastSwitch: &relay.Switch{Time: at, On: true, Reason: "M3 at line 3", Sensed: &on, Confirmed: true, Latency: time.Millisecond}}
	ev, err := json.Marshal(relay.Event{Kind: relay.KindSensed, Status: st})
	if err != nil {
		t.Fatal(err)
	}
	var fromEvent map[string]any
	if err := json.Unmarshal(ev, &fromEvent); err != nil {
		t.Fatal(err)
	}
	if fromEvent["kind"] != "sensed" {
		t.Fatalf("event JSON %s has no kind", ev)
	}
	delete(fromEvent, "kind")
	api, _ := json.Marshal(webRelayStatus(st))
	var fromAPI map[string]any
	_ = json.Unmarshal(api, &fromAPI)
	a, _ := json.Marshal(fromEvent)
	b, _ := json.Marshal(fromAPI)
	if string(a) != string(b) {
		t.Fatalf("event %s\n  API %s", a, b)
	}
}

// kerf serve with the simulator and a drive-mode relay: kerf relay on/off
// through the daemon switch the relay and publish relay.state events.
func TestRelayThroughDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon")
	}
	for _, mode := range []string{"drive", "sense", "none"} {
		t.Run(mode, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "kerfrelay")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			cfg := DefaultConfig()
			cfg.DataDir, cfg.Sim, cfg.RelayMode, cfg.LogLevel = dir, true, mode, "error"
			ios, _, _, _ := TestStreams()
			d, err := openDaemon(t.Context(), ios, cfg, &serveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.close() })
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			c := web.NewSocketClient(filepath.Join(dir, SocketFile))
			defer c.CloseIdleConnections()
			stream, err := c.Watch(ctx, 0, "relay.*")
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			if m, err := stream.Next(); err != nil || m.Type != web.MsgHello {
				t.Fatalf("hello: %+v, %v", m, err)
			}

			// The simulator boots locked (homing enabled): refused, with why.
			code, _, stderr := runKerf(t, "relay", "on", "--data", dir)
			if mode != "none" && (code != 1 || !strings.Contains(stderr, "router on refused: the machine must be Idle") || !strings.Contains(stderr, "alarm")) {
				t.Fatalf("relay on in alarm: %d %q", code, stderr)
			}
			if err := c.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			code, out, stderr := runKerf(t, "relay", "on", "--data", dir)
			if mode == "none" {
				if code != 1 || !strings.Contains(stderr, "relay mode is none") {
					t.Fatalf("relay on in mode none: %d %q", code, stderr)
				}
				if code, _, stderr := runKerf(t, "relay", "off", "--data", dir); code != 0 {
					t.Fatalf("relay off in mode none: %d %q", code, stderr)
				}
				return
			}
			if code != 0 || !strings.Contains(out, "commanded  on") {
				t.Fatalf("relay on: %d %q %q", code, out, stderr)
			}
			m, err := stream.Next()
			var ev struct {
				Kind string `json:"kind"`
				web.RelayStatus
			}
			if err == nil {
				err = json.Unmarshal(m.Data, &ev)
			}
			if err != nil || m.Topic != TopicRelay || ev.Kind != "switch" || ev.Mode != mode || !*ev.Commanded || ev.LastSwitch.Reason != "switched on by the operator" {
				t.Fatalf("event %s %s, %v", m.Topic, m.Data, err)
			}
			if mode == "sense" {
				if !strings.Contains(out, "sensed     on") || !strings.Contains(out, "sensed after") {
					t.Fatalf("sense mode: the router's start not confirmed:\n%s", out)
				}
			}
			code, out, stderr = runKerf(t, "relay", "off", "--data", dir)
			if code != 0 || !strings.Contains(out, "commanded  off") {
				t.Fatalf("relay off: %d %q %q", code, out, stderr)
			}
			st, err := c.MachineStatus(ctx)
			if err != nil || st.Relay.Commanded == nil || *st.Relay.Commanded || st.Relay.LastSwitch == nil {
				t.Fatalf("machine status relay = %+v, %v", st.Relay, err)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Fatal("timed out")
			}
		})
	}
}
