package grbltest

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// DefaultBanner is GRBL 1.1h's start-up line.
const DefaultBanner = "Grbl 1.1h ['$' for help]"

// ResetHere, as a reply from Respond, resets the fake at that point.
const ResetHere = "\x18reset"

// Fake is a scripted GRBL board. Set the configuration fields, then call
// Start; they must not be changed afterwards.
type Fake struct {
	// RXSize is the receive buffer in bytes (default 128). Bytes that
	// arrive when it is full are dropped and counted as overflow.
	RXSize int
	// Greeting is written verbatim when the fake starts (default: a blank
	// line and the banner, as a freshly reset board prints). Set Silent to
	// send nothing.
	Greeting string
	// Silent: send no greeting at start (a board that does not reset when
	// the port opens).
	Silent bool
	// Mute: never answer anything, not even a soft reset (not a GRBL
	// board). The Greeting is still sent unless Silent.
	Mute bool
	// Banner is printed after a soft reset (default DefaultBanner).
	Banner string
	// Version and Options are the $I answer (defaults "1.1h.20190830:" and
	// "V,15,128").
	Version, Options string
	// Settings are the $$ values (default: a few of GRBL's, $10=1).
	Settings map[int]string
	// StartInAlarm makes the board start locked, as with homing enabled:
	// the greeting is followed by "[MSG:'$H'|'$X' to unlock]".
	StartInAlarm bool
	// Respond, when set, is asked first for the replies to each line; a nil
	// result falls back to the default behaviour. Replies are written in
	// order, each followed by "\r\n"; the reply ResetHere instead resets
	// the board at that point (RX buffer emptied, banner printed), so that
	// the replies after it arrive after the banner. Respond gets the state
	// of the fake with the line already taken out of the RX buffer. It runs
	// with the fake locked: it must not call the Fake's methods.
	Respond func(line string, s Snapshot) []string

	pipe net.Conn
	wg   sync.WaitGroup
	stop chan struct{}

	mu         sync.Mutex
	rx         []byte
	held       bool
	state      string
	lines      []string
	realtime   []byte
	overflow   int
	maxRX      int
	reports    int
	out        [][]byte
	outWake    chan struct{}
	procWake   chan struct{}
	changed    chan struct{}
	closed     bool
	noStatus   bool
	allow      int
	sendWCO    bool
	settingsMu map[int]string
}

// Snapshot is what the fake has seen so far.
type Snapshot struct {
	Lines     []string // complete lines taken from the RX buffer, in order
	Realtime  []byte   // real-time bytes received, in order
	Overflow  int      // bytes dropped because the RX buffer was full
	MaxRXUsed int      // the most bytes ever waiting in the RX buffer
	RXUsed    int      // bytes waiting now
	State     string
}

// New returns a Fake with GRBL 1.1h defaults.
func New() *Fake {
	return &Fake{
		RXSize:  128,
		Banner:  DefaultBanner,
		Version: "1.1h.20190830:",
		Options: "V,15,128",
		Settings: map[int]string{
			0: "10", 1: "25", 10: "1", 11: "0.010", 13: "0", 20: "0", 22: "0",
			110: "500.000", 111: "500.000", 112: "500.000", 130: "200.000",
		},
	}
}

// Start connects the fake to one end of a net.Pipe and returns the other
// end for the code under test.
func (f *Fake) Start() io.ReadWriteCloser {
	host, dev := net.Pipe()
	f.pipe = dev
	f.stop = make(chan struct{})
	f.outWake = make(chan struct{}, 1)
	f.procWake = make(chan struct{}, 1)
	f.changed = make(chan struct{})
	f.state = "Idle"
	f.sendWCO = true
	f.settingsMu = make(map[int]string, len(f.Settings))
	for k, v := range f.Settings {
		f.settingsMu[k] = v
	}
	if f.RXSize <= 0 {
		f.RXSize = 128
	}
	if f.Banner == "" {
		f.Banner = DefaultBanner
	}
	if !f.Silent {
		g := f.Greeting
		if g == "" {
			g = "\r\n" + f.Banner + "\r\n"
		}
		if f.StartInAlarm {
			g += "[MSG:'$H'|'$X' to unlock]\r\n"
		}
		f.out = append(f.out, []byte(g))
		f.outWake <- struct{}{}
	}
	if f.StartInAlarm {
		f.state = "Alarm"
	}
	f.wg.Add(3)
	go f.receive()
	go f.process()
	go f.transmit()
	return host
}

