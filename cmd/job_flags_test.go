package cmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/jobs"
)

// parseOnly runs cmd's flag and argument parsing with args; runF captured
// the options, so no daemon is involved.
func parseOnly(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	ios, _, _, _ := TestStreams()
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(t.Context())
}

func TestJobFlagParsing(t *testing.T) {
	ios, _, _, _ := TestStreams()
	co := &clientOptions{}

	t.Run("add", func(t *testing.T) {
		var got *jobAddOptions
		cmd := newCmdJobAdd(ios, co, func(_ context.Context, o *jobAddOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "part.nc", "--name", "oak", "--start", "--json"); err != nil {
			t.Fatal(err)
		}
		if got.File != "part.nc" || got.Name != "oak" || !got.Start || !got.JSON {
			t.Errorf("options=%+v", got)
		}
	})
	t.Run("start", func(t *testing.T) {
		var got *jobStartOptions
		cmd := newCmdJobStart(ios, co, func(_ context.Context, o *jobStartOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "00a7", "--from-line", "42"); err != nil {
			t.Fatal(err)
		}
		if want := jobs.ID(10*32 + 7); got.ID != want || got.FromLine != 42 { // Crockford base32
			t.Errorf("options=%+v", got)
		}
	})
	t.Run("pause --run", func(t *testing.T) {
		var got *jobRunActionOptions
		cmd := newCmdJobRunAction(ios, co, "pause", func(_ context.Context, o *jobRunActionOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "--run", "0o12"); err != nil { // Crockford: o reads as 0
			t.Fatal(err)
		}
		if got.Action != "pause" || got.RunID != jobs.ID(1*32+2) || got.JobID != 0 {
			t.Errorf("options=%+v", got)
		}
	})
	t.Run("watch", func(t *testing.T) {
		var got *jobWatchOptions
		cmd := newCmdJobWatch(ios, co, func(_ context.Context, o *jobWatchOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "0007", "--json", "--interval", "250ms"); err != nil {
			t.Fatal(err)
		}
		if got.JobID != 7 || !got.JSON || got.Interval != 250*time.Millisecond {
			t.Errorf("options=%+v", got)
		}
	})

	refusals := []struct {
		name    string
		cmd     func() *cobra.Command
		args    []string
		mention string
	}{
		{"start: bad id", func() *cobra.Command { return newCmdJobStart(ios, co, nil) }, []string{"7U"}, `job ID "7U"`},
		{"start: two ids", func() *cobra.Command { return newCmdJobStart(ios, co, nil) }, []string{"1", "2"}, "accepts 1 arg"},
		{"pause: bad --run", func() *cobra.Command { return newCmdJobRunAction(ios, co, "pause", nil) }, []string{"--run", "??"}, `invalid argument "??" for "--run"`},
		{"watch: no id", func() *cobra.Command { return newCmdJobWatch(ios, co, nil) }, nil, "give a job ID or --run"},
		{"watch: bad interval", func() *cobra.Command { return newCmdJobWatch(ios, co, nil) }, []string{"1", "--interval", "0s"}, "--interval"},
		{"list: bad limit", func() *cobra.Command { return newCmdJobList(ios, co, nil) }, []string{"--limit", "0"}, "--limit"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			err := parseOnly(t, tt.cmd(), tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err=%v, want mention of %q", err, tt.mention)
			}
		})
	}
}

func TestJogFlagParsing(t *testing.T) {
	ios, _, _, _ := TestStreams()
	var got *jogOptions
	cmd := newCmdMachineJog(ios, &clientOptions{}, func(_ context.Context, o *jogOptions) error { got = o; return nil })
	if err := parseOnly(t, cmd, "--y", "-2.5", "--feed", "300"); err != nil {
		t.Fatal(err)
	}
	r := got.Request
	if r.X != nil || r.Z != nil || r.Y == nil || *r.Y != -2.5 || r.Feed != 300 || !r.Incremental {
		t.Errorf("request=%+v", r)
	}
}
