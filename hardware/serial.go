package hardware

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// Serial port errors; match them with errors.Is.
var (
	ErrNoSuchPort  = errors.New("no such port")
	ErrPortBusy    = errors.New("port busy")
	ErrPermission  = errors.New("permission denied")
	ErrPortClosed  = errors.New("serial port closed")
	ErrDeviceGone  = errors.New("serial device disconnected (unplugged or powered off?)")
	ErrInvalidBaud = errors.New("invalid baud rate")
)

// SerialPort is an open serial port: blocking reads, idempotent Close.
type SerialPort struct {
	path string
	port serial.Port

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ io.ReadWriteCloser = (*SerialPort)(nil)

// OpenSerial opens the serial port at path with baud, 8N1, no flow control
// and no read timeout. It raises DTR and RTS where the device has modem
// lines (opening already resets an Arduino); on a pseudo-terminal, which
// has none, that step is skipped. Errors match ErrNoSuchPort, ErrPortBusy or
// ErrPermission and say what to do.
func OpenSerial(path string, baud int) (*SerialPort, error) {
	if baud <= 0 {
		return nil, fmt.Errorf("open %s: %w %d", path, ErrInvalidBaud, baud)
	}
	mode := &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, openError(path, err)
	}
	// A pty has no modem lines: these fail there and do not matter.
	_ = p.SetDTR(true)
	_ = p.SetRTS(true)
	return &SerialPort{path: path, port: p}, nil
}

// openError turns go-serial's open errors into kerf's, with a hint.
func openError(path string, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PortNotFound:
			return noSuchPort(path, err)
		case serial.PortBusy:
			return fmt.Errorf("%w: %s is open in another program (a sender, a serial monitor, ModemManager?): %v", ErrPortBusy, path, err)
		case serial.PermissionDenied:
			return permissionDenied(path, err)
		case serial.InvalidSpeed:
			return fmt.Errorf("open %s: %w: %v", path, ErrInvalidBaud, err)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV):
		return noSuchPort(path, err)
	case errors.Is(err, syscall.EBUSY):
		return fmt.Errorf("%w: %s is open in another program: %v", ErrPortBusy, path, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return permissionDenied(path, err)
	}
	return fmt.Errorf("open serial port %s: %w", path, err)
}

func noSuchPort(path string, err error) error {
	return fmt.Errorf("%w %s (is the board plugged in? try `kerf ports`): %v", ErrNoSuchPort, path, err)
}

func permissionDenied(path string, err error) error {
	return fmt.Errorf("%w opening %s (add your user to the dialout group: `sudo usermod -aG dialout $USER`, then log in again): %v", ErrPermission, path, err)
}

// Path returns the device path the port was opened with.
func (p *SerialPort) Path() string { return p.path }

// Read reads bytes as they arrive, blocking until at least one does. After
// Close it returns an error matching ErrPortClosed; when the device goes
// away, one matching ErrDeviceGone.
func (p *SerialPort) Read(b []byte) (int, error) {
	n, err := p.port.Read(b)
	if err != nil {
		return n, p.ioError("read", err)
	}
	return n, nil
}

// Write writes b to the port.
func (p *SerialPort) Write(b []byte) (int, error) {
	n, err := p.port.Write(b)
	if err != nil {
		return n, p.ioError("write", err)
	}
	return n, nil
}

func (p *SerialPort) ioError(op string, err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		// go-serial reports both our Close and a vanished device this way.
		if p.closed.Load() {
			return fmt.Errorf("%s %s: %w", op, p.path, ErrPortClosed)
		}
		return fmt.Errorf("%s %s: %w", op, p.path, ErrDeviceGone)
	}
	if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV) {
		return fmt.Errorf("%s %s: %w: %v", op, p.path, ErrDeviceGone, err)
	}
	return fmt.Errorf("%s %s: %w", op, p.path, err)
}

// Close closes the port, unblocking a blocked Read. It is idempotent.
func (p *SerialPort) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if err := p.port.Close(); err != nil {
			p.closeErr = fmt.Errorf("close %s: %w", p.path, err)
		}
	})
	return p.closeErr
}

// PortInfo describes one serial port found by ListPorts.
type PortInfo struct {
	Path         string `json:"path"`
	IsUSB        bool   `json:"usb"`
	VID          string `json:"vid,omitempty"` // lower-case hex, e.g. "1a86"
	PID          string `json:"pid,omitempty"`
	SerialNumber string `json:"serial,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	// Board names the USB-serial chip and the machine it usually sits on
	// when the VID:PID is one kerf knows; empty otherwise.
	Board string `json:"board,omitempty"`
	// LikelyGRBL marks ports whose USB identity matches a board that
	// usually runs GRBL (CH340, Arduino Uno, FTDI FT232R).
	LikelyGRBL bool `json:"likely_grbl"`
}

type knownBoard struct {
	vid, pid, name string
}

// knownBoards are the USB-serial identities of the GRBL boards kerf targets.
var knownBoards = []knownBoard{
	{"1a86", "7523", "CH340 USB-serial (SainSmart 3018 and similar)"},
	{"2341", "0043", "Arduino Uno (Sienci LongMill)"},
	{"2341", "0001", "Arduino Uno (Sienci LongMill)"},
	{"0403", "6001", "FTDI FT232R USB-serial (Sienci LongMill)"},
}

// IdentifyBoard returns the board kerf associates with a USB VID:PID
// (case-insensitive hex) and whether it likely runs GRBL.
func IdentifyBoard(vid, pid string) (string, bool) {
	for _, b := range knownBoards {
		if strings.EqualFold(vid, b.vid) && strings.EqualFold(pid, b.pid) {
			return b.name, true
		}
	}
	return "", false
}

// ListPorts lists the serial ports of this machine, sorted by path, with
// USB identity where available.
func ListPorts() ([]PortInfo, error) {
	details, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	out := make([]PortInfo, 0, len(details))
	for _, d := range details {
		out = append(out, portInfo(d))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func portInfo(d *enumerator.PortDetails) PortInfo {
	pi := PortInfo{
		Path: d.Name, IsUSB: d.IsUSB,
		VID: strings.ToLower(d.VID), PID: strings.ToLower(d.PID),
		SerialNumber: d.SerialNumber, Manufacturer: d.Manufacturer, Product: d.Product,
	}
	if d.IsUSB {
		pi.Board, pi.LikelyGRBL = IdentifyBoard(pi.VID, pi.PID)
	}
	return pi
}
