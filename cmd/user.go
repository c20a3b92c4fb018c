package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// newCmdUser builds "kerf user" and its subcommands.
func newCmdUser(ios IOStreams) *cobra.Command {
	co := &clientOptions{}
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Add, list and remove the control panel's users",
		Long: `Panel users log in with a name and password (hashed by the daemon with
PBKDF2-HMAC-SHA256, 600,000 iterations and a per-user salt) and get a session
cookie. Each user has a role: viewer, operator or admin (see kerf token --help).

There is no default user or password. Make the first admin on the Pi itself,
over the daemon's Unix socket:

  kerf user add ada --role admin

The password is asked for on the terminal, or read from standard input with
--password-stdin. These commands need admin, which the local socket is.`,
	}
	addClientFlags(cmd, co)
	cmd.AddCommand(
		newCmdUserAdd(ios, co, nil),
		newCmdUserList(ios, co, nil),
		newCmdUserRemove(ios, co, nil),
		newCmdUserPasswd(ios, co, nil),
	)
	return cmd
}

// passwordSource reads a new password: from the first line of standard
// input with --password-stdin, otherwise from the terminal, twice.
type passwordSource struct {
	Stdin bool
	// prompt reads one password from the terminal without echo; nil uses
	// the process's terminal. Tests replace it.
	prompt func(ios IOStreams, label string) (string, error)
}

func (p *passwordSource) addFlag(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&p.Stdin, "password-stdin", false, "read the password from the first line of standard input")
}

func (p *passwordSource) read(ios IOStreams, user string) (string, error) {
	if p.Stdin {
		line, err := bufio.NewReader(io.LimitReader(ios.In, jobs.MaxPasswordLength+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("--password-stdin: read: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("--password-stdin: standard input holds no password")
		}
		return pw, nil
	}
	prompt := p.prompt
	if prompt == nil {
		prompt = terminalPrompt
	}
	pw, err := prompt(ios, fmt.Sprintf("Password for %s: ", user))
	if err != nil {
		return "", err
	}
	again, err := prompt(ios, "Repeat the password: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the passwords do not match")
	}
	return pw, nil
}

// terminalPrompt reads a password without echo from standard input when it
// is a terminal.
func terminalPrompt(ios IOStreams, label string) (string, error) {
	f, ok := ios.In.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("standard input is not a terminal: give the password with --password-stdin")
	}
	fmt.Fprint(ios.ErrOut, label)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(ios.ErrOut)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

// userAddOptions are the inputs of "kerf user add".
type userAddOptions struct {
	client   *clientOptions
	Name     string
	Role     string
	Password passwordSource
}

func newCmdUserAdd(ios IOStreams, co *clientOptions, runF func(context.Context, *userAddOptions) error) *cobra.Command {
	o := &userAddOptions{client: co}
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a panel user",
		Example: `  kerf user add ada --role admin
  printf '%s\n' "$PASSWORD" | kerf user add kim --role operator --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := jobs.ValidUserName(o.Name); err != nil {
				return fmt.Errorf("user name: %w", err)
			}
			if _, err := web.ParseRole(o.Role); err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(userAddRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().StringVar(&o.Role, "role", "viewer", "the user's role: viewer, operator or admin")
	o.Password.addFlag(cmd)
	return cmd
}

func userAddRun(ctx context.Context, ios IOStreams, o *userAddOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	pw, err := o.Password.read(ios, o.Name)
	if err != nil {
		return fmt.Errorf("user add %s: %w", o.Name, err)
	}
	u, err := c.AddUser(ctx, o.Name, o.Role, pw)
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	fmt.Fprintf(ios.ErrOut, "user %s (%s) added\n", u.Name, u.Role)
	return nil
}

// userListOptions are the inputs of "kerf user list".
type userListOptions struct {
	client *clientOptions
	JSON   bool
}

func newCmdUserList(ios IOStreams, co *clientOptions, runF func(context.Context, *userListOptions) error) *cobra.Command {
	o := &userListOptions{client: co}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List panel users",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(userListRun(cmd.Context(), ios, o))
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func userListRun(ctx context.Context, ios IOStreams, o *userListOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	list, err := c.Users(ctx)
	if err != nil {
		return fmt.Errorf("user list: %w", err)
	}
	if o.JSON {
		if list == nil {
			list = []web.UserInfo{}
		}
		return printJSON(ios.Out, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(ios.ErrOut, "no users: add the first admin with kerf user add NAME --role admin")
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tPASSWORD CHANGED")
	for _, u := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Created.Local().Format("2006-01-02 15:04"), u.PasswordChanged.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// userRemoveOptions are the inputs of "kerf user remove".
type userRemoveOptions struct {
	client *clientOptions
	Name   string
}

func newCmdUserRemove(ios IOStreams, co *clientOptions, runF func(context.Context, *userRemoveOptions) error) *cobra.Command {
	o := &userRemoveOptions{client: co}
	return &cobra.Command{
		Use:     "remove NAME",
		Aliases: []string{"rm"},
		Short:   "Remove a panel user and end their sessions",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := jobs.ValidUserName(o.Name); err != nil {
				return fmt.Errorf("user name: %w", err)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(userRemoveRun(cmd.Context(), ios, o))
		},
	}
}

func userRemoveRun(ctx context.Context, ios IOStreams, o *userRemoveOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	if err := c.RemoveUser(ctx, o.Name); err != nil {
		return fmt.Errorf("user remove: %w", err)
	}
	fmt.Fprintf(ios.ErrOut, "user %s removed\n", o.Name)
	return nil
}

// userPasswdOptions are the inputs of "kerf user passwd".
type userPasswdOptions struct {
	client   *clientOptions
	Name     string
	Password passwordSource
}

func newCmdUserPasswd(ios IOStreams, co *clientOptions, runF func(context.Context, *userPasswdOptions) error) *cobra.Command {
	o := &userPasswdOptions{client: co}
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a user's password and end their sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := jobs.ValidUserName(o.Name); err != nil {
				return fmt.Errorf("user name: %w", err)
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return daemonErr(userPasswdRun(cmd.Context(), ios, o))
		},
	}
	o.Password.addFlag(cmd)
	return cmd
}

func userPasswdRun(ctx context.Context, ios IOStreams, o *userPasswdOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	pw, err := o.Password.read(ios, o.Name)
	if err != nil {
		return fmt.Errorf("user passwd %s: %w", o.Name, err)
	}
	if err := c.SetPassword(ctx, o.Name, pw); err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	fmt.Fprintf(ios.ErrOut, "password of %s changed; their sessions have ended\n", o.Name)
	return nil
}
