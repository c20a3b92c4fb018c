package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestMachineCommands(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	record := func(s string) { mu.Lock(); calls = append(calls, s); mu.Unlock() }
	simple := func(name string) func(context.Context) error {
		return func(context.Context) error { record(name); return nil }
	}
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	ms := &webtest.MachineService{T: t,
		HomeFn: simple("home"), UnlockFn: simple("unlock"), ResetFn: simple("reset"), JogCancelFn: simple("jog cancel"),
		JogFn: func(_ context.Context, j web.JogRequest) error {
			if j.X != nil && *j.X > 500 {
				return &grbl.Error{Code: 15, Text: "Travel exceeded"}
			}
			record(fmt.Sprintf("jog x=%s y=%s z=%s f=%v inc=%v", f(j.X), f(j.Y), f(j.Z), j.Feed, j.Incremental))
			return nil
		},
		SettingsFn: func(context.Context) ([]web.Setting, error) {
			return []web.Setting{{Number: 0, Value: "10", Name: "Step pulse time"}, {Number: 110, Value: "1000.000", Name: "X max rate"}}, nil
		},
		SetSettingFn: func(_ context.Context, n int, v string) error {
			if n == 200 {
				return &grbl.Error{Code: 3, Text: "Invalid statement"}
			}
			record(fmt.Sprintf("$%d=%s", n, v))
			return nil
		},
	}
	data := startDaemon(t, &web.Server{Machine: ms})
	tests := []struct {
		args    []string
		code    int
		out     string
		errPart string
		calls   []string
	}{
		{[]string{"machine", "home"}, 0, "", "homed", []string{"home"}},
		{[]string{"machine", "unlock"}, 0, "", "unlocked", []string{"unlock"}},
		{[]string{"machine", "reset"}, 0, "", "reset sent", []string{"reset"}},
		{[]string{"machine", "jog", "--x", "10", "--feed", "1000"}, 0, "", "", []string{"jog x=10 y=- z=- f=1000 inc=true"}},
		{[]string{"machine", "jog", "--z=-0.5", "--y", "0", "--feed", "100"}, 0, "", "", []string{"jog x=- y=0 z=-0.5 f=100 inc=true"}},
		{[]string{"machine", "jog", "--absolute", "--x", "0", "--feed", "2000"}, 0, "", "", []string{"jog x=0 y=- z=- f=2000 inc=false"}},
		{[]string{"machine", "jog", "--cancel"}, 0, "", "", []string{"jog cancel"}},
		{[]string{"machine", "jog", "--x", "600", "--feed", "100"}, 1, "", "kerf: machine jog: error:15 (Travel exceeded)", nil},
		{[]string{"machine", "jog", "--feed", "100"}, 1, "", "at least one axis is required", nil},
		{[]string{"machine", "jog", "--x", "1"}, 1, "", "--feed: 0 must be at least 0.001", nil},
		{[]string{"machine", "jog", "--cancel", "--x", "1"}, 1, "", "--cancel takes no other flags", nil},
		{[]string{"machine", "settings"}, 0, "$0=10          Step pulse time\n$110=1000.000  X max rate\n", "", nil},
		{[]string{"machine", "settings", "$110=2000", "111=1500.5"}, 0, "", "$110=2000\n$111=1500.5\n", []string{"$110=2000", "$111=1500.5"}},
		{[]string{"machine", "settings", "110"}, 1, "", "want N=VALUE", nil},
		{[]string{"machine", "settings", "110=fast"}, 1, "", `setting "110=fast": field value: "fast" is not a number`, nil},
		{[]string{"machine", "settings", "200=1"}, 1, "", "$200=1: error:3", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			mu.Lock()
			calls = nil
			mu.Unlock()
			code, out, stderr := runKerf(t, append(tt.args, "--data", data)...)
			if code != tt.code || out != tt.out || !strings.Contains(stderr, tt.errPart) {
				t.Errorf("code=%d out=%q stderr=%q; want %d %q %q", code, out, stderr, tt.code, tt.out, tt.errPart)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(calls, tt.calls) {
				t.Errorf("calls=%q, want %q", calls, tt.calls)
			}
		})
	}
	t.Run("settings --json", func(t *testing.T) {
		code, out, _ := runKerf(t, "machine", "settings", "--json", "--data", data)
		var list []web.Setting
		if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || len(list) != 2 || list[1].Value != "1000.000" {
			t.Errorf("code=%d list=%v err=%v", code, list, err)
		}
	})
}
