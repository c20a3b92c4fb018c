package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestRelayRoutes(t *testing.T) {
	ctx := t.Context()
	on, off := true, false
	at := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	state := web.RelayStatus{Mode: "drive", Commanded: &off, Sensed: &off}
	running := false
	rs := &webtest.RelayService{T: t,
		RelayStatusFn: func(context.Context) (web.RelayStatus, error) { mu.Lock(); defer mu.Unlock(); return state, nil },
		RelayOnFn: func(context.Context) (web.RelayStatus, error) {
			mu.Lock()
			defer mu.Unlock()
			if running {
				return state, fmt.Errorf("router on refused: run 000C is active: its program switches the router: %w", jobs.ErrConflict)
			}
			state = web.RelayStatus{Mode: "drive", Commanded: &on, Sensed: &on,
				LastSwitch: &web.RelaySwitch{Time: at, On: true, Reason: "switched on by the operator", Sensed: &on, Confirmed: true, Latency: 180 * time.Millisecond}}
			return state, nil
		},
		RelayOffFn: func(context.Context) (web.RelayStatus, error) {
			mu.Lock()
			defer mu.Unlock()
			state = web.RelayStatus{Mode: "drive", Commanded: &off, Sensed: &on,
				LastSwitch: &web.RelaySwitch{Time: at.Add(time.Second), Reason: "switched off by the operator", Sensed: &on, Mismatch: true}}
			return state, errors.New("router did not stop: sense input still on after 2s (switched off by the operator)")
		},
	}
	c := MustOpenServer(t, &web.Server{Relay: rs})

	st, err := c.RelayStatus(ctx)
	if err != nil || st.Mode != "drive" || *st.Commanded || st.LastSwitch != nil {
		t.Fatalf("status = %+v, %v", st, err)
	}
	st, err = c.RelayOn(ctx)
	if err != nil || !*st.Commanded || st.LastSwitch == nil || st.LastSwitch.Latency != 180*time.Millisecond || !st.LastSwitch.Time.Equal(at) {
		t.Fatalf("on = %+v, %v", st, err)
	}
	mu.Lock()
	running = true
	mu.Unlock()
	_, err = c.RelayOn(ctx)
	var ae *web.APIError
	if !errors.As(err, &ae) || ae.Status != 409 || ae.Code != web.CodeConflict || !strings.Contains(ae.Message, "run 000C is active") {
		t.Fatalf("on during a run: %v, want 409 with the reason", err)
	}
	_, err = c.RelayOff(ctx)
	if !errors.As(err, &ae) || ae.Status != 500 || !strings.Contains(ae.Message, "router did not stop") {
		t.Fatalf("off stuck on: %v, want 500 saying the router did not stop", err)
	}

	// The JSON names the API documents.
	raw, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"mode":"drive"`, `"commanded":false`, `"sensed":true`, `"last_switch":{`, `"mismatch":true`, `"latency_ns":0`, `"confirmed":false`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("relay status JSON %s lacks %s", raw, k)
		}
	}

	// Without a relay service the routes answer 503.
	c2 := MustOpenServer(t, &web.Server{})
	if _, err := c2.RelayStatus(ctx); !errors.Is(err, web.ErrUnavailable) {
		t.Fatalf("no relay service: %v, want 503", err)
	}
	if _, err := c2.RelayOn(ctx); !errors.Is(err, web.ErrUnavailable) {
		t.Fatalf("no relay service: %v, want 503", err)
	}
}
