package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ReasonDaemonStopped is the reason RecoverInterrupted records.
const ReasonDaemonStopped = "daemon stopped while running (crash or power loss)"

// Run is one execution of a job on the machine.
type Run struct {
	// ID is assigned by CreateRun.
	ID ID `json:"id"`
	// JobID is the job being run.
	JobID ID `json:"job_id"`
	// Machine names the machine profile the run is for (baselines are per
	// machine profile).
	Machine string `json:"machine,omitempty"`
	// State is the run's state; see RunState for the transitions.
	State RunState `json:"state"`
	// Created is when the run was queued.
	Created time.Time `json:"created"`
	// Started is when the run first entered running.
	Started time.Time `json:"started,omitzero"`
	// Ended is when the run entered an end state.
	Ended time.Time `json:"ended,omitzero"`
	// FromLine is the 1-based source line the run starts from (0 or 1: the
	// beginning).
	FromLine int `json:"from_line,omitempty"`
	// LastAckedLine is the last source line GRBL acknowledged ("ok").
	LastAckedLine int `json:"last_acked_line"`
	// LastExecutedLine is the last source line known to have executed.
	LastExecutedLine int `json:"last_executed_line"`
	// Reason says why the run paused or ended other than by completing.
	Reason string `json:"reason,omitempty"`
	// Summary holds the run's figures.
	Summary RunSummary `json:"summary"`
}

// RunSummary holds summary figures of a run, filled in by the runner.
type RunSummary struct {
	// LinesSent is how many lines were streamed to the board.
	LinesSent int `json:"lines_sent"`
	// Running is the time spent running, excluding pauses.
	Running time.Duration `json:"running_ns"`
	// Paused is the time spent paused.
	Paused time.Duration `json:"paused_ns"`
	// Errors counts GRBL error:N responses.
	Errors int `json:"errors"`
	// Alarms counts GRBL alarms.
	Alarms int `json:"alarms"`
	// Verdict is the final canary verdict (owned by jobs/canary), if any.
	Verdict json.RawMessage `json:"verdict,omitempty"`
	// Relay sums up the router relay's switches (the records are in
	// Store.RelaySwitches); nil for a run without any.
	Relay *RelaySummary `json:"relay,omitempty"`
}

// CreateRun queues a new run of r.JobID and returns it with ID, State
// (queued) and Created set. Only JobID, Machine and FromLine are taken from
// r. Errors: ErrNotFound for an unknown job, ErrInvalid for a FromLine
// outside the program.
func (s *Store) CreateRun(ctx context.Context, r Run) (Run, error) {
	if r.FromLine < 0 {
		return Run{}, fmt.Errorf("create run of job %s: field from_line: %d is negative: %w", r.JobID, r.FromLine, ErrInvalid)
	}
	out := Run{JobID: r.JobID, Machine: r.Machine, FromLine: r.FromLine, State: StateQueued}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		j, err := getJob(tx, r.JobID)
		if err != nil {
			return err
		}
		if j.Lines > 0 && r.FromLine > j.Lines {
			return fmt.Errorf("field from_line: %d is beyond the program's %d lines: %w", r.FromLine, j.Lines, ErrInvalid)
		}
		b := tx.Bucket(bucketRuns)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		out.ID = ID(seq)
		out.Created = s.Now().UTC()
		if err := putJSON(b, out.ID.key(), out); err != nil {
			return err
		}
		if err := tx.Bucket(bucketJobRuns).Put(append(out.JobID.key(), out.ID.key()...), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketQueue).Put(out.ID.key(), nil)
	})
	if err != nil {
		return Run{}, fmt.Errorf("create run of job %s: %w", r.JobID, err)
	}
	return out, nil
}

// Run returns the run with the given ID, or ErrNotFound.
func (s *Store) Run(ctx context.Context, id ID) (Run, error) {
	var r Run
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = getRun(tx, id)
		return err
	})
	if err != nil {
		return Run{}, err
	}
	return r, nil
}

func getRun(tx *bolt.Tx, id ID) (Run, error) {
	var r Run
	found, err := getJSON(tx.Bucket(bucketRuns), id.key(), &r)
	if err != nil {
		return Run{}, fmt.Errorf("run %s: %w", id, err)
	}
	if !found {
		return Run{}, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return r, nil
}

// UpdateRun reads the run, lets fn change it and writes it back, all in one
// write transaction. fn may change State (the state machine is enforced),
// progress lines, Reason, Machine and Summary; changes to ID, JobID,
// Created and FromLine are ignored. Entering running sets Started (once);
// entering an end state sets Ended. An error from fn aborts the update and
// is returned wrapped.
//
// Errors: ErrNotFound; *TransitionError (ErrBadTransition) for a forbidden
// state change; ErrBusy when the run would start while another is active.
func (s *Store) UpdateRun(ctx context.Context, id ID, fn func(*Run) error) (Run, error) {
	var out Run
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getRun(tx, id)
		if err != nil {
			return err
		}
		r := old
		r.Summary.Verdict = slices.Clone(old.Summary.Verdict)
		if err := fn(&r); err != nil {
			return err
		}
		r.ID, r.JobID, r.Created, r.FromLine = old.ID, old.JobID, old.Created, old.FromLine
		if err := s.applyState(tx, old, &r); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bucketRuns), r.ID.key(), r); err != nil {
			return err
		}
		out = r
		return nil
	})
	if err != nil {
		return Run{}, fmt.Errorf("update run %s: %w", id, err)
	}
	return out, nil
}

