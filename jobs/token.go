package jobs

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Token is an API token record. The secret itself is never stored: Hash is
// its SHA-256 (tokens are long random strings, so a fast hash is enough;
// passwords belong elsewhere with a slow KDF).
type Token struct {
	// ID is assigned by CreateToken.
	ID ID `json:"id"`
	// Name is the label given by the admin, unique among tokens.
	Name string `json:"name"`
	// Role is the token's role (the web package defines the roles).
	Role string `json:"role"`
	// Hash is the SHA-256 of the secret.
	Hash []byte `json:"hash"`
	// Created is set by CreateToken.
	Created time.Time `json:"created"`
}

// CreateToken stores a token and returns it with ID and Created set.
// Errors: ErrInvalid for an empty name or role or a hash that is not 32
// bytes; ErrConflict when the name or the hash is already used.
func (s *Store) CreateToken(ctx context.Context, t Token) (Token, error) {
	t.Name = strings.TrimSpace(t.Name)
	switch {
	case t.Name == "":
		return Token{}, fmt.Errorf("create token: field name: must not be empty: %w", ErrInvalid)
	case t.Role == "":
		return Token{}, fmt.Errorf("create token %q: field role: must not be empty: %w", t.Name, ErrInvalid)
	case len(t.Hash) != sha256.Size:
		return Token{}, fmt.Errorf("create token %q: field hash: %d bytes, want %d: %w", t.Name, len(t.Hash), sha256.Size, ErrInvalid)
	}
	t.Hash = bytes.Clone(t.Hash)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		byHash := tx.Bucket(bucketTokenHash)
		if byHash.Get(t.Hash) != nil {
			return fmt.Errorf("a token with this secret exists: %w", ErrConflict)
		}
		b := tx.Bucket(bucketTokens)
		if err := b.ForEach(func(_, v []byte) error {
			var other Token
			if err := json.Unmarshal(v, &other); err != nil {
				return err
			}
			if other.Name == t.Name {
				return fmt.Errorf("token name %q is taken by token %s: %w", t.Name, other.ID, ErrConflict)
			}
			return nil
		}); err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		t.ID = ID(seq)
		t.Created = s.Now().UTC()
		if err := putJSON(b, t.ID.key(), t); err != nil {
			return err
		}
		return byHash.Put(t.Hash, t.ID.key())
	})
	if err != nil {
		return Token{}, fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return t, nil
}

// TokenByHash finds the token whose secret hashes to hash, or ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (Token, error) {
	var t Token
	err := s.view(ctx, func(tx *bolt.Tx) error {
		k := tx.Bucket(bucketTokenHash).Get(hash)
		if k == nil {
			return fmt.Errorf("token: %w", ErrNotFound)
		}
		found, err := getJSON(tx.Bucket(bucketTokens), k, &t)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("token %s: %w", idFromKey(k), ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return Token{}, err
	}
	return t, nil
}

// HashTokenSecret returns the Hash stored for a token secret.
func HashTokenSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// AuthenticateToken authenticates a bearer token secret and returns the
// token's name and role: the one check of a secret (web.TokenStore), so
// that no caller can accept a token without learning what it may do.
// Errors: ErrNotFound for an unknown or revoked secret (including an empty
// one).
func (s *Store) AuthenticateToken(ctx context.Context, secret string) (name, role string, err error) {
	if secret == "" {
		return "", "", fmt.Errorf("token: empty secret: %w", ErrNotFound)
	}
	t, err := s.TokenByHash(ctx, HashTokenSecret(secret))
	if err != nil {
		return "", "", err
	}
	return t.Name, t.Role, nil
}

// TokenSecretPrefix starts every secret IssueToken makes, so a leaked
// secret is recognisable (e.g. by secret scanners).
const TokenSecretPrefix = "kerf_"

// tokenSecretBytes is the entropy of an issued secret: 256 bits.
const tokenSecretBytes = 32

// IssueToken makes a new random secret (TokenSecretPrefix followed by 256
// random bits in unpadded base64url), stores a token called name with role
// under its hash, and returns the token and the secret. The secret is not
// kept anywhere: the caller shows it once. Errors: as CreateToken.
func (s *Store) IssueToken(ctx context.Context, name, role string) (Token, string, error) {
	raw := make([]byte, tokenSecretBytes)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails (it crashes the program instead)
	secret := TokenSecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t, err := s.CreateToken(ctx, Token{Name: name, Role: role, Hash: HashTokenSecret(secret)})
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// Tokens lists all tokens, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]Token, error) {
	var out []Token
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
			var t Token
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("token %s: decode: %w", idFromKey(k), err)
			}
			out = append(out, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken revokes a token. Errors: ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, id ID) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		var t Token
		found, err := getJSON(b, id.key(), &t)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("token %s: %w", id, ErrNotFound)
		}
		if err := tx.Bucket(bucketTokenHash).Delete(t.Hash); err != nil {
			return err
		}
		return b.Delete(id.key())
	})
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}
