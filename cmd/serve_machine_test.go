package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/relay"
	"github.com/kerf-cnc/kerf/web"
)

var _ web.MachineService = (*machineService)(nil)

type nopOutput struct{}

func (nopOutput) SetValue(int) error { return nil }
func (nopOutput) Close() error       { return nil }

func TestWebMachineStatus(t *testing.T) {
	at := time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)
	off := false
	for _, tc := range []struct {
		name string
		st   machine.Status
		rs   web.RelayStatus
		run  jobs.ID
		want web.MachineStatus
	}{
		{
			name: "disconnected",
			st:   machine.Status{Port: "/dev/ttyUSB0", LastError: "unplugged", Updated: at},
			rs:   web.RelayStatus{Mode: "none"},
			want: web.MachineStatus{Port: "/dev/ttyUSB0", SubState: -1, Relay: web.RelayStatus{Mode: "none"}, Updated: at},
		},
		{
			name: "alarm during a run",
			st: machine.Status{Connected: true, Port: "sim", Updated: at,
				Report: machine.Report{State: "Alarm", SubState: -1, MPos: []float64{-1, -2, -3}, WPos: []float64{1, 2, 3},
					WCO: []float64{-2, -4, -6}, Feed: 0, Speed: 0, Overrides: machine.Overrides{Feed: 120, Rapid: 50, Spindle: 90}},
				Alarm: &machine.AlarmInfo{Code: 2, Text: grbl.AlarmText(2), Hint: "soft reset, then $X"}},
			rs:  web.RelayStatus{Mode: "drive", Commanded: &off},
			run: 7,
			want: web.MachineStatus{Connected: true, Port: "sim", State: "Alarm", SubState: -1,
				MPos: []float64{-1, -2, -3}, WPos: []float64{1, 2, 3}, WCO: []float64{-2, -4, -6},
				Overrides: web.Overrides{Feed: 120, Rapid: 50, Spindle: 90},
				Relay:     web.RelayStatus{Mode: "drive", Commanded: &off},
				Alarm:     &web.AlarmInfo{Code: 2, Text: grbl.AlarmText(2), Clear: "soft reset, then $X"},
				ActiveRun: 7, Updated: at},
		},
		{
			name: "holding, homed",
			st: machine.Status{Connected: true, Port: "sim", Updated: at, Homed: true, Board: &machine.BoardInfo{HomingEnabled: true},
				Report: machine.Report{State: "Hold", SubState: 0, Feed: 0, Speed: 1000}},
			rs: web.RelayStatus{Mode: "sense"},
			want: web.MachineStatus{Connected: true, Port: "sim", State: "Hold", SubState: 0, Spindle: 1000,
				HomingEnabled: true, Homed: true, Relay: web.RelayStatus{Mode: "sense"}, Updated: at},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := webMachineStatus(tc.st, tc.rs, tc.run)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("webMachineStatus =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestRelayStatus(t *testing.T) {
	if got := relayStatus(nil); got.Mode != "none" || got.Commanded != nil || got.Sensed != nil {
		t.Fatalf("relayStatus(nil) = %+v", got)
	}
	r, err := relay.New(relay.ModeDrive, nopOutput{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.On("test"); err != nil {
		t.Fatal(err)
	}
	got := relayStatus(r)
	if got.Mode != "drive" || got.Commanded == nil || !*got.Commanded || got.Sensed != nil {
		t.Fatalf("relayStatus(drive, on) = %+v", got)
	}
}

func TestWebErr(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"invalid", fmt.Errorf("jog: field feed: 0: %w", machine.ErrInvalid), web.ErrBadRequest},
		{"busy", &machine.BusyError{Owner: "run 00A7", Op: "jog"}, jobs.ErrBusy},
		{"homing disabled", fmt.Errorf("home: %w", machine.ErrHomingDisabled), jobs.ErrConflict},
		{"not connected", &machine.NotConnectedError{Port: "sim", Retry: time.Second}, web.ErrUnavailable},
		{"closed", machine.ErrClosed, web.ErrUnavailable},
		{"grbl error passes", &grbl.Error{Code: 15, Text: grbl.ErrorText(15)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := webErr(tc.err)
			if got.Error() != tc.err.Error() {
				t.Fatalf("message changed: %q, want %q", got, tc.err)
			}
			if !errors.Is(got, tc.err) {
				t.Fatalf("webErr(%v) lost the original error", tc.err)
			}
			if tc.want == nil {
				if got != tc.err {
					t.Fatalf("webErr(%v) = %#v, want it unchanged", tc.err, got)
				}
				return
			}
			if !errors.Is(got, tc.want) {
				t.Fatalf("webErr(%v) does not match %v", tc.err, tc.want)
			}
		})
	}
	if webErr(nil) != nil {
		t.Fatal("webErr(nil) != nil")
	}
}

// The adapter over a real Machine on the in-process simulator.
func TestMachineServiceOnSim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		board, err := sim.New(sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer board.Close()
		r, err := relay.New(relay.ModeDrive, nopOutput{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := &machine.Machine{Name: "sim", Relay: r, Logger: slog.New(slog.DiscardHandler),
			Dial: func(context.Context) (io.ReadWriteCloser, error) { return board.Connect() }}
		if err := m.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s := newMachineService(m, r, func() jobs.ID { return 0 })
		ctx := context.Background()
		st, err := s.Status(ctx)
		if err != nil || !st.Connected || st.Port != "sim" || st.Relay.Mode != "drive" {
			t.Fatalf("Status = %+v, %v", st, err)
		}
		x := 2.0
		if err := s.Jog(ctx, web.JogRequest{X: &x, Feed: 600, Incremental: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.Override(ctx, web.OverrideRequest{Target: "feed", Op: "+10"}); err != nil {
			t.Fatal(err)
		}
		settings, err := s.Settings(ctx)
		if err != nil || len(settings) == 0 || settings[0].Number != 0 || settings[0].Name == "" {
			t.Fatalf("Settings = %v, %v", settings, err)
		}
		if err := s.Home(ctx); !errors.Is(err, jobs.ErrConflict) || !strings.Contains(err.Error(), "$22") {
			t.Fatalf("Home with homing disabled = %v, want a conflict naming $22", err)
		}
		release, err := m.Acquire(ctx, "run 00A7")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetSetting(ctx, 110, "800"); !errors.Is(err, jobs.ErrBusy) {
			t.Fatalf("SetSetting while leased = %v, want jobs.ErrBusy", err)
		}
		release()
	})
}