// applyState validates old.State → r.State and keeps the timestamps and the
// queue and active indexes in step.
func (s *Store) applyState(tx *bolt.Tx, old Run, r *Run) error {
	if r.State == old.State {
		return nil
	}
	if _, err := old.State.Transition(r.State); err != nil {
		return err
	}
	active := tx.Bucket(bucketActive)
	if r.State.Active() && !old.State.Active() {
		if k, _ := active.Cursor().First(); k != nil && idFromKey(k) != r.ID {
			return fmt.Errorf("run %s cannot start: run %s is active: %w", r.ID, idFromKey(k), ErrBusy)
		}
	}
	now := s.Now().UTC()
	if r.State == StateRunning && r.Started.IsZero() {
		r.Started = now
	}
	if r.State.Terminal() && r.Ended.IsZero() {
		r.Ended = now
	}
	if old.State == StateQueued {
		if err := tx.Bucket(bucketQueue).Delete(r.ID.key()); err != nil {
			return err
		}
	}
	if r.State.Active() {
		return active.Put(r.ID.key(), nil)
	}
	return active.Delete(r.ID.key())
}

// RunFilter selects runs for Runs: of one job (JobID ≠ 0), in one of States
// (empty: any), newest first, paged by Page.
type RunFilter struct {
	JobID  ID
	States []RunState
	Page
}

// Runs lists runs matching f, newest first.
func (s *Store) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	for _, st := range f.States {
		if !st.Valid() {
			return nil, fmt.Errorf("list runs: unknown state %q: %w", st, ErrInvalid)
		}
	}
	match := func(r Run) bool { return len(f.States) == 0 || slices.Contains(f.States, r.State) }
	var out []Run
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if f.JobID != 0 {
			if _, err := getJob(tx, f.JobID); err != nil {
				return err
			}
			ids := jobRunIDs(tx, f.JobID)
			for i := len(ids) - 1; i >= 0 && len(out) < f.limit(); i-- {
				if f.Before != 0 && ids[i] >= f.Before {
					continue
				}
				r, err := getRun(tx, ids[i])
				if err != nil {
					return err
				}
				if match(r) {
					out = append(out, r)
				}
			}
			return nil
		}
		c := tx.Bucket(bucketRuns).Cursor()
		for k, v := seekBefore(c, f.Before); k != nil && len(out) < f.limit(); k, v = c.Prev() {
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("run %s: decode: %w", idFromKey(k), err)
			}
			if match(r) {
				out = append(out, r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// ActiveRun returns the running or paused run, or ErrNotFound.
func (s *Store) ActiveRun(ctx context.Context) (Run, error) {
	return s.firstIndexed(ctx, bucketActive, "no active run")
}

// NextQueued returns the oldest queued run (the head of the FIFO queue), or
// ErrNotFound when the queue is empty. It does not start it: the runner
// moves it to running with UpdateRun, which fails with ErrBusy while
// another run is active.
func (s *Store) NextQueued(ctx context.Context) (Run, error) {
	return s.firstIndexed(ctx, bucketQueue, "queue is empty")
}

func (s *Store) firstIndexed(ctx context.Context, bucket []byte, what string) (Run, error) {
	var r Run
	err := s.view(ctx, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucket).Cursor().First()
		if k == nil {
			return fmt.Errorf("%s: %w", what, ErrNotFound)
		}
		var err error
		r, err = getRun(tx, idFromKey(k))
		return err
	})
	if err != nil {
		return Run{}, err
	}
	return r, nil
}

// RecoverInterrupted is called once at start-up, before the runner starts:
// every run left running or paused by a crash or power loss becomes
// interrupted, keeping its last acknowledged and executed lines, with
// ReasonDaemonStopped. Queued runs stay queued; whether to start them is the
// caller's decision. It returns the runs it changed.
func (s *Store) RecoverInterrupted(ctx context.Context) ([]Run, error) {
	var out []Run
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var ids []ID
		if err := tx.Bucket(bucketActive).ForEach(func(k, _ []byte) error {
			ids = append(ids, idFromKey(k))
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			old, err := getRun(tx, id)
			if err != nil {
				return err
			}
			r := old
			r.State = StateInterrupted
			r.Reason = ReasonDaemonStopped
			if err := s.applyState(tx, old, &r); err != nil {
				return fmt.Errorf("run %s: %w", id, err)
			}
			if err := putJSON(tx.Bucket(bucketRuns), id.key(), r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recover interrupted runs: %w", err)
	}
	return out, nil
}
