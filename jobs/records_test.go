package jobs

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestBaselines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	a := MustCreateJob(t, s, "a", "G0 X1\n")
	b := MustCreateJob(t, s, "b", "G0 X2\n")
	good := MustRunInState(t, s, a.ID, StateCompleted)
	failed := MustRunInState(t, s, a.ID, StateFailed)
	otherJob := MustRunInState(t, s, b.ID, StateCompleted)

	if _, err := s.Baseline(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("no baseline yet: err=%v", err)
	}
	tests := []struct {
		name    string
		b       Baseline
		wantIs  error
		wantMsg string
	}{
		{"unknown job", Baseline{JobID: 900, RunID: good.ID}, ErrNotFound, "job 00W4"},
		{"unknown run", Baseline{JobID: a.ID, RunID: 900}, ErrNotFound, "run 00W4"},
		{"run of another job", Baseline{JobID: a.ID, RunID: otherJob.ID}, ErrConflict, "belongs to job " + b.ID.String()},
		{"run not completed", Baseline{JobID: a.ID, RunID: failed.ID}, ErrConflict, "is failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetBaseline(ctx, tt.b)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("SetBaseline: err=%v, want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
	set, err := s.SetBaseline(ctx, Baseline{JobID: a.ID, RunID: good.ID, CanaryConfig: "strict"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Baseline(ctx, a.ID)
	if err != nil || got.RunID != good.ID || got.CanaryConfig != "strict" || !got.Set.Equal(set.Set) || got.Set.IsZero() {
		t.Errorf("Baseline=%+v, %v; want %+v", got, err, set)
	}
	if err := s.ClearBaseline(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearBaseline(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second clear: err=%v", err)
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	value := []byte(`{"feed":1}`)
	if err := s.SetSetting(ctx, "canary/config/default", value); err != nil {
		t.Fatal(err)
	}
	value[0] = 'X' // the store keeps its own copy
	if err := s.SetSetting(ctx, "canary/config/strict", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "relay/mode", []byte("sense")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Setting(ctx, "canary/config/default")
	if err != nil || string(got) != `{"feed":1}` {
		t.Errorf("Setting=%q, %v", got, err)
	}
	all, err := s.Settings(ctx, "canary/")
	if err != nil || len(all) != 2 || string(all["canary/config/strict"]) != "2" {
		t.Errorf("Settings(canary/)=%q, %v", all, err)
	}
	if err := s.DeleteSetting(ctx, "relay/mode"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Setting(ctx, "relay/mode"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "relay/mode") {
		t.Errorf("deleted setting: err=%v", err)
	}
	if err := s.DeleteSetting(ctx, "relay/mode"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: err=%v", err)
	}
	for _, key := range []string{"", strings.Repeat("k", 300), "\xff"} {
		if err := s.SetSetting(ctx, key, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetSetting(%q): err=%v, want ErrInvalid", key, err)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	hash := HashTokenSecret
	tok, err := s.CreateToken(ctx, Token{Name: "panel", Role: "operator", Hash: hash("s3cret")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tok     Token
		wantIs  error
		wantMsg string
	}{
		{"empty name", Token{Role: "viewer", Hash: hash("a")}, ErrInvalid, "field name"},
		{"empty role", Token{Name: "x", Hash: hash("a")}, ErrInvalid, "field role"},
		{"short hash", Token{Name: "x", Role: "viewer", Hash: []byte("abc")}, ErrInvalid, "field hash"},
		{"duplicate name", Token{Name: "panel", Role: "viewer", Hash: hash("b")}, ErrConflict, "taken by token " + tok.ID.String()},
		{"duplicate secret", Token{Name: "other", Role: "viewer", Hash: hash("s3cret")}, ErrConflict, "secret exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateToken(ctx, tt.tok)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("CreateToken: err=%v, want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
	got, err := s.TokenByHash(ctx, hash("s3cret"))
	if err != nil || got.ID != tok.ID || got.Role != "operator" || got.Created.IsZero() {
		t.Errorf("TokenByHash=%+v, %v", got, err)
	}
	if _, err := s.TokenByHash(ctx, hash("wrong")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown secret: err=%v", err)
	}
	if name, role, err := s.AuthenticateToken(ctx, "s3cret"); err != nil || name != "panel" || role != "operator" {
		t.Errorf("AuthenticateToken=%q, %q, %v; want panel, operator", name, role, err)
	}
	for _, secret := range []string{"", "S3cret", "s3cret "} {
		if name, role, err := s.AuthenticateToken(ctx, secret); !errors.Is(err, ErrNotFound) || name != "" || role != "" {
			t.Errorf("AuthenticateToken(%q) = %q, %q, %v; want nothing and ErrNotFound", secret, name, role, err)
		}
	}
	if h := sha256.Sum256([]byte("s3cret")); string(hash("s3cret")) != string(h[:]) {
		t.Error("HashTokenSecret is not SHA-256")
	}
	list, err := s.Tokens(ctx)
	if err != nil || len(list) != 1 {
		t.Errorf("Tokens=%+v, %v", list, err)
	}
	if err := s.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, hash("s3cret")); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token still found: err=%v", err)
	}
	if err := s.DeleteToken(ctx, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke: err=%v", err)
	}
}

// TestConcurrentUse exercises the store from several goroutines under -race:
// job creation, telemetry appends and reads interleave without corrupting
// each other.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	j := MustCreateJob(t, s, "a", "G0 X1\n")
	r := MustRunInState(t, s, j.ID, StateRunning)
	errc := make(chan error, 3)
	go func() {
		for range 20 {
			if _, err := s.CreateRun(ctx, Run{JobID: j.ID}); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	go func() {
		for i := range 20 {
			if err := s.AppendTelemetry(ctx, r.ID, []Sample{{SourceLine: int32(i)}}); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	go func() {
		for range 20 {
			if _, err := s.Runs(ctx, RunFilter{JobID: j.ID}); err != nil {
				errc <- err
				return
			}
			if err := s.Telemetry(ctx, r.ID, func(Sample) error { return nil }); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for range 3 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.Runs(ctx, RunFilter{JobID: j.ID, States: []RunState{StateQueued}})
	if err != nil || len(runs) != 20 {
		t.Errorf("queued runs=%d, %v; want 20", len(runs), err)
	}
}
