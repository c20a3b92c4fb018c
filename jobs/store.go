package jobs

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DBFileName is the name of the bbolt database inside the data directory.
const DBFileName = "kerf.db"

// pidFileName records the pid of the process holding the database, so a
// second daemon can say who is in the way.
const pidFileName = "kerf.pid"

// DefaultLockTimeout is how long Open waits for another process to release
// the database lock before it gives up with ErrInUse.
const DefaultLockTimeout = time.Second

// Bucket names. Keys are described next to each bucket.
var (
	bucketMeta      = []byte("meta")      // "schema" → uint64 BE schema version
	bucketJobs      = []byte("jobs")      // ID key → Job JSON
	bucketRuns      = []byte("runs")      // ID key → Run JSON
	bucketJobRuns   = []byte("jobruns")   // job ID key + run ID key → empty (runs of a job)
	bucketQueue     = []byte("queue")     // run ID key → empty (queued runs, FIFO by ID)
	bucketActive    = []byte("active")    // run ID key → empty (running or paused runs)
	bucketBodyRefs  = []byte("bodyrefs")  // sha256 (32 bytes) + job ID key → empty
	bucketTelemetry = []byte("telemetry") // run ID key → bucket of chunk seq (uint64 BE) → chunk
	bucketBaselines = []byte("baselines") // job ID key → Baseline JSON
	bucketSettings  = []byte("settings")  // string key → raw bytes
	bucketTokens    = []byte("tokens")    // ID key → Token JSON
	bucketTokenHash = []byte("tokenhash") // SHA-256 of the secret (32 bytes) → token ID key
)

var keySchema = []byte("schema")

// Store keeps jobs, runs, telemetry, baselines, settings and API tokens in a
// bbolt database at DataDir/kerf.db, and G-code bodies as content-addressed
// files under DataDir/gcode. Create it with NewStore, adjust the exported
// fields, then call Open; call Close when done. All methods are safe for
// concurrent use once Open has returned.
type Store struct {
	// DataDir is the data directory. Open creates it (mode 0750) if needed.
	DataDir string
	// LockTimeout bounds the wait for another process's database lock.
	// Zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// Now stamps Created/Started/Ended times. Defaults to time.Now.
	Now func() time.Time

	db         atomic.Pointer[bolt.DB]
	migrations []migration
	// createTemp creates the temporary file a body is streamed into; tests
	// replace it to inject write failures.
	createTemp func(dir, pattern string) (bodyFile, error)
	// bodyMu orders body file removal (DeleteJob) against body publication
	// (PutBody's rename) and job creation, so a job never points at a body
	// another goroutine is deleting.
	bodyMu sync.Mutex
}

// NewStore returns a Store for dataDir with default settings. It touches
// nothing on disk; Open does.
func NewStore(dataDir string) *Store {
	return &Store{
		DataDir:     dataDir,
		LockTimeout: DefaultLockTimeout,
		Now:         time.Now,
		migrations:  schemaMigrations(),
		createTemp: func(dir, pattern string) (bodyFile, error) {
			return os.CreateTemp(dir, pattern)
		},
	}
}

// Path returns the path of the database file.
func (s *Store) Path() string { return filepath.Join(s.DataDir, DBFileName) }

// bodyDir is the root of the content-addressed G-code files.
func (s *Store) bodyDir() string { return filepath.Join(s.DataDir, "gcode") }

