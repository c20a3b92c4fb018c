package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestStatus(t *testing.T) {
	on := true
	tests := []struct {
		name string
		st   web.MachineStatus
		want string
	}{
		{
			name: "alarm",
			st: web.MachineStatus{Connected: true, Port: "/dev/ttyUSB0", State: "Alarm", SubState: -1, HomingEnabled: true,
				WPos: []float64{1, 2.5, -3}, MPos: []float64{-299, -197.5, -3}, Overrides: web.Overrides{Feed: 100, Rapid: 100, Spindle: 100},
				Relay: web.RelayStatus{Mode: "sense", Sensed: &on},
				Alarm: &web.AlarmInfo{Code: 1, Text: "Hard limit triggered", Clear: "soft reset (0x18), then home with $H"}},
			want: "" +
				"machine           connected on /dev/ttyUSB0\n" +
				"state             Alarm\n" +
				"homed             no: jobs will not start until you run kerf machine home\n" +
				"alarm             ALARM:1 Hard limit triggered\n" +
				"to clear          soft reset (0x18), then home with $H\n" +
				"work position     X 1.000  Y 2.500  Z -3.000\n" +
				"machine position  X -299.000  Y -197.500  Z -3.000\n" +
				"feed              0 mm/min\n" +
				"spindle           0 rpm\n" +
				"overrides         feed 100%  rapid 100%  spindle 100%\n" +
				"relay             sense: sensed on\n" +
				"active run        none\n",
		},
		{
			name: "holding a run",
			st: web.MachineStatus{Connected: true, Port: "sim", State: "Hold", SubState: 0, Feed: 0, Spindle: 12000, HomingEnabled: true, Homed: true,
				Overrides: web.Overrides{Feed: 120, Rapid: 50, Spindle: 90}, Relay: web.RelayStatus{Mode: "drive", Commanded: &on}, ActiveRun: 3},
			want: "" +
				"machine     connected on sim\n" +
				"state       Hold:0\n" +
				"homed       yes\n" +
				"feed        0 mm/min\n" +
				"spindle     12000 rpm\n" +
				"overrides   feed 120%  rapid 50%  spindle 90%\n" +
				"relay       drive: commanded on, sensed unknown\n" +
				"active run  0003\n",
		},
		{
			name: "no homing",
			st:   web.MachineStatus{Connected: true, Port: "sim", State: "Idle", SubState: -1, Relay: web.RelayStatus{Mode: "none"}},
			want: "" +
				"machine     connected on sim\n" +
				"state       Idle\n" +
				"homed       no (homing is disabled: $22=0)\n" +
				"feed        0 mm/min\n" +
				"spindle     0 rpm\n" +
				"overrides   feed 0%  rapid 0%  spindle 0%\n" +
				"relay       none (router switched by hand)\n" +
				"active run  none\n",
		},
		{
			name: "disconnected",
			st:   web.MachineStatus{Port: "/dev/ttyACM0", SubState: -1},
			want: "" +
				"machine     not connected\n" +
				"port        /dev/ttyACM0 (waiting for the board)\n" +
				"relay       none (router switched by hand)\n" +
				"active run  none\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := &webtest.MachineService{T: t, StatusFn: func(context.Context) (web.MachineStatus, error) { return tt.st, nil }}
			data := startDaemon(t, &web.Server{Machine: ms})
			code, out, stderr := runKerf(t, "status", "--data", data)
			if code != 0 || out != tt.want {
				t.Errorf("code=%d stderr=%q out=\n%s\nwant\n%s", code, stderr, out, tt.want)
			}
			code, out, _ = runKerf(t, "status", "--json", "--data", data)
			var got web.MachineStatus
			if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got.State != tt.st.State || got.ActiveRun != tt.st.ActiveRun ||
				got.Homed != tt.st.Homed || got.HomingEnabled != tt.st.HomingEnabled {
				t.Errorf("--json: code=%d %+v err=%v", code, got, err)
			}
		})
	}
	t.Run("service error", func(t *testing.T) {
		ms := &webtest.MachineService{T: t, StatusFn: func(context.Context) (web.MachineStatus, error) {
			return web.MachineStatus{}, fmt.Errorf("read status: %w", grbl.ErrDisconnected)
		}}
		data := startDaemon(t, &web.Server{Machine: ms})
		code, _, stderr := runKerf(t, "status", "--data", data)
		if want := "kerf: status: read status: grbl: board disconnected\n"; code != 1 || stderr != want {
			t.Errorf("code=%d stderr=%q, want %q", code, stderr, want)
		}
	})
}
