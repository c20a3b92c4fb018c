package cmd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/web"
)

// zeroOptions are the inputs of "kerf machine zero".
type zeroOptions struct {
	client  *clientOptions
	Request web.ZeroRequest
	JSON    bool
}

func newCmdMachineZero(ios IOStreams, co *clientOptions, runF func(context.Context, *zeroOptions) error) *cobra.Command {
	o := &zeroOptions{client: co}
	var all bool
	cmd := &cobra.Command{
		Use:   "zero [--wcs G54] {--all | AXIS[=MM]...}",
		Short: "Set the work origin at the current position (G10 L20)",
		Long: `Make the current position the work origin of the named axes: afterwards the
machine reads 0 there (or MM, with AXIS=MM: e.g. z=2 when the tool sits 2 mm
above the work). The change is stored in the board's EEPROM for the work
coordinate system given by --wcs (default: the one in use). The machine must
be idle and no job running.`,
		Example: `  kerf machine zero x y
  kerf machine zero --all
  kerf machine zero --wcs G55 z=2`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return fmt.Errorf("name the axes to zero (x, y, z, or AXIS=MM) or give --all, not both")
			}
			if all {
				args = []string{"x", "y", "z"}
			}
			req, err := parseZeroArgs(args)
			if err != nil {
				return err
			}
			req.WCS = strings.ToUpper(o.Request.WCS)
			o.Request = req
			if err := o.Request.Validate(); err != nil {
				return zeroFlagError(err)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(zeroRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().StringVar(&o.Request.WCS, "wcs", "", "work coordinate system G54-G59 (default: the active one)")
	cmd.Flags().BoolVar(&all, "all", false, "zero X, Y and Z")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the offsets afterwards as JSON")
	return cmd
}

// parseZeroArgs parses "x", "Y", "z=2", "z=-0.5" into a request.
func parseZeroArgs(args []string) (web.ZeroRequest, error) {
	var req web.ZeroRequest
	for _, a := range args {
		name, val, hasVal := strings.Cut(strings.ToLower(strings.TrimSpace(a)), "=")
		v := 0.0
		if hasVal {
			f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil {
				return req, fmt.Errorf("axis %q: %q is not a number of mm", a, val)
			}
			v = f
		}
		var p **float64
		switch name {
		case "x":
			p = &req.X
		case "y":
			p = &req.Y
		case "z":
			p = &req.Z
		default:
			return req, fmt.Errorf("axis %q: want x, y or z (optionally =MM)", a)
		}
		if *p != nil {
			return req, fmt.Errorf("axis %q: %s given twice", a, name)
		}
		*p = &v
	}
	return req, nil
}

// zeroFlagError rewords a request validation error for the command line.
func zeroFlagError(err error) error {
	msg := strings.TrimSuffix(err.Error(), ": "+web.ErrBadRequest.Error())
	msg = strings.TrimPrefix(msg, "work offset: ")
	msg = strings.ReplaceAll(msg, "field wcs:", "--wcs:")
	for _, f := range []string{"x", "y", "z"} {
		msg = strings.ReplaceAll(msg, "field "+f+":", "axis "+f+":")
	}
	return fmt.Errorf("%s", msg)
}

func zeroRun(ctx context.Context, ios IOStreams, o *zeroOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	off, err := c.ZeroAxes(ctx, o.Request)
	if err != nil {
		return fmt.Errorf("machine zero: %w", err)
	}
	if o.JSON {
		return printJSON(ios.Out, off)
	}
	wcs := o.Request.WCS
	if wcs == "" {
		wcs = off.Active
	}
	fmt.Fprintf(ios.ErrOut, "%s origin set: %s\n", wcs, formatVec(off.WCS[wcs]))
	return nil
}

// offsetsOptions are the inputs of "kerf machine offsets".
type offsetsOptions struct {
	client *clientOptions
	JSON   bool
}

func newCmdMachineOffsets(ios IOStreams, co *clientOptions, runF func(context.Context, *offsetsOptions) error) *cobra.Command {
	o := &offsetsOptions{client: co}
	cmd := &cobra.Command{
		Use:   "offsets",
		Short: "Show the work coordinate offsets ($#)",
		Long: `Show GRBL's coordinate data: the origins of the work coordinate systems G54-G59
in machine coordinates (the active one marked *), the G28/G30 positions, the G92
offset and the tool length offset. While a job runs the board cannot be asked,
and the values last read are shown (marked as such).`,
		Example: `  kerf machine offsets
  kerf machine offsets --json | jq .wcs.G54`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(offsetsRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func offsetsRun(ctx context.Context, ios IOStreams, o *offsetsOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	off, err := c.Offsets(ctx)
	if err != nil {
		return fmt.Errorf("machine offsets: %w", err)
	}
	if o.JSON {
		return printJSON(ios.Out, off)
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	names := make([]string, 0, len(off.WCS))
	for k := range off.WCS {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, n := range names {
		mark := ""
		if n == off.Active {
			mark = " *"
		}
		fmt.Fprintf(tw, "%s%s\t%s\n", n, mark, formatVec(off.WCS[n]))
	}
	for _, row := range []struct {
		name string
		v    []float64
	}{{"G28", off.G28}, {"G30", off.G30}, {"G92", off.G92}} {
		if row.v != nil {
			fmt.Fprintf(tw, "%s\t%s\n", row.name, formatVec(row.v))
		}
	}
	fmt.Fprintf(tw, "TLO\t%.3f\n", off.TLO)
	if err := tw.Flush(); err != nil {
		return err
	}
	if !off.Fresh {
		fmt.Fprintf(ios.ErrOut, "the board is busy: values as last read at %s\n", off.ReadAt.Local().Format("15:04:05"))
	}
	return nil
}

// formatVec prints X, Y, Z in mm.
func formatVec(v []float64) string {
	if len(v) < 3 {
		return "?"
	}
	return fmt.Sprintf("X%.3f Y%.3f Z%.3f", v[0], v[1], v[2])
}
