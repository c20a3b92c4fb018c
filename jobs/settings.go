package jobs

import (
	"bytes"
	"context"
	"fmt"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// maxSettingKey bounds setting keys (bbolt allows 32 KiB; names are short).
const maxSettingKey = 256

func validSettingKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("setting key must not be empty: %w", ErrInvalid)
	case len(key) > maxSettingKey:
		return fmt.Errorf("setting key %.20q…: longer than %d bytes: %w", key, maxSettingKey, ErrInvalid)
	case !utf8.ValidString(key):
		return fmt.Errorf("setting key %q: not UTF-8: %w", key, ErrInvalid)
	}
	return nil
}

// SetSetting stores value under key (a UTF-8 name such as
// "canary/config/default"), replacing any earlier value. The store does not
// interpret values.
func (s *Store) SetSetting(ctx context.Context, key string, value []byte) error {
	if err := validSettingKey(key); err != nil {
		return fmt.Errorf("set setting: %w", err)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).Put([]byte(key), bytes.Clone(value))
	})
	if err != nil {
		return fmt.Errorf("set setting %q: %w", key, err)
	}
	return nil
}

// Setting returns a copy of the value stored under key, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, error) {
	if err := validSettingKey(key); err != nil {
		return nil, fmt.Errorf("setting: %w", err)
	}
	var out []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSettings).Get([]byte(key))
		if v == nil {
			return fmt.Errorf("setting %q: %w", key, ErrNotFound)
		}
		out = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Settings returns the keys and values whose key starts with prefix ("" for
// all), as a map of copies.
func (s *Store) Settings(ctx context.Context, prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSettings).Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			out[string(k)] = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("settings %q: %w", prefix, err)
	}
	return out, nil
}

// DeleteSetting removes key. Errors: ErrNotFound when it is not set.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	if err := validSettingKey(key); err != nil {
		return fmt.Errorf("delete setting: %w", err)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSettings)
		if b.Get([]byte(key)) == nil {
			return fmt.Errorf("setting %q: %w", key, ErrNotFound)
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete setting: %w", err)
	}
	return nil
}
