package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fixedClock returns a Now function that advances one second per call from
// a fixed start, so stored times are predictable and strictly increasing.
func fixedClock() func() time.Time {
	t := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

// MustOpenStore opens a store in a fresh temporary directory and closes it
// when the test ends.
func MustOpenStore(tb testing.TB) *Store {
	tb.Helper()
	return MustOpenStoreAt(tb, tb.TempDir())
}

// MustOpenStoreAt opens a store on dir and closes it when the test ends.
func MustOpenStoreAt(tb testing.TB, dir string) *Store {
	tb.Helper()
	s := NewStore(dir)
	s.Now = fixedClock()
	s.LockTimeout = 50 * time.Millisecond
	if err := s.Open(context.Background()); err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

// MustCreateJob stores body and a job for it.
func MustCreateJob(tb testing.TB, s *Store, name, body string) Job {
	tb.Helper()
	ctx := context.Background()
	sha, size, err := s.PutBody(ctx, strings.NewReader(body), 1<<20)
	if err != nil {
		tb.Fatalf("put body: %v", err)
	}
	j, err := s.CreateJob(ctx, Job{Name: name, SHA256: sha, Size: size, Lines: strings.Count(body, "\n")})
	if err != nil {
		tb.Fatalf("create job: %v", err)
	}
	return j
}

func TestOpenCreatesLayout(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := MustOpenStoreAt(t, dir)
	if got, want := s.Path(), filepath.Join(dir, "kerf.db"); got != want {
		t.Errorf("Path()=%q, want %q", got, want)
	}
	for _, p := range []string{s.Path(), filepath.Join(dir, "gcode"), filepath.Join(dir, pidFileName)} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("stat %s: %v", p, err)
		}
	}
	pid, err := os.ReadFile(filepath.Join(dir, pidFileName))
	if err != nil || strings.TrimSpace(string(pid)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("pid file=%q (%v), want %d", pid, err, os.Getpid())
	}
	err = s.db.Load().View(func(tx *bolt.Tx) error {
		v, err := schemaVersion(tx)
		if want := latestVersion(schemaMigrations()); v != want {
			t.Errorf("schema version=%d, want %d", v, want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCloseIsIdempotentAndMethodsFailAfterClose(t *testing.T) {
	t.Parallel()
	s := NewStore(t.TempDir())
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx); err == nil {
		t.Error("second Open on an open store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Job(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Job after Close: err=%v, want ErrClosed", err)
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, pidFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after Close: %v, want it removed", err)
	}
}

func TestOpenSecondStoreIsInUse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	MustOpenStoreAt(t, dir)
	second := NewStore(dir)
	second.LockTimeout = 100 * time.Millisecond
	start := time.Now()
	err := second.Open(context.Background())
	elapsed := time.Since(start)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: err=%v, want ErrInUse", err)
	}
	for _, want := range []string{dir, "in use by another kerf", fmt.Sprintf("pid %d", os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// A hang would show as a far longer wait than the timeout; this is a
	// generous bound, not a speed claim.
	if elapsed > 10*time.Second {
		t.Errorf("second Open took %v with a 100ms lock timeout", elapsed)
	}
}

func TestOpenCorruptFileLeftUntouched(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content []byte
	}{
		{"text", []byte("this is not a database\n")},
		{"garbage pages", bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 8192)},
		{"zeros", make([]byte, 16384)},
		// bbolt's own error for this one ("file size too small") has no
		// sentinel; it is still a damaged file.
		{"real database truncated to one page", realDatabase(t)[:4096]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, DBFileName)
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			err := NewStore(dir).Open(context.Background())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: err=%v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "left untouched") {
				t.Errorf("error %q should name %s and say it is left untouched", err, path)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.content) {
				t.Errorf("database file changed: %d bytes, want the original %d", len(got), len(tt.content))
			}
		})
	}
}

