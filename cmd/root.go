// Package cmd builds kerf's command tree. Commands are built by functions
// (no package-level command variables, no init), take an options struct and
// an IOStreams, and return errors; Execute turns the outcome into an exit code.
package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// ExitError carries a specific process exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// NewCmdRoot builds the whole command tree.
func NewCmdRoot(ios IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "kerf",
		Short:         "Run a GRBL CNC router: stream, check, simulate, serve",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.AddCommand(
		newCmdServe(ios),
		newCmdSend(ios),
		newCmdSim(ios),
		newCmdPorts(ios),
		newCmdCheck(ios),
		newCmdCanary(ios),
		newCmdBaseline(ios),
		newCmdJob(ios),
		newCmdStatus(ios),
		newCmdMachine(ios),
		newCmdRelay(ios),
		newCmdBackup(ios),
		newCmdToken(ios),
		newCmdUser(ios),
		newCmdVersion(ios),
	)
	return root
}

// Execute runs kerf with args and returns the process exit code.
func Execute(ctx context.Context, args []string, ios IOStreams) int {
	root := NewCmdRoot(ios)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(ios.ErrOut, "kerf: %v\n", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(ios.ErrOut, "kerf: %v\n", err)
	return 1
}
