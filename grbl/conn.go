package grbl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultPollInterval  = 200 * time.Millisecond
	DefaultPollTimeout   = time.Second
	DefaultBannerTimeout = 3 * time.Second
	DefaultReplyTimeout  = 5 * time.Second
	// MaxLinesInFlight bounds the number of lines in flight regardless of
	// the RX budget (each line is at least one byte, so only budgets above
	// it are affected). It is also the capacity of the Acks channel.
	MaxLinesInFlight = 1024
)

// ErrNotOpen is returned by streaming calls made before Open.
var ErrNotOpen = errors.New("grbl: connection not open")

// Log attribute keys.
const (
	logKeyLine = "line"
	logKeyTag  = "tag"
	logKeyErr  = "err"
	logKeyMsg  = "msg"
)

// Options configures a Conn. The zero value is usable.
type Options struct {
	// RXBufferSize is the character-counting budget in bytes. 0 means: the
	// rx figure of "[OPT:…,blocks,rx]" when the board reports it, else 128.
	RXBufferSize int
	// PollInterval is the status poll period (default 200 ms, 5 Hz); a
	// negative value disables polling.
	PollInterval time.Duration
	// PollTimeout is how long an unanswered '?' blocks the next one
	// (default 1 s). GRBL answers nothing during homing or a limit lock-up.
	PollTimeout time.Duration
	// OwnSettings means kerf owns the board's settings: a $10 changed by
	// Open is left as is on Close instead of being restored.
	OwnSettings bool
	// BannerTimeout is how long Open waits for the start-up banner before
	// provoking one with a soft reset, and again after it (default 3 s).
	BannerTimeout time.Duration
	// ReplyTimeout bounds each handshake command and the $10 restore in
	// Close (default 5 s).
	ReplyTimeout time.Duration
	// Logger receives diagnostics; default slog.Default() with system=grbl.
	Logger *slog.Logger
	// OnMessage, when set, is called on the reader goroutine for every
	// parsed message, status reports included. It must not block and must
	// not call Conn methods that wait for the board.
	OnMessage func(Message)
	// Now returns the current time (default time.Now); used for Ack.At and
	// Status.At.
	Now func() time.Time
}

// Ack is the board's answer to one streamed line, delivered on Acks in the
// order the lines were sent.
type Ack struct {
	Tag  int64     // the caller's tag passed to Send
	Line string    // the line as sent (without '\n')
	Err  error     // nil for ok; *Error for error:N; ErrReset, ErrDisconnected or ErrClosed when no answer will come
	At   time.Time // when the answer (or the failure) was seen
}

// Response is what a Command collected: every message that arrived after
// the command was sent and before its ok/error, except status reports and
// banners.
type Response struct {
	Lines []Message
}

// BoardInfo is what Open learned about the board.
type BoardInfo struct {
	Banner        Banner
	Version       Version
	Options       BuildOptions
	RXBufferSize  int // the budget in use
	PlannerBlocks int // from [OPT]; 0 if not reported
	Settings      map[int]float64
	Offsets       map[string][]float64 // G54…G59, G28, G30, G92, TLO
	Modal         Modal
	// UserStatusMask is the $10 value found at connect, when Open changed it.
	UserStatusMask int
	// StatusMaskChanged says Open set $10=3 (and Close restores
	// UserStatusMask unless Options.OwnSettings).
	StatusMaskChanged bool
}

// rtQueue is how many real-time requests may wait for the writer.
const rtQueue = 8

type rtReq struct {
	b    byte
	errc chan error
}

type wline struct {
	gen uint64
	b   []byte
}

