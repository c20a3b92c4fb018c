package cmd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Long fault cases: the real kerf binary, measured from outside. They run
// with KERF_LONG_FAULTS=1 (docs/faults.md):
//
//	KERF_LONG_FAULTS=1 go test -race -run 'TestFaultLong' -v ./cmd/

func longFaults(t *testing.T) {
	t.Helper()
	if os.Getenv("KERF_LONG_FAULTS") == "" {
		t.Skip("long fault case: set KERF_LONG_FAULTS=1")
	}
}

// procKB reads a "VmHWM:   1234 kB" style field of /proc/PID/status.
func procKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("read the daemon's status: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", field, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// A 1 GB upload to the real daemon: 413 at the limit, and the daemon's peak
// resident memory (VmHWM) barely moves — the body is never buffered.
func TestFaultLongHugeUploadRSS(t *testing.T) {
	longFaults(t)
	bin := buildKerf(t)
	data := t.TempDir()
	srv := startServe(t, bin, data, "--sim")
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	})
	pid := srv.Process.Pid
	hwm0, rss0 := procKB(t, pid, "VmHWM"), procKB(t, pid, "VmRSS")

	sock := filepath.Join(data, SocketFile)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	const size = 1 << 30
	body := &chunkedBody{left: size, line: []byte("G1 X10 Y10 F1000\n")}
	req, err := http.NewRequest(http.MethodPost, "http://kerf/api/v1/jobs?name=huge.nc", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // chunked: the daemon must read up to its limit to know
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d %s, want 413", resp.StatusCode, msg)
	}
	hwm1, rss1 := procKB(t, pid, "VmHWM"), procKB(t, pid, "VmRSS")
	t.Logf("1 GiB chunked upload: 413 after %v, %d MiB sent; daemon VmHWM %d → %d kB (+%d kB), VmRSS %d → %d kB",
		took, (size-body.left)>>20, hwm0, hwm1, hwm1-hwm0, rss0, rss1)
	if hwm1-hwm0 > 32<<10 {
		t.Errorf("the daemon's peak RSS grew by %d kB during the upload: want < 32 MiB", hwm1-hwm0)
	}
	// Still serving.
	if _, err := hc.Get("http://kerf/api/v1/jobs"); err != nil {
		t.Errorf("after the upload: %v", err)
	}
}

// A data dir kerf cannot write: the real binary exits with an error naming
// it, at once. As root (who writes anywhere) it runs as nobody.
func TestFaultLongReadOnlyDataDir(t *testing.T) {
	longFaults(t)
	bin := buildKerf(t)
	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--sim", "--data", data)
	if os.Geteuid() == 0 {
		// nobody may enter the directories and run the binary, not write.
		for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), parent, filepath.Dir(parent)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else if err := os.Chmod(data, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(data, 0o755) })
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("kerf serve started on a read-only data dir")
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("kerf serve hung on a read-only data dir")
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if msg := stderr.String(); !strings.Contains(msg, data) || !strings.Contains(msg, "not writable") || strings.Contains(msg, "panic") {
		t.Errorf("stderr %q: want a clear error naming %s as not writable", msg, data)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Errorf("files created in the read-only dir: %v", entries)
	}
	t.Logf("refused in %v: %s", time.Since(start), strings.TrimSpace(stderr.String()))
}
