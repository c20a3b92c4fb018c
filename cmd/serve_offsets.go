package cmd

import (
	"context"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/web"
)

var (
	_ web.OffsetService = (*machineService)(nil)
	_ web.ProgramStore  = (*jobs.Store)(nil)
)

// Offsets reads the board's work offsets ($#, cached while busy).
func (s *machineService) Offsets(ctx context.Context) (web.WorkOffsets, error) {
	o, err := s.m.Offsets(ctx)
	if err != nil {
		return web.WorkOffsets{}, webErr(err)
	}
	return webOffsets(o), nil
}

// ZeroAxes sets axes of a work coordinate system at the current position
// (G10 L20); refused with jobs.ErrBusy (409) while a run holds the machine.
func (s *machineService) ZeroAxes(ctx context.Context, z web.ZeroRequest) (web.WorkOffsets, error) {
	o, err := s.m.ZeroAxes(ctx, machine.ZeroSpec{WCS: z.WCS, X: z.X, Y: z.Y, Z: z.Z})
	if err != nil {
		return web.WorkOffsets{}, webErr(err)
	}
	return webOffsets(o), nil
}

// webOffsets converts jobs/machine's offsets.
func webOffsets(o machine.Offsets) web.WorkOffsets {
	return web.WorkOffsets{Active: o.Active, WCS: o.WCS, G28: o.G28, G30: o.G30, G92: o.G92,
		TLO: o.TLO, ReadAt: o.ReadAt, Fresh: o.Fresh}
}
