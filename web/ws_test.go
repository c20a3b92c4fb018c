package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

// watchCtx bounds a websocket test so a missing message fails it rather
// than hanging.
func watchCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustNext reads the next message of type want.
func mustNext(t *testing.T, st *web.Stream, want string) web.Message {
	t.Helper()
	m, err := st.Next()
	if err != nil {
		t.Fatalf("Next: %v (want a %s message)", err, want)
	}
	if m.Type != want {
		t.Fatalf("message %+v, want type %s", m, want)
	}
	return m
}

func TestStreamEvents(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 100, BufferSize: 100})
	for i := range 5 {
		hub.Publish("run.progress", map[string]int{"line": i + 1})
	}
	c := MustOpenServer(t, &web.Server{Events: hub})

	t.Run("live", func(t *testing.T) {
		st, err := c.Watch(watchCtx(t), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		mustNext(t, st, web.MsgHello) // the subscription is in place
		hub.Publish("machine.status", map[string]string{"state": "Idle"})
		m := mustNext(t, st, web.MsgEvent)
		if m.Seq != 6 || m.Topic != "machine.status" || string(m.Data) != `{"state":"Idle"}` || m.Time.IsZero() {
			t.Errorf("event=%+v", m)
		}
	})
	t.Run("resume with since", func(t *testing.T) {
		st, err := c.Watch(watchCtx(t), 3)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if h := mustNext(t, st, web.MsgHello); h.Since != 3 {
			t.Errorf("hello=%+v, want since 3", h)
		}
		for _, want := range []uint64{4, 5, 6} {
			if m := mustNext(t, st, web.MsgEvent); m.Seq != want {
				t.Errorf("seq=%d, want %d", m.Seq, want)
			}
		}
	})
	t.Run("topic filter", func(t *testing.T) {
		st, err := c.Watch(watchCtx(t), 1, "machine.*")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if h := mustNext(t, st, web.MsgHello); len(h.Topics) != 1 || h.Topics[0] != "machine.*" {
			t.Errorf("hello=%+v", h)
		}
		hub.Publish("run.progress", nil)
		hub.Publish("machine.status", nil)
		for _, want := range []uint64{6, 8} {
			if m := mustNext(t, st, web.MsgEvent); m.Seq != want || m.Topic != "machine.status" {
				t.Errorf("event=%+v, want seq %d on machine", m, want)
			}
		}
	})
	t.Run("bad query", func(t *testing.T) {
		_, err := c.Watch(watchCtx(t), 0, "Run Progress")
		if !errors.Is(err, web.ErrBadRequest) || !strings.Contains(err.Error(), "topics") {
			t.Errorf("err=%v, want 400 naming topics", err)
		}
	})
}

func TestStreamGap(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 4, BufferSize: 16})
	for range 10 {
		hub.Publish("run.progress", nil)
	}
	c := MustOpenServer(t, &web.Server{Events: hub})
	st, err := c.Watch(watchCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustNext(t, st, web.MsgHello)
	g := mustNext(t, st, web.MsgGap)
	if g.Since != 2 || g.Oldest != 7 || g.Latest != 10 || !strings.Contains(g.Text, "no longer buffered") {
		t.Errorf("gap=%+v", g)
	}
	hub.Publish("run.state", nil)
	if m := mustNext(t, st, web.MsgEvent); m.Seq != 11 {
		t.Errorf("after the gap: seq=%d, want the next live event 11", m.Seq)
	}
}

func TestStreamSinceAhead(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 4, BufferSize: 16})
	hub.Publish("run.progress", nil)
	c := MustOpenServer(t, &web.Server{Events: hub})
	st, err := c.Watch(watchCtx(t), 500) // a seq from before a daemon restart
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustNext(t, st, web.MsgHello)
	if g := mustNext(t, st, web.MsgGap); g.Latest != 1 || !strings.Contains(g.Text, "restarted") {
		t.Errorf("gap=%+v", g)
	}
}

