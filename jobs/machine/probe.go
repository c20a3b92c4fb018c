package machine

import (
	"context"
	"fmt"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs/probe"
)

// Probe runs a one-off reference probe (probe.Run) as a manual command: the
// board must be Idle and no run may hold the machine (*BusyError). The
// router relay is switched off first.
func (m *Machine) Probe(ctx context.Context, p probe.Setup) (probe.Result, error) {
	const op = "probe"
	if err := p.Validate(); err != nil {
		return probe.Result{}, fmt.Errorf("%s: %w", op, err)
	}
	end, err := m.beginManual(op)
	if err != nil {
		return probe.Result{}, err
	}
	defer end()
	conn, err := m.link(op)
	if err != nil {
		return probe.Result{}, err
	}
	if err := m.requireState(ctx, conn, op, grbl.StateIdle); err != nil {
		return probe.Result{}, err
	}
	var o probe.Options
	if m.Relay != nil {
		o.Router = m.Relay
	}
	res, err := probe.Run(ctx, conn, p, o)
	if err != nil {
		return res, err
	}
	m.log.Info("reference probed", logKeyPort, m.Name, "z", res.Z)
	return res, nil
}
