package web_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// TestWebsocketCommandRoles: a viewer may watch the stream but not move the
// machine through it; an operator may. The websocket gauge counts clients.
func TestWebsocketCommandRoles(t *testing.T) {
	st := mustOpenStore(t)
	ctx := t.Context()
	_, viewer, err := st.IssueToken(ctx, "watcher", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	_, operator, err := st.IssueToken(ctx, "op", "operator")
	if err != nil {
		t.Fatal(err)
	}
	holds := make(chan struct{}, 4)
	ms := &webtest.MachineService{T: t, FeedHoldFn: func(context.Context) error { holds <- struct{}{}; return nil }}
	hub := events.NewHub(events.Options{RingSize: 8, BufferSize: 8})
	s := &web.Server{Tokens: st, Machine: ms, Events: hub, Logger: discardLogger()}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer s.Close()

	watch := func(token string) *web.Stream {
		c, err := web.NewClient(ts.URL, token)
		if err != nil {
			t.Fatal(err)
		}
		stream, err := c.Watch(ctx, 0)
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		mustNext(t, stream, web.MsgHello)
		return stream
	}
	vs := watch(viewer)
	defer vs.Close()
	if err := vs.Send(web.Command{ID: "v1", Cmd: web.CmdHold}); err != nil {
		t.Fatal(err)
	}
	r := mustNext(t, vs, web.MsgReply)
	if r.OK || r.Error == nil || r.Error.Code != web.CodeForbidden || !strings.Contains(r.Error.Message, "needs role operator") {
		t.Errorf("viewer's hold: %+v, want forbidden naming the operator role", r.Error)
	}
	ev := hub.Publish("machine.status", nil)
	if m := mustNext(t, vs, web.MsgEvent); m.Seq != ev.Seq {
		t.Errorf("viewer's stream after the refusal: seq %d, want %d", m.Seq, ev.Seq)
	}

	os := watch(operator)
	defer os.Close()
	if err := os.Send(web.Command{ID: "o1", Cmd: web.CmdHold}); err != nil {
		t.Fatal(err)
	}
	if r := mustNext(t, os, web.MsgReply); !r.OK {
		t.Errorf("operator's hold: %+v", r.Error)
	}
	<-holds
	if len(holds) != 0 {
		t.Error("the viewer's hold reached the machine")
	}

	_, samples, err := parseExposition(serve(t, s.TrustedHandler(), req{method: "GET", target: "/metrics"}).body)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := find(samples, "kerf_websocket_clients", nil); v != 2 {
		t.Errorf("kerf_websocket_clients=%v, want 2", v)
	}
}