// Conn is a GRBL link over any io.ReadWriteCloser. See the package
// documentation for the lifecycle and concurrency rules.
type Conn struct {
	port io.ReadWriteCloser
	opts Options
	log  *slog.Logger
	now  func() time.Time

	acks     chan Ack
	rt       chan rtReq
	lines    chan wline
	sendLock chan struct{} // capacity 1: held while sending (a Command holds it until answered)
	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when the reader has stopped
	wg       sync.WaitGroup
	gen      atomic.Uint64 // bumped on every reset; queued lines of older generations are not written
	counts   counters

	closeOnce sync.Once
	closeErr  error
	portOnce  sync.Once
	portErr   error

	mu            sync.Mutex
	started       bool
	opened        bool
	closing       bool
	err           error
	win           *window
	failed        []failure // lines failed outside the reader, delivered by it
	space         chan struct{}
	status        Status
	statusCh      chan struct{}
	banner        Banner
	banners       int
	bannerCh      chan struct{}
	alarm         *Alarm
	alarms        uint64 // ALARM:N messages and spontaneous resets seen
	homed         bool   // see Homed
	startupLocked bool
	resetting     bool // SoftReset in progress: nothing may be sent until the banner
	quarantine    bool // spontaneous reset seen: nothing may be sent until two reports in a row show the RX buffer empty
	// quietOnce: during a quarantine, the last report showed the RX
	// buffer empty and another was asked for. The first such report may
	// answer a '?' written before the reset was seen, generated before the
	// lines written after the reset reached the RX buffer; the second was
	// asked after it, so every line written earlier is ahead of it.
	quietOnce   bool
	pollPending bool
	pollSent    time.Time
	info        BoardInfo
	raw         []byte // bytes received before the handshake finished (capped)
	recording   bool
	writeErr    error
}

type failure struct {
	s   sent
	err error
}

const rawCap = 512

// NewConn returns a Conn over port. Nothing is read or written until Open.
func NewConn(port io.ReadWriteCloser, opts Options) *Conn {
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = DefaultPollTimeout
	}
	if opts.BannerTimeout <= 0 {
		opts.BannerTimeout = DefaultBannerTimeout
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = DefaultReplyTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default().With("system", "grbl")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	budget := opts.RXBufferSize
	if budget <= 0 {
		budget = DefaultRXBufferSize
	}
	return &Conn{
		port:      port,
		opts:      opts,
		log:       opts.Logger,
		now:       opts.Now,
		acks:      make(chan Ack, MaxLinesInFlight),
		rt:        make(chan rtReq, rtQueue),
		lines:     make(chan wline, MaxLinesInFlight),
		sendLock:  make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		win:       newWindow(budget),
		space:     make(chan struct{}),
		statusCh:  make(chan struct{}),
		bannerCh:  make(chan struct{}),
		status:    Status{SubState: -1},
		recording: true,
		info:      BoardInfo{RXBufferSize: budget, Settings: map[int]float64{}, Offsets: map[string][]float64{}},
	}
}

// Done is closed when the link is gone: the port failed (disconnect) or
// Close was called.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why Done was closed: ErrClosed after Close, or an error matching
// ErrDisconnected. It is nil while the link is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Acks delivers the answer to every line sent with Send, in send order.
// It has room for MaxLinesInFlight acks, more than can be in flight; a
// consumer that falls further behind stalls the reader goroutine (status
// and alarms stop being processed) until it catches up or Close is called.
// The channel is closed after the link is gone and every outstanding line
// has been failed with ErrReset or ErrDisconnected.
func (c *Conn) Acks() <-chan Ack { return c.acks }

// InFlight returns the lines and bytes sent but not yet answered.
func (c *Conn) InFlight() (lines, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.win.inFlight()
}

// Status returns the latest status report, merged with the cached WCO,
// overrides and accessories.
func (c *Conn) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Info returns what Open learned about the board (a copy).
func (c *Conn) Info() BoardInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	info := c.info
	info.Settings = c.settingsLocked()
	info.Offsets = make(map[string][]float64, len(c.info.Offsets))
	for k, v := range c.info.Offsets {
		info.Offsets[k] = append([]float64(nil), v...)
	}
	return info
}

