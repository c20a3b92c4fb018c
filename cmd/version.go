package cmd

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Build stamps written by the linker, for example (scripts/release.sh does this):
//
//	go build -ldflags "-X github.com/kerf-cnc/kerf/cmd.version=v0.4.0 \
//	  -X github.com/kerf-cnc/kerf/cmd.commit=3decd56... \
//	  -X github.com/kerf-cnc/kerf/cmd.buildDate=2026-11-27T11:00:00Z" ./cmd/kerf
//
// These are the only package-level variables in cmd, and they are not mutable
// state: `-X` can only set package-level string variables, the linker writes
// them once, and nothing assigns them at run time. Empty means "not stamped":
// the values then come from the module build information (see readBuildInfo).
var (
	version   string
	commit    string
	buildDate string
)

// BuildInfo describes the running binary, as `kerf version` prints it.
type BuildInfo struct {
	// Version is the release version (v0.4.0), the module pseudo-version
	// for `go install`ed binaries, or "(devel)" for a plain `go build`.
	Version string `json:"version"`
	// Commit is the full VCS revision, empty when unknown.
	Commit string `json:"commit"`
	// Modified is true when the working tree had uncommitted changes.
	Modified bool `json:"modified"`
	// BuildDate is when the source was committed or the binary built
	// (RFC 3339, UTC), empty when unknown. Release builds use the commit
	// time, so that the same commit always gives the same bytes.
	BuildDate string `json:"build_date"`
	// GoVersion is the toolchain that built the binary (go1.26.8).
	GoVersion string `json:"go_version"`
	// GOOS and GOARCH are the target platform.
	GOOS   string `json:"goos"`
	GOARCH string `json:"goarch"`
	// GOARM is the ARM architecture level (6 or 7; "7,hardfloat" style
	// suffixes kept as the toolchain recorded them), empty off 32-bit ARM.
	GOARM string `json:"goarm,omitempty"`
}

// currentBuildInfo gathers the running binary's BuildInfo from the linker
// stamps, falling back to runtime/debug.ReadBuildInfo.
func currentBuildInfo() BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return readBuildInfo(stamps{Version: version, Commit: commit, BuildDate: buildDate}, bi,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// stamps are the linker-set values; empty fields were not stamped.
type stamps struct {
	Version, Commit, BuildDate string
}

// readBuildInfo merges linker stamps over the module build information bi
// (nil when the binary carries none). goVersion, goos and goarch are the
// runtime's own answers, used when bi does not say.
func readBuildInfo(s stamps, bi *debug.BuildInfo, goVersion, goos, goarch string) BuildInfo {
	out := BuildInfo{GoVersion: goVersion, GOOS: goos, GOARCH: goarch}
	if bi != nil {
		if bi.GoVersion != "" {
			out.GoVersion = bi.GoVersion
		}
		out.Version = bi.Main.Version
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				out.Commit = kv.Value
			case "vcs.time":
				out.BuildDate = kv.Value
			case "vcs.modified":
				out.Modified = kv.Value == "true"
			case "GOOS":
				out.GOOS = kv.Value
			case "GOARCH":
				out.GOARCH = kv.Value
			case "GOARM":
				out.GOARM = kv.Value
			}
		}
	}
	if s.Version != "" {
		out.Version = s.Version
	}
	if s.Commit != "" {
		// A stamped commit comes from `git describe --dirty` style tooling:
		// a "-dirty" suffix means the tree was modified.
		c, dirty := strings.CutSuffix(s.Commit, "-dirty")
		out.Commit, out.Modified = c, dirty
	}
	if s.BuildDate != "" {
		out.BuildDate = s.BuildDate
	}
	if out.Version == "" {
		out.Version = "(devel)"
	}
	if out.GOARCH != "arm" {
		out.GOARM = ""
	}
	return out
}

// Platform is GOOS/GOARCH, with the ARM level on 32-bit ARM
// (linux/arm/v6), the form Docker and release file names use.
func (b BuildInfo) Platform() string {
	p := b.GOOS + "/" + b.GOARCH
	if b.GOARM != "" {
		level, _, _ := strings.Cut(b.GOARM, ",")
		p += "/v" + level
	}
	return p
}

// versionOptions holds the flags and dependencies of `kerf version`.
type versionOptions struct {
	JSON bool
	// Info returns the binary's build information (currentBuildInfo
	// outside tests).
	Info func() BuildInfo
}

func newCmdVersion(ios IOStreams) *cobra.Command {
	return newCmdVersionWith(ios, currentBuildInfo)
}

// newCmdVersionWith builds `kerf version` with injectable build information.
func newCmdVersionWith(ios IOStreams, info func() BuildInfo) *cobra.Command {
	opts := &versionOptions{Info: info}
	c := &cobra.Command{
		Use:   "version",
		Short: "Print kerf's version, commit, build date, Go version and platform",
		Long: `Version prints what this kerf binary is: the release version, the commit it was
built from (marked "modified" when the tree had local changes), the build date,
the Go toolchain, and the platform it was built for (GOOS/GOARCH, plus GOARM on
32-bit ARM: 6 for the Pi Zero and Pi 1, 7 for the Pi 2 and 3).

Release binaries (scripts/release.sh) carry these from the linker; binaries
built with go build or go install carry what the Go toolchain recorded.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runVersion(ios, opts) },
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON object instead of text")
	return c
}

func runVersion(ios IOStreams, opts *versionOptions) error {
	b := opts.Info()
	if opts.JSON {
		enc := json.NewEncoder(ios.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(b); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	commit := unknown(b.Commit)
	if b.Modified {
		commit += " (modified)"
	}
	if _, err := fmt.Fprintf(ios.Out, "kerf %s\n  commit    %s\n  built     %s\n  go        %s\n  platform  %s\n",
		b.Version, commit, unknown(b.BuildDate), b.GoVersion, b.Platform()); err != nil {
		return fmt.Errorf("write version: %w", err)
	}
	return nil
}

func unknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