// Open prepares the data directory, checks an existing database without
// writing to it, takes the database lock and brings the schema up to date.
//
// Errors: ErrNotWritable when the data directory cannot be created or
// written; ErrInUse when another process holds the lock for longer than
// LockTimeout (the message names the data dir and, when known, the pid);
// ErrCorrupt when the file is not a valid bbolt/kerf database (the file is
// left exactly as it was).
func (s *Store) Open(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	if s.db.Load() != nil {
		return errors.New("open store: already open")
	}
	if s.DataDir == "" {
		return fmt.Errorf("open store: data dir not set: %w", ErrInvalid)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.LockTimeout <= 0 {
		s.LockTimeout = DefaultLockTimeout
	}
	if s.migrations == nil {
		s.migrations = schemaMigrations()
	}
	if s.createTemp == nil {
		s.createTemp = func(dir, pattern string) (bodyFile, error) { return os.CreateTemp(dir, pattern) }
	}
	if err := s.prepareDir(); err != nil {
		return err
	}
	path := s.Path()
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		if err := s.verifyReadOnly(path); err != nil {
			return err
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("open store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.LockTimeout})
	if err != nil {
		return s.openError(path, err)
	}
	if err := s.migrate(db); err != nil {
		return errors.Join(err, db.Close())
	}
	if err := s.removeLeftovers(); err != nil {
		return errors.Join(err, db.Close())
	}
	s.db.Store(db)
	// The pid file is advisory (it only improves the ErrInUse message).
	_ = os.WriteFile(filepath.Join(s.DataDir, pidFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	return nil
}

// prepareDir creates the data and body directories and proves the data
// directory is writable.
func (s *Store) prepareDir() error {
	for _, dir := range []string{s.DataDir, s.bodyDir()} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("data dir %s: %w: %w", s.DataDir, ErrNotWritable, err)
		}
	}
	for _, dir := range []string{s.DataDir, s.bodyDir()} {
		f, err := os.CreateTemp(dir, ".kerf-write-test-*")
		if err != nil {
			return fmt.Errorf("data dir %s: %w: %w", s.DataDir, ErrNotWritable, err)
		}
		name := f.Name()
		err = errors.Join(f.Close(), os.Remove(name))
		if err != nil {
			return fmt.Errorf("data dir %s: %w: %w", s.DataDir, ErrNotWritable, err)
		}
	}
	return nil
}

// removeLeftovers deletes temporary body files a crash left behind. It runs
// only while holding the database lock, so it never touches the uploads of
// another live daemon.
func (s *Store) removeLeftovers() error {
	leftovers, err := filepath.Glob(filepath.Join(s.bodyDir(), bodyTempPattern))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	for _, name := range leftovers {
		if err := os.Remove(name); err != nil {
			return fmt.Errorf("open store: remove leftover temporary body %s: %w", name, err)
		}
	}
	return nil
}

// verifyReadOnly opens an existing database file read-only (bbolt validates
// the meta pages' magic, version and checksum) and checks the schema
// version, so a damaged or foreign file is reported without a single byte
// being written to it.
func (s *Store) verifyReadOnly(path string) (err error) {
	defer func() {
		// bbolt can panic on some damaged pages; report it as corruption.
		if r := recover(); r != nil {
			err = fmt.Errorf("database file %s (left untouched): %w: %v", path, ErrCorrupt, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: s.LockTimeout})
	if err != nil {
		err = s.openError(path, err)
		if !errors.Is(err, ErrInUse) && !errors.Is(err, ErrNotWritable) && !errors.Is(err, ErrCorrupt) {
			// bbolt refuses a damaged file in ways it has no sentinel
			// for ("file size too small", a bad page type …).
			err = fmt.Errorf("database file %s (left untouched): %w: %w", path, ErrCorrupt, errors.Unwrap(err))
		}
		return err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	return db.View(func(tx *bolt.Tx) error {
		v, err := schemaVersion(tx)
		if err != nil {
			return fmt.Errorf("database file %s (left untouched): %w: %w", path, ErrCorrupt, err)
		}
		if latest := latestVersion(s.migrations); v > latest {
			return fmt.Errorf("database file %s has schema version %d, newer than this kerf supports (%d): upgrade kerf", path, v, latest)
		}
		if v == 0 {
			// Unversioned: accept it only if it holds nothing but kerf's
			// buckets, so a foreign bbolt file is never migrated.
			return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				if !knownBucket(name) {
					return fmt.Errorf("database file %s (left untouched): bucket %q is not kerf's: %w", path, name, ErrCorrupt)
				}
				return nil
			})
		}
		return nil
	})
}

// openError turns bbolt's open errors into the store's sentinels.
func (s *Store) openError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("data dir %s is in use by another kerf (%s): %w", s.DataDir, s.holder(), ErrInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return fmt.Errorf("database file %s (left untouched): %w: %w", path, ErrCorrupt, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("database file %s: %w: %w", path, ErrNotWritable, err)
	}
	return fmt.Errorf("open database %s: %w", path, err)
}

// holder describes the process named in the pid file.
func (s *Store) holder() string {
	b, err := os.ReadFile(filepath.Join(s.DataDir, pidFileName))
	if err != nil {
		return "pid unknown"
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return "pid unknown"
	}
	return "pid " + strconv.Itoa(pid)
}

// Close releases the database and its lock, after waiting for
// transactions in progress; later calls fail with ErrClosed. It is
// idempotent.
func (s *Store) Close() error {
	db := s.db.Swap(nil)
	if db == nil {
		return nil
	}
	_ = os.Remove(filepath.Join(s.DataDir, pidFileName))
	if err := db.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", s.Path(), err)
	}
	return nil
}

// view runs fn in a read transaction after checking ctx and the store state.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db := s.db.Load()
	if db == nil {
		return ErrClosed
	}
	return closedErr(db.View(fn))
}

// update runs fn in a write transaction; bbolt commits all of it or none.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	db := s.db.Load()
	if db == nil {
		return ErrClosed
	}
	return closedErr(db.Update(fn))
}

// closedErr reports bbolt's "database not open" (Close raced with a call)
// as ErrClosed.
func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Backup writes a consistent copy of the whole database to w from a read
// transaction, while the daemon keeps writing. The caller writes the copy to
// a temporary file and renames it into place. Cancelling ctx stops the copy
// at the next write with ctx's error. G-code bodies are files under
// DataDir/gcode and are not part of the copy.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup %s: %w", s.Path(), err)
	}
	return n, nil
}

// ctxWriter fails writes once its context is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// getJSON decodes the record at key in bucket b into v; found is false when
// the key does not exist.
func getJSON(b *bolt.Bucket, key []byte, v any) (found bool, err error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode record %x: %w", key, err)
	}
	return true, nil
}

// putJSON encodes v and stores it at key in bucket b.
func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	return b.Put(key, raw)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }
