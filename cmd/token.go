package cmd

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/web"
)

// newCmdToken builds "kerf token" and its subcommands.
func newCmdToken(ios IOStreams) *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `API tokens authenticate remote clients (kerf --server, scripts, Prometheus) over
TCP with "Authorization: Bearer <token>". Each token has a role:

  viewer    reads everything: jobs, runs, telemetry, machine status, metrics
  operator  also runs jobs and moves the machine (jog, home, unlock, hold, overrides)
  admin     also writes GRBL settings, deletes jobs, backs up, manages tokens and users

The daemon keeps only a hash of each token: the secret is printed once, by
"kerf token create". These commands need admin, which the local Unix socket is.`,
	}
	addClientFlags(cmd, co)
	cmd.AddCommand(
		newCmdTokenCreate(ios, co, nil),
		newCmdTokenList(ios, co, nil),
		newCmdTokenRevoke(ios, co, nil),
	)
	return cmd
}

// tokenCreateOptions are the inputs of "kerf token create".
type tokenCreateOptions struct {
	client *clientOptions
	Name   string
	Role   string
	JSON   bool
}

func newCmdTokenCreate(ios IOStreams, co *clientOptions, runF func(context.Context, *tokenCreateOptions) error) *cobra.Command {
	o := &tokenCreateOptions{client: co}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API token and print its secret (shown only once)",
		Example: `  kerf token create laptop --role operator
  kerf token create prometheus            # viewer
  KERF_TOKEN=$(kerf token create ci --role operator) kerf --server http://pi:8080 job list`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if _, err := web.ParseRole(o.Role); err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(tokenCreateRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().StringVar(&o.Role, "role", "viewer", "the token's role: viewer, operator or admin")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the token and its secret as JSON")
	return cmd
}

func tokenCreateRun(ctx context.Context, ios IOStreams, o *tokenCreateOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	t, err := c.CreateToken(ctx, o.Name, o.Role)
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if o.JSON {
		return printJSON(ios.Out, t)
	}
	fmt.Fprintln(ios.Out, t.Secret)
	fmt.Fprintf(ios.ErrOut, "token %s %q (%s) created; its secret, above, is not shown again: store it now\n", t.ID, t.Name, t.Role)
	return nil
}

// tokenListOptions are the inputs of "kerf token list".
type tokenListOptions struct {
	client *clientOptions
	JSON   bool
}

func newCmdTokenList(ios IOStreams, co *clientOptions, runF func(context.Context, *tokenListOptions) error) *cobra.Command {
	o := &tokenListOptions{client: co}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List API tokens (never their secrets)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(tokenListRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func tokenListRun(ctx context.Context, ios IOStreams, o *tokenListOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	list, err := c.Tokens(ctx)
	if err != nil {
		return fmt.Errorf("token list: %w", err)
	}
	if o.JSON {
		if list == nil {
			list = []web.TokenInfo{}
		}
		return printJSON(ios.Out, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(ios.ErrOut, "no tokens: create one with kerf token create NAME --role viewer|operator|admin")
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED")
	for _, t := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// tokenRevokeOptions are the inputs of "kerf token revoke".
type tokenRevokeOptions struct {
	client *clientOptions
	ID     string
}

func newCmdTokenRevoke(ios IOStreams, co *clientOptions, runF func(context.Context, *tokenRevokeOptions) error) *cobra.Command {
	o := &tokenRevokeOptions{client: co}
	return &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an API token: it stops working at once",
		Example: `  kerf token revoke 0003`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ID = args[0]
			if _, err := parseIDArg("token", o.ID); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(tokenRevokeRun(cmd.Context(), ios, o))
		},
	}
}

func tokenRevokeRun(ctx context.Context, ios IOStreams, o *tokenRevokeOptions) error {
	id, err := parseIDArg("token", o.ID)
	if err != nil {
		return err
	}
	c, err := o.client.client()
	if err != nil {
		return err
	}
	if err := c.RevokeToken(ctx, id); err != nil {
		return fmt.Errorf("token revoke %s: %w", id, err)
	}
	fmt.Fprintf(ios.ErrOut, "token %s revoked\n", id)
	return nil
}
