package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/relay"
)

// DefaultReconnectInterval is how often a lost board is dialled again.
const DefaultReconnectInterval = 2 * time.Second

// Log attribute keys.
const (
	logKeyPort = "port"
	logKeyErr  = "err"
	logKeyOp   = "op"
)

// Dialer opens the link to the board: a serial port (hardware.OpenSerial)
// or the simulator's in-process endpoint (sim.Machine.Connect).
type Dialer func(ctx context.Context) (io.ReadWriteCloser, error)

// Machine supervises the link to one GRBL board and offers manual control
// of it. Configure the exported fields, then Open; Close stops it. The
// zero value plus Dial is usable.
type Machine struct {
	// Name is the port path, or "sim"; it names the link in status,
	// events and errors.
	Name string
	// Dial opens the link; required.
	Dial Dialer
	// ConnOptions configure each grbl.Conn. Its OnMessage, when set, is
	// called after the Machine's own handling (signals, events, relay).
	ConnOptions grbl.Options
	// Events receives the machine.* events; nil publishes nothing.
	Events *events.Hub
	// Relay is switched off on every disconnect, reset (banner), alarm and
	// Door state, whoever holds the machine; nil in tests without one.
	Relay *relay.Router
	// ReconnectInterval is the pause between connect attempts (default
	// DefaultReconnectInterval).
	ReconnectInterval time.Duration
	// Logger receives diagnostics (default slog.Default() with
	// system=machine).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	mu          sync.Mutex
	opened      bool
	closed      bool
	conn        *grbl.Conn
	sig         *runner.Signals
	board       *BoardInfo
	offsets     *Offsets // last "$#" read on offsetsConn; nil: the handshake's
	offsetsConn *grbl.Conn
	lastErr     error
	changed     time.Time
	lease       *lease
	manual      int    // manual commands under way
	manualOp    string // the latest of them
	announcedUp bool   // the last link event published was machine.connected
	announced   bool   // any link event has been published
}

// Open validates the configuration, starts the supervisor goroutine and
// returns once the first connect attempt has finished. A missing board is
// not an error: the supervisor keeps dialling every ReconnectInterval and
// Status reports it disconnected. ctx bounds only that first wait (Open
// returns ctx's error, and stops the supervisor, if it ends first); the
// supervisor runs until Close, so that a daemon shutting down can still
// feed-hold through the link before closing it.
func (m *Machine) Open(ctx context.Context) error {
	if m.Dial == nil {
		return errors.New("machine: open: Dial is not set")
	}
	m.mu.Lock()
	if m.opened || m.closed {
		m.mu.Unlock()
		return errors.New("machine: Open called twice or after Close")
	}
	m.opened = true
	if m.Name == "" {
		m.Name = "unnamed port"
	}
	if m.ReconnectInterval <= 0 {
		m.ReconnectInterval = DefaultReconnectInterval
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	m.log = m.Logger
	if m.log == nil {
		m.log = slog.Default().With("system", "machine")
	}
	if m.ConnOptions.Logger == nil {
		m.ConnOptions.Logger = m.log.With("system", "grbl")
	}
	if m.ConnOptions.Now == nil {
		m.ConnOptions.Now = m.Now
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.mu.Unlock()

	first := make(chan struct{})
	m.wg.Add(1)
	go m.supervise(sctx, first)
	select {
	case <-first:
		return nil
	case <-ctx.Done():
		_ = m.Close()
		return fmt.Errorf("machine %s: open: waiting for the first connect attempt: %w", m.Name, ctx.Err())
	}
}

// Close stops the supervisor, switches the relay off, closes the link
// (which restores $10 if the handshake changed it) and waits for every
// goroutine. It is idempotent; a lease still held is left to its owner,
// whose link calls then fail.
func (m *Machine) Close() error {
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		cancel := m.cancel
		m.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		m.wg.Wait()
		m.closeErr = m.relayOff("machine closed")
	})
	return m.closeErr
}

// Conn returns the current link and the Signals routed from it, or a
// *NotConnectedError (ErrNotConnected). The pair is valid until the link's
// Done closes; a caller that streams should hold the lease (Acquire).
func (m *Machine) Conn() (*grbl.Conn, *runner.Signals, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, nil, fmt.Errorf("machine %s: %w", m.Name, ErrClosed)
	}
	if m.conn == nil {
		return nil, nil, m.notConnectedLocked()
	}
	return m.conn, m.sig, nil
}

func (m *Machine) notConnectedLocked() error {
	return &NotConnectedError{Port: m.Name, Retry: m.ReconnectInterval, Cause: m.lastErr}
}

// Status returns a snapshot of the link and the board. It never fails:
// Connected is false while no board answers.
func (m *Machine) Status() Status {
	m.mu.Lock()
	st := Status{Port: m.Name, Updated: m.changed}
	if m.lease != nil {
		st.LeasedBy = m.lease.owner
	}
	conn := m.conn
	if conn == nil {
		if m.lastErr != nil {
			st.LastError = m.lastErr.Error()
		}
		m.mu.Unlock()
		return st
	}
	board := *m.board
	m.mu.Unlock()

	st.Connected = true
	board.HomingEnabled = conn.Settings()[22] == 1 // live: $22 may have been written since
	st.Board = &board
	st.Homed = conn.Homed()
	report := conn.Status()
	st.Report, st.Raw = reportOf(report), report
	if !report.At.IsZero() {
		st.Updated = report.At
	}
	if a := alarmInfo(conn.AlarmError()); a != nil {
		st.Alarm = a
		st.Report.State = string(grbl.StateAlarm)
	}
	return st
}