// Close disconnects and stops the fake's goroutines, waiting for them.
func (f *Fake) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	close(f.stop)
	err := f.pipe.Close()
	f.wg.Wait()
	return err
}

// Unplug drops the link as a pulled USB cable does: the host sees EOF.
func (f *Fake) Unplug() { _ = f.pipe.Close() }

// Hold stops the fake from taking lines out of its RX buffer (no oks), as a
// board with a full planner does. Real-time bytes are still handled.
func (f *Fake) Hold() {
	f.mu.Lock()
	f.held, f.allow = true, 0
	f.mu.Unlock()
}

// IgnoreStatus makes the fake stop (true) or resume (false) answering '?',
// as GRBL does during homing or a limit lock-up.
func (f *Fake) IgnoreStatus(ignore bool) {
	f.mu.Lock()
	f.noStatus = ignore
	f.mu.Unlock()
}

// SetState sets the state word of later status reports, e.g. "Run",
// "Hold:0", "Alarm".
func (f *Fake) SetState(state string) {
	f.mu.Lock()
	f.state = state
	f.mu.Unlock()
}

// Allow lets a held fake answer n more lines, then hold again.
func (f *Fake) Allow(n int) {
	f.mu.Lock()
	f.allow += n
	f.mu.Unlock()
	f.poke(f.procWake)
}

// Release undoes Hold.
func (f *Fake) Release() {
	f.mu.Lock()
	f.held, f.allow = false, 0
	f.mu.Unlock()
	f.poke(f.procWake)
}

// Reset simulates a spontaneous reset (brown-out, watchdog): the RX buffer
// is emptied and the banner is printed; pending lines get no reply.
func (f *Fake) Reset() {
	f.mu.Lock()
	f.resetLocked()
	f.mu.Unlock()
}

// Push writes line (plus "\r\n") to the host, e.g. "ALARM:1".
func (f *Fake) Push(line string) {
	f.mu.Lock()
	if strings.HasPrefix(line, "ALARM:") {
		f.state = "Alarm"
	}
	f.emitLocked(line)
	f.mu.Unlock()
}

// Snapshot returns a copy of what the fake has recorded.
func (f *Fake) Snapshot() Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snapshotLocked()
}

func (f *Fake) snapshotLocked() Snapshot {
	return Snapshot{
		Lines:     append([]string(nil), f.lines...),
		Realtime:  append([]byte(nil), f.realtime...),
		Overflow:  f.overflow,
		MaxRXUsed: f.maxRX,
		RXUsed:    len(f.rx),
		State:     f.state,
	}
}

// Setting returns the current value of $n as the fake stores it.
func (f *Fake) Setting(n int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settingsMu[n]
}