// TestSlowClientDropped: a client that stops reading is dropped by the hub
// and told so with close code 4000, while a client that keeps up gets
// every event and the publisher never waits for either.
func TestSlowClientDropped(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 64, BufferSize: 16})
	s := &web.Server{Events: hub, WS: web.WSOptions{WriteTimeout: time.Minute}}
	c := MustOpenServer(t, s)
	ctx := watchCtx(t)

	slow, err := c.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	mustNext(t, slow, web.MsgHello)
	fast, err := c.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	mustNext(t, fast, web.MsgHello)

	// 1000 events of 4 KiB are far more than the socket buffers and the
	// hub's 16-event buffer hold, so a client that reads nothing must be
	// dropped. The fast client reads each event before the next is
	// published, so it never falls behind; Publish itself never waits.
	payload := map[string]string{"pad": strings.Repeat("x", 4096)}
	const published = 1000
	for range published {
		ev := hub.Publish("machine.status", payload)
		if m := mustNext(t, fast, web.MsgEvent); m.Seq != ev.Seq {
			t.Fatalf("fast client: seq=%d, want %d", m.Seq, ev.Seq)
		}
	}

	// The fast client carries on.
	ev := hub.Publish("machine.status", nil)
	if m := mustNext(t, fast, web.MsgEvent); m.Seq != ev.Seq {
		t.Errorf("fast client after the drop: seq=%d, want %d", m.Seq, ev.Seq)
	}
	// The slow client drains what was in flight, then learns why it ended.
	last := uint64(0)
	for {
		m, err := slow.Next()
		if err != nil {
			var ce *web.StreamClosedError
			if !errors.As(err, &ce) || ce.Code != web.CloseSlowConsumer || !errors.Is(err, events.ErrSlow) {
				t.Fatalf("slow client ended with %v, want close code %d", err, web.CloseSlowConsumer)
			}
			break
		}
		if m.Seq != last+1 {
			t.Fatalf("slow client: seq %d after %d: events must arrive in order without holes", m.Seq, last)
		}
		last = m.Seq
	}
	if last >= published {
		t.Errorf("slow client got all %d events; it should have been dropped", last)
	}
	t.Logf("slow client dropped after receiving %d of %d events", last, published)
}

func TestCloseEndsStreams(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 8, BufferSize: 8})
	s := &web.Server{Events: hub}
	c := MustOpenServer(t, s)
	st, err := c.Watch(watchCtx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustNext(t, st, web.MsgHello)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = st.Next()
	var ce *web.StreamClosedError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("Next after server Close: %v, want close 1001", err)
	}
}

func TestStreamContextCancel(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 8, BufferSize: 8})
	c := MustOpenServer(t, &web.Server{Events: hub})
	ctx, cancel := context.WithCancel(t.Context())
	st, err := c.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mustNext(t, st, web.MsgHello)
	cancel()
	if _, err := st.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel: %v, want context.Canceled", err)
	}
}

func TestStreamPingAndReadLimit(t *testing.T) {
	hub := events.NewHub(events.Options{RingSize: 8, BufferSize: 8})
	s := &web.Server{Events: hub, WS: web.WSOptions{PingInterval: 10 * time.Millisecond, ReadLimit: 64}}
	ts := httptest.NewServer(s.TrustedHandler())
	t.Cleanup(func() { s.Close(); ts.Close() })

	conn, _, err := websocket.DefaultDialer.DialContext(watchCtx(t), "ws"+strings.TrimPrefix(ts.URL, "http")+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pinged := make(chan struct{}, 1)
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	readErr := make(chan error, 1)
	go func() {
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			var m web.Message
			if json.Unmarshal(b, &m) != nil {
				readErr <- errors.New("bad message")
				return
			}
		}
	}()
	select {
	case <-pinged:
	case err := <-readErr:
		t.Fatalf("connection ended before a ping: %v", err)
	case <-watchCtx(t).Done():
		t.Fatal("no ping arrived")
	}
	// A client message over the read limit ends the connection.
	if err := conn.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 65))); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
			t.Errorf("after an oversized message: %v, want close 1009", err)
		}
	case <-watchCtx(t).Done():
		t.Fatal("the server kept a connection that sent an oversized message")
	}
}

func TestStreamRefusals(t *testing.T) {
	hub := events.NewHub(events.Options{})
	s := &web.Server{Events: hub}
	ts := httptest.NewServer(s.TrustedHandler())
	t.Cleanup(func() { s.Close(); ts.Close() })
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/api/v1/ws"
	host := strings.TrimPrefix(ts.URL, "http://")

	tests := []struct {
		name   string
		origin string
		query  string
		status int
	}{
		{"same origin", "http://" + host, "", 101},
		{"no origin (CLI)", "", "", 101},
		{"cross-site", "https://evil.example", "", 403},
		{"bad origin", "::", "", 403},
		{"bad topic", "", "?topics=run.*.x*", 400},
		{"bad since", "", "?since=-4", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			conn, resp, err := websocket.DefaultDialer.DialContext(watchCtx(t), wsURL+tt.query, h)
			if conn != nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status=%d, want %d (%v)", resp.StatusCode, tt.status, err)
			}
			if tt.status != 101 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("refusal content type %q, want the JSON error shape", resp.Header.Get("Content-Type"))
			}
		})
	}
	t.Run("plain GET", func(t *testing.T) {
		resp, err := http.Get(ts.URL + "/api/v1/ws")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("status=%d, want 400", resp.StatusCode)
		}
	})
}

