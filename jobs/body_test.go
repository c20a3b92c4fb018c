package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

// bodyFiles lists every regular file under the store's body directory.
func bodyFiles(t *testing.T, s *Store) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(s.bodyDir(), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(s.bodyDir(), p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutBodyRoundTripAndDedupe(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	body := strings.Repeat("G1 X10 Y10 F500\n", 10000) // 160 kB, several copy buffers
	sum := sha256.Sum256([]byte(body))
	want := hex.EncodeToString(sum[:])
	for i := range 2 {
		sha, size, err := s.PutBody(ctx, strings.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("PutBody #%d: %v", i, err)
		}
		if sha != want || size != int64(len(body)) {
			t.Errorf("PutBody #%d = %s, %d; want %s, %d", i, sha, size, want, len(body))
		}
	}
	if got := bodyFiles(t, s); len(got) != 1 || got[0] != filepath.Join(want[:2], want) {
		t.Errorf("body files=%v, want one at %s/%s", got, want[:2], want)
	}
	f, err := s.OpenBody(want)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil || string(got) != body {
		t.Errorf("OpenBody content differs (%d bytes, err %v)", len(got), err)
	}
}

// failingFile is a body temp file whose writes fail after limit bytes, as
// on a full disk.
type failingFile struct {
	*os.File
	limit int
}

func (f *failingFile) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n, _ := f.File.Write(p[:f.limit])
		f.limit = 0
		return n, syscall.ENOSPC
	}
	f.limit -= len(p)
	return f.File.Write(p)
}

func TestPutBodyErrorsLeaveNothing(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("G0 X1\n", 20000)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		limit   int64
		inject  bool
		wantIs  error
		wantMsg string
	}{
		{name: "too large", r: strings.NewReader(body), limit: 1000, wantIs: ErrTooLarge, wantMsg: "more than 1000 bytes"},
		{name: "exactly the limit plus one", r: strings.NewReader("12345"), limit: 4, wantIs: ErrTooLarge},
		{name: "empty", r: strings.NewReader(""), limit: 10, wantIs: ErrEmpty},
		{name: "disk full", r: strings.NewReader(body), limit: 1 << 20, inject: true, wantIs: syscall.ENOSPC},
		{name: "reader fails", r: io.MultiReader(strings.NewReader("G0 X1\n"), iotest.ErrReader(io.ErrUnexpectedEOF)), limit: 1 << 20, wantIs: io.ErrUnexpectedEOF},
		{name: "cancelled", ctx: cancelled, r: strings.NewReader(body), limit: 1 << 20, wantIs: context.Canceled},
		{name: "bad limit", r: strings.NewReader(body), limit: 0, wantIs: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := MustOpenStore(t)
			if tt.inject {
				s.createTemp = func(dir, pattern string) (bodyFile, error) {
					f, err := os.CreateTemp(dir, pattern)
					if err != nil {
						return nil, err
					}
					return &failingFile{File: f, limit: 50000}, nil
				}
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, _, err := s.PutBody(ctx, tt.r, tt.limit)
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("PutBody: err=%v, want %v", err, tt.wantIs)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if got := bodyFiles(t, s); len(got) != 0 {
				t.Errorf("files left behind: %v", got)
			}
		})
	}
}

func TestOpenBodyErrors(t *testing.T) {
	t.Parallel()
	s := MustOpenStore(t)
	tests := []struct {
		sha    string
		wantIs error
	}{
		{strings.Repeat("ab", 32), ErrNotFound},
		{"abc", ErrInvalid},
		{strings.Repeat("AB", 32), ErrInvalid},
		{"../" + strings.Repeat("a", 61), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.sha, func(t *testing.T) {
			_, err := s.OpenBody(tt.sha)
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("OpenBody(%q): err=%v, want %v", tt.sha, err, tt.wantIs)
			}
		})
	}
}

func TestPruneBodies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	orphan, _, err := s.PutBody(ctx, strings.NewReader("G0 X9\n"), 100)
	if err != nil {
		t.Fatal(err)
	}
	used := MustCreateJob(t, s, "used", "G0 X1\n")

	if n, err := s.PruneBodies(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("prune of fresh bodies removed %d (%v), want 0", n, err)
	}
	now = now.Add(2 * time.Hour)
	// Uploading the same content again refreshes it.
	if _, _, err := s.PutBody(ctx, strings.NewReader("G0 X9\n"), 100); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneBodies(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("prune after re-upload removed %d (%v), want 0", n, err)
	}
	now = now.Add(2 * time.Hour)
	if n, err := s.PruneBodies(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("prune removed %d (%v), want the 1 orphan", n, err)
	}
	if _, err := s.OpenBody(orphan); !errors.Is(err, ErrNotFound) {
		t.Errorf("orphan body still there: %v", err)
	}
	f, err := s.OpenBody(used.SHA256)
	if err != nil {
		t.Fatalf("referenced body pruned: %v", err)
	}
	f.Close()
}
