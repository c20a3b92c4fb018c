package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bodyTempPattern names bodies being written; Open removes leftovers.
const bodyTempPattern = ".tmp-body-*"

// bodyFile is what PutBody needs from its temporary file.
type bodyFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// validSHA reports whether sha is 64 lower-case hex digits.
func validSHA(sha string) error {
	if len(sha) != 64 {
		return fmt.Errorf("sha256 %q: want 64 hex digits, got %d characters: %w", sha, len(sha), ErrInvalid)
	}
	for i := 0; i < len(sha); i++ {
		c := sha[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("sha256 %q: character %q at position %d is not lower-case hex: %w", sha, c, i+1, ErrInvalid)
		}
	}
	return nil
}

// BodyPath returns where the body with the given SHA-256 lives:
// DataDir/gcode/<sha[0:2]>/<sha>.
func (s *Store) BodyPath(sha string) (string, error) {
	if err := validSHA(sha); err != nil {
		return "", err
	}
	return filepath.Join(s.bodyDir(), sha[:2], sha), nil
}

// PutBody streams r into a content-addressed file and returns its SHA-256
// (lower-case hex) and size. The body is never held in memory: it goes to a
// temporary file in the body directory that is synced, renamed into place
// and followed by a sync of the directory, so a crash leaves either the whole
// file or none. A body already stored is not written twice.
//
// Errors: ErrTooLarge when r yields more than limit bytes, ErrEmpty when it
// yields none, and any read, write or sync failure; in every error case the
// temporary file is removed and no body file appears.
func (s *Store) PutBody(ctx context.Context, r io.Reader, limit int64) (sha string, size int64, err error) {
	if limit <= 0 {
		return "", 0, fmt.Errorf("put body: limit %d must be positive: %w", limit, ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("put body: %w", err)
	}
	tmp, err := s.createTemp(s.bodyDir(), bodyTempPattern)
	if err != nil {
		return "", 0, fmt.Errorf("put body: create temporary file: %w", err)
	}
	tmpName := tmp.Name()
	closed := false
	defer func() {
		if err != nil {
			if !closed {
				_ = tmp.Close()
			}
			_ = os.Remove(tmpName)
		}
	}()

	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), io.LimitReader(ctxReader{ctx: ctx, r: r}, limit+1))
	if err != nil {
		return "", 0, fmt.Errorf("put body: copy to %s: %w", tmpName, err)
	}
	if size > limit {
		return "", 0, fmt.Errorf("put body: more than %d bytes: %w", limit, ErrTooLarge)
	}
	if size == 0 {
		return "", 0, fmt.Errorf("put body: no bytes: %w", ErrEmpty)
	}
	if err = tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("put body: sync %s: %w", tmpName, err)
	}
	closed = true
	if err = tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("put body: close %s: %w", tmpName, err)
	}
	sha = hex.EncodeToString(h.Sum(nil))
	final, _ := s.BodyPath(sha)
	dir := filepath.Dir(final)

	s.bodyMu.Lock()
	defer s.bodyMu.Unlock()
	if fi, statErr := os.Stat(final); statErr == nil && fi.Size() == size {
		// Same content already stored (the name is its hash). Refresh its
		// time so PruneBodies keeps it until its job is created.
		if err = os.Remove(tmpName); err != nil {
			return "", 0, fmt.Errorf("put body: remove duplicate %s: %w", tmpName, err)
		}
		now := s.Now()
		if err = os.Chtimes(final, now, now); err != nil {
			return "", 0, fmt.Errorf("put body: %w", err)
		}
		return sha, size, nil
	}
	if err = os.MkdirAll(dir, 0o750); err != nil {
		return "", 0, fmt.Errorf("put body: %w", err)
	}
	// Stamp with the store's clock, which PruneBodies compares against.
	now := s.Now()
	if err = os.Chtimes(tmpName, now, now); err != nil {
		return "", 0, fmt.Errorf("put body: %w", err)
	}
	if err = syncDir(s.bodyDir()); err != nil {
		return "", 0, fmt.Errorf("put body: %w", err)
	}
	if err = os.Rename(tmpName, final); err != nil {
		return "", 0, fmt.Errorf("put body: rename into place: %w", err)
	}
	if err = syncDir(dir); err != nil {
		// The file is in place but its name may not be durable; report it
		// and let the caller retry (the retry deduplicates).
		return "", 0, fmt.Errorf("put body: %w", err)
	}
	return sha, size, nil
}

// OpenBody opens the stored body with the given SHA-256 for reading. The
// caller closes it. Errors: ErrInvalid for a malformed hash, ErrNotFound
// when no such body is stored.
func (s *Store) OpenBody(sha string) (*os.File, error) {
	path, err := s.BodyPath(sha)
	if err != nil {
		return nil, fmt.Errorf("open body: %w", err)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("body %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open body %s: %w", sha, err)
	}
	return f, nil
}

// bodySize returns the size of a stored body (ErrNotFound if missing).
func (s *Store) bodySize(sha string) (int64, error) {
	path, err := s.BodyPath(sha)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("body %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("stat body %s: %w", sha, err)
	}
	return fi.Size(), nil
}

// removeBody deletes a body file and syncs its directory. A missing file is
// not an error.
func (s *Store) removeBody(sha string) error {
	path, err := s.BodyPath(sha)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove body %s: %w", sha, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory so renames and removals in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// ctxReader fails reads once its context is done, so a long upload stops
// when the client goes away or the daemon shuts down.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// PruneBodies removes body files that no job references and that were last
// written or deduplicated more than olderThan ago (so a body just uploaded
// whose job is about to be created is kept), and returns how many it
// removed. The daemon calls it at start-up to clean up after uploads whose
// job was never created (a crash, a rejected check).
func (s *Store) PruneBodies(ctx context.Context, olderThan time.Duration) (int, error) {
	s.bodyMu.Lock()
	defer s.bodyMu.Unlock()
	cutoff := s.Now().Add(-olderThan)
	var candidates []string
	err := filepath.WalkDir(s.bodyDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || validSHA(d.Name()) != nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().Before(cutoff) {
			candidates = append(candidates, d.Name())
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune bodies: %w", err)
	}
	var orphans []string
	err = s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBodyRefs).Cursor()
		for _, sha := range candidates {
			sum, _ := hex.DecodeString(sha)
			if k, _ := c.Seek(sum); k == nil || !bytes.HasPrefix(k, sum) {
				orphans = append(orphans, sha)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune bodies: %w", err)
	}
	for i, sha := range orphans {
		if err := s.removeBody(sha); err != nil {
			return i, fmt.Errorf("prune bodies: %w", err)
		}
	}
	return len(orphans), nil
}