// supervise dials, holds the link until it fails, and dials again every
// ReconnectInterval until ctx ends. It never resumes anything by itself.
func (m *Machine) supervise(ctx context.Context, first chan struct{}) {
	defer m.wg.Done()
	firstDone := false
	markFirst := func() {
		if !firstDone {
			firstDone = true
			close(first)
		}
	}
	defer markFirst()
	for {
		conn, err := m.connect(ctx)
		if ctx.Err() != nil {
			if conn != nil {
				m.drop(conn, "machine closed", nil)
			}
			return
		}
		if err != nil {
			m.down(err)
		} else {
			markFirst()
			select {
			case <-conn.Done():
				m.drop(conn, "link lost", conn.Err())
			case <-ctx.Done():
				m.drop(conn, "machine closed", nil)
				return
			}
		}
		markFirst()
		t := time.NewTimer(m.ReconnectInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// connect dials and performs the handshake. On success the link is
// installed and machine.connected published.
func (m *Machine) connect(ctx context.Context) (*grbl.Conn, error) {
	port, err := m.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", m.Name, err)
	}
	sig := &runner.Signals{}
	opts := m.ConnOptions
	user := opts.OnMessage
	tap := &messageTap{m: m, next: user}
	sig.Next = tap.handle
	opts.OnMessage = sig.Handle
	conn := grbl.NewConn(port, opts)
	if err := conn.Open(ctx); err != nil { // Open closes conn (and port) on failure
		return nil, fmt.Errorf("connect to %s: %w", m.Name, err)
	}
	now := m.Now()
	board := boardInfo(conn.Info(), now)
	m.mu.Lock()
	m.conn, m.sig, m.board = conn, sig, &board
	m.lastErr = nil
	m.changed = now
	m.announced, m.announcedUp = true, true
	m.mu.Unlock()
	m.log.Info("board connected", logKeyPort, m.Name, "firmware", board.Firmware, "version", board.Version)
	m.publish(TopicConnected, Connected{Port: m.Name, Board: board})
	if err := conn.AlarmError(); err != nil {
		// The relay is already off; say so once more for the log.
		m.log.Warn("board is in alarm", logKeyPort, m.Name, logKeyErr, err)
	}
	return conn, nil
}

// down records a failed connect attempt. machine.disconnected is
// published when the link was up (or nothing was said yet), not on every
// retry.
func (m *Machine) down(err error) {
	_ = m.relayOff("board not connected")
	m.mu.Lock()
	m.lastErr = err
	announce := !m.announced || m.announcedUp
	m.announced, m.announcedUp = true, false
	if announce {
		m.changed = m.Now()
	}
	m.mu.Unlock()
	if announce {
		m.log.Warn("no board", logKeyPort, m.Name, logKeyErr, err)
		m.publish(TopicDisconnected, Disconnected{Port: m.Name, Reason: err.Error()})
	} else {
		m.log.Debug("connect attempt failed", logKeyPort, m.Name, logKeyErr, err)
	}
}

// drop takes the link down: relay off first, then forget the link,
// publish, and close it (waiting for its goroutines).
func (m *Machine) drop(conn *grbl.Conn, why string, cause error) {
	_ = m.relayOff("board disconnected")
	reason := why
	if cause != nil {
		reason = why + ": " + cause.Error()
	}
	err := cause
	if err == nil {
		err = errors.New(why)
	}
	m.mu.Lock()
	if m.conn == conn {
		m.conn, m.sig, m.board = nil, nil, nil
	}
	m.lastErr = err
	m.changed = m.Now()
	m.announced, m.announcedUp = true, false
	m.mu.Unlock()
	if cause != nil {
		m.log.Warn("board disconnected", logKeyPort, m.Name, logKeyErr, cause)
	}
	m.publish(TopicDisconnected, Disconnected{Port: m.Name, Reason: reason})
	if err := conn.Close(); err != nil && cause == nil {
		m.log.Warn("closing the link", logKeyPort, m.Name, logKeyErr, err)
	}
}

func (m *Machine) publish(topic string, data any) {
	if m.Events != nil {
		m.Events.Publish(topic, data)
	}
}

// relayOff switches the router off. It is called on every path where the
// router must not run; Off is idempotent.
func (m *Machine) relayOff(reason string) error {
	if m.Relay == nil {
		return nil
	}
	if err := m.Relay.Off(reason); err != nil {
		m.log.Error("relay off failed", "reason", reason, logKeyErr, err)
		return fmt.Errorf("machine %s: %s: %w", m.Name, reason, err)
	}
	return nil
}

// messageTap handles every message of one link on its reader goroutine:
// it publishes events and switches the relay off on resets, alarms and
// entry into the Alarm, Door and Sleep states. It never blocks (the hub and the relay do not).
type messageTap struct {
	m     *Machine
	next  func(grbl.Message)
	state grbl.State // previous report's state; reader goroutine only
}

func (t *messageTap) handle(msg grbl.Message) {
	m := t.m
	switch msg := msg.(type) {
	case grbl.Status:
		if msg.State != t.state && (msg.State == grbl.StateAlarm || msg.State == grbl.StateDoor || msg.State == grbl.StateSleep) {
			_ = m.relayOff("board state " + string(msg.State))
		}
		t.state = msg.State
		m.publish(TopicStatus, reportOf(msg))
	case *grbl.Alarm:
		_ = m.relayOff(msg.Error())
		m.publish(TopicAlarm, AlarmInfo{Code: msg.Code, Text: msg.Text, Hint: msg.Hint()})
	case grbl.Banner:
		_ = m.relayOff("board reset")
		m.publish(TopicReset, Reset{Firmware: msg.Firmware, Version: msg.Version, Banner: msg.Raw})
	case grbl.Feedback:
		m.publish(TopicMessage, Message{Text: msg.Text})
	}
	if t.next != nil {
		t.next(msg)
	}
}
