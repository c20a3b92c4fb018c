package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command in this session.
func newCmdSim(ios IOStreams) *cobra.Command {
	_ = ios
	return &cobra.Command{Use: "sim", Short: "(being built)", RunE: func(*cobra.Command, []string) error { return errors.New("sim: not built yet") }}
}
