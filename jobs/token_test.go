package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestIssueToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustOpenStore(t)
	tok, secret, err := s.IssueToken(ctx, "cli", "operator")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, TokenSecretPrefix) || len(secret) != len(TokenSecretPrefix)+43 {
		t.Errorf("secret=%q, want %s + 43 base64url characters (256 bits)", secret, TokenSecretPrefix)
	}
	if tok.ID == 0 || tok.Name != "cli" || tok.Role != "operator" || string(tok.Hash) != string(HashTokenSecret(secret)) {
		t.Errorf("token=%+v", tok)
	}
	_, secret2, err := s.IssueToken(ctx, "cli2", "viewer")
	if err != nil || secret2 == secret {
		t.Fatalf("second IssueToken: secret repeated or err=%v", err)
	}
	if _, _, err := s.IssueToken(ctx, "cli", "viewer"); !errors.Is(err, ErrConflict) {
		t.Errorf("IssueToken with a taken name: err=%v, want ErrConflict", err)
	}

	tests := []struct {
		name     string
		secret   string
		wantName string
		wantRole string
		wantErr  error
	}{
		{"operator token", secret, "cli", "operator", nil},
		{"viewer token", secret2, "cli2", "viewer", nil},
		{"empty", "", "", "", ErrNotFound},
		{"prefix only", TokenSecretPrefix, "", "", ErrNotFound},
		{"one character off", secret[:len(secret)-1] + "!", "", "", ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, role, err := s.AuthenticateToken(ctx, tt.secret)
			if name != tt.wantName || role != tt.wantRole || !errors.Is(err, tt.wantErr) {
				t.Errorf("AuthenticateToken=%q, %q, %v; want %q, %q, %v", name, role, err, tt.wantName, tt.wantRole, tt.wantErr)
			}
		})
	}
	if err := s.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AuthenticateToken(ctx, secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token: err=%v, want ErrNotFound", err)
	}
}
