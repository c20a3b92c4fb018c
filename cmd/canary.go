package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command in this session.
func newCmdCanary(ios IOStreams) *cobra.Command {
	_ = ios
	return &cobra.Command{Use: "canary", Short: "(being built)", RunE: func(*cobra.Command, []string) error { return errors.New("canary: not built yet") }}
}
