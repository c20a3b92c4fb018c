package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// backupOptions are the inputs of "kerf backup".
type backupOptions struct {
	client *clientOptions
	File   string
}

func newCmdBackup(ios IOStreams) *cobra.Command {
	o := &backupOptions{client: &clientOptions{}}
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Save a consistent copy of the daemon's database",
		Long: `Ask the running daemon for a hot, consistent copy of its database (jobs,
runs, telemetry, baselines, settings) and write it to FILE. FILE is written
atomically: a temporary file next to it is synced and renamed over it, so FILE
is either the old content or the complete new copy. G-code bodies live as
files under DATA/gcode; copy that directory as well for a full backup.`,
		Example: `  kerf backup kerf-$(date +%F).db
  kerf backup --server http://pi.local:8080 --token $KERF_TOKEN pi.db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.File = args[0]
			return daemonErr(backupRun(cmd.Context(), ios, o))
		},
	}
	addClientFlags(cmd, o.client)
	return cmd
}

func backupRun(ctx context.Context, ios IOStreams, o *backupOptions) error {
	c, err := o.client.client()
	if err != nil {
		return err
	}
	if fi, err := os.Stat(o.File); err == nil && fi.IsDir() {
		return fmt.Errorf("backup: %s is a directory", o.File)
	}
	dir := filepath.Dir(o.File)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(o.File)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	n, err := c.Backup(ctx, tmp)
	if err != nil {
		return fmt.Errorf("backup: %w (%s left unchanged)", err, o.File)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("backup: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: close %s: %w", tmp.Name(), err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.File); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("backup: %s written, but syncing its directory failed: %w", o.File, err)
	}
	fmt.Fprintf(ios.ErrOut, "wrote %s (%s)\n", o.File, sizeText(n))
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
