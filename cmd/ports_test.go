package cmd

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/hardware"
)

func TestPortsCommand(t *testing.T) {
	two := []hardware.PortInfo{
		{Path: "/dev/ttyAMA0"},
		{Path: "/dev/ttyUSB0", IsUSB: true, VID: "1a86", PID: "7523", Product: "USB2.0-Serial",
			Board: "CH340 USB-serial (SainSmart 3018 and similar)", LikelyGRBL: true},
	}
	tests := []struct {
		name    string
		args    []string
		ports   []hardware.PortInfo
		listErr error
		wantOut []string
		wantErr string
	}{
		{"table", []string{"ports"}, two, nil, []string{
			"PORT", "VID:PID", "/dev/ttyAMA0", "*  /dev/ttyUSB0  1a86:7523  USB2.0-Serial", "CH340", "* likely a GRBL board"}, ""},
		{"none", []string{"ports"}, nil, nil, []string{"no serial ports found"}, ""},
		{"json empty", []string{"ports", "--json"}, nil, nil, []string{"[]"}, ""},
		{"list fails", []string{"ports"}, nil, errors.New("list serial ports: boom"), nil, "list serial ports: boom"},
		{"extra arg", []string{"ports", "x"}, nil, nil, nil, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, _ := TestStreams()
			c := newCmdPortsWith(ios, func() ([]hardware.PortInfo, error) { return tt.ports, tt.listErr })
			c.SetArgs(tt.args[1:])
			c.SetOut(out)
			c.SetErr(out)
			c.SilenceUsage, c.SilenceErrors = true, true
			err := c.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output %q lacks %q", out.String(), w)
				}
			}
		})
	}

	t.Run("json round trip", func(t *testing.T) {
		ios, _, out, _ := TestStreams()
		c := newCmdPortsWith(ios, func() ([]hardware.PortInfo, error) { return two, nil })
		c.SetArgs([]string{"--json"})
		if err := c.Execute(); err != nil {
			t.Fatal(err)
		}
		var got []hardware.PortInfo
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(got, two) {
			t.Errorf("JSON = %+v, want %+v", got, two)
		}
		if !strings.Contains(out.String(), `"likely_grbl": true`) {
			t.Errorf("JSON lacks likely_grbl: %s", out)
		}
	})
}
