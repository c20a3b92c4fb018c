//go:build !linux

package sim

import (
	"context"
	"errors"
	"runtime"
)

// ServePTY is only implemented on Linux (it uses /dev/ptmx ioctls and
// inotify); elsewhere it reports that.
func ServePTY(ctx context.Context, path string, m *Machine) error {
	return errors.New("sim: ServePTY is not supported on " + runtime.GOOS + " (Linux only)")
}
