package jobs

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// testIterations keeps PBKDF2 cheap in tests; TestHashPasswordDefault
// checks the production cost once.
const testIterations = 1000

func TestHashPasswordDefault(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse", 0)
	if err != nil {
		t.Fatal(err)
	}
	if h.Algorithm != PasswordAlgorithm || h.Iterations != DefaultPasswordIterations || h.Iterations < 600_000 {
		t.Errorf("hash=%s/%d, want %s with at least 600000 iterations", h.Algorithm, h.Iterations, PasswordAlgorithm)
	}
	// Independent recomputation: the stored key is PBKDF2-HMAC-SHA256.
	want, err := pbkdf2.Key(sha256.New, "correct horse", h.Salt, h.Iterations, 32)
	if err != nil || string(want) != string(h.Key) {
		t.Errorf("key is not PBKDF2-HMAC-SHA256 of the password and salt")
	}
	if !h.Verify("correct horse") || h.Verify("correct horsE") {
		t.Error("Verify does not tell the right password from a wrong one")
	}
}

func TestHashPassword(t *testing.T) {
	t.Parallel()
	a, err := HashPassword("password1", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("password1", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Salt) == string(b.Salt) || string(a.Key) == string(b.Key) {
		t.Error("two hashes of one password share salt or key: salts are not per hash")
	}
	tests := []struct {
		name     string
		password string
		iter     int
		wantMsg  string
	}{
		{"too short", "short", testIterations, "shorter than 8"},
		{"too long", strings.Repeat("x", MaxPasswordLength+1), testIterations, "longer than 1024"},
		{"negative iterations", "password1", -1, "iteration count -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := HashPassword(tt.password, tt.iter)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err=%v, want ErrInvalid mentioning %q", err, tt.wantMsg)
			}
		})
	}
	t.Run("malformed hashes match nothing", func(t *testing.T) {
		for name, h := range map[string]PasswordHash{
			"zero":          {},
			"unknown alg":   {Algorithm: "md5", Iterations: 1, Salt: a.Salt, Key: a.Key},
			"no iterations": {Algorithm: PasswordAlgorithm, Salt: a.Salt, Key: a.Key},
			"short salt":    {Algorithm: PasswordAlgorithm, Iterations: testIterations, Salt: a.Salt[:4], Key: a.Key},
		} {
			if h.Verify("password1") {
				t.Errorf("%s: Verify accepted the password", name)
			}
		}
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	if list, err := s.Users(ctx); err != nil || len(list) != 0 {
		t.Fatalf("Users on a new store=%v, %v; want none", list, err)
	}
	if _, err := s.User(ctx, "ada"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("User before any exists: err=%v, want ErrNotFound", err)
	}
	h, err := HashPassword("first password", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	ada, err := s.CreateUser(ctx, User{Name: "ada", Role: "admin", Password: h})
	if err != nil {
		t.Fatal(err)
	}
	if ada.Created.IsZero() || !ada.PasswordChanged.Equal(ada.Created) {
		t.Errorf("created user=%+v: Created and PasswordChanged not set", ada)
	}
	tests := []struct {
		name    string
		u       User
		wantIs  error
		wantMsg string
	}{
		{"empty name", User{Role: "viewer", Password: h}, ErrInvalid, "field name: must not be empty"},
		{"flag-like name", User{Name: "-x", Role: "viewer", Password: h}, ErrInvalid, `character '-' at byte 0`},
		{"space in name", User{Name: "a b", Role: "viewer", Password: h}, ErrInvalid, `character ' ' at byte 1`},
		{"long name", User{Name: strings.Repeat("a", 65), Role: "viewer", Password: h}, ErrInvalid, "longer than 64"},
		{"empty role", User{Name: "bob", Password: h}, ErrInvalid, "field role"},
		{"no password", User{Name: "bob", Role: "viewer"}, ErrInvalid, "field password"},
		{"taken", User{Name: "ada", Role: "viewer", Password: h}, ErrConflict, `"ada" is taken`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateUser(ctx, tt.u)
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("CreateUser: err=%v, want %v mentioning %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
	if _, err := s.CreateUser(ctx, User{Name: "bob.smith@example.org", Role: "viewer", Password: h}); err != nil {
		t.Fatalf("CreateUser with an e-mail name: %v", err)
	}
	got, err := s.User(ctx, "ada")
	if err != nil || got.Role != "admin" || !got.Password.Verify("first password") {
		t.Errorf("User(ada)=%+v, %v", got, err)
	}
	list, err := s.Users(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "ada" || list[1].Name != "bob.smith@example.org" {
		t.Errorf("Users=%+v, %v; want ada, bob.smith@example.org", list, err)
	}

	h2, err := HashPassword("second password", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetUserPassword(ctx, "nobody", h2); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetUserPassword(nobody): err=%v, want ErrNotFound", err)
	}
	if _, err := s.SetUserPassword(ctx, "ada", PasswordHash{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetUserPassword with a zero hash: err=%v, want ErrInvalid", err)
	}
	if _, err := s.SetUserPassword(ctx, "ada", h2); err != nil {
		t.Fatal(err)
	}
	got, _ = s.User(ctx, "ada")
	if got.Password.Verify("first password") || !got.Password.Verify("second password") {
		t.Error("after SetUserPassword the old password still works or the new one does not")
	}

	if err := s.DeleteUser(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "ada"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteUser: err=%v, want ErrNotFound", err)
	}
	if _, err := s.User(ctx, "ada"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted user still found: err=%v", err)
	}
}

// TestUsersSurviveReopen proves the lazily created users bucket is accepted
// by Open's checks and keeps its records.
func TestUsersSurviveReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	h, err := HashPassword("password1", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(dir)
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, User{Name: "ada", Role: "admin", Password: h}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := MustOpenStoreAt(t, dir)
	if u, err := s2.User(ctx, "ada"); err != nil || !u.Password.Verify("password1") {
		t.Errorf("after reopen: User=%+v, %v", u, err)
	}
}

// BenchmarkVerifyPassword measures one login's password check at the
// production cost (DefaultPasswordIterations); ms/op is what a login costs
// a core, and what an attacker pays per guess.
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("correct horse battery", 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !h.Verify("correct horse battery") {
			b.Fatal("Verify failed")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/verify")
}