// Settings returns the board's $-settings as last read or written (a copy):
// every "$N=value" line the board sends (the answer to any "$$") and every
// successful "$N=value" write update it.
func (c *Conn) Settings() map[int]float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.settingsLocked()
}

func (c *Conn) settingsLocked() map[int]float64 {
	m := make(map[int]float64, len(c.info.Settings))
	for k, v := range c.info.Settings {
		m[k] = v
	}
	return m
}

// Homed reports whether a homing cycle ($H, sent with Send or Command)
// has completed on this link with no alarm during it, and nothing has
// happened since that loses the machine position: an alarm other than
// those that keep it (see Alarm.KeepsPosition), or a reset the board did
// by itself (a power glitch, a USB or DTR reset, $RST=, leaving $C). A
// reset through SoftReset keeps it: GRBL keeps its position then, unless
// the reset raises ALARM:3. A new Conn starts not homed: kerf cannot know
// what happened to the machine before it connected.
func (c *Conn) Homed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.homed
}

// isHomingCycle reports whether line is GRBL's full homing cycle "$H"
// (GRBL upper-cases and drops spaces first). The single-axis forms ($HX…)
// of some builds do not home the whole machine.
func isHomingCycle(line string) bool {
	return strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(line), " ", ""), "$H")
}

// AlarmError returns an *AlarmStateError (matching ErrAlarm) when the board
// is in Alarm state (by its last status report, or by an ALARM:N or a
// locked start-up message received since), saying which alarm and how to
// clear it; nil otherwise.
func (c *Conn) AlarmError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.State == StateAlarm || c.alarm != nil || c.startupLocked {
		var a *Alarm
		if c.alarm != nil {
			cp := *c.alarm
			a = &cp
		}
		return &AlarmStateError{Alarm: a}
	}
	return nil
}

// start launches the reader and writer goroutines.
func (c *Conn) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("grbl: Open called twice")
	}
	if c.closing {
		return ErrClosed
	}
	c.started = true
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return nil
}

// Close restores $10 if Open changed it (unless Options.OwnSettings),
// stops the poller, closes the port (which stops the reader) and waits for
// every goroutine. It is idempotent and safe to call from any goroutine.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		c.mu.Lock()
		restore := c.opened && c.err == nil && c.info.StatusMaskChanged && !c.opts.OwnSettings
		orig := c.info.UserStatusMask
		c.mu.Unlock()
		if restore {
			if err := c.restoreStatusMask(orig); err != nil {
				errs = append(errs, err)
			}
		}
		c.mu.Lock()
		c.closing = true
		started := c.started
		c.mu.Unlock()
		close(c.stop)
		if err := c.closePort(); err != nil {
			errs = append(errs, fmt.Errorf("close port: %w", err))
		}
		c.wg.Wait()
		if !started {
			c.mu.Lock()
			c.err = ErrClosed
			c.mu.Unlock()
			close(c.done)
			close(c.acks)
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// restoreStatusMask writes $10 back, unless a Send or Command is under
// way or lines are in flight (the board would refuse it with error:8, and
// Close must not wait behind a stalled stream).
func (c *Conn) restoreStatusMask(orig int) error {
	select {
	case c.sendLock <- struct{}{}:
	default:
		return fmt.Errorf("$10=%d not restored: a send is in progress", orig)
	}
	defer c.unlock()
	if lines, _ := c.InFlight(); lines > 0 {
		return fmt.Errorf("$10=%d not restored: %d lines still in flight", orig, lines)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.ReplyTimeout)
	defer cancel()
	if _, err := c.commandLocked(ctx, "$10="+strconv.Itoa(orig)); err != nil {
		return fmt.Errorf("restore $10=%d: %w", orig, err)
	}
	return nil
}

func (c *Conn) closePort() error {
	c.portOnce.Do(func() { c.portErr = c.port.Close() })
	return c.portErr
}

// ---- writer ----

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	for {
		select { // real-time bytes first
		case r := <-c.rt:
			r.errc <- c.write([]byte{r.b})
			continue
		default:
		}
		select {
		case r := <-c.rt:
			r.errc <- c.write([]byte{r.b})
		case l := <-c.lines:
			if l.gen != c.gen.Load() {
				continue // the board reset since this line was queued
			}
			if err := c.write(l.b); err != nil {
				c.log.Warn("write failed", logKeyErr, err)
			} else {
				c.counts.linesWritten.Add(1)
			}
		case <-c.stop:
			return
		case <-c.done:
			return
		}
	}
}