func TestOpenDataDirNotWritable(t *testing.T) {
	t.Parallel()
	t.Run("path under a regular file", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "afile")
		if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(file, "data")
		err := NewStore(dir).Open(context.Background())
		if !errors.Is(err, ErrNotWritable) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("Open: err=%v, want ErrNotWritable naming %s", err, dir)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		t.Parallel()
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		err := NewStore(dir).Open(context.Background())
		if !errors.Is(err, ErrNotWritable) || !strings.Contains(err.Error(), dir) {
			t.Fatalf("Open: err=%v, want ErrNotWritable naming %s", err, dir)
		}
	})
	t.Run("empty data dir", func(t *testing.T) {
		t.Parallel()
		if err := NewStore("").Open(context.Background()); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Open: err=%v, want ErrInvalid", err)
		}
	})
}

func TestOpenRemovesLeftoverTempBodies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "gcode"), 0o750); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "gcode", ".tmp-body-123")
	if err := os.WriteFile(leftover, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	MustOpenStoreAt(t, dir)
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover temp body: stat err=%v, want it removed", err)
	}
}

// writeBolt creates a raw bbolt file at dir/kerf.db with fn's content.
func writeBolt(t *testing.T, dir string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, DBFileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("v0 file gets v1 buckets and keeps data", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeBolt(t, dir, func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket(bucketSettings)
			if err != nil {
				return err
			}
			return b.Put([]byte("legacy"), []byte("kept"))
		})
		s := MustOpenStoreAt(t, dir)
		v, err := s.Setting(ctx, "legacy")
		if err != nil || string(v) != "kept" {
			t.Errorf("legacy setting=%q (%v), want kept", v, err)
		}
		if _, err := s.Jobs(ctx, Page{}); err != nil {
			t.Errorf("jobs bucket after migration: %v", err)
		}
	})

	t.Run("fake v2 transforms v1 data once", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		s := MustOpenStoreAt(t, dir)
		if err := s.SetSetting(ctx, "units", []byte("mm")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		runs := 0
		cur := latestVersion(schemaMigrations())
		v2 := migration{version: cur + 1, name: "upper-case units", up: func(tx *bolt.Tx) error {
			runs++
			b := tx.Bucket(bucketSettings)
			return b.Put([]byte("units"), bytes.ToUpper(b.Get([]byte("units"))))
		}}
		for range 2 {
			s2 := NewStore(dir)
			s2.migrations = append(schemaMigrations(), v2)
			if err := s2.Open(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := s2.Setting(ctx, "units")
			if err != nil || string(got) != "MM" {
				t.Errorf("units=%q (%v), want MM", got, err)
			}
			if err := s2.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if runs != 1 {
			t.Errorf("v2 migration ran %d times, want 1", runs)
		}
		// The v1-only kerf now refuses the newer file without touching it.
		before, _ := os.ReadFile(filepath.Join(dir, DBFileName))
		err := NewStore(dir).Open(ctx)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", cur+1)) {
			t.Fatalf("old kerf on v2 file: err=%v, want a schema version error", err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, DBFileName))
		if !bytes.Equal(before, after) {
			t.Error("old kerf changed the newer database file")
		}
	})

	t.Run("failing migration rolls back", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		MustOpenStoreAt(t, dir).Close()
		s := NewStore(dir)
		cur := latestVersion(schemaMigrations())
		s.migrations = append(schemaMigrations(), migration{version: cur + 1, name: "broken", up: func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketSettings).Put([]byte("half"), []byte("done")); err != nil {
				return err
			}
			return errors.New("disk on fire")
		}})
		err := s.Open(ctx)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("version %d (broken)", cur+1)) || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("Open: err=%v, want the failing migration named", err)
		}
		s1 := MustOpenStoreAt(t, dir)
		if _, err := s1.Setting(ctx, "half"); !errors.Is(err, ErrNotFound) {
			t.Errorf("partial migration write survived: err=%v", err)
		}
		_ = s1.db.Load().View(func(tx *bolt.Tx) error {
			if v, _ := schemaVersion(tx); v != cur {
				t.Errorf("schema version=%d after failed migration, want %d", v, cur)
			}
			return nil
		})
	})

	t.Run("gap in migration list", func(t *testing.T) {
		t.Parallel()
		s := NewStore(t.TempDir())
		cur := latestVersion(schemaMigrations())
		s.migrations = append(schemaMigrations(), migration{version: cur + 2, name: "skips one", up: func(*bolt.Tx) error { return nil }})
		if err := s.Open(ctx); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("does not follow version %d", cur)) {
			t.Fatalf("Open: err=%v, want a gap error", err)
		}
	})
}

func TestBackupOpensWithSameJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	a := MustCreateJob(t, s, "a.nc", "G0 X1\n")
	b := MustCreateJob(t, s, "b.nc", "G0 X2\nG0 X3\n")
	run, err := s.CreateRun(ctx, Run{JobID: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendTelemetry(ctx, run.ID, []Sample{{T: time.Second, Feed: 100}}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := s.Backup(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("Backup returned n=%d, wrote %d", n, buf.Len())
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DBFileName), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	restored := MustOpenStoreAt(t, dir)
	got, err := restored.Jobs(ctx, Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID || got[0].SHA256 != b.SHA256 {
		t.Errorf("restored jobs=%+v, want [%v %v]", got, b.ID, a.ID)
	}
	var samples []Sample
	if err := restored.Telemetry(ctx, run.ID, func(smp Sample) error { samples = append(samples, smp); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(samples) != 1 || samples[0].Feed != 100 {
		t.Errorf("restored telemetry=%+v", samples)
	}

	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Backup(cctx, &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
			t.Errorf("Backup with cancelled ctx: err=%v", err)
		}
	})
}

func TestOpenForeignBoltFileLeftUntouched(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeBolt(t, dir, func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("someone-elses"))
		return err
	})
	path := filepath.Join(dir, DBFileName)
	before, _ := os.ReadFile(path)
	err := NewStore(dir).Open(context.Background())
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "someone-elses") {
		t.Fatalf("Open: err=%v, want ErrCorrupt naming the foreign bucket", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("foreign database file changed")
	}
}

func TestSecondStoreKeepsFirstStoresUploads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	MustOpenStoreAt(t, dir)
	inProgress := filepath.Join(dir, "gcode", ".tmp-body-live")
	if err := os.WriteFile(inProgress, []byte("uploading"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := NewStore(dir)
	second.LockTimeout = 20 * time.Millisecond
	if err := second.Open(context.Background()); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: err=%v, want ErrInUse", err)
	}
	if _, err := os.Stat(inProgress); err != nil {
		t.Errorf("second daemon removed the first one's upload in progress: %v", err)
	}
}

// TestBackupWhileWriting takes a backup while another goroutine keeps
// writing; the copy must pass bbolt's consistency check and hold a prefix
// of the writes.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := s.CreateRun(ctx, Run{JobID: j.ID}); err != nil {
				done <- err
				return
			}
		}
	}()
	var buf bytes.Buffer
	_, err := s.Backup(ctx, &buf)
	close(stop)
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, DBFileName)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() { // drain: Check's goroutine ends when the channel closes
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("backup taken during writes is inconsistent: %v", err)
	}
	restored := MustOpenStoreAt(t, dir)
	runs, err := restored.Runs(ctx, RunFilter{JobID: j.ID, Page: Page{Limit: MaxPageLimit}})
	if err != nil {
		t.Fatal(err)
	}
	// IDs come from one sequence, so a consistent copy holds runs 1..n.
	for i, r := range runs {
		if want := ID(len(runs) - i); r.ID != want {
			t.Fatalf("restored run %d has ID %s, want %s (not a prefix of the writes)", i, r.ID, want)
		}
	}
}

// realDatabase returns the bytes of a freshly created store's database.
func realDatabase(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	s := NewStore(dir)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, DBFileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
