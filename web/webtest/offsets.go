package webtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

var (
	_ web.OffsetService = (*OffsetService)(nil)
	_ web.ProgramStore  = ProgramDir("")
)

// OffsetService is a web.OffsetService whose methods call the func fields.
type OffsetService struct {
	T          testing.TB
	OffsetsFn  func(ctx context.Context) (web.WorkOffsets, error)
	ZeroAxesFn func(ctx context.Context, z web.ZeroRequest) (web.WorkOffsets, error)
}

// Offsets calls OffsetsFn.
func (f *OffsetService) Offsets(ctx context.Context) (web.WorkOffsets, error) {
	if f.OffsetsFn == nil {
		return web.WorkOffsets{}, unset(f.T, "OffsetService.Offsets")
	}
	return f.OffsetsFn(ctx)
}

// ZeroAxes calls ZeroAxesFn.
func (f *OffsetService) ZeroAxes(ctx context.Context, z web.ZeroRequest) (web.WorkOffsets, error) {
	if f.ZeroAxesFn == nil {
		return web.WorkOffsets{}, unset(f.T, "OffsetService.ZeroAxes")
	}
	return f.ZeroAxesFn(ctx, z)
}

// ProgramDir is a web.ProgramStore reading bodies from files named by
// their SHA-256 in a directory (as jobs.Store keeps them, without its
// fan-out): the harness writes each uploaded program there.
type ProgramDir string

// OpenBody opens dir/sha. Errors: jobs.ErrNotFound when there is no such
// file; jobs.ErrInvalid for a hash that is not 64 lower-case hex digits.
func (d ProgramDir) OpenBody(sha string) (*os.File, error) {
	return openBody(string(d), sha)
}

func openBody(dir, sha string) (*os.File, error) {
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("body %q: not a SHA-256: %w", sha, jobs.ErrInvalid)
	}
	f, err := os.Open(filepath.Join(dir, sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("body %s: %w", sha, jobs.ErrNotFound)
	}
	return f, err
}