// write writes b; on failure it closes the port so the reader stops and
// the link is reported down.
func (c *Conn) write(b []byte) error {
	n, err := c.port.Write(b)
	c.counts.bytesWritten.Add(uint64(n))
	if err != nil {
		c.mu.Lock()
		if c.writeErr == nil {
			c.writeErr = err
		}
		c.mu.Unlock()
		_ = c.closePort()
		return fmt.Errorf("%w: write: %w", ErrDisconnected, err)
	}
	return nil
}

// Realtime writes one real-time command byte at once, ahead of any queued
// line and regardless of the RX budget. It returns when the byte is
// written.
func (c *Conn) Realtime(b byte) error {
	if !IsRealtime(b) {
		return fmt.Errorf("%w: %#02x", ErrNotRealtime, b)
	}
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return ErrNotOpen
	}
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	req := rtReq{b: b, errc: make(chan error, 1)}
	select {
	case c.rt <- req:
	case <-c.done:
		return c.Err()
	case <-c.stop:
		return ErrClosed
	}
	select {
	case err := <-req.errc:
		return err
	case <-c.done: // the writer stopped before writing it
		return c.Err()
	}
}

// FeedHold sends '!' (feed hold).
func (c *Conn) FeedHold() error { return c.Realtime(RTFeedHold) }

// Resume sends '~' (cycle start / resume).
func (c *Conn) Resume() error { return c.Realtime(RTCycleStart) }

// ---- sending ----

func (c *Conn) lock(ctx context.Context) error {
	select {
	case c.sendLock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.Err()
	}
}

func (c *Conn) unlock() { <-c.sendLock }

// Send sends line once it fits in the RX budget, blocking until it does
// (or ctx ends or the link goes down): it counts the line as in flight and
// hands it to the writer goroutine, which writes lines in order, after any
// pending real-time byte. The answer arrives later on Acks, carrying tag.
// The line is sent with '\n' appended.
//
// A line that must go alone (see SendAlone) is sent only after every
// earlier line is answered, and Send then waits for its answer too (still
// delivered on Acks). Lines GRBL would misread are refused before sending
// with a *LineError matching ErrLineTooLong or ErrBadLine.
func (c *Conn) Send(ctx context.Context, line string, tag int64) error {
	if err := c.checkLine(line); err != nil {
		return err
	}
	alone := SendAlone(line)
	if err := c.lock(ctx); err != nil {
		return err
	}
	defer c.unlock()
	if alone {
		if err := c.waitEmpty(ctx); err != nil {
			return err
		}
	}
	if err := c.push(ctx, sent{line: line, tag: tag, n: len(line) + 1}); err != nil {
		return err
	}
	if alone {
		return c.waitEmpty(ctx)
	}
	return nil
}

func (c *Conn) checkLine(line string) error {
	c.mu.Lock()
	budget, started := c.win.budget, c.started
	c.mu.Unlock()
	if !started {
		return ErrNotOpen
	}
	return checkLine(line, budget)
}

// push waits for room in the window, records the line and queues it for
// the writer. The caller holds sendLock.
func (c *Conn) push(ctx context.Context, s sent) error {
	for {
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return err
		}
		if !c.resetting && !c.quarantine && c.win.fits(s.n) && len(c.win.queue) < MaxLinesInFlight {
			s.homing, s.alarms = isHomingCycle(s.line), c.alarms
			select {
			case c.lines <- wline{gen: c.gen.Load(), b: []byte(s.line + "\n")}:
				c.win.push(s)
				c.mu.Unlock()
				return nil
			default:
				// Cannot happen while every ok answers one written line;
				// never block while holding mu.
				c.mu.Unlock()
				return fmt.Errorf("grbl: writer queue full (%d lines): replies out of step with sent lines", MaxLinesInFlight)
			}
		}
		ch := c.space
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
		}
	}
}

