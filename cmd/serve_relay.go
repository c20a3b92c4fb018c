package cmd

import (
	"context"

	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/relay"
	"github.com/kerf-cnc/kerf/web"
)

// TopicRelay is the event topic of every relay change; its data is a
// relay.Event: a web.RelayStatus with a "kind" (switch, sensed, mismatch).
const TopicRelay = "relay.state"

// relayController is what the API's relay routes need from the runner.
type relayController interface {
	RelayStatus() relay.Status
	RelayOn(ctx context.Context) (relay.Status, error)
	RelayOff(ctx context.Context) (relay.Status, error)
}

var _ relayController = (*runner.Service)(nil)

// relayService serves the API's relay routes from the runner, which knows
// whether a run is active and holds the machine while it switches.
type relayService struct {
	r relayController
}

var _ web.RelayService = (*relayService)(nil)

// RelayStatus returns the relay's state.
func (s *relayService) RelayStatus(context.Context) (web.RelayStatus, error) {
	return webRelayStatus(s.r.RelayStatus()), nil
}

// RelayOn switches the router on; refusals match jobs.ErrConflict (409).
func (s *relayService) RelayOn(ctx context.Context) (web.RelayStatus, error) {
	st, err := s.r.RelayOn(ctx)
	return webRelayStatus(st), err
}

// RelayOff switches the router off.
func (s *relayService) RelayOff(ctx context.Context) (web.RelayStatus, error) {
	st, err := s.r.RelayOff(ctx)
	return webRelayStatus(st), err
}

// webRelayStatus converts the relay's status to the API's.
func webRelayStatus(st relay.Status) web.RelayStatus {
	out := web.RelayStatus{Mode: st.Mode, Commanded: st.Commanded, Sensed: st.Sensed}
	if sw := st.LastSwitch; sw != nil {
		out.LastSwitch = &web.RelaySwitch{Time: sw.Time, On: sw.On, Reason: sw.Reason, Sensed: sw.Sensed,
			Confirmed: sw.Confirmed, Mismatch: sw.Mismatch, Latency: sw.Latency}
	}
	return out
}