// Wait blocks until cond holds for the fake's recorded state or ctx ends.
func (f *Fake) Wait(ctx context.Context, cond func(Snapshot) bool) (Snapshot, error) {
	for {
		f.mu.Lock()
		s, ch := f.snapshotLocked(), f.changed
		f.mu.Unlock()
		if cond(s) {
			return s, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s, fmt.Errorf("grbltest: waiting for condition: %w (state now: %d lines, realtime %q, overflow %d)",
				ctx.Err(), len(s.Lines), s.Realtime, s.Overflow)
		}
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *Fake) poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (f *Fake) emitLocked(lines ...string) {
	if f.Mute {
		return
	}
	for _, l := range lines {
		f.out = append(f.out, []byte(l+"\r\n"))
	}
	f.poke(f.outWake)
}

func (f *Fake) resetLocked() {
	f.rx = f.rx[:0]
	if f.state != "Alarm" {
		f.state = "Idle"
	}
	f.sendWCO = true
	f.emitLocked("", f.Banner)
	f.notifyLocked()
}

// receive plays GRBL's serial receive interrupt.
func (f *Fake) receive() {
	defer f.wg.Done()
	buf := make([]byte, 256)
	for {
		n, err := f.pipe.Read(buf)
		f.mu.Lock()
		for _, b := range buf[:n] {
			f.receiveByteLocked(b)
		}
		if n > 0 {
			f.notifyLocked()
		}
		f.mu.Unlock()
		if n > 0 {
			f.poke(f.procWake)
		}
		if err != nil {
			return
		}
	}
}

func (f *Fake) receiveByteLocked(b byte) {
	switch {
	case b == '?':
		f.realtime = append(f.realtime, b)
		if !f.noStatus {
			f.emitLocked(f.statusLocked())
		}
	case b == 0x18:
		f.realtime = append(f.realtime, b)
		f.resetLocked()
	case b == '!' || b == '~' || b >= 0x80:
		f.realtime = append(f.realtime, b)
	default:
		if len(f.rx) >= f.RXSize {
			f.overflow++
			return
		}
		f.rx = append(f.rx, b)
		f.maxRX = max(f.maxRX, len(f.rx))
	}
}

func (f *Fake) statusLocked() string {
	mask, _ := strconv.Atoi(f.settingsMu[10])
	var b strings.Builder
	b.WriteString("<" + f.state)
	if mask&1 != 0 {
		b.WriteString("|MPos:0.000,0.000,0.000")
	} else {
		b.WriteString("|WPos:0.000,0.000,0.000")
	}
	if mask&2 != 0 {
		fmt.Fprintf(&b, "|Bf:15,%d", f.RXSize-len(f.rx))
	}
	b.WriteString("|FS:0,0")
	if f.sendWCO {
		b.WriteString("|WCO:0.000,0.000,0.000")
		f.sendWCO = false
	}
	b.WriteString(">")
	f.reports++
	return b.String()
}

// process plays GRBL's main loop: take a complete line, answer it.
func (f *Fake) process() {
	defer f.wg.Done()
	for {
		select {
		case <-f.procWake:
		case <-f.stop:
			return
		}
		f.mu.Lock()
		for !f.held || f.allow > 0 {
			i := -1
			for j, b := range f.rx {
				if b == '\n' || b == '\r' {
					i = j
					break
				}
			}
			if i < 0 {
				break
			}
			if f.held {
				f.allow--
			}
			line := string(f.rx[:i])
			f.rx = append(f.rx[:0], f.rx[i+1:]...)
			f.lines = append(f.lines, line)
			for _, r := range f.replyLocked(line) {
				if r == ResetHere {
					f.resetLocked()
					continue
				}
				f.emitLocked(r)
			}
			f.notifyLocked()
		}
		f.mu.Unlock()
	}
}

func (f *Fake) replyLocked(line string) []string {
	if f.Respond != nil {
		if r := f.Respond(line, f.snapshotLocked()); r != nil {
			return r
		}
	}
	switch {
	case line == "$I":
		return []string{"[VER:" + f.Version + "]", "[OPT:" + f.Options + "]", "ok"}
	case line == "$$":
		keys := make([]int, 0, len(f.settingsMu))
		for k := range f.settingsMu {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		out := make([]string, 0, len(keys)+1)
		for _, k := range keys {
			out = append(out, "$"+strconv.Itoa(k)+"="+f.settingsMu[k])
		}
		return append(out, "ok")
	case line == "$G":
		return []string{"[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]", "ok"}
	case line == "$#":
		return []string{
			"[G54:0.000,0.000,0.000]", "[G55:0.000,0.000,0.000]", "[G56:0.000,0.000,0.000]",
			"[G57:0.000,0.000,0.000]", "[G58:0.000,0.000,0.000]", "[G59:0.000,0.000,0.000]",
			"[G28:0.000,0.000,0.000]", "[G30:0.000,0.000,0.000]", "[G92:0.000,0.000,0.000]",
			"[TLO:0.000]", "[PRB:0.000,0.000,0.000:0]", "ok",
		}
	case line == "$X":
		if f.state == "Alarm" {
			f.state = "Idle"
			return []string{"[MSG:Caution: Unlocked]", "ok"}
		}
		return []string{"ok"}
	case line == "$H":
		f.state = "Idle"
		return []string{"ok"}
	case strings.HasPrefix(line, "$") && strings.Contains(line, "="):
		k, v, _ := strings.Cut(line[1:], "=")
		n, err := strconv.Atoi(k)
		if err != nil {
			return []string{"error:3"}
		}
		f.settingsMu[n] = v
		return []string{"ok"}
	case f.state == "Alarm" && !strings.HasPrefix(line, "$") && line != "":
		return []string{"error:9"}
	}
	return []string{"ok"}
}

// transmit plays GRBL's serial transmit side.
func (f *Fake) transmit() {
	defer f.wg.Done()
	for {
		select {
		case <-f.outWake:
		case <-f.stop:
			return
		}
		f.mu.Lock()
		out := f.out
		f.out = nil
		f.mu.Unlock()
		for _, b := range out {
			if _, err := f.pipe.Write(b); err != nil {
				return // unplugged or closed: the host sees it on its side
			}
		}
	}
}
