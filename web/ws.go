package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/kerf-cnc/kerf/jobs/events"
)

// WSOptions tunes the websocket event stream. Zero fields take the
// defaults in brackets.
type WSOptions struct {
	// WriteTimeout bounds each message write [10s]; a client that cannot
	// take a message in that time is disconnected.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings [20s].
	PingInterval time.Duration
	// PongTimeout is how long the server waits for any frame (pongs
	// included) before it gives up on the client [45s].
	PongTimeout time.Duration
	// ReadLimit bounds a client message in bytes [4096].
	ReadLimit int64
}

func (o WSOptions) withDefaults() WSOptions {
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = 45 * time.Second
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = 4096
	}
	return o
}

// Message types of the websocket stream.
const (
	// MsgHello is the first message: the subscription is in place.
	MsgHello = "hello"
	// MsgEvent carries one event from the hub.
	MsgEvent = "event"
	// MsgGap says the events after Since are no longer buffered: the
	// client must reload the state it keeps (GET the resources again); the
	// stream continues with new events.
	MsgGap = "gap"
	// MsgReply answers a client Command, with the command's ID.
	MsgReply = "reply"
)

// Commands a client may send over the websocket, in Command.Cmd.
const (
	CmdJog       = "jog"        // needs Command.Jog
	CmdJogCancel = "jog_cancel" // 0x85
	CmdOverride  = "override"   // needs Command.Override
	CmdHold      = "hold"       // feed hold (!)
	CmdResume    = "resume"     // cycle start (~)
)

// Command is a client message on the websocket: a machine command that
// must not wait for an HTTP round trip (jogging from a panel). Each is
// answered by a reply message with the same ID. Commands of one connection
// run one after another, in order.
type Command struct {
	// ID is the client's tag for the command, echoed in the reply.
	ID string `json:"id,omitempty"`
	// Cmd is one of the Cmd* constants.
	Cmd string `json:"cmd"`
	// Jog is the jog for CmdJog.
	Jog *JogRequest `json:"jog,omitempty"`
	// Override is the override for CmdOverride.
	Override *OverrideRequest `json:"override,omitempty"`
}

// ReplyError is the error of a failed command, with the code and message
// the HTTP API would answer.
type ReplyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Close codes the server ends a stream with, besides the standard ones.
const (
	// CloseSlowConsumer: the hub dropped the client because it fell behind
	// (reconnect with ?since= the last seq received).
	CloseSlowConsumer = 4000
)

