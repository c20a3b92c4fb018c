package jobs

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Job is an uploaded G-code program. Its body is the content-addressed file
// named by SHA256 (see PutBody); the record holds what kerf learnt about it.
type Job struct {
	// ID is assigned by CreateJob.
	ID ID `json:"id"`
	// Name is a human label, by default the uploaded file's name.
	Name string `json:"name"`
	// SHA256 is the lower-case hex SHA-256 of the body.
	SHA256 string `json:"sha256"`
	// Size is the body's size in bytes.
	Size int64 `json:"size"`
	// Lines is the number of source lines of the program.
	Lines int `json:"lines"`
	// Created is set by CreateJob from Store.Now.
	Created time.Time `json:"created"`
	// Check is the G-code check summary (owned by package gcode), stored as
	// given.
	Check json.RawMessage `json:"check,omitempty"`
	// NoDrift opts the job out of Z-drift checkpoints (see SetJobDrift).
	NoDrift bool `json:"no_drift,omitempty"`
}

// Page selects a slice of a newest-first listing: records with an ID below
// Before (0: from the newest), at most Limit of them (0: DefaultPageLimit;
// capped at MaxPageLimit). The next page starts Before the last ID returned.
type Page struct {
	Before ID
	Limit  int
}

// Paging limits.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)

func (p Page) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// CreateJob stores a new job for a body already written with PutBody and
// returns it with ID and Created set. Errors: ErrInvalid naming the field
// (empty name, bad SHA-256, negative lines, Check that is not JSON),
// ErrNotFound when the body is not stored, ErrConflict when Size disagrees
// with the stored body.
func (s *Store) CreateJob(ctx context.Context, j Job) (Job, error) {
	j.Name = strings.TrimSpace(j.Name)
	switch {
	case j.Name == "":
		return Job{}, fmt.Errorf("create job: field name: must not be empty: %w", ErrInvalid)
	case j.Lines < 0:
		return Job{}, fmt.Errorf("create job: field lines: %d is negative: %w", j.Lines, ErrInvalid)
	case len(j.Check) > 0 && !json.Valid(j.Check):
		return Job{}, fmt.Errorf("create job: field check: not valid JSON: %w", ErrInvalid)
	}
	if err := validSHA(j.SHA256); err != nil {
		return Job{}, fmt.Errorf("create job: field sha256: %w", err)
	}
	s.bodyMu.Lock()
	defer s.bodyMu.Unlock()
	size, err := s.bodySize(j.SHA256)
	if err != nil {
		return Job{}, fmt.Errorf("create job %q: %w", j.Name, err)
	}
	if j.Size != size {
		return Job{}, fmt.Errorf("create job %q: field size: %d, but body %s has %d bytes: %w", j.Name, j.Size, j.SHA256, size, ErrConflict)
	}
	sum, _ := hex.DecodeString(j.SHA256)
	err = s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		j.ID = ID(seq)
		j.Created = s.Now().UTC()
		if err := putJSON(b, j.ID.key(), j); err != nil {
			return err
		}
		return tx.Bucket(bucketBodyRefs).Put(append(sum, j.ID.key()...), nil)
	})
	if err != nil {
		return Job{}, fmt.Errorf("create job %q: %w", j.Name, err)
	}
	return j, nil
}

// Job returns the job with the given ID, or ErrNotFound.
func (s *Store) Job(ctx context.Context, id ID) (Job, error) {
	var j Job
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		j, err = getJob(tx, id)
		return err
	})
	if err != nil {
		return Job{}, err
	}
	return j, nil
}

func getJob(tx *bolt.Tx, id ID) (Job, error) {
	var j Job
	found, err := getJSON(tx.Bucket(bucketJobs), id.key(), &j)
	if err != nil {
		return Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	if !found {
		return Job{}, fmt.Errorf("job %s: %w", id, ErrNotFound)
	}
	return j, nil
}

// Jobs lists jobs newest first, one page at a time.
func (s *Store) Jobs(ctx context.Context, p Page) ([]Job, error) {
	var out []Job
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJobs).Cursor()
		for k, v := seekBefore(c, p.Before); k != nil && len(out) < p.limit(); k, v = c.Prev() {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("job %s: decode: %w", idFromKey(k), err)
			}
			out = append(out, j)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return out, nil
}

// seekBefore positions c on the last key below before (or the last key when
// before is 0), for a newest-first walk with c.Prev.
func seekBefore(c *bolt.Cursor, before ID) (k, v []byte) {
	if before == 0 {
		return c.Last()
	}
	k, _ = c.Seek(before.key())
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// DeleteJob removes a job with its runs, their telemetry and its baseline,
// and removes the body file when no other job uses it. Errors: ErrNotFound;
// ErrConflict when a run of the job is queued, running or paused (abort it
// first).
func (s *Store) DeleteJob(ctx context.Context, id ID) error {
	s.bodyMu.Lock()
	defer s.bodyMu.Unlock()
	var (
		sha      string
		lastUser bool
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		j, err := getJob(tx, id)
		if err != nil {
			return err
		}
		runIDs := jobRunIDs(tx, id)
		runs := tx.Bucket(bucketRuns)
		for _, rid := range runIDs {
			r, err := getRun(tx, rid)
			if err != nil {
				return err
			}
			if !r.State.Terminal() {
				return fmt.Errorf("job %s has run %s %s (abort it first): %w", id, rid, r.State, ErrConflict)
			}
		}
		for _, rid := range runIDs {
			if err := runs.Delete(rid.key()); err != nil {
				return err
			}
			if err := tx.Bucket(bucketJobRuns).Delete(append(id.key(), rid.key()...)); err != nil {
				return err
			}
			if err := deleteTelemetry(tx, rid); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketBaselines).Delete(id.key()); err != nil {
			return err
		}
		if err := tx.Bucket(bucketJobs).Delete(id.key()); err != nil {
			return err
		}
		sum, err := hex.DecodeString(j.SHA256)
		if err != nil {
			return fmt.Errorf("job %s: stored sha256: %w", id, err)
		}
		refs := tx.Bucket(bucketBodyRefs)
		if err := refs.Delete(append(sum, id.key()...)); err != nil {
			return err
		}
		k, _ := refs.Cursor().Seek(sum)
		sha, lastUser = j.SHA256, k == nil || !bytes.HasPrefix(k, sum)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	if lastUser {
		if err := s.removeBody(sha); err != nil {
			return fmt.Errorf("delete job %s: record deleted, but %w", id, err)
		}
	}
	return nil
}

// jobRunIDs lists the IDs of a job's runs, oldest first.
func jobRunIDs(tx *bolt.Tx, job ID) []ID {
	var ids []ID
	prefix := job.key()
	c := tx.Bucket(bucketJobRuns).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, idFromKey(k[8:]))
	}
	return ids
}