// waitEmpty waits until nothing is in flight.
func (c *Conn) waitEmpty(ctx context.Context) error {
	for {
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return err
		}
		if len(c.win.queue) == 0 {
			c.mu.Unlock()
			return nil
		}
		ch := c.space
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
		}
	}
}

// Drain waits until every line sent so far has been answered.
func (c *Conn) Drain(ctx context.Context) error {
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return ErrNotOpen
	}
	return c.waitEmpty(ctx)
}

// Command sends line alone: it waits until every earlier line is answered,
// sends it, and collects the messages up to its ok or error:N. On error:N
// it returns the collected Response and an *Error naming the line.
// Successful "$N=value" writes update Settings.
func (c *Conn) Command(ctx context.Context, line string) (Response, error) {
	if err := c.checkLine(line); err != nil {
		return Response{}, err
	}
	if err := c.lock(ctx); err != nil {
		return Response{}, err
	}
	defer c.unlock()
	return c.commandLocked(ctx, line)
}

// commandLocked is Command with sendLock held.
func (c *Conn) commandLocked(ctx context.Context, line string) (Response, error) {
	if err := c.waitEmpty(ctx); err != nil {
		return Response{}, err
	}
	reply := make(chan resp, 1)
	if err := c.push(ctx, sent{line: line, n: len(line) + 1, reply: reply}); err != nil {
		return Response{}, err
	}
	select {
	case r := <-reply:
		if r.err == nil {
			c.noteSetting(line)
		}
		return Response{Lines: r.lines}, r.err
	case <-ctx.Done():
		return Response{}, fmt.Errorf("command %q: %w", line, ctx.Err())
	case <-c.done:
		select {
		case r := <-reply:
			return Response{Lines: r.lines}, r.err
		default:
			return Response{}, c.Err()
		}
	}
}

// noteSetting records a successful "$N=value" write.
func (c *Conn) noteSetting(line string) {
	m, ok := parseDollar(strings.TrimSpace(line))
	if !ok {
		return
	}
	if s, ok := m.(Setting); ok && s.Num >= 0 {
		c.mu.Lock()
		c.info.Settings[s.Num] = s.Value
		c.mu.Unlock()
	}
}

// SoftReset sends 0x18 and waits for the banner. Every line in flight fails
// with ErrReset at once (the board discards them); Send calls blocked for
// room stay blocked until the banner arrives. It does not wait behind a
// blocked Send.
func (c *Conn) SoftReset(ctx context.Context) error {
	c.mu.Lock()
	if !c.started {
		c.mu.Unlock()
		return ErrNotOpen
	}
	c.resetting = true
	c.resetLocked(ErrReset)
	ch := c.bannerCh
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.resetting = false
		c.broadcastSpaceLocked()
		c.mu.Unlock()
	}()
	if err := c.Realtime(RTSoftReset); err != nil {
		return fmt.Errorf("soft reset: %w", err)
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("soft reset: waiting for banner: %w", ctx.Err())
	case <-c.done:
		return fmt.Errorf("soft reset: %w", c.Err())
	}
}

// resetLocked drops everything in flight or queued: command waiters get
// cause now; streamed lines are handed to the reader, which delivers
// their acks. c.mu is held.
func (c *Conn) resetLocked(cause error) {
	c.gen.Add(1)
	for {
		select {
		case <-c.lines:
			continue
		default:
		}
		break
	}
	for _, s := range c.win.reset() {
		if s.reply != nil {
			s.reply <- resp{lines: s.lines, err: cause}
			continue
		}
		c.failed = append(c.failed, failure{s: s, err: cause})
	}
	c.pollPending = false
	c.broadcastSpaceLocked()
}

