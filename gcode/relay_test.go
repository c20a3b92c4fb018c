package gcode

import (
	"strings"
	"testing"
)

func TestSpindleRelayWarnings(t *testing.T) {
	set := func(max, min float64) Settings {
		s := DefaultSettings()
		s[SetMaxSpindle], s[SetMinSpindle] = max, min
		return s
	}
	for _, tc := range []struct {
		name     string
		prog     string
		settings Settings
		relay    bool
		want     []string // "line:col: text" of each relay warning
	}{
		{"off without the option", "G21\nM3 S500\nM5\n", set(1000, 0), false, nil},
		{"S at $30 is steady", "G21\nM3 S1000\nG1 X1 F100\nM5\n", set(1000, 0), true, nil},
		{"S above $30 is steady", "G21\nM3 S24000\nM5\n", set(1000, 0), true, nil},
		{"S below $30", "G21\nM3 S500\nM5\n", set(1000, 0), true, []string{"2:4: S500 is below $30=1000: GRBL outputs the spindle as ~1 kHz PWM (duty 50 %)"}},
		{"speed change while running", "G21\nM3 S1000\nG1 X1 F100\nS200\nG1 X2\nM5\n", set(1000, 0), true, []string{"4:1: S200 is below $30=1000"}},
		{"$31 >= $30: always full output", "G21\nM3 S10\nM5\n", set(1000, 1000), true, nil},
		{"S0 has its own warning", "G21\nM3 S0\nM5\n", set(1000, 0), true, nil},
		{"speed set while stopped is not output", "G21\nS100\nM5\nS1000\nM3\nM5\n", set(1000, 0), true, nil},
		{"many are counted", "G21\nM3 S1\nS2\nS3\nS4\nS5\nS6\nS7\nM5\n", set(1000, 0), true,
			[]string{"2:4: S1 ", "3:1: S2 ", "4:1: S3 ", "5:1: S4 ", "6:1: S5 ", "0:0: 2 more spindle speeds below $30 (SSR on PWM) not listed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Check(strings.NewReader(tc.prog), "p.nc", Options{Settings: tc.settings, SpindleRelay: tc.relay})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range rep.Diagnostics {
				if strings.Contains(d.Message, "$30") {
					got = append(got, d.String())
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("relay warnings %q, want %d like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				pos, msg, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], "p.nc:"+pos+": warning: "+msg) {
					t.Errorf("warning %d = %q, want it to start %q", i, got[i], "p.nc:"+pos+": warning: "+msg)
				}
			}
		})
	}
}
