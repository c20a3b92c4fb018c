package cmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// Fault suite, start-up cases: the data directory is damaged or taken.
// openDaemon is what `kerf serve` runs; its error is what the user reads.

func openQuiet(ctx context.Context, cfg Config) (*daemon, string, error) {
	var log lockedBuffer
	d, err := openDaemon(ctx, IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &log}, cfg, &serveOptions{})
	return d, log.String(), err
}

// A corrupt database file is reported as such, naming the file, and left
// byte for byte as it was for recovery; no socket is opened.
func TestFaultStartCorruptDatabase(t *testing.T) {
	// A real database to damage: a store with a job in it.
	good := t.TempDir()
	st := jobs.NewStore(good)
	if err := st.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	sha, size, err := st.PutBody(context.Background(), strings.NewReader("G0 X1\n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateJob(context.Background(), jobs.Job{Name: "a.nc", SHA256: sha, Size: size, Lines: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	real, err := os.ReadFile(filepath.Join(good, jobs.DBFileName))
	if err != nil {
		t.Fatal(err)
	}
	damage := func(off int, b []byte) []byte {
		out := bytes.Clone(real)
		copy(out[off:], b)
		return out
	}
	bothMeta := damage(16, []byte{0xff, 0xff, 0xff, 0xff})
	copy(bothMeta[4096+16:], []byte{0xff, 0xff, 0xff, 0xff})
	tests := []struct {
		name string
		file []byte
	}{
		{"garbage", bytes.Repeat([]byte("not a database "), 4096)},
		{"both meta pages zeroed", damage(0, make([]byte, 2*4096))},
		{"truncated to one page", real[:4096]},
		// One bad meta page is bbolt's own crash recovery (it uses the
		// other); both bad is a damaged file.
		{"both meta magics broken", bothMeta},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := faultConfig(t)
			path := filepath.Join(cfg.DataDir, jobs.DBFileName)
			if err := os.WriteFile(path, tc.file, 0o600); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(path)
			start := time.Now()
			d, _, err := openQuiet(context.Background(), cfg)
			if err == nil {
				d.close()
				t.Fatal("the daemon started on a corrupt database")
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %v to refuse", took)
			}
			if !errors.Is(err, jobs.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "left untouched") {
				t.Errorf("err = %v, want ErrCorrupt naming %s and saying it is left untouched", err, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, tc.file) {
				t.Error("the corrupt file was modified")
			}
			if fi, _ := os.Stat(path); !fi.ModTime().Equal(before.ModTime()) || fi.Mode() != before.Mode() {
				t.Errorf("file metadata changed: %v %v → %v %v", before.ModTime(), before.Mode(), fi.ModTime(), fi.Mode())
			}
			if _, err := os.Stat(filepath.Join(cfg.DataDir, SocketFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("socket present after the refusal: %v", err)
			}
		})
	}
}

// A second daemon on a data dir in use gets a clear error within the lock
// timeout instead of hanging, and the first one keeps serving on its
// socket.
func TestFaultStartTwoDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon on the simulator")
	}
	ctx := context.Background()
	cfg := faultConfig(t)
	first, _, err := openQuiet(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer first.close()
	c := web.NewSocketClient(filepath.Join(cfg.DataDir, SocketFile))
	defer c.CloseIdleConnections()
	job, err := c.AddJob(ctx, "a.nc", strings.NewReader(zigzag(4)))
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	second, _, err := openQuiet(ctx, cfg)
	took := time.Since(start)
	if err == nil {
		second.close()
		t.Fatal("a second daemon opened a data dir in use")
	}
	if !errors.Is(err, jobs.ErrInUse) || !strings.Contains(err.Error(), cfg.DataDir) ||
		!strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("err = %v, want ErrInUse naming the data dir and the holder's pid", err)
	}
	if took > jobs.DefaultLockTimeout+5*time.Second {
		t.Errorf("took %v to give up (lock timeout %v)", took, jobs.DefaultLockTimeout)
	}
	// The first daemon is untouched: its socket answers, its data is there.
	got, err := c.Job(ctx, job.ID)
	if err != nil || got.SHA256 != job.SHA256 {
		t.Errorf("first daemon after the second's attempt: %+v, %v", got, err)
	}
}

// A data dir kerf cannot write is refused at start naming the directory.
// Root writes anywhere, so as root the case runs in the long suite with
// the real binary as an unprivileged user (TestFaultLongReadOnlyDataDir).
func TestFaultStartReadOnlyDataDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; see TestFaultLongReadOnlyDataDir")
	}
	cfg := faultConfig(t)
	if err := os.Chmod(cfg.DataDir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(cfg.DataDir, 0o700) })
	d, _, err := openQuiet(context.Background(), cfg)
	if err == nil {
		d.close()
		t.Fatal("the daemon started on a read-only data dir")
	}
	if !errors.Is(err, jobs.ErrNotWritable) || !strings.Contains(err.Error(), cfg.DataDir) {
		t.Errorf("err = %v, want ErrNotWritable naming %s", err, cfg.DataDir)
	}
	if entries, _ := os.ReadDir(cfg.DataDir); len(entries) != 0 {
		t.Errorf("files created in the read-only dir: %v", entries)
	}
}
