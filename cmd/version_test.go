package cmd

import (
	"encoding/json"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestReadBuildInfo(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/kerf-cnc/kerf", Version: "v0.0.0-20261127110000-3decd56aaaaa"},
		Settings: []debug.BuildSetting{
			{Key: "GOARCH", Value: "arm"},
			{Key: "GOOS", Value: "linux"},
			{Key: "GOARM", Value: "6"},
			{Key: "vcs.revision", Value: "3decd56aaaaabbbbccccddddeeeeffff00001111"},
			{Key: "vcs.time", Value: "2026-11-27T11:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name string
		s    stamps
		bi   *debug.BuildInfo
		want BuildInfo
	}{
		{"no build info at all", stamps{}, nil,
			BuildInfo{Version: "(devel)", GoVersion: "go1.rt", GOOS: "rtos", GOARCH: "rtarch"}},
		{"module build info only", stamps{}, vcs,
			BuildInfo{Version: "v0.0.0-20261127110000-3decd56aaaaa", Commit: "3decd56aaaaabbbbccccddddeeeeffff00001111",
				Modified: true, BuildDate: "2026-11-27T11:00:00Z", GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "arm", GOARM: "6"}},
		{"linker stamps win", stamps{Version: "v0.4.0", Commit: "abc123", BuildDate: "2026-11-28T00:00:00Z"}, vcs,
			BuildInfo{Version: "v0.4.0", Commit: "abc123", Modified: false, BuildDate: "2026-11-28T00:00:00Z",
				GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "arm", GOARM: "6"}},
		{"dirty stamp means modified", stamps{Version: "v0.4.0", Commit: "abc123-dirty"}, nil,
			BuildInfo{Version: "v0.4.0", Commit: "abc123", Modified: true, GoVersion: "go1.rt", GOOS: "rtos", GOARCH: "rtarch"}},
		{"devel build without vcs", stamps{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "GOARCH", Value: "amd64"}, {Key: "GOOS", Value: "linux"}, {Key: "GOAMD64", Value: "v1"}}},
			BuildInfo{Version: "(devel)", GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64"}},
		{"GOARM ignored off arm", stamps{}, &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "GOARCH", Value: "arm64"}, {Key: "GOARM", Value: "7"}}},
			BuildInfo{Version: "(devel)", GoVersion: "go1.rt", GOOS: "rtos", GOARCH: "arm64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readBuildInfo(tt.s, tt.bi, "go1.rt", "rtos", "rtarch")
			if got != tt.want {
				t.Errorf("readBuildInfo =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestBuildInfoPlatform(t *testing.T) {
	tests := []struct {
		b    BuildInfo
		want string
	}{
		{BuildInfo{GOOS: "linux", GOARCH: "arm64"}, "linux/arm64"},
		{BuildInfo{GOOS: "linux", GOARCH: "arm", GOARM: "6"}, "linux/arm/v6"},
		{BuildInfo{GOOS: "linux", GOARCH: "arm", GOARM: "7,softfloat"}, "linux/arm/v7"},
		{BuildInfo{GOOS: "linux", GOARCH: "amd64"}, "linux/amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.b.Platform(); got != tt.want {
				t.Errorf("Platform() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	release := BuildInfo{Version: "v0.4.0", Commit: "3decd56", BuildDate: "2026-11-27T11:00:00Z",
		GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "arm", GOARM: "6"}
	devel := BuildInfo{Version: "(devel)", Modified: true, GoVersion: "go1.26.8", GOOS: "linux", GOARCH: "amd64"}
	tests := []struct {
		name    string
		args    []string
		info    BuildInfo
		wantOut []string
		wantErr string
	}{
		{"text", nil, release, []string{"kerf v0.4.0\n", "commit    3decd56\n", "built     2026-11-27T11:00:00Z\n",
			"go        go1.26.8\n", "platform  linux/arm/v6\n"}, ""},
		{"text unknowns", nil, devel, []string{"kerf (devel)\n", "commit    unknown (modified)\n", "built     unknown\n",
			"platform  linux/amd64\n"}, ""},
		{"json", []string{"--json"}, release, []string{`"version": "v0.4.0"`, `"commit": "3decd56"`,
			`"build_date": "2026-11-27T11:00:00Z"`, `"go_version": "go1.26.8"`, `"goos": "linux"`, `"goarch": "arm"`, `"goarm": "6"`}, ""},
		{"extra arg", []string{"now"}, release, nil, "unknown command"},
		{"bad flag", []string{"--yaml"}, release, nil, "unknown flag: --yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, _ := TestStreams()
			c := newCmdVersionWith(ios, func() BuildInfo { return tt.info })
			c.SetArgs(append([]string{}, tt.args...)) // nil would make cobra read os.Args
			c.SetOut(out)
			c.SetErr(out)
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
		c := newCmdVersionWith(ios, func() BuildInfo { return release })
		c.SetArgs([]string{"--json"})
		if err := c.Execute(); err != nil {
			t.Fatal(err)
		}
		var got BuildInfo
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(got, release) {
			t.Errorf("round trip = %+v, want %+v", got, release)
		}
	})

	t.Run("registered on the root", func(t *testing.T) {
		ios, _, out, _ := TestStreams()
		if code := Execute(t.Context(), []string{"version", "--json"}, ios); code != 0 {
			t.Fatalf("kerf version exit %d", code)
		}
		var got BuildInfo
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if got.GoVersion != runtime.Version() || got.GOOS != runtime.GOOS || got.GOARCH != runtime.GOARCH {
			t.Errorf("kerf version = %+v, want this test binary's toolchain and platform", got)
		}
	})
}
