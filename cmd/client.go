package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// SocketFile is the name of the daemon's Unix socket inside its data
// directory.
const SocketFile = "kerf.sock"

// Environment variables the client commands read.
const (
	envData  = "KERF_DATA"
	envToken = "KERF_TOKEN"
)

// DefaultDataDir returns the data directory used when neither --data nor
// KERF_DATA is given: /var/lib/kerf for root, otherwise
// $XDG_STATE_HOME/kerf, or ~/.local/state/kerf when XDG_STATE_HOME is unset.
// The daemon (kerf serve) and the client commands share it.
func DefaultDataDir() (string, error) {
	return defaultDataDir(os.Geteuid(), os.Getenv, os.UserHomeDir)
}

func defaultDataDir(euid int, getenv func(string) string, home func() (string, error)) (string, error) {
	if euid == 0 {
		return "/var/lib/kerf", nil
	}
	if x := getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "kerf"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("default data dir: no home directory (set --data or %s): %w", envData, err)
	}
	return filepath.Join(h, ".local", "state", "kerf"), nil
}

// clientOptions selects the daemon a client command talks to.
type clientOptions struct {
	DataDir string
	Server  string
	Token   string
	// getenv reads the environment; tests replace it.
	getenv func(string) string
}

// addClientFlags registers --data, --server and --token on cmd and its
// subcommands.
func addClientFlags(cmd *cobra.Command, o *clientOptions) {
	o.getenv = os.Getenv
	f := cmd.PersistentFlags()
	f.StringVar(&o.DataDir, "data", "", "data directory of the local daemon, whose socket is DIR/"+SocketFile+" (env "+envData+"; default $XDG_STATE_HOME/kerf, ~/.local/state/kerf, or /var/lib/kerf as root)")
	f.StringVar(&o.Server, "server", "", "URL of a remote daemon, e.g. http://pi.local:8080 (needs --token)")
	f.StringVar(&o.Token, "token", "", "API token for --server (env "+envToken+")")
}

// client builds the API client: a remote daemon with --server, otherwise
// the local daemon's Unix socket in the data directory.
func (o *clientOptions) client() (*web.Client, error) {
	getenv := o.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Server != "" {
		if o.DataDir != "" {
			return nil, fmt.Errorf("--data and --server are mutually exclusive: --data picks a local daemon, --server a remote one")
		}
		token := o.Token
		if token == "" {
			token = getenv(envToken)
		}
		return web.NewClient(o.Server, token)
	}
	if o.Token != "" {
		return nil, fmt.Errorf("--token needs --server: the local socket needs no token")
	}
	dir := o.DataDir
	if dir == "" {
		dir = getenv(envData)
	}
	if dir == "" {
		var err error
		if dir, err = DefaultDataDir(); err != nil {
			return nil, err
		}
	}
	return web.NewSocketClient(filepath.Join(dir, SocketFile)), nil
}

// daemonErr returns a web.NotRunningError bare, without the context added
// on the way up (its message already says what to do), and any other error
// unchanged.
func daemonErr(err error) error {
	var nr *web.NotRunningError
	if errors.As(err, &nr) {
		return nr
	}
	return err
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// parseIDArg parses an ID argument, naming the argument in the error.
func parseIDArg(what, s string) (jobs.ID, error) {
	id, err := jobs.ParseID(s)
	if err != nil {
		return 0, fmt.Errorf("%s ID %q: %w", what, s, err)
	}
	return id, nil
}
