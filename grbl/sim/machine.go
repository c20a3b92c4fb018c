package sim

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"
)

// Machine is a simulated GRBL 1.1h board with its machine attached. Create it
// with New, talk to it through the endpoint Connect returns, and Close it to
// stop its goroutine.
type Machine struct {
	opts  Options
	speed float64
	start time.Time

	mu       sync.Mutex // guards everything below; held only briefly, never while blocking
	b        *board
	ep       *endpoint // current host endpoint, nil when none is connected
	unplug   bool
	closed   bool
	subs     []chan SpindleState
	plugSubs []chan bool

	wakeAt time.Duration // machine time the board goroutine sleeps until (guarded by mu)

	wake chan struct{} // nudges the board goroutine (cap 1)
	done chan struct{}
	wg   sync.WaitGroup
}

// New validates opts, powers the board up (it prints its banner when a host
// connects) and starts the board goroutine.
func New(opts Options) (*Machine, error) {
	if opts.Speed < 0 || math.IsNaN(opts.Speed) || math.IsInf(opts.Speed, 0) {
		return nil, fmt.Errorf("sim options: speed %v: must be a positive factor", opts.Speed)
	}
	if opts.Baud == 0 {
		opts.Baud = 115200
	}
	if opts.Baud < 300 {
		return nil, fmt.Errorf("sim options: baud %d: too low", opts.Baud)
	}
	if opts.LineProcessing == 0 {
		opts.LineProcessing = 4 * time.Millisecond
	} else if opts.LineProcessing < 0 {
		opts.LineProcessing = 0
	}
	if opts.BootDelay < 0 {
		return nil, fmt.Errorf("sim options: boot delay %v: negative", opts.BootDelay)
	}
	st, err := newSettings(opts.Profile, opts.Settings)
	if err != nil {
		return nil, fmt.Errorf("sim options: %w", err)
	}
	for i, f := range opts.Faults {
		if _, err := ParseFault(f.String()); err != nil {
			return nil, fmt.Errorf("sim options: fault %d: %w", i, err)
		}
	}
	speed := opts.Speed
	if speed == 0 {
		speed = 1
	}
	m := &Machine{
		opts:  opts,
		speed: speed,
		start: time.Now(),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	m.b = newBoard(m, st)
	m.wg.Add(1)
	go m.run()
	return m, nil
}

// now is the machine's clock: time since New, scaled by Speed.
func (m *Machine) now() time.Duration {
	return time.Duration(float64(time.Since(m.start)) * m.speed)
}

// real converts a machine-time span into wall (or synctest) time.
func (m *Machine) real(d time.Duration) time.Duration {
	r := time.Duration(float64(d) / m.speed)
	if r <= 0 && d > 0 {
		r = 1
	}
	return r
}

func (m *Machine) nudge() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run is the board: it processes every event that is due, then sleeps until
// the next one or until the host writes.
func (m *Machine) run() {
	defer m.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		now := m.now()
		m.b.advance(now)
		next, ok := m.b.nextEvent(now)
		wait := time.Duration(math.MaxInt64)
		m.wakeAt = time.Duration(math.MaxInt64)
		if ok {
			wait = m.real(next - now)
			m.wakeAt = next
			if next <= now {
				// Everything due has been processed; an event still in the
				// past can make no progress on its own. Never spin on it.
				wait = time.Millisecond
				m.wakeAt = now + time.Duration(float64(wait)*m.speed)
			}
		}
		m.mu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if wait < time.Duration(math.MaxInt64) {
			timer.Reset(wait)
		}
		select {
		case <-m.done:
			return
		case <-m.wake:
		case <-timer.C:
		}
	}
}

// Connect plugs a host in: it returns the host end of the serial link. Like
// opening an Arduino's port, it resets the board (DTR), which boots and
// prints its banner after Options.BootDelay. A previous endpoint is closed
// (its reads return io.EOF). Connect fails while the cable is unplugged.
func (m *Machine) Connect() (io.ReadWriteCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if m.unplug {
		return nil, ErrUnplugged
	}
	if m.ep != nil {
		m.ep.closeLocked(io.EOF)
	}
	ep := &endpoint{m: m, notify: make(chan struct{}, 1)}
	m.ep = ep
	now := m.now()
	m.b.advance(now)
	m.b.txWire.clear() // the host flushes the port when it opens it
	m.b.rxWire.clear() // and a previous host's unsent bytes die with its port
	m.b.hardReset(now)
	m.nudge()
	return ep, nil
}

// Close stops the board goroutine and waits for it; endpoint reads then
// return ErrClosed. Close is idempotent.
func (m *Machine) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	if m.ep != nil {
		m.ep.closeLocked(ErrClosed)
		m.ep = nil
	}
	for _, c := range m.subs {
		close(c)
	}
	m.subs = nil
	for _, c := range m.plugSubs {
		close(c)
	}
	m.plugSubs = nil
	m.mu.Unlock()
	close(m.done)
	m.wg.Wait()
	return nil
}

