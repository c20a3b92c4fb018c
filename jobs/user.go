package jobs

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// bucketUsers holds the panel's users: name → User JSON. It is created by
// the first CreateUser (schema version 1 has no users bucket; a read of a
// store without it sees no users).
var bucketUsers = []byte("users")

// Password hashing parameters. PBKDF2-HMAC-SHA256 with 600,000 iterations is
// OWASP's current recommendation for PBKDF2 (Password Storage Cheat Sheet),
// roughly the cost of scrypt N=2^17, r=8, p=1; every hash has its own
// 16-byte random salt and records its iteration count, so the cost can be
// raised later without invalidating stored hashes.
const (
	// PasswordAlgorithm names the only KDF PasswordHash supports.
	PasswordAlgorithm = "pbkdf2-sha256"
	// DefaultPasswordIterations is the PBKDF2 iteration count HashPassword
	// uses when asked for 0.
	DefaultPasswordIterations = 600_000
	// MinPasswordLength and MaxPasswordLength bound a password in bytes.
	// The maximum bounds the work a login attempt costs.
	MinPasswordLength = 8
	MaxPasswordLength = 1024
	// MaxUserNameLength bounds a user name in bytes.
	MaxUserNameLength = 64

	passwordSaltBytes = 16
	passwordKeyBytes  = 32
	// maxPasswordIterations refuses stored records that would make a single
	// verification take minutes.
	maxPasswordIterations = 50_000_000
)

// PasswordHash is a salted PBKDF2-HMAC-SHA256 password hash with its
// parameters. Make it with HashPassword; check a password with Verify.
type PasswordHash struct {
	// Algorithm is PasswordAlgorithm.
	Algorithm string `json:"alg"`
	// Iterations is the PBKDF2 iteration count.
	Iterations int `json:"iter"`
	// Salt is the per-hash random salt.
	Salt []byte `json:"salt"`
	// Key is the derived key.
	Key []byte `json:"key"`
}

// HashPassword derives a PasswordHash from password with a fresh random
// salt and the given iteration count (0: DefaultPasswordIterations; lower
// counts are for tests only). Errors: ErrInvalid for a password shorter
// than MinPasswordLength or longer than MaxPasswordLength bytes, or a
// negative iteration count.
func HashPassword(password string, iterations int) (PasswordHash, error) {
	switch {
	case len(password) < MinPasswordLength:
		return PasswordHash{}, fmt.Errorf("password: shorter than %d characters: %w", MinPasswordLength, ErrInvalid)
	case len(password) > MaxPasswordLength:
		return PasswordHash{}, fmt.Errorf("password: longer than %d bytes: %w", MaxPasswordLength, ErrInvalid)
	case iterations < 0 || iterations > maxPasswordIterations:
		return PasswordHash{}, fmt.Errorf("password: iteration count %d out of range: %w", iterations, ErrInvalid)
	case iterations == 0:
		iterations = DefaultPasswordIterations
	}
	salt := make([]byte, passwordSaltBytes)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, passwordKeyBytes)
	if err != nil {
		return PasswordHash{}, fmt.Errorf("password: derive key: %w", err)
	}
	return PasswordHash{Algorithm: PasswordAlgorithm, Iterations: iterations, Salt: salt, Key: key}, nil
}

