package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
)

// Client calls the kerf API, over the daemon's Unix socket or over HTTP(S)
// with a bearer token. Its methods mirror the routes; an error answer comes
// back as *APIError. It is safe for concurrent use.
type Client struct {
	base   url.URL // scheme and host; paths are appended
	token  string
	socket string // "" for TCP
	http   *http.Client
	dialer *websocket.Dialer
}

// socketHost is the placeholder host of requests over the Unix socket.
const socketHost = "kerf"

// maxErrorBody bounds how much of an error answer the client reads.
const maxErrorBody = 1 << 20

// NewSocketClient returns a client of the daemon listening on the Unix
// socket at path. Nothing is dialled until the first call; when nothing
// listens there, calls fail with an error matching ErrNotRunning.
func NewSocketClient(path string) *Client {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		if err != nil && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist)) {
			return nil, &NotRunningError{Socket: path, Err: err}
		}
		return c, err
	}
	return &Client{
		base:   url.URL{Scheme: "http", Host: socketHost},
		socket: path,
		http:   &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second}},
		dialer: &websocket.Dialer{NetDialContext: dial, HandshakeTimeout: 10 * time.Second},
	}
}

// NewClient returns a client of the daemon at serverURL (http:// or
// https://, no path) authenticating with token. Errors name a malformed URL.
func NewClient(serverURL, token string) (*Client, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", serverURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host:port", serverURL)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("server URL %q: must not have a path or query", serverURL)
	}
	if token == "" {
		return nil, errors.New("a token is required for a TCP server (--token or KERF_TOKEN)")
	}
	return &Client{
		base:   url.URL{Scheme: u.Scheme, Host: u.Host},
		token:  token,
		http:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
		dialer: &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second},
	}, nil
}

// Target describes where the client connects, for messages.
func (c *Client) Target() string {
	if c.socket != "" {
		return "socket " + c.socket
	}
	return c.base.String()
}

// CloseIdleConnections closes idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// request sends one request and returns the response when its status is
// 2xx; otherwise it decodes the error answer into *APIError.
func (c *Client) request(ctx context.Context, method, path string, q url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := c.base
	u.Path = path
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var nr *NotRunningError
		if errors.As(err, &nr) {
			return nil, nr
		}
		return nil, fmt.Errorf("%s %s on %s: %w", method, path, c.Target(), err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, decodeAPIError(resp)
}

func decodeAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb struct {
		Error struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	ae := &APIError{Status: resp.StatusCode}
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		ae.Code, ae.Message, ae.Details = eb.Error.Code, eb.Error.Message, eb.Error.Details
	} else {
		ae.Message = strings.TrimSpace(string(b))
		if ae.Message == "" {
			ae.Message = resp.Status
		}
	}
	return ae
}

// call sends a JSON body (nil: none) and decodes a JSON answer into out
// (nil: discarded).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	resp, err := c.request(ctx, method, path, q, body, ct)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func pageValues(p jobs.Page) url.Values {
	q := url.Values{}
	if p.Before != 0 {
		q.Set("before", p.Before.String())
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	return q
}

// AddJob uploads a program as a new job called name. A program GRBL would
// reject fails with an *APIError whose ProgramDiagnostics lists the
// problems.
func (c *Client) AddJob(ctx context.Context, name string, body io.Reader) (jobs.Job, error) {
	return c.AddJobWith(ctx, name, body, AddJobOptions{})
}

// Job returns one job.
func (c *Client) Job(ctx context.Context, id jobs.ID) (jobs.Job, error) {
	var j jobs.Job
	err := c.call(ctx, http.MethodGet, "/api/v1/jobs/"+id.String(), nil, nil, &j)
	return j, err
}

// Jobs lists jobs newest first.
func (c *Client) Jobs(ctx context.Context, p jobs.Page) ([]jobs.Job, error) {
	var list []jobs.Job
	err := c.call(ctx, http.MethodGet, "/api/v1/jobs", pageValues(p), nil, &list)
	return list, err
}

// DeleteJob deletes a job with its runs.
func (c *Client) DeleteJob(ctx context.Context, id jobs.ID) error {
	return c.call(ctx, http.MethodDelete, "/api/v1/jobs/"+id.String(), nil, nil, nil)
}

// StartJob queues a run of the job from source line fromLine (0: the
// beginning).
func (c *Client) StartJob(ctx context.Context, id jobs.ID, fromLine int) (jobs.Run, error) {
	var r jobs.Run
	err := c.call(ctx, http.MethodPost, "/api/v1/jobs/"+id.String()+"/start", nil, StartRequest{FromLine: fromLine}, &r)
	return r, err
}