func (c *Conn) broadcastSpaceLocked() {
	close(c.space)
	c.space = make(chan struct{})
}

// ---- status ----

// requestStatus sends '?' unless one is unanswered and not yet timed out.
func (c *Conn) requestStatus(force bool) {
	c.mu.Lock()
	now := c.now()
	if !force && c.pollPending && now.Sub(c.pollSent) < c.opts.PollTimeout {
		c.mu.Unlock()
		return
	}
	c.pollPending, c.pollSent = true, now
	c.mu.Unlock()
	if err := c.Realtime(RTStatus); err != nil {
		c.log.Debug("status poll", logKeyErr, err)
	}
}

// quietLocked reports whether status report st shows a board with nothing
// to answer: Idle (or Alarm, where G-code is refused at once), RX buffer
// and planner empty. Without Bf it can only go by the state.
func (c *Conn) quietLocked(st Status) bool {
	if st.State != StateIdle && st.State != StateAlarm {
		return false
	}
	if !st.HasBuffer {
		return true
	}
	boardRX := c.info.Options.RXBufferSize
	if boardRX <= 0 {
		boardRX = DefaultRXBufferSize
	}
	// grblHAL reports one byte less than its buffer when empty.
	return st.RXFree >= boardRX-1 && (c.info.PlannerBlocks == 0 || st.PlannerFree >= c.info.PlannerBlocks)
}

// askStatusLocked queues a '?' for the writer without waiting (the reader
// must never block on the writer). If the queue is full a '?' is pending
// anyway.
func (c *Conn) askStatusLocked() {
	select {
	case c.rt <- rtReq{b: RTStatus, errc: make(chan error, 1)}:
		c.pollPending, c.pollSent = true, c.now()
	default:
	}
}

// WaitStatus waits for a status report received after the call that
// satisfies ok, and returns it (merged as Status does). It asks for one
// at once with '?', and again every PollTimeout while none comes (so it
// works with polling disabled).
func (c *Conn) WaitStatus(ctx context.Context, ok func(Status) bool) (Status, error) {
	c.mu.Lock()
	ch := c.statusCh
	c.mu.Unlock()
	c.requestStatus(true)
	retry := time.NewTicker(c.opts.PollTimeout)
	defer retry.Stop()
	for {
		select {
		case <-retry.C:
			c.requestStatus(false)
			continue
		case <-ch:
		case <-ctx.Done():
			return Status{}, fmt.Errorf("wait for status: %w", ctx.Err())
		case <-c.done:
			return Status{}, fmt.Errorf("wait for status: %w", c.Err())
		}
		c.mu.Lock()
		st := c.status
		ch = c.statusCh
		c.mu.Unlock()
		if ok(st) {
			return st, nil
		}
	}
}

// CheckIdle asks for a fresh status report and returns nil if the board is
// Idle, an *AlarmStateError (matching ErrAlarm) if it is in Alarm, and an
// error matching ErrNotIdle naming the state otherwise.
func (c *Conn) CheckIdle(ctx context.Context) error {
	st, err := c.WaitStatus(ctx, func(Status) bool { return true })
	if err != nil {
		return err
	}
	switch st.State {
	case StateIdle:
		return nil
	case StateAlarm:
		if err := c.AlarmError(); err != nil {
			return err
		}
		return &AlarmStateError{}
	}
	state := string(st.State)
	if st.SubState >= 0 {
		state += ":" + strconv.Itoa(st.SubState)
	}
	return fmt.Errorf("%w: board is in state %s", ErrNotIdle, state)
}

func (c *Conn) pollLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.requestStatus(false)
		case <-c.stop:
			return
		case <-c.done:
			return
		}
	}
}

// ---- reader ----

