package cmd

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/gcode"
)

// checkOptions holds the flags of `kerf check`.
type checkOptions struct {
	Files          []string
	JSON           bool
	Wire           string
	Profile        string
	SettingsFile   string
	WorkOffset     string
	SafeZ          float64
	MaxDiagnostics int
	AssumeReset    bool
	SpindleRelay   bool
}

func newCmdCheck(ios IOStreams) *cobra.Command {
	opts := &checkOptions{}
	c := &cobra.Command{
		Use:   "check FILE... (- for standard input)",
		Short: "Check G-code files against GRBL 1.1 and a machine; write the wire form",
		Long: `Check reads each G-code file and reports, compiler-style, every line GRBL 1.1
would reject (file:line:col: error: error:N ...) and everything that runs but may
surprise (warnings), followed by a summary: lines, bounds, estimated run time,
tools, spindle events and the wire-form size.

A FILE of "-" reads standard input (no --wire for it).

Exit status: 0 clean, 1 errors found, 2 a file could not be read.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			return runCheck(ios, opts)
		},
	}
	f := c.Flags()
	f.BoolVar(&opts.JSON, "json", false, "print a JSON array of reports instead of text")
	f.StringVar(&opts.Wire, "wire", "", "write the wire form to this file (one input) or into this existing directory")
	f.StringVar(&opts.Profile, "profile", "", "machine profile: "+strings.Join(gcode.ProfileNames(), ", "))
	f.StringVar(&opts.SettingsFile, "settings", "", "file of $n=value lines as `$$` prints them")
	f.StringVar(&opts.WorkOffset, "work-offset", "", "G54 offset in machine coordinates \"x,y,z\" (mm); enables the soft-limit check")
	f.Float64Var(&opts.SafeZ, "safe-z", gcode.DefaultSafeZ, "work Z (mm) at or above which the tool counts as retracted")
	f.IntVar(&opts.MaxDiagnostics, "max-diagnostics", 1000, "most diagnostics kept per file (all are counted)")
	f.BoolVar(&opts.SpindleRelay, "relay", false, "GRBL's spindle output switches the router's SSR (relay.mode sense): warn where S is below $30, which GRBL outputs as PWM (pair with --settings or --profile for the machine's $30)")
	f.BoolVar(&opts.AssumeReset, "assume-reset", false, "the sender soft-resets GRBL first and no $N startup block sets a mode: the wire form may drop words that repeat GRBL's reset state")
	return c
}

// gcodeOptions turns the flags into gcode.Options.
func (o *checkOptions) gcodeOptions() (gcode.Options, error) {
	g := gcode.Options{SafeZ: o.SafeZ, MaxDiagnostics: o.MaxDiagnostics, AssumeReset: o.AssumeReset, SpindleRelay: o.SpindleRelay}
	if o.Profile != "" && o.SettingsFile != "" {
		return g, errors.New("--profile and --settings are mutually exclusive")
	}
	switch {
	case o.Profile != "":
		s, err := gcode.ProfileSettings(o.Profile)
		if err != nil {
			return g, fmt.Errorf("--profile: %w", err)
		}
		g.Settings = s
	case o.SettingsFile != "":
		f, err := os.Open(o.SettingsFile)
		if err != nil {
			return g, fmt.Errorf("--settings: %w", err)
		}
		s, err := gcode.ParseSettings(f)
		f.Close()
		if err != nil {
			return g, fmt.Errorf("--settings %s: %w", o.SettingsFile, err)
		}
		g.Settings = s
	}
	if o.WorkOffset != "" {
		parts := strings.Split(o.WorkOffset, ",")
		if len(parts) != 3 {
			return g, fmt.Errorf("--work-offset %q: want x,y,z", o.WorkOffset)
		}
		off := &gcode.Offsets{}
		for i, p := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return g, fmt.Errorf("--work-offset %q: field %d: %w", o.WorkOffset, i+1, err)
			}
			off.WCS[0][i] = v
		}
		g.Offsets = off
	}
	return g, nil
}

// wirePath returns where the wire form of file goes, or "".
func (o *checkOptions) wirePath(file string) (string, error) {
	if o.Wire == "" {
		return "", nil
	}
	if fi, err := os.Stat(o.Wire); err == nil && fi.IsDir() {
		return filepath.Join(o.Wire, filepath.Base(file)), nil
	}
	if len(o.Files) > 1 {
		return "", fmt.Errorf("--wire %s: must be an existing directory when checking several files", o.Wire)
	}
	return o.Wire, nil
}

func runCheck(ios IOStreams, o *checkOptions) error {
	gopts, err := o.gcodeOptions()
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	unreadable, failed := false, false
	var reports []*gcode.Report
	for _, file := range o.Files {
		var rep *gcode.Report
		var err error
		if file == "-" {
			rep, err = gcode.Check(ios.In, "<stdin>", gopts)
			if err != nil {
				err = fmt.Errorf("check <stdin>: %w", err)
			}
		} else {
			rep, err = checkFile(file, gopts)
		}
		if err != nil {
			fmt.Fprintf(ios.ErrOut, "kerf check: %v\n", err)
			unreadable = true
			continue
		}
		if !rep.Streamable {
			failed = true
		}
		if o.JSON {
			reports = append(reports, rep)
		} else {
			printReport(ios.Out, rep)
		}
		if rep.Streamable && file != "-" {
			path, err := o.wirePath(file)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if path != "" {
				if err := writeWire(file, path, gopts); err != nil {
					fmt.Fprintf(ios.ErrOut, "kerf check: %v\n", err)
					unreadable = true
				}
			}
		} else if o.Wire != "" {
			fmt.Fprintf(ios.ErrOut, "kerf check: %s has errors; no wire form written\n", file)
		}
	}
	if o.JSON {
		if reports == nil {
			reports = []*gcode.Report{}
		}
		enc := json.NewEncoder(ios.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("write json: %w", err)}
		}
	}
	switch {
	case unreadable:
		return &ExitError{Code: 2}
	case failed:
		return &ExitError{Code: 1}
	}
	return nil
}

func checkFile(file string, opts gcode.Options) (*gcode.Report, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", file)
	}
	rep, err := gcode.Check(f, file, opts)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", file, err)
	}
	return rep, nil
}

// writeWire compiles file into path. Action-only lines (a lone M6) have no
// text and are not written.
func writeWire(file, path string, opts gcode.Options) (err error) {
	in, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create wire file: %w", err)
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close wire file %s: %w", path, cerr)
		}
	}()
	w := bufio.NewWriter(out)
	c := gcode.NewCompiler(in, file, opts)
	for {
		wl, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("compile %s: %w", file, err)
		}
		if wl.Text == "" {
			continue
		}
		w.WriteString(wl.Text)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write wire file %s: %w", path, err)
	}
	return nil
}

func printReport(w io.Writer, r *gcode.Report) {
	for _, d := range r.Diagnostics {
		fmt.Fprintln(w, d.String())
	}
	if r.DiagnosticsDropped > 0 {
		fmt.Fprintf(w, "%s: ... %d more diagnostics not shown\n", r.File, r.DiagnosticsDropped)
	}
	status := "ok"
	if !r.Streamable {
		status = "NOT streamable"
	}
	fmt.Fprintf(w, "%s: %s: %d lines, %d errors, %d warnings, units %s\n", r.File, status, r.Lines, r.Errors, r.Warnings, r.Units)
	if !r.Bounds.Work.Empty {
		b := r.Bounds.Work
		fmt.Fprintf(w, "  bounds (work): X %.3f..%.3f  Y %.3f..%.3f  Z %.3f..%.3f mm\n", b.Min[0], b.Max[0], b.Min[1], b.Max[1], b.Min[2], b.Max[2])
		m := r.Bounds.Machine
		fmt.Fprintf(w, "  bounds (machine): X %.3f..%.3f  Y %.3f..%.3f  Z %.3f..%.3f mm\n", m.Min[0], m.Max[0], m.Min[1], m.Max[1], m.Min[2], m.Max[2])
	}
	fmt.Fprintf(w, "  estimated time: %s (%d moves, %d planner segments)\n", formatSeconds(r.EstimatedSeconds), r.Moves, r.Segments)
	if r.FeedMax > 0 {
		fmt.Fprintf(w, "  feed: %g..%g mm/min\n", r.FeedMin, r.FeedMax)
	}
	fmt.Fprintf(w, "  tools: %v, tool changes: %d, spindle events: %d, pauses: %d, safe points: %d\n",
		r.Tools, len(r.ToolChanges), r.SpindleEventsN, len(r.Pauses), r.SafePointsN)
	saving := 0.0
	if r.Bytes > 0 {
		saving = 100 * (1 - float64(r.WireBytes)/float64(r.Bytes))
	}
	fmt.Fprintf(w, "  wire form: %d lines, %d bytes of %d (%.1f%% smaller)\n", r.WireLines, r.WireBytes, r.Bytes, saving)
}

func formatSeconds(s float64) string {
	t := int64(s + 0.5)
	return fmt.Sprintf("%dh%02dm%02ds", t/3600, t/60%60, t%60)
}
