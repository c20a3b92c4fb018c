package hardware

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial/enumerator"
	"golang.org/x/sys/unix"
)

// openPTY creates a pseudo-terminal in-process and returns its master and
// the path of its slave.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("ptsname: %v", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

// readResult is what a background Read returned.
type readResult struct {
	data string
	err  error
}

func readAsync(r io.Reader) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		buf := make([]byte, 64)
		n, err := r.Read(buf)
		ch <- readResult{string(buf[:n]), err}
	}()
	return ch
}

// await bounds a wait that normally takes microseconds.
func await(t *testing.T, ch <-chan readResult, what string) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Read did not return", what)
		return readResult{}
	}
}

func TestOpenSerialPTY(t *testing.T) {
	master, slave := openPTY(t)
	port, err := OpenSerial(slave, 115200)
	if err != nil {
		t.Fatalf("OpenSerial(%s): %v (DTR/RTS failures on a pty must not be fatal)", slave, err)
	}
	defer port.Close()

	// host -> board
	if _, err := port.Write([]byte("G0X1\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(master, got); err != nil || string(got) != "G0X1\n" {
		t.Fatalf("master read %q, %v; want %q (raw mode, no translation)", got, err, "G0X1\n")
	}
	// board -> host
	if _, err := master.Write([]byte("ok\r\n")); err != nil {
		t.Fatal(err)
	}
	var all string
	for len(all) < 4 {
		r := await(t, readAsync(port), "reading from the board")
		if r.err != nil {
			t.Fatalf("Read: %v", r.err)
		}
		all += r.data
	}
	if all != "ok\r\n" {
		t.Errorf("port read %q, want %q", all, "ok\r\n")
	}

	// Close unblocks a blocked Read.
	blocked := readAsync(port)
	if err := port.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r := await(t, blocked, "after Close"); !errors.Is(r.err, ErrPortClosed) {
		t.Errorf("Read after Close = %q, %v; want ErrPortClosed", r.data, r.err)
	}
	if err := port.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestSerialUnplug(t *testing.T) {
	master, slave := openPTY(t)
	port, err := OpenSerial(slave, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	blocked := readAsync(port)
	master.Close() // the board goes away
	r := await(t, blocked, "after unplug")
	if !errors.Is(r.err, ErrDeviceGone) {
		t.Errorf("Read after unplug = %q, %v; want ErrDeviceGone", r.data, r.err)
	}
	if !strings.Contains(fmt.Sprint(r.err), slave) {
		t.Errorf("error %v should name the port %s", r.err, slave)
	}
}

func TestOpenSerialErrors(t *testing.T) {
	dir := t.TempDir()
	notTTY := filepath.Join(dir, "plain")
	if err := os.WriteFile(notTTY, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noAccess := filepath.Join(dir, "locked")
	if err := os.WriteFile(noAccess, nil, 0o000); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		baud     int
		root     bool // the case cannot happen for root
		wantErr  error
		wantText string
	}{
		{"missing", "/dev/ttyKERFnone0", 115200, true, ErrNoSuchPort, "no such port /dev/ttyKERFnone0 (is the board plugged in? try `kerf ports`)"},
		{"bad baud", "/dev/ttyUSB0", 0, true, ErrInvalidBaud, "invalid baud rate 0"},
		{"permission", noAccess, 115200, false, ErrPermission, "dialout"},
		{"not a serial port", notTTY, 115200, true, nil, "open serial port " + notTTY},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.root && os.Geteuid() == 0 {
				t.Skip("root bypasses file permissions")
			}
			p, err := OpenSerial(tt.path, tt.baud)
			if err == nil {
				p.Close()
				t.Fatalf("OpenSerial(%s) succeeded", tt.path)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantText)
			}
		})
	}
}

func TestOpenSerialBusy(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root bypasses TIOCEXCL")
	}
	_, slave := openPTY(t)
	p, err := OpenSerial(slave, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p2, err := OpenSerial(slave, 115200); !errors.Is(err, ErrPortBusy) {
		if p2 != nil {
			p2.Close()
		}
		t.Errorf("second open = %v, want ErrPortBusy", err)
	}
}

func TestPortInfo(t *testing.T) {
	tests := []struct {
		name   string
		in     enumerator.PortDetails
		board  string
		likely bool
	}{
		{"CH340 on a 3018", enumerator.PortDetails{Name: "/dev/ttyUSB0", IsUSB: true, VID: "1A86", PID: "7523", Product: "USB2.0-Serial"}, "CH340 USB-serial (SainSmart 3018 and similar)", true},
		{"Uno", enumerator.PortDetails{Name: "/dev/ttyACM0", IsUSB: true, VID: "2341", PID: "0043"}, "Arduino Uno (Sienci LongMill)", true},
		{"old Uno", enumerator.PortDetails{Name: "/dev/ttyACM0", IsUSB: true, VID: "2341", PID: "0001"}, "Arduino Uno (Sienci LongMill)", true},
		{"FTDI", enumerator.PortDetails{Name: "/dev/ttyUSB1", IsUSB: true, VID: "0403", PID: "6001"}, "FTDI FT232R USB-serial (Sienci LongMill)", true},
		{"other USB", enumerator.PortDetails{Name: "/dev/ttyACM1", IsUSB: true, VID: "1d50", PID: "6018"}, "", false},
		{"onboard UART", enumerator.PortDetails{Name: "/dev/ttyAMA0"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pi := portInfo(&tt.in)
			if pi.Board != tt.board || pi.LikelyGRBL != tt.likely || pi.Path != tt.in.Name {
				t.Errorf("portInfo = %+v, want board %q likely %v", pi, tt.board, tt.likely)
			}
			if pi.VID != strings.ToLower(tt.in.VID) {
				t.Errorf("VID = %q, want lower case", pi.VID)
			}
		})
	}
}

func TestListPorts(t *testing.T) {
	ports, err := ListPorts()
	if err != nil {
		t.Skipf("enumeration unavailable here: %v", err)
	}
	for i := 1; i < len(ports); i++ {
		if ports[i-1].Path > ports[i].Path {
			t.Errorf("ports not sorted: %q before %q", ports[i-1].Path, ports[i].Path)
		}
	}
}