type recorder struct {
	r io.Reader
	c *Conn
}

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.c.counts.bytesRead.Add(uint64(n))
		r.c.mu.Lock()
		if r.c.recording && len(r.c.raw) < rawCap {
			r.c.raw = append(r.c.raw, p[:min(n, rawCap-len(r.c.raw))]...)
		}
		r.c.mu.Unlock()
	}
	return n, err
}

// maxLineBytes bounds one received line: a device that never sends '\n'
// is read in chunks of this size (each an Unknown message), not buffered
// without limit.
const maxLineBytes = 512

func (c *Conn) readLoop() {
	defer c.wg.Done()
	br := bufio.NewReaderSize(recorder{r: c.port, c: c}, maxLineBytes)
	for {
		b, err := br.ReadSlice('\n')
		if line := strings.TrimRight(string(b), "\r\n"); line != "" {
			c.handleLine(line)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			c.linkDown(err)
			return
		}
	}
}

func (c *Conn) handleLine(line string) {
	at := c.now()
	msg := Parse(line)
	c.counts.linesRead.Add(1)
	switch msg.(type) {
	case *Error:
		c.counts.errors.Add(1)
	case *Alarm:
		c.counts.alarms.Add(1)
	}
	var (
		ack    *Ack
		reply  chan resp
		r      resp
		failed []failure
	)
	c.mu.Lock()
	switch m := msg.(type) {
	case OK, *Error:
		s, ok := c.win.pop()
		if !ok {
			c.log.Warn("reply to no line in flight", logKeyMsg, line)
			break
		}
		c.broadcastSpaceLocked()
		var err error
		if e, isErr := m.(*Error); isErr {
			err = &Error{Code: e.Code, Text: e.Text, Line: s.line, Tag: s.tag}
		} else if s.homing && s.alarms == c.alarms {
			// GRBL answers $H once the cycle is over; a failed cycle
			// raised ALARM:6-9 before its ok.
			c.homed = true
		}
		if s.reply != nil {
			reply, r = s.reply, resp{lines: s.lines, err: err}
		} else {
			ack = &Ack{Tag: s.tag, Line: s.line, Err: err, At: at}
		}
	case Status:
		m.At = at
		c.status = merge(c.status, m)
		msg = c.status
		if m.State != StateAlarm {
			// Reports are ordered after ALARM:N on the wire: the alarm
			// was cleared ($H, $X).
			c.startupLocked, c.alarm = false, nil
		}
		c.pollPending = false
		if c.quarantine {
			switch {
			case c.quietLocked(m) && c.quietOnce:
				c.quarantine, c.quietOnce = false, false
				c.broadcastSpaceLocked()
			case c.quietLocked(m):
				c.quietOnce = true
				c.askStatusLocked()
			default:
				c.quietOnce = false
				if c.opts.PollInterval < 0 {
					// No poller to ask again at its pace.
					c.askStatusLocked()
				}
			}
		}
		close(c.statusCh)
		c.statusCh = make(chan struct{})
	case Banner:
		if c.opened && !c.resetting {
			// The board reset by itself. Lines written after the reset but
			// before this banner reached us are in its RX buffer now: send
			// nothing until two reports in a row show the buffer empty
			// (see quietOnce), and drop the stray replies meanwhile.
			c.quarantine, c.quietOnce = true, false
			c.askStatusLocked()
			// A reset nobody asked for is a power glitch, a USB or DTR
			// reset, $RST or leaving $C: the position is not to be trusted.
			c.alarms++
			c.homed = false
		} else {
			// Our own 0x18 flushed the buffer and nothing was written
			// after it.
			c.quarantine, c.quietOnce = false, false
		}
		c.resetLocked(ErrReset)
		c.banner, c.info.Banner = m, m
		c.banners++
		// An alarm survives the reset (GRBL comes back locked after ALARM:3
		// and its kin); the next non-Alarm report clears it.
		c.startupLocked = false
		// GRBL re-sends WCO and Ov after a reset; G92 and the overrides
		// were cleared by it, so the cached values are stale.
		c.status.WCO, c.status.HasWCO = nil, false
		c.status.Ov, c.status.Acc, c.status.HasOv = Overrides{}, Accessories{}, false
		close(c.bannerCh)
		c.bannerCh = make(chan struct{})
	case *Alarm:
		a := *m
		c.alarm = &a
		c.alarms++
		if !a.KeepsPosition() {
			c.homed = false
		}
	case Setting:
		// Every "$N=value" line, whoever asked for "$$", keeps Settings
		// true (writing one setting can change another: $22=0 clears $20).
		if m.Num >= 0 {
			c.info.Settings[m.Num] = m.Value
		}
	case Feedback:
		switch m.Text {
		case "'$H'|'$X' to unlock":
			c.startupLocked = true
		case "Caution: Unlocked":
			c.alarm, c.startupLocked = nil, false
		}
	}
	switch msg.(type) {
	case OK, *Error, Status, Banner:
	default:
		if h, ok := c.win.head(); ok && h.reply != nil {
			h.lines = append(h.lines, msg)
		}
	}
	failed, c.failed = c.failed, nil
	c.mu.Unlock()

	if c.opts.OnMessage != nil {
		c.opts.OnMessage(msg)
	}
	if reply != nil {
		reply <- r
	}
	for _, f := range failed {
		c.deliver(Ack{Tag: f.s.tag, Line: f.s.line, Err: f.err, At: at})
	}
	if ack != nil {
		c.deliver(*ack)
	}
}

