package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command in this session.
func newCmdPorts(ios IOStreams) *cobra.Command {
	_ = ios
	return &cobra.Command{Use: "ports", Short: "(being built)", RunE: func(*cobra.Command, []string) error { return errors.New("ports: not built yet") }}
}