func TestStreamCommands(t *testing.T) {
	hub := events.NewHub(events.Options{})
	var mu sync.Mutex
	var calls []string
	record := func(s string) error { mu.Lock(); calls = append(calls, s); mu.Unlock(); return nil }
	ms := &webtest.MachineService{T: t,
		JogFn: func(_ context.Context, j web.JogRequest) error {
			if j.X != nil && *j.X > 100 {
				return &grbl.Error{Code: 15, Text: "Travel exceeded"}
			}
			return record(fmt.Sprintf("jog %v", *j.X))
		},
		JogCancelFn:  func(context.Context) error { return record("jog cancel") },
		FeedHoldFn:   func(context.Context) error { return record("hold") },
		CycleStartFn: func(context.Context) error { return fmt.Errorf("resume: %w", grbl.ErrAlarm) },
		OverrideFn: func(_ context.Context, o web.OverrideRequest) error {
			return record("override " + o.Target + " " + o.Op)
		},
	}
	c := MustOpenServer(t, &web.Server{Events: hub, Machine: ms})
	st, err := c.Watch(watchCtx(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if h := mustNext(t, st, web.MsgHello); !slices.Contains(h.Commands, web.CmdJog) {
		t.Errorf("hello does not list the commands: %+v", h)
	}
	x, far := 5.0, 500.0
	tests := []struct {
		cmd     web.Command
		ok      bool
		code    string
		mention string
	}{
		{web.Command{ID: "1", Cmd: web.CmdJog, Jog: &web.JogRequest{X: &x, Feed: 500, Incremental: true}}, true, "", ""},
		{web.Command{ID: "2", Cmd: web.CmdJog, Jog: &web.JogRequest{X: &far, Feed: 500}}, false, web.CodeUnprocessable, "error:15"},
		{web.Command{ID: "3", Cmd: web.CmdJog, Jog: &web.JogRequest{Feed: 500}}, false, web.CodeBadRequest, "at least one axis"},
		{web.Command{ID: "4", Cmd: web.CmdJog}, false, web.CodeBadRequest, "field jog"},
		{web.Command{ID: "5", Cmd: web.CmdJogCancel}, true, "", ""},
		{web.Command{ID: "6", Cmd: web.CmdOverride, Override: &web.OverrideRequest{Target: "feed", Op: "+10"}}, true, "", ""},
		{web.Command{ID: "7", Cmd: web.CmdOverride, Override: &web.OverrideRequest{Target: "feed", Op: "50"}}, false, web.CodeBadRequest, "field op"},
		{web.Command{ID: "8", Cmd: web.CmdHold}, true, "", ""},
		{web.Command{ID: "9", Cmd: web.CmdResume}, false, web.CodeConflict, "board in alarm"},
		{web.Command{ID: "10", Cmd: "spin"}, false, web.CodeBadRequest, `"spin" is not one of`},
	}
	for _, tt := range tests {
		if err := st.Send(tt.cmd); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		r := mustNext(t, st, web.MsgReply)
		switch {
		case r.ID != tt.cmd.ID:
			t.Errorf("reply for %q, want %q: replies must come in order", r.ID, tt.cmd.ID)
		case r.OK != tt.ok:
			t.Errorf("command %s: ok=%v error=%+v, want ok=%v", tt.cmd.ID, r.OK, r.Error, tt.ok)
		case !tt.ok && (r.Error == nil || r.Error.Code != tt.code || !strings.Contains(r.Error.Message, tt.mention)):
			t.Errorf("command %s: error=%+v, want %s mentioning %q", tt.cmd.ID, r.Error, tt.code, tt.mention)
		}
	}
	mu.Lock()
	want := []string{"jog 5", "jog cancel", "override feed +10", "hold"}
	if !slices.Equal(calls, want) {
		t.Errorf("machine calls=%q, want %q", calls, want)
	}
	mu.Unlock()

	// Events still flow after commands.
	ev := hub.Publish("machine.status", nil)
	if m := mustNext(t, st, web.MsgEvent); m.Seq != ev.Seq {
		t.Errorf("seq=%d, want %d", m.Seq, ev.Seq)
	}
}
