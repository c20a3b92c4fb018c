package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command in this session.
func newCmdSend(ios IOStreams) *cobra.Command {
	_ = ios
	return &cobra.Command{Use: "send", Short: "(being built)", RunE: func(*cobra.Command, []string) error { return errors.New("send: not built yet") }}
}
