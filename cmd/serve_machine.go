package cmd

import (
	"context"
	"errors"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/machine"
	"github.com/kerf-cnc/kerf/relay"
	"github.com/kerf-cnc/kerf/web"
)

// machineService serves the API's machine endpoints from the daemon's
// machine supervisor: it converts jobs/machine's types to web's and maps
// its errors onto the sentinels web turns into HTTP statuses.
type machineService struct {
	m *machine.Machine
	// relay is the router relay shown in the status; nil reports mode none.
	relay *relay.Router
	// activeRun returns the running or paused run (0: none); nil means
	// none.
	activeRun func() jobs.ID
}

var _ web.MachineService = (*machineService)(nil)

// newMachineService returns the API's view of m. r and activeRun may be nil.
func newMachineService(m *machine.Machine, r *relay.Router, activeRun func() jobs.ID) *machineService {
	return &machineService{m: m, relay: r, activeRun: activeRun}
}

// Status returns a snapshot of the machine; it never fails.
func (s *machineService) Status(ctx context.Context) (web.MachineStatus, error) {
	var run jobs.ID
	if s.activeRun != nil {
		run = s.activeRun()
	}
	return webMachineStatus(s.m.Status(), relayStatus(s.relay), run), nil
}

// Home runs $H and waits for it.
func (s *machineService) Home(ctx context.Context) error { return webErr(s.m.Home(ctx)) }

// Unlock sends $X.
func (s *machineService) Unlock(ctx context.Context) error { return webErr(s.m.Unlock(ctx)) }

// Reset soft-resets the board, router off first.
func (s *machineService) Reset(ctx context.Context) error { return webErr(s.m.Reset(ctx)) }

// Jog sends a $J= jog.
func (s *machineService) Jog(ctx context.Context, j web.JogRequest) error {
	return webErr(s.m.Jog(ctx, machine.JogSpec{X: j.X, Y: j.Y, Z: j.Z, Feed: j.Feed, Incremental: j.Incremental}))
}

// JogCancel sends 0x85.
func (s *machineService) JogCancel(ctx context.Context) error { return webErr(s.m.JogCancel(ctx)) }

// FeedHold sends '!'.
func (s *machineService) FeedHold(ctx context.Context) error { return webErr(s.m.FeedHold(ctx)) }

// CycleStart sends '~'.
func (s *machineService) CycleStart(ctx context.Context) error { return webErr(s.m.CycleStart(ctx)) }

// Override sends the override's real-time byte.
func (s *machineService) Override(ctx context.Context, o web.OverrideRequest) error {
	return webErr(s.m.Override(ctx, o.Target, o.Op))
}

// Settings lists the board's settings in number order.
func (s *machineService) Settings(ctx context.Context) ([]web.Setting, error) {
	list, err := s.m.Settings(ctx)
	if err != nil {
		return nil, webErr(err)
	}
	out := make([]web.Setting, len(list))
	for i, st := range list {
		out[i] = web.Setting{Number: st.Number, Value: st.Value, Name: st.Name}
	}
	return out, nil
}

// SetSetting writes $number=value.
func (s *machineService) SetSetting(ctx context.Context, number int, value string) error {
	return webErr(s.m.SetSetting(ctx, number, value))
}

// webMachineStatus converts the supervisor's snapshot.
func webMachineStatus(st machine.Status, rs web.RelayStatus, run jobs.ID) web.MachineStatus {
	out := web.MachineStatus{
		Connected: st.Connected,
		Port:      st.Port,
		SubState:  -1,
		Relay:     rs,
		ActiveRun: run,
		Updated:   st.Updated,
	}
	if st.Connected {
		r := st.Report
		out.State = r.State
		out.SubState = r.SubState
		out.Homed = st.Homed
		out.HomingEnabled = st.Board != nil && st.Board.HomingEnabled
		out.MPos, out.WPos, out.WCO = r.MPos, r.WPos, r.WCO
		out.Feed, out.Spindle = r.Feed, r.Speed
		out.Overrides = web.Overrides{Feed: r.Overrides.Feed, Rapid: r.Overrides.Rapid, Spindle: r.Overrides.Spindle}
	}
	if a := st.Alarm; a != nil {
		out.Alarm = &web.AlarmInfo{Code: a.Code, Text: a.Text, Clear: a.Hint}
	}
	return out
}

// relayStatus reads the router relay; nil is mode none.
func relayStatus(r *relay.Router) web.RelayStatus {
	if r == nil {
		return web.RelayStatus{Mode: relay.ModeNone.String()}
	}
	return webRelayStatus(r.Status())
}

// apiError keeps an error's message and adds the web sentinel that picks
// its HTTP status.
type apiError struct {
	err, kind error
}

func (e *apiError) Error() string   { return e.err.Error() }
func (e *apiError) Unwrap() []error { return []error{e.err, e.kind} }

// webErr maps jobs/machine's errors onto the sentinels web's error mapping
// knows: bad arguments 400, busy 409, homing disabled 409, no board 503.
// GRBL's own errors (*grbl.Error, grbl.ErrAlarm, grbl.ErrNotIdle) pass
// through: web maps them already.
func webErr(err error) error {
	var kind error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, machine.ErrInvalid):
		kind = web.ErrBadRequest
	case errors.Is(err, machine.ErrBusy):
		kind = jobs.ErrBusy
	case errors.Is(err, machine.ErrHomingDisabled):
		kind = jobs.ErrConflict
	case errors.Is(err, machine.ErrNotConnected), errors.Is(err, machine.ErrClosed):
		kind = web.ErrUnavailable
	default:
		return err
	}
	return &apiError{err: err, kind: kind}
}
