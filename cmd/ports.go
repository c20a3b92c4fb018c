package cmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/hardware"
)

// portsOptions holds the flags and dependencies of `kerf ports`.
type portsOptions struct {
	JSON bool
	// List enumerates the ports (hardware.ListPorts outside tests).
	List func() ([]hardware.PortInfo, error)
}

func newCmdPorts(ios IOStreams) *cobra.Command {
	return newCmdPortsWith(ios, hardware.ListPorts)
}

// newCmdPortsWith builds `kerf ports` with an injectable port lister.
func newCmdPortsWith(ios IOStreams, list func() ([]hardware.PortInfo, error)) *cobra.Command {
	opts := &portsOptions{List: list}
	c := &cobra.Command{
		Use:   "ports",
		Short: "List serial ports, marking likely GRBL boards",
		Long: `Ports lists the serial ports of this machine with their USB vendor and product
IDs and names. Ports whose USB identity matches a board that usually runs GRBL
are marked with "*": CH340 (1a86:7523, SainSmart 3018), Arduino Uno
(2341:0043, 2341:0001) and FTDI FT232R (0403:6001) (Sienci LongMill).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runPorts(ios, opts) },
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON array instead of a table")
	return c
}

func runPorts(ios IOStreams, opts *portsOptions) error {
	ports, err := opts.List()
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(ios.Out)
		enc.SetIndent("", "  ")
		if ports == nil {
			ports = []hardware.PortInfo{}
		}
		if err := enc.Encode(ports); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
		return nil
	}
	if len(ports) == 0 {
		fmt.Fprintln(ios.Out, "no serial ports found (is the board plugged in and powered?)")
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tPORT\tVID:PID\tPRODUCT\tMANUFACTURER\tSERIAL\tBOARD")
	likely := 0
	for _, p := range ports {
		mark, id := "", "-"
		if p.LikelyGRBL {
			mark = "*"
			likely++
		}
		if p.IsUSB {
			id = p.VID + ":" + p.PID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, p.Path, id,
			dash(p.Product), dash(p.Manufacturer), dash(p.SerialNumber), dash(p.Board))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	if likely > 0 {
		fmt.Fprintln(ios.Out, "* likely a GRBL board")
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