// Runs lists runs matching f, newest first.
func (c *Client) Runs(ctx context.Context, f jobs.RunFilter) ([]jobs.Run, error) {
	q := pageValues(f.Page)
	if f.JobID != 0 {
		q.Set("job", f.JobID.String())
	}
	if len(f.States) > 0 {
		s := make([]string, len(f.States))
		for i, st := range f.States {
			s[i] = string(st)
		}
		q.Set("state", strings.Join(s, ","))
	}
	var list []jobs.Run
	err := c.call(ctx, http.MethodGet, "/api/v1/runs", q, nil, &list)
	return list, err
}

// Run returns one run.
func (c *Client) Run(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	var r jobs.Run
	err := c.call(ctx, http.MethodGet, "/api/v1/runs/"+id.String(), nil, nil, &r)
	return r, err
}

func (c *Client) runAction(ctx context.Context, id jobs.ID, action string) (jobs.Run, error) {
	var r jobs.Run
	err := c.call(ctx, http.MethodPost, "/api/v1/runs/"+id.String()+"/"+action, nil, nil, &r)
	return r, err
}

// PauseRun pauses a running run.
func (c *Client) PauseRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	return c.runAction(ctx, id, "pause")
}

// ResumeRun resumes a paused run.
func (c *Client) ResumeRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	return c.runAction(ctx, id, "resume")
}

// AbortRun aborts a queued, running or paused run.
func (c *Client) AbortRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	return c.runAction(ctx, id, "abort")
}

// Telemetry copies a run's telemetry in format "csv" or "json" to w and
// returns the number of bytes written.
func (c *Client) Telemetry(ctx context.Context, id jobs.ID, format string, w io.Writer) (int64, error) {
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/runs/"+id.String()+"/telemetry", url.Values{"format": {format}}, nil, "")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("telemetry of run %s: %w", id, err)
	}
	return n, nil
}

// MachineStatus returns the machine's status.
func (c *Client) MachineStatus(ctx context.Context) (MachineStatus, error) {
	var st MachineStatus
	err := c.call(ctx, http.MethodGet, "/api/v1/machine", nil, nil, &st)
	return st, err
}

func (c *Client) machine(ctx context.Context, action string, in any) error {
	return c.call(ctx, http.MethodPost, "/api/v1/machine/"+action, nil, in, nil)
}

// Home runs the homing cycle and returns when it has finished.
func (c *Client) Home(ctx context.Context) error { return c.machine(ctx, "home", nil) }

// Unlock clears an alarm lock ($X).
func (c *Client) Unlock(ctx context.Context) error { return c.machine(ctx, "unlock", nil) }

// Reset soft-resets the board.
func (c *Client) Reset(ctx context.Context) error { return c.machine(ctx, "reset", nil) }

// Jog starts a jog.
func (c *Client) Jog(ctx context.Context, j JogRequest) error { return c.machine(ctx, "jog", j) }

// JogCancel cancels jogging.
func (c *Client) JogCancel(ctx context.Context) error { return c.machine(ctx, "jog/cancel", nil) }

// FeedHold holds motion.
func (c *Client) FeedHold(ctx context.Context) error { return c.machine(ctx, "hold", nil) }

// CycleStart resumes from a hold.
func (c *Client) CycleStart(ctx context.Context) error { return c.machine(ctx, "resume", nil) }

// Override changes an override.
func (c *Client) Override(ctx context.Context, o OverrideRequest) error {
	return c.machine(ctx, "override", o)
}

// Settings returns the board's $ settings.
func (c *Client) Settings(ctx context.Context) ([]Setting, error) {
	var list []Setting
	err := c.call(ctx, http.MethodGet, "/api/v1/machine/settings", nil, nil, &list)
	return list, err
}

// SetSetting writes one $ setting.
func (c *Client) SetSetting(ctx context.Context, number int, value string) error {
	return c.call(ctx, http.MethodPut, "/api/v1/machine/settings", nil, SettingUpdate{Number: number, Value: value}, nil)
}

