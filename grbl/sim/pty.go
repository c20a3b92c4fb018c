//go:build linux

package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ServePTY exposes m on a pseudo-terminal at path: it is PTY.Serve with
// no Ready callback.
func ServePTY(ctx context.Context, path string, m *Machine) error {
	return (&PTY{Path: path, Machine: m}).Serve(ctx)
}

// PTY exposes a Machine on a pseudo-terminal, for any serial program. Set
// the fields, then call Serve.
type PTY struct {
	// Path is where the symlink to the slave device (/dev/pts/N) goes. It
	// must not exist unless it is a symlink (a stale one from an earlier
	// run is replaced).
	Path string
	// Machine is the board behind the port.
	Machine *Machine
	// Ready, when set, is called with the slave device's name each time
	// the symlink has been made (at start, and again after every replug),
	// before any host can have opened it through Path: from then on a host
	// may open Path. It runs on Serve's goroutine and must not block.
	Ready func(device string)
}

// Serve makes the pseudo-terminal and the symlink to it and relays bytes
// between the slave and the board until ctx is cancelled or the Machine is
// closed, then removes the symlink.
//
// Each time a host opens the port the board resets and prints its banner,
// as an Arduino does on DTR; a host may close and re-open the port at will.
// While the Machine is unplugged the pseudo-terminal is gone (the host's
// reads fail and Path disappears); on replug a new one is made behind the
// same path.
//
// Serve returns nil when ctx is cancelled or the Machine closed, or an
// error if the pseudo-terminal or the symlink cannot be made.
func (p *PTY) Serve(ctx context.Context) error {
	if p.Machine == nil || p.Path == "" {
		return errors.New("sim: pty: Path and Machine are required")
	}
	m := p.Machine
	plug := m.plugEvents()
	for {
		if err := p.serveOnce(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		// Unplugged: wait for the cable to come back.
		for in := false; !in; {
			select {
			case <-ctx.Done():
				return nil
			case <-m.done:
				return nil
			case v, ok := <-plug:
				if !ok {
					return nil
				}
				in = v
			}
		}
	}
}

// serveOnce runs one pseudo-terminal until ctx ends (nil) or the machine
// is unplugged (nil, ctx still live).
func (p *PTY) serveOnce(ctx context.Context) error {
	path, m := p.Path, p.Machine
	master, slave, err := openPTY()
	if err != nil {
		return err
	}
	defer master.Close()
	opens, stop, err := watchOpens(slave)
	if err != nil {
		return err
	}
	defer stop()
	if err := linkSlave(slave, path); err != nil {
		return err
	}
	defer os.Remove(path)
	if p.Ready != nil {
		p.Ready(slave)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.done: // the machine was closed
			return nil
		case <-opens:
		}
		for again := true; again; {
			ep, err := m.Connect() // DTR reset: banner
			switch {
			case errors.Is(err, ErrUnplugged), errors.Is(err, ErrClosed):
				return nil
			case err != nil:
				return fmt.Errorf("pty %s: connect: %w", path, err)
			}
			why := relay(ctx, master, ep, opens)
			ep.Close()
			switch why {
			case endCtx, endUnplugged:
				return nil
			case endReopened:
				again = true
			default:
				again = false
			}
		}
	}
}

type relayEnd int

const (
	endHostClosed relayEnd = iota
	endReopened
	endUnplugged
	endCtx
)

// relay copies bytes both ways until the host closes the slave, opens it
// again, the machine goes away, or ctx ends; it says which. Both copying
// goroutines finish before it returns.
func relay(ctx context.Context, master *os.File, ep io.ReadWriteCloser, opens <-chan struct{}) (why relayEnd) {
	var wg sync.WaitGroup
	hostGone := make(chan struct{})
	boardGone := make(chan error, 1)
	wg.Add(2)
	go func() { // host → board
		defer wg.Done()
		defer close(hostGone)
		buf := make([]byte, 512)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				if _, werr := ep.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return // EIO: no process has the port open; or our deadline
			}
		}
	}()
	go func() { // board → host
		defer wg.Done()
		buf := make([]byte, 512)
		for {
			n, err := ep.Read(buf)
			if n > 0 {
				if _, werr := master.Write(buf[:n]); werr != nil {
					boardGone <- werr
					return
				}
			}
			if err != nil {
				boardGone <- err
				return
			}
		}
	}()
	select {
	case <-ctx.Done():
		why = endCtx
	case <-hostGone:
		why = endHostClosed
	case <-opens:
		why = endReopened
	case err := <-boardGone:
		why = endHostClosed
		if errors.Is(err, ErrUnplugged) {
			why = endUnplugged
		}
	}
	ep.Close()                          // ends the board → host copy…
	master.SetDeadline(time.Unix(1, 0)) // …even if a host that stopped reading blocks its write; ends host → board
	wg.Wait()
	master.SetDeadline(time.Time{})
	return why
}

// watchOpens reports every open(2) of the slave device (inotify IN_OPEN),
// coalesced into a channel of capacity 1. stop ends the watching goroutine
// and waits for it.
func watchOpens(slave string) (<-chan struct{}, func(), error) {
	ifd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(ifd, slave, unix.IN_OPEN); err != nil {
		unix.Close(ifd)
		return nil, nil, fmt.Errorf("inotify watch %s: %w", slave, err)
	}
	f := os.NewFile(uintptr(ifd), "inotify")
	opens := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				mask := binary.NativeEndian.Uint32(buf[off+4:])
				nameLen := binary.NativeEndian.Uint32(buf[off+12:])
				if mask&unix.IN_OPEN != 0 {
					select {
					case opens <- struct{}{}:
					default:
					}
				}
				off += unix.SizeofInotifyEvent + int(nameLen)
			}
		}
	}()
	stop := func() {
		f.Close()
		<-done
	}
	return opens, stop, nil
}

// openPTY opens /dev/ptmx, unlocks the slave, finds its name and puts it
// in raw mode. The master is non-blocking, so its reads use the runtime
// poller and Close or a deadline unblocks them.
func openPTY() (*os.File, string, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, "", fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("ptsname: %w", err)
	}
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("tcgetattr: %w", err)
	}
	makeRaw(tio)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("tcsetattr raw: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), fmt.Sprintf("/dev/pts/%d", n), nil
}

// makeRaw is cfmakeraw: 8 bits, no echo, no line editing, no translation.
func makeRaw(t *unix.Termios) {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}

func linkSlave(slave, path string) error {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("pty link %s: exists and is not a symlink; refusing to replace it", path)
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("pty link %s: remove stale symlink: %w", path, err)
		}
	}
	if err := os.Symlink(slave, path); err != nil {
		return fmt.Errorf("pty link %s -> %s: %w", path, slave, err)
	}
	return nil
}
