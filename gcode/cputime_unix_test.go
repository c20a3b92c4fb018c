//go:build unix

package gcode

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time of the process, so benchmarks
// can report throughput per CPU-second on a shared, busy machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
