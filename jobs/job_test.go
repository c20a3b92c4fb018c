package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestCreateJobValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	sha, size, err := s.PutBody(ctx, strings.NewReader("G0 X1\n"), 100)
	if err != nil {
		t.Fatal(err)
	}
	missing := strings.Repeat("0", 64)
	tests := []struct {
		name    string
		job     Job
		wantIs  error
		wantMsg string
	}{
		{"empty name", Job{Name: "  ", SHA256: sha, Size: size}, ErrInvalid, "field name"},
		{"bad sha", Job{Name: "a", SHA256: "xyz", Size: size}, ErrInvalid, "field sha256"},
		{"negative lines", Job{Name: "a", SHA256: sha, Size: size, Lines: -1}, ErrInvalid, "field lines"},
		{"bad check", Job{Name: "a", SHA256: sha, Size: size, Check: json.RawMessage(`{`)}, ErrInvalid, "field check"},
		{"body missing", Job{Name: "a", SHA256: missing, Size: 1}, ErrNotFound, missing},
		{"size mismatch", Job{Name: "a", SHA256: sha, Size: size + 1}, ErrConflict, "field size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateJob(ctx, tt.job)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("CreateJob: err=%v, want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
	if jobs, _ := s.Jobs(ctx, Page{}); len(jobs) != 0 {
		t.Errorf("failed creates stored %d jobs", len(jobs))
	}
}

func TestCreateAndGetJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	sha, size, err := s.PutBody(ctx, strings.NewReader("G0 X1\nG0 X2\n"), 100)
	if err != nil {
		t.Fatal(err)
	}
	check := json.RawMessage(`{"errors":0,"warnings":["M6"]}`)
	j, err := s.CreateJob(ctx, Job{Name: " part.nc ", SHA256: sha, Size: size, Lines: 2, Check: check})
	if err != nil {
		t.Fatal(err)
	}
	if j.ID != 1 || j.Name != "part.nc" || j.Created.IsZero() {
		t.Errorf("created job=%+v", j)
	}
	got, err := s.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != j.ID || got.SHA256 != sha || got.Size != size || got.Lines != 2 || !got.Created.Equal(j.Created) || string(got.Check) != string(check) {
		t.Errorf("Job()=%+v, want %+v", got, j)
	}
	_, err = s.Job(ctx, 99)
	if !errors.Is(err, ErrNotFound) || err.Error() != "job 0033: not found" {
		t.Errorf("Job(99): err=%v, want \"job 0033: not found\"", err)
	}
}

func TestJobsPagingNewestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	var ids []ID
	for i := range 7 {
		ids = append(ids, MustCreateJob(t, s, "j", strings.Repeat("G0 X1\n", i+1)).ID)
	}
	var pages [][]ID
	for before := ID(0); ; {
		page, err := s.Jobs(ctx, Page{Before: before, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		var p []ID
		for _, j := range page {
			p = append(p, j.ID)
		}
		pages = append(pages, p)
		before = page[len(page)-1].ID
	}
	want := [][]ID{{ids[6], ids[5], ids[4]}, {ids[3], ids[2], ids[1]}, {ids[0]}}
	if len(pages) != len(want) {
		t.Fatalf("pages=%v, want %v", pages, want)
	}
	for i := range want {
		if len(pages[i]) != len(want[i]) {
			t.Fatalf("pages=%v, want %v", pages, want)
		}
		for k := range want[i] {
			if pages[i][k] != want[i][k] {
				t.Fatalf("pages=%v, want %v", pages, want)
			}
		}
	}
	if got, _ := s.Jobs(ctx, Page{Before: 1000}); len(got) != 7 {
		t.Errorf("Before beyond the newest: %d jobs, want 7", len(got))
	}
}

func TestDeleteJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("shared body removed with its last job", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		a := MustCreateJob(t, s, "a", "G0 X1\n")
		b := MustCreateJob(t, s, "b", "G0 X1\n")
		path, _ := s.BodyPath(a.SHA256)
		if err := s.DeleteJob(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("body removed while job %s still uses it: %v", b.ID, err)
		}
		if _, err := s.Job(ctx, a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted job still there: %v", err)
		}
		if err := s.DeleteJob(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("body kept after its last job: %v", err)
		}
		if err := s.DeleteJob(ctx, b.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: err=%v, want ErrNotFound", err)
		}
	})

	t.Run("refused while a run is not finished", func(t *testing.T) {
		t.Parallel()
		for _, st := range []RunState{StateQueued, StateRunning, StatePaused} {
			t.Run(string(st), func(t *testing.T) {
				s := MustOpenStore(t)
				j := MustCreateJob(t, s, "a", "G0 X1\n")
				r := MustRunInState(t, s, j.ID, st)
				err := s.DeleteJob(ctx, j.ID)
				if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), r.ID.String()) {
					t.Fatalf("DeleteJob: err=%v, want ErrConflict naming run %s", err, r.ID)
				}
				if _, err := s.Job(ctx, j.ID); err != nil {
					t.Errorf("job gone after refused delete: %v", err)
				}
				if _, err := s.OpenBody(j.SHA256); err != nil {
					t.Errorf("body gone after refused delete: %v", err)
				}
			})
		}
	})

	t.Run("cascades to runs, telemetry and baseline", func(t *testing.T) {
		t.Parallel()
		s := MustOpenStore(t)
		j := MustCreateJob(t, s, "a", "G0 X1\n")
		other := MustCreateJob(t, s, "b", "G0 X2\n")
		r := MustRunInState(t, s, j.ID, StateCompleted)
		keep := MustRunInState(t, s, other.ID, StateCompleted)
		if err := s.AppendTelemetry(ctx, r.ID, []Sample{{T: 1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetBaseline(ctx, Baseline{JobID: j.ID, RunID: r.ID}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Run(ctx, r.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("run of deleted job: err=%v", err)
		}
		if err := s.Telemetry(ctx, r.ID, func(Sample) error { return nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("telemetry of deleted run: err=%v", err)
		}
		if _, err := s.Baseline(ctx, j.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("baseline of deleted job: err=%v", err)
		}
		if _, err := s.Run(ctx, keep.ID); err != nil {
			t.Errorf("other job's run: %v", err)
		}
	})
}