// Backup copies a consistent copy of the database to w and returns its
// size. A transfer the server broke off fails.
func (c *Client) Backup(ctx context.Context, w io.Writer) (int64, error) {
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/backup", nil, nil, "")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("backup: transfer broken after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("backup: got %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}

// OpenAPI returns the server's OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	resp, err := c.request(ctx, http.MethodGet, "/api/v1/openapi.json", nil, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return b, nil
}

// Stream is an open websocket event stream from Client.Watch.
type Stream struct {
	conn      *websocket.Conn
	writeMu   sync.Mutex
	ctx       context.Context
	stopAfter func() bool
	closeOnce sync.Once
	closeErr  error
}

// StreamClosedError reports the close frame the server ended a stream
// with. Code CloseSlowConsumer matches events.ErrSlow.
type StreamClosedError struct {
	Code int
	Text string
}

// Error describes the close.
func (e *StreamClosedError) Error() string {
	return fmt.Sprintf("event stream closed by the server (code %d): %s", e.Code, e.Text)
}

// Is reports whether target is events.ErrSlow for code CloseSlowConsumer.
func (e *StreamClosedError) Is(target error) bool {
	return target == events.ErrSlow && e.Code == CloseSlowConsumer
}

// Watch opens the event stream: events after since (0: from now) on the
// given topics (none: all). The first message is hello; a gap message
// follows when since is no longer buffered. Cancelling ctx closes the
// stream.
func (c *Client) Watch(ctx context.Context, since uint64, topics ...string) (*Stream, error) {
	u := c.base
	u.Scheme = "ws"
	if c.base.Scheme == "https" {
		u.Scheme = "wss"
	}
	u.Path = "/api/v1/ws"
	q := url.Values{}
	if since > 0 {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	if len(topics) > 0 {
		q.Set("topics", strings.Join(topics, ","))
	}
	u.RawQuery = q.Encode()
	h := http.Header{}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	conn, resp, err := c.dialer.DialContext(ctx, u.String(), h)
	if err != nil {
		var nr *NotRunningError
		switch {
		case errors.As(err, &nr):
			return nil, nr
		case resp != nil && resp.StatusCode != http.StatusSwitchingProtocols:
			defer resp.Body.Close()
			return nil, decodeAPIError(resp)
		}
		return nil, fmt.Errorf("watch events on %s: %w", c.Target(), err)
	}
	s := &Stream{conn: conn, ctx: ctx}
	s.stopAfter = context.AfterFunc(ctx, func() { _ = conn.Close() })
	return s, nil
}

// Next returns the next message. It fails with ctx's error once the
// Watch context is cancelled, with a *StreamClosedError when the server
// closed the stream, and with net.ErrClosed after Close.
func (s *Stream) Next() (Message, error) {
	var m Message
	_, data, err := s.conn.ReadMessage()
	if err != nil {
		if s.ctx.Err() != nil {
			return m, s.ctx.Err()
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return m, &StreamClosedError{Code: ce.Code, Text: ce.Text}
		}
		return m, fmt.Errorf("event stream: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("event stream: bad message %q: %w", truncate(data, 80), err)
	}
	return m, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Send sends a command; its reply arrives from Next as a MsgReply message
// with the command's ID. Send may be called while another goroutine reads.
func (s *Stream) Send(c Command) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := s.conn.WriteJSON(c); err != nil {
		return fmt.Errorf("event stream: send %s: %w", c.Cmd, err)
	}
	return nil
}

// Close closes the stream. It is idempotent and safe to call from any
// goroutine.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		s.stopAfter()
		s.closeErr = s.conn.Close()
	})
	return s.closeErr
}

// Me returns the caller as the daemon sees it (GET /api/v1/auth/me).
func (c *Client) Me(ctx context.Context) (Identity, error) {
	var id Identity
	err := c.call(ctx, "GET", "/api/v1/auth/me", nil, nil, &id)
	return id, err
}

// CreateToken creates an API token with role (viewer, operator or admin;
// "" for viewer) and returns it with its secret, which the daemon shows
// only this once. Needs admin.
func (c *Client) CreateToken(ctx context.Context, name, role string) (NewToken, error) {
	var t NewToken
	err := c.call(ctx, "POST", "/api/v1/tokens", nil, TokenRequest{Name: name, Role: role}, &t)
	return t, err
}

// Tokens lists the API tokens (without secrets). Needs admin.
func (c *Client) Tokens(ctx context.Context) ([]TokenInfo, error) {
	var list []TokenInfo
	err := c.call(ctx, "GET", "/api/v1/tokens", nil, nil, &list)
	return list, err
}

// RevokeToken deletes an API token. Needs admin.
func (c *Client) RevokeToken(ctx context.Context, id jobs.ID) error {
	return c.call(ctx, "DELETE", "/api/v1/tokens/"+id.String(), nil, nil, nil)
}

// AddUser creates a panel user. Needs admin.
func (c *Client) AddUser(ctx context.Context, name, role, password string) (UserInfo, error) {
	var u UserInfo
	err := c.call(ctx, "POST", "/api/v1/users", nil, UserRequest{Name: name, Role: role, Password: password}, &u)
	return u, err
}

// Users lists the panel users. Needs admin.
func (c *Client) Users(ctx context.Context) ([]UserInfo, error) {
	var list []UserInfo
	err := c.call(ctx, "GET", "/api/v1/users", nil, nil, &list)
	return list, err
}

// RemoveUser deletes a panel user and ends their sessions. Needs admin.
func (c *Client) RemoveUser(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", "/api/v1/users/"+name, nil, nil, nil)
}

// SetPassword replaces a user's password and ends their sessions. Needs
// admin.
func (c *Client) SetPassword(ctx context.Context, name, password string) error {
	return c.call(ctx, "PUT", "/api/v1/users/"+name+"/password", nil, PasswordRequest{Password: password}, nil)
}
