package jobs

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migration brings the schema from version-1 to version inside one write
// transaction: either the whole step and the new version number are
// committed, or nothing is.
type migration struct {
	version int
	name    string
	up      func(tx *bolt.Tx) error
}

// schemaMigrations returns the ordered list of schema migrations. A database
// without a meta bucket is version 0 (a brand-new file, or one written before
// versioning). Append new steps; never edit a released one.
func schemaMigrations() []migration {
	return []migration{
		{version: 1, name: "create buckets", up: func(tx *bolt.Tx) error {
			for _, name := range v1Buckets() {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return fmt.Errorf("create bucket %s: %w", name, err)
				}
			}
			return nil
		}},
		{version: 2, name: "relay switches", up: func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(bucketRelay); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketRelay, err)
			}
			return nil
		}},
		{version: 3, name: "checkpoints bucket (Z drift)", up: func(tx *bolt.Tx) error {
			if _, err := tx.CreateBucketIfNotExists(bucketCheckpoints); err != nil {
				return fmt.Errorf("create bucket %s: %w", bucketCheckpoints, err)
			}
			return nil
		}},
	}
}

// v1Buckets lists the buckets of schema version 1.
func v1Buckets() [][]byte {
	return [][]byte{
		bucketJobs, bucketRuns, bucketJobRuns, bucketQueue, bucketActive, bucketBodyRefs,
		bucketTelemetry, bucketBaselines, bucketSettings, bucketTokens, bucketTokenHash,
	}
}

// knownBucket reports whether name is one of kerf's root buckets.
func knownBucket(name []byte) bool {
	if bytes.Equal(name, bucketMeta) {
		return true
	}
	for _, b := range v1Buckets() {
		if bytes.Equal(name, b) {
			return true
		}
	}
	return false
}

// latestVersion is the version the last migration produces.
func latestVersion(ms []migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// schemaVersion reads the stored version; a missing meta bucket is version 0.
func schemaVersion(tx *bolt.Tx) (int, error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0, nil
	}
	raw := b.Get(keySchema)
	if raw == nil {
		return 0, nil
	}
	if len(raw) != 8 {
		return 0, fmt.Errorf("schema version record has %d bytes, want 8", len(raw))
	}
	return int(binary.BigEndian.Uint64(raw)), nil
}

// migrate applies every migration newer than the stored version, each in its
// own transaction, in order.
func (s *Store) migrate(db *bolt.DB) error {
	var current int
	if err := db.View(func(tx *bolt.Tx) error {
		var err error
		current, err = schemaVersion(tx)
		return err
	}); err != nil {
		return fmt.Errorf("read schema version of %s: %w", db.Path(), err)
	}
	if latest := latestVersion(s.migrations); current > latest {
		return fmt.Errorf("database file %s has schema version %d, newer than this kerf supports (%d): upgrade kerf", db.Path(), current, latest)
	}
	for _, m := range s.migrations {
		if m.version <= current {
			continue
		}
		if m.version != current+1 {
			return fmt.Errorf("migrate %s: migration %d (%s) does not follow version %d", db.Path(), m.version, m.name, current)
		}
		err := db.Update(func(tx *bolt.Tx) error {
			if err := m.up(tx); err != nil {
				return err
			}
			meta, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return meta.Put(keySchema, u64(uint64(m.version)))
		})
		if err != nil {
			return fmt.Errorf("migrate %s to schema version %d (%s): %w", db.Path(), m.version, m.name, err)
		}
		current = m.version
	}
	return nil
}
