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
