package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCanaryConfigStore(t *testing.T) {
	s := NewStore(t.TempDir())
	ctx := context.Background()
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sha, size, err := s.PutBody(ctx, strings.NewReader("G0 X1\n"), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.CreateJob(ctx, Job{Name: "a.nc", SHA256: sha, Size: size, Lines: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CanaryConfig(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("no override: err=%v, want ErrNotFound", err)
	}
	if err := s.SetCanaryConfig(ctx, 99, []byte(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: err=%v, want ErrNotFound", err)
	}
	if err := s.SetCanaryConfig(ctx, j.ID, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.CanaryConfig(ctx, j.ID); err != nil || string(v) != `{"a":1}` {
		t.Errorf("override=%q, %v", v, err)
	}
	if err := s.ClearCanaryConfig(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearCanaryConfig(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("clear twice: err=%v, want ErrNotFound", err)
	}
}
