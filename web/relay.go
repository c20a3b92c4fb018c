package web

import (
	"context"
	"net/http"
	"time"
)

// RelayService reads and switches the router relay by hand (kerf relay,
// the panel). The daemon's runner implements it through an adapter.
type RelayService interface {
	// RelayStatus returns the relay's state.
	RelayStatus(ctx context.Context) (RelayStatus, error)
	// RelayOn switches the router on. Errors: one matching jobs.ErrConflict
	// whose message says why when the relay mode is none, a run is active,
	// the machine is busy, not connected or not Idle; a sense-input
	// mismatch when the router did not start (it is switched off again).
	RelayOn(ctx context.Context) (RelayStatus, error)
	// RelayOff switches the router off. It is always allowed: an active
	// run is stopped and recorded as aborted. Errors: a sense-input
	// mismatch when the router did not stop.
	RelayOff(ctx context.Context) (RelayStatus, error)
}

// RelaySwitch is one switch of the router relay.
type RelaySwitch struct {
	// Time is when the switch was commanded.
	Time time.Time `json:"time"`
	// On is the commanded state.
	On bool `json:"on"`
	// Reason says what commanded it ("M3 at line 12", "switched on by the
	// operator", …).
	Reason string `json:"reason"`
	// Sensed is the sense input's reading (once confirmed: the confirmed
	// state); absent without a sense input.
	Sensed *bool `json:"sensed,omitempty"`
	// Confirmed says the sense input followed in time.
	Confirmed bool `json:"confirmed"`
	// Mismatch says it did not (router not starting or stuck on).
	Mismatch bool `json:"mismatch,omitempty"`
	// Latency is from the command to the sense edge, in nanoseconds.
	Latency time.Duration `json:"latency_ns"`
}

func (s *Server) relayStatus(w http.ResponseWriter, r *http.Request) error {
	if s.Relay == nil {
		return errNoService("relay")
	}
	st, err := s.Relay.RelayStatus(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// relaySwitch serves POST /api/v1/relay/on and /off.
func (s *Server) relaySwitch(act func(RelayService, context.Context) (RelayStatus, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.Relay == nil {
			return errNoService("relay")
		}
		st, err := act(s.Relay, r.Context())
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, st)
		return nil
	}
}

// RelayStatus returns the router relay's state.
func (c *Client) RelayStatus(ctx context.Context) (RelayStatus, error) {
	var st RelayStatus
	err := c.call(ctx, http.MethodGet, "/api/v1/relay", nil, nil, &st)
	return st, err
}

// RelayOn switches the router on and returns the relay's state.
func (c *Client) RelayOn(ctx context.Context) (RelayStatus, error) {
	var st RelayStatus
	err := c.call(ctx, http.MethodPost, "/api/v1/relay/on", nil, nil, &st)
	return st, err
}

// RelayOff switches the router off and returns the relay's state.
func (c *Client) RelayOff(ctx context.Context) (RelayStatus, error) {
	var st RelayStatus
	err := c.call(ctx, http.MethodPost, "/api/v1/relay/off", nil, nil, &st)
	return st, err
}