// Verify reports whether password matches the hash, comparing the derived
// keys in constant time. A malformed hash (unknown algorithm, parameters out
// of range) matches nothing.
func (h PasswordHash) Verify(password string) bool {
	if h.valid() != nil || len(password) > MaxPasswordLength {
		return false
	}
	key, err := pbkdf2.Key(sha256.New, password, h.Salt, h.Iterations, len(h.Key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(key, h.Key) == 1
}

// valid checks the hash's parameters.
func (h PasswordHash) valid() error {
	switch {
	case h.Algorithm != PasswordAlgorithm:
		return fmt.Errorf("field password: algorithm %q is not %s", h.Algorithm, PasswordAlgorithm)
	case h.Iterations < 1 || h.Iterations > maxPasswordIterations:
		return fmt.Errorf("field password: iteration count %d out of range", h.Iterations)
	case len(h.Salt) < 8:
		return fmt.Errorf("field password: salt of %d bytes, want at least 8", len(h.Salt))
	case len(h.Key) < 16 || len(h.Key) > 64:
		return fmt.Errorf("field password: key of %d bytes, want 16 to 64", len(h.Key))
	}
	return nil
}

// User is a panel user: a name, a role and a password hash.
type User struct {
	// Name is the login name, unique.
	Name string `json:"name"`
	// Role is the user's role (the web package defines the roles).
	Role string `json:"role"`
	// Password is the password hash.
	Password PasswordHash `json:"password"`
	// Created is set by CreateUser.
	Created time.Time `json:"created"`
	// PasswordChanged is set by CreateUser and SetUserPassword; login
	// sessions older than it are no longer valid.
	PasswordChanged time.Time `json:"password_changed"`
}

// ValidUserName checks a login name: 1 to MaxUserNameLength bytes of
// letters, digits and . _ @ + -, not starting with - (so it never reads as a
// command-line flag). Errors wrap ErrInvalid and name the offending
// character.
func ValidUserName(name string) error {
	if name == "" {
		return fmt.Errorf("field name: must not be empty: %w", ErrInvalid)
	}
	if len(name) > MaxUserNameLength {
		return fmt.Errorf("field name: longer than %d bytes: %w", MaxUserNameLength, ErrInvalid)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("field name: not UTF-8: %w", ErrInvalid)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '@' || c == '+' || (c == '-' && i > 0)
		if !ok {
			return fmt.Errorf("field name: %q: character %q at byte %d is not allowed (letters, digits, . _ @ + -): %w", name, c, i, ErrInvalid)
		}
	}
	return nil
}

// CreateUser stores a new user and returns it with Created and
// PasswordChanged set. Errors: ErrInvalid for a bad name, an empty role or
// a malformed password hash; ErrConflict when the name is taken.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	if err := ValidUserName(u.Name); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	if u.Role == "" {
		return User{}, fmt.Errorf("create user %q: field role: must not be empty: %w", u.Name, ErrInvalid)
	}
	if err := u.Password.valid(); err != nil {
		return User{}, fmt.Errorf("create user %q: %v: %w", u.Name, err, ErrInvalid)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketUsers)
		if err != nil {
			return err
		}
		if b.Get([]byte(u.Name)) != nil {
			return fmt.Errorf("user name %q is taken: %w", u.Name, ErrConflict)
		}
		now := s.Now().UTC()
		u.Created, u.PasswordChanged = now, now
		return putJSON(b, []byte(u.Name), u)
	})
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return u, nil
}

// User returns the user called name. Errors: ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	var u User
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b == nil {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		found, err := getJSON(b, []byte(name), &u)
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		if !found {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// Users lists all users in name order.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("user %q: decode: %w", k, err)
			}
			out = append(out, u)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// SetUserPassword replaces a user's password hash, sets PasswordChanged
// and returns the updated user. Errors: ErrNotFound; ErrInvalid for a
// malformed hash.
func (s *Store) SetUserPassword(ctx context.Context, name string, h PasswordHash) (User, error) {
	if err := h.valid(); err != nil {
		return User{}, fmt.Errorf("set password of user %q: %v: %w", name, err, ErrInvalid)
	}
	var u User
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b == nil {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		found, err := getJSON(b, []byte(name), &u)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		u.Password = h
		u.PasswordChanged = s.Now().UTC()
		return putJSON(b, []byte(name), u)
	})
	if err != nil {
		return User{}, fmt.Errorf("set password: %w", err)
	}
	return u, nil
}

// DeleteUser removes a user. Errors: ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUsers)
		if b == nil || b.Get([]byte(name)) == nil {
			return fmt.Errorf("user %q: %w", name, ErrNotFound)
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}