// Message is one websocket text message, as JSON. Fields not used by a
// message type are omitted.
type Message struct {
	// Type is MsgHello, MsgEvent or MsgGap.
	Type string `json:"type"`
	// Seq, Time, Topic and Data describe an event.
	Seq   uint64          `json:"seq,omitempty"`
	Time  time.Time       `json:"time,omitzero"`
	Topic string          `json:"topic,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	// Since echoes the resume point (hello, gap).
	Since uint64 `json:"since,omitempty"`
	// Oldest and Latest are, for a gap, the oldest sequence number the hub
	// still holds and the latest one published.
	Oldest uint64 `json:"oldest,omitempty"`
	Latest uint64 `json:"latest,omitempty"`
	// Topics echoes the topic filter (hello).
	Topics []string `json:"topics,omitempty"`
	// Commands lists the commands the server accepts (hello).
	Commands []string `json:"commands,omitempty"`
	// Text explains a gap.
	Text string `json:"message,omitempty"`
	// ID, OK and Error make up a reply to a Command.
	ID    string      `json:"id,omitempty"`
	OK    bool        `json:"ok,omitempty"`
	Error *ReplyError `json:"error,omitempty"`
}

// parseStreamQuery parses ?since=SEQ&topics=a,b.
func parseStreamQuery(r *http.Request) (since uint64, topics []string, err error) {
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		since, err = strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, nil, fmt.Errorf("query parameter since: %q is not a sequence number: %w", v, ErrBadRequest)
		}
	}
	if v := q.Get("topics"); v != "" {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			name := strings.TrimSuffix(t, "*")
			if t == "" || strings.ContainsFunc(name, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
			}) {
				return 0, nil, fmt.Errorf("query parameter topics: %q is not a topic or pattern (a-z, 0-9, _ - . and a final *): %w", t, ErrBadRequest)
			}
			topics = append(topics, t)
		}
	}
	return since, topics, nil
}

// websocket serves GET /api/v1/ws. The subscription is made before the
// upgrade, so a bad query or an unavailable hub is an ordinary HTTP error.
// The handler goroutine is the connection's only writer; one reader
// goroutine handles pongs and discards client messages.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request) error {
	if s.Events == nil {
		return errNoService("event")
	}
	if !websocket.IsWebSocketUpgrade(r) {
		return fmt.Errorf("GET /api/v1/ws is a websocket: send Connection: Upgrade and Upgrade: websocket: %w", ErrBadRequest)
	}
	if err := checkOrigin(r); err != nil {
		return err
	}
	since, topics, err := parseStreamQuery(r)
	if err != nil {
		return err
	}
	sub, err := s.Events.Subscribe(since, topics...)
	var gap *events.GapError
	if errors.As(err, &gap) || errors.Is(err, events.ErrGap) {
		if gap == nil {
			gap = &events.GapError{Since: since}
		}
		sub, err = s.Events.Subscribe(0, topics...)
	}
	if err != nil {
		return fmt.Errorf("subscribe to events: %w", err)
	}
	defer sub.Close()

	// Close closes done to end the stream, then waits for this handler.
	s.mu.Lock()
	done := s.doneChan()
	s.mu.Unlock()

	opts := s.WS.withDefaults()
	up := websocket.Upgrader{
		HandshakeTimeout: opts.WriteTimeout,
		CheckOrigin:      func(*http.Request) bool { return true }, // checked above
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has already answered with an HTTP error.
		return nil
	}
	defer conn.Close()
	m := s.metrics()
	m.wsClients.Add(1)
	defer m.wsClients.Add(-1)

	// The reader runs the client's commands in order and hands the replies
	// to this goroutine, the only writer.
	ctx, cancel := context.WithCancel(r.Context())
	replies := make(chan Message, 8)
	readerDone, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		conn.SetReadLimit(opts.ReadLimit)
		_ = conn.SetReadDeadline(time.Now().Add(opts.PongTimeout))
		conn.SetPongHandler(func(string) error {
			return conn.SetReadDeadline(time.Now().Add(opts.PongTimeout))
		})
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			_ = conn.SetReadDeadline(time.Now().Add(opts.PongTimeout))
			select {
			case replies <- s.runCommand(ctx, data):
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		close(stop)
		cancel()
		_ = conn.Close() // unblocks the reader
		<-readerDone
	}()

	send := func(m Message) error {
		_ = conn.SetWriteDeadline(time.Now().Add(opts.WriteTimeout))
		return conn.WriteJSON(m)
	}
	closeWith := func(code int, text string) {
		msg := websocket.FormatCloseMessage(code, text)
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(opts.WriteTimeout))
	}

	if err := send(Message{Type: MsgHello, Since: since, Topics: topics, Commands: wsCommands()}); err != nil {
		return nil
	}
	if gap != nil {
		if err := send(Message{Type: MsgGap, Since: since, Oldest: gap.Oldest, Latest: gap.Latest, Text: gap.Error() +
			": reload the state you keep; new events follow"}); err != nil {
			return nil
		}
	}
	ping := time.NewTicker(opts.PingInterval)
	defer ping.Stop()
	evs := sub.Events()
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				if err := sub.Err(); errors.Is(err, events.ErrSlow) {
					m.wsDropped.Add(1)
					closeWith(CloseSlowConsumer, "dropped: too slow; reconnect with ?since= the last seq")
				} else {
					closeWith(websocket.CloseGoingAway, "event stream ended")
				}
				return nil
			}
			b, err := s.events.encode(ev)
			if err != nil {
				s.logger().Error("websocket: encode event", logSeq, ev.Seq, logTopic, ev.Topic, logErr, err)
				closeWith(websocket.CloseInternalServerErr, "cannot encode event")
				return nil
			}
			_ = conn.SetWriteDeadline(time.Now().Add(opts.WriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(sub.Err(), events.ErrSlow) {
					// It stopped reading: the write timed out with its
					// socket full, or the hub gave up on it meanwhile.
					m.wsDropped.Add(1)
				}
				return nil
			}
			m.wsEventsSent.Add(1)
		case m := <-replies:
			if err := send(m); err != nil {
				return nil
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(opts.WriteTimeout)); err != nil {
				return nil
			}
		case <-readerDone:
			return nil
		case <-done:
			closeWith(websocket.CloseGoingAway, "server shutting down")
			return nil
		}
	}
}

func wsCommands() []string {
	return []string{CmdJog, CmdJogCancel, CmdOverride, CmdHold, CmdResume}
}

// runCommand decodes and runs one client command and returns its reply.
func (s *Server) runCommand(ctx context.Context, data []byte) Message {
	var c Command
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&c)
	if err != nil {
		err = fmt.Errorf("command: not a command object (%v): %w", err, ErrBadRequest)
	} else {
		err = s.command(ctx, c)
	}
	reply := Message{Type: MsgReply, ID: c.ID, OK: err == nil}
	if err != nil {
		_, code, _ := classify(err)
		reply.Error = &ReplyError{Code: code, Message: err.Error()}
	}
	return reply
}

func (s *Server) command(ctx context.Context, c Command) error {
	id, _ := IdentityFrom(ctx) // always set on this route; a zero Identity is refused
	if err := authorize(id, wsCommandRole, "websocket command "+strconv.Quote(c.Cmd)); err != nil {
		return err
	}
	if s.Machine == nil {
		return errNoService("machine")
	}
	switch c.Cmd {
	case CmdJog:
		if c.Jog == nil {
			return fmt.Errorf("command jog: field jog: missing: %w", ErrBadRequest)
		}
		if err := c.Jog.Validate(); err != nil {
			return err
		}
		return s.Machine.Jog(ctx, *c.Jog)
	case CmdOverride:
		if c.Override == nil {
			return fmt.Errorf("command override: field override: missing: %w", ErrBadRequest)
		}
		if err := c.Override.Validate(); err != nil {
			return err
		}
		return s.Machine.Override(ctx, *c.Override)
	case CmdJogCancel:
		return s.Machine.JogCancel(ctx)
	case CmdHold:
		return s.Machine.FeedHold(ctx)
	case CmdResume:
		return s.Machine.CycleStart(ctx)
	}
	return fmt.Errorf("command: field cmd: %q is not one of %s: %w", c.Cmd, strings.Join(wsCommands(), ", "), ErrBadRequest)
}

// checkOrigin refuses cross-site websocket requests: a browser page from
// another origin must not ride on the user's access to the daemon. Requests
// without an Origin header (the CLI, scripts) are not from a browser page.
func checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return fmt.Errorf("websocket: Origin %q is not a URL: %w", origin, ErrForbidden)
	}
	if !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("websocket: Origin %s is not this server (%s): cross-site websocket requests are refused: %w", origin, r.Host, ErrForbidden)
	}
	return nil
}

// wireEvent is the server's encoding of an event message: the payload is
// marshalled in the same pass (Message.Data, a RawMessage, would be
// re-scanned).
type wireEvent struct {
	Type  string    `json:"type"`
	Seq   uint64    `json:"seq"`
	Time  time.Time `json:"time,omitzero"`
	Topic string    `json:"topic"`
	Data  any       `json:"data,omitempty"`
}

// eventCacheSize is how many recently encoded events are kept.
const eventCacheSize = 256

// eventCache shares the encoding of recent events between connections, so
// an event streamed to 50 clients is marshalled once. Sequence numbers are
// unique within the hub, and the hub's payloads are immutable.
type eventCache struct {
	mu   sync.Mutex
	ring [eventCacheSize]struct {
		seq uint64
		b   []byte
	}
}

// encode returns the JSON text message for ev.
func (c *eventCache) encode(ev events.Event) ([]byte, error) {
	slot := &c.ring[ev.Seq%eventCacheSize]
	c.mu.Lock()
	if slot.seq == ev.Seq && slot.b != nil {
		b := slot.b
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	b, err := json.Marshal(wireEvent{Type: MsgEvent, Seq: ev.Seq, Time: ev.Time, Topic: ev.Topic, Data: ev.Data})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	slot.seq, slot.b = ev.Seq, b
	c.mu.Unlock()
	return b, nil
}