// Unplug pulls the USB cable: the host endpoint's reads fail with
// ErrUnplugged and its writes fail; bytes on the wire are lost. The board
// keeps running on its own power.
func (m *Machine) Unplug() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unplugLocked()
}

func (m *Machine) unplugLocked() {
	if m.unplug || m.closed {
		return
	}
	m.unplug = true
	if m.ep != nil {
		// What already crossed the wire sits in the host's tty buffer.
		m.ep.rd = m.b.txWire.take(m.now(), m.ep.rd)
		m.ep.closeLocked(ErrUnplugged)
		m.ep = nil
	}
	m.b.rxWire.clear()
	m.b.txWire.clear()
	m.notifyPlug(false)
}

// Replug puts the cable back. The host must Connect again (re-open the
// port), which resets the board as a real Arduino does.
func (m *Machine) Replug() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.unplug || m.closed {
		return
	}
	m.unplug = false
	m.notifyPlug(true)
}

func (m *Machine) notifyPlug(in bool) {
	for _, c := range m.plugSubs {
		select {
		case c <- in:
		default:
		}
	}
}

// plugEvents returns a channel that receives false on unplug and true on
// replug (buffered; closed by Close). ServePTY uses it.
func (m *Machine) plugEvents() <-chan bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(chan bool, 4)
	if m.closed {
		close(c)
		return c
	}
	m.plugSubs = append(m.plugSubs, c)
	return c
}

// Stats returns a snapshot of the counters.
func (m *Machine) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b.advance(m.now())
	return m.b.stats.snapshot(m.b)
}

// Spindle returns the spindle output as a relay or a sense input would see it.
func (m *Machine) Spindle() SpindleState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.pin
}

// Coolant reports whether the flood coolant output is on.
func (m *Machine) Coolant() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.flood
}

// SpindleChanges returns a new channel that receives the spindle output
// every time it changes. Each call makes its own subscription with a buffer
// of 64; when a subscriber falls that far behind, the oldest change is
// dropped so the newest always arrives. Channels are closed by Close.
func (m *Machine) SpindleChanges() <-chan SpindleState {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := make(chan SpindleState, 64)
	if m.closed {
		close(c)
		return c
	}
	m.subs = append(m.subs, c)
	return c
}

func (m *Machine) publishSpindle(s SpindleState) {
	for _, c := range m.subs {
		for {
			select {
			case c <- s:
			default:
				select {
				case <-c:
				default:
				}
				continue
			}
			break
		}
	}
}

// deliver is called by the board after queuing output, to wake the reader.
func (m *Machine) deliver() {
	if m.ep != nil {
		m.ep.signal()
	}
}

// usbPacket is the payload of a full-speed USB bulk packet: the host is
// woken once per packet (or at the end of a burst), as with a CH340 or an
// Uno's 16U2, rather than once per byte.
const usbPacket = 32

// endpoint is the host end of the link. Writes never block (like a kernel
// tty buffer): the bytes go on the wire and reach the board at line rate.
// Reads block on channels until bytes have crossed the wire, so an
// endpoint works inside a testing/synctest bubble.
type endpoint struct {
	m      *Machine
	notify chan struct{}
	err    error // set once closed/unplugged; guarded by m.mu
	rd     []byte
}

func (e *endpoint) signal() {
	select {
	case e.notify <- struct{}{}:
	default:
	}
}

func (e *endpoint) closeLocked(err error) {
	if e.err == nil {
		e.err = err
		e.signal()
	}
}

// Read returns bytes that have arrived from the board, blocking until some have.
func (e *endpoint) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	m := e.m
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		if len(e.rd) == 0 && e.err == nil {
			e.rd = m.b.txWire.take(m.now(), e.rd)
		}
		if len(e.rd) > 0 {
			n := copy(p, e.rd)
			e.rd = e.rd[n:]
			if len(e.rd) == 0 {
				e.rd = nil
			}
			m.mu.Unlock()
			return n, nil
		}
		if e.err != nil {
			err := e.err
			m.mu.Unlock()
			return 0, err
		}
		at, ok := m.b.txWire.packetAt(usbPacket)
		wait := time.Hour
		if ok {
			wait = m.real(at - m.now())
		}
		m.mu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-e.notify:
		case <-timer.C:
		}
	}
}

// Write puts p on the wire toward the board. It never blocks.
func (e *endpoint) Write(p []byte) (int, error) {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.err != nil {
		return 0, fmt.Errorf("sim write: %w", e.err)
	}
	now := m.now()
	m.b.advance(now)
	m.b.rxWire.send(now, p)
	// Wake the board only if these bytes bring its next event forward.
	if next, ok := m.b.nextEvent(now); ok && next < m.wakeAt {
		m.nudge()
	}
	return len(p), nil
}

// Close disconnects this endpoint (the port is closed); the board keeps
// running. Further reads return ErrClosed.
func (e *endpoint) Close() error {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.err == nil {
		e.err = ErrClosed
		e.signal()
	}
	if m.ep == e {
		m.ep = nil
		m.b.rxWire.clear()
	}
	return nil
}
