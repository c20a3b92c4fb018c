package cmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func TestBackup(t *testing.T) {
	payload := bytes.Repeat([]byte("kerf-db-page "), 10000)
	b := &webtest.Backupper{T: t}
	data := startDaemon(t, &web.Server{Backups: b, Logger: discardLog()})
	dir := t.TempDir()
	target := filepath.Join(dir, "kerf.db")

	leftovers := func() []string {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			if e.Name() != "kerf.db" {
				names = append(names, e.Name())
			}
		}
		return names
	}

	t.Run("writes the copy", func(t *testing.T) {
		b.BackupFn = func(_ context.Context, w io.Writer) (int64, error) {
			n, err := w.Write(payload)
			return int64(n), err
		}
		code, _, stderr := runKerf(t, "backup", target, "--data", data)
		got, _ := os.ReadFile(target)
		if code != 0 || !bytes.Equal(got, payload) || !strings.Contains(stderr, "wrote "+target) {
			t.Errorf("code=%d stderr=%q len=%d", code, stderr, len(got))
		}
		if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("mode=%v err=%v, want 0600", fi.Mode(), err)
		}
		if l := leftovers(); len(l) > 0 {
			t.Errorf("temporary files left: %v", l)
		}
	})
	t.Run("a failed transfer leaves the old file", func(t *testing.T) {
		b.BackupFn = func(_ context.Context, w io.Writer) (int64, error) {
			n, _ := w.Write(payload[:70000])
			return int64(n), errors.New("disk read error")
		}
		code, _, stderr := runKerf(t, "backup", target, "--data", data)
		got, _ := os.ReadFile(target)
		if code != 1 || !bytes.Equal(got, payload) || !strings.Contains(stderr, "left unchanged") {
			t.Errorf("code=%d stderr=%q: the old backup must survive", code, stderr)
		}
		if l := leftovers(); len(l) > 0 {
			t.Errorf("temporary files left: %v", l)
		}
	})
	t.Run("into a directory", func(t *testing.T) {
		code, _, stderr := runKerf(t, "backup", dir, "--data", data)
		if code != 1 || !strings.Contains(stderr, "is a directory") {
			t.Errorf("code=%d stderr=%q", code, stderr)
		}
	})
}

// TestBackupRealStore takes a backup of a real bbolt store through the
// daemon's API and the CLI, and opens the copy as a store again.
func TestBackupRealStore(t *testing.T) {
	ctx := t.Context()
	store := jobs.NewStore(t.TempDir())
	if err := store.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sha, size, err := store.PutBody(ctx, strings.NewReader("G21\nG0 X1\n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	job, err := store.CreateJob(ctx, jobs.Job{Name: "sign.nc", SHA256: sha, Size: size, Lines: 2})
	if err != nil {
		t.Fatal(err)
	}
	var _ web.Backupper = store // the store is the daemon's Backupper
	data := startDaemon(t, &web.Server{Backups: store})

	restored := t.TempDir()
	code, _, stderr := runKerf(t, "backup", filepath.Join(restored, jobs.DBFileName), "--data", data)
	if code != 0 {
		t.Fatalf("code=%d stderr=%q", code, stderr)
	}
	copyStore := jobs.NewStore(restored)
	if err := copyStore.Open(ctx); err != nil {
		t.Fatalf("open the backup as a store: %v", err)
	}
	defer copyStore.Close()
	got, err := copyStore.Job(ctx, job.ID)
	if err != nil || got.Name != "sign.nc" || got.SHA256 != sha {
		t.Errorf("job in the backup=%+v, %v", got, err)
	}
}