// deliver queues an ack; only when the consumer has let the buffer fill up
// does it wait, and then never past Close.
func (c *Conn) deliver(a Ack) {
	select {
	case c.acks <- a:
		return
	default:
	}
	select {
	case c.acks <- a:
	case <-c.stop:
	}
}

// linkDown fails everything outstanding and closes Done and Acks.
func (c *Conn) linkDown(rerr error) {
	at := c.now()
	c.mu.Lock()
	if c.closing {
		c.err = ErrClosed
	} else {
		cause := rerr
		if c.writeErr != nil {
			cause = c.writeErr
		}
		c.err = fmt.Errorf("%w: %w", ErrDisconnected, cause)
	}
	linkErr := c.err
	c.resetLocked(linkErr)
	failed := c.failed
	c.failed = nil
	c.mu.Unlock()
	c.log.Debug("link down", logKeyErr, linkErr)
	close(c.done)
	for _, f := range failed {
		c.deliver(Ack{Tag: f.s.tag, Line: f.s.line, Err: f.err, At: at})
	}
	close(c.acks)
}

// counters count a connection's traffic; atomic, so Counters never waits
// for the reader or the writer.
type counters struct {
	bytesWritten, bytesRead, linesWritten, linesRead, errors, alarms atomic.Uint64
}

// Counters are a connection's serial traffic and the board's complaints
// since it was opened (they start at 0 with every new Conn, so a
// reconnect resets them, as a Prometheus counter may).
type Counters struct {
	// BytesWritten counts bytes written to the port: lines and real-time
	// bytes.
	BytesWritten uint64
	// BytesRead counts bytes read from the port.
	BytesRead uint64
	// LinesWritten counts lines (not real-time bytes) written.
	LinesWritten uint64
	// LinesRead counts lines received: replies, reports, messages.
	LinesRead uint64
	// Errors counts error:N replies.
	Errors uint64
	// Alarms counts ALARM:N messages.
	Alarms uint64
}

// Counters returns the connection's counters.
func (c *Conn) Counters() Counters {
	return Counters{
		BytesWritten: c.counts.bytesWritten.Load(),
		BytesRead:    c.counts.bytesRead.Load(),
		LinesWritten: c.counts.linesWritten.Load(),
		LinesRead:    c.counts.linesRead.Load(),
		Errors:       c.counts.errors.Load(),
		Alarms:       c.counts.alarms.Load(),
	}
}
