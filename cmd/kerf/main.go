// Command kerf runs a hobby GRBL CNC router from a Raspberry Pi: a daemon
// with a web panel, and a CLI for streaming, checking and job submission.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kerf-cnc/kerf/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Execute(ctx, os.Args[1:], cmd.System())
	stop()
	os.Exit(code)
}
