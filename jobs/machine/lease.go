package machine

import (
	"context"
	"fmt"
	"sync"
)

// lease is exclusive use of the machine, held by the job runner while a
// run streams.
type lease struct {
	owner string
}

// Acquire takes exclusive use of the machine for owner (e.g. "run 00A7")
// and returns the function that gives it back (idempotent). While it is
// held, a second Acquire fails and manual commands that move the machine
// or change its settings are refused with a *BusyError; FeedHold,
// CycleStart, Reset and Override stay allowed. Acquire does not wait: it
// fails at once with a *BusyError naming the holder, also while a manual
// command is under way. The link need not be up. The signature is
// runner.Link's.
func (m *Machine) Acquire(ctx context.Context, owner string) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("machine %s: acquire for %s: %w", m.Name, owner, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || !m.opened {
		return nil, fmt.Errorf("machine %s: acquire for %s: %w", m.Name, owner, ErrClosed)
	}
	op := "acquire for " + owner
	switch {
	case m.lease != nil:
		return nil, &BusyError{Owner: m.lease.owner, Op: op}
	case m.manual > 0:
		return nil, &BusyError{Owner: "manual " + m.manualOp, Op: op}
	}
	l := &lease{owner: owner}
	m.lease = l
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.lease == l {
				m.lease = nil
			}
		})
	}, nil
}

// beginManual marks a manual command as under way, refusing it while a
// lease is held. Manual commands do not exclude one another (the link
// serialises them); they only keep a run from starting meanwhile.
func (m *Machine) beginManual(op string) (end func(), err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || !m.opened {
		return nil, fmt.Errorf("machine %s: %s: %w", m.Name, op, ErrClosed)
	}
	if m.lease != nil {
		return nil, &BusyError{Owner: m.lease.owner, Op: op}
	}
	m.manual++
	m.manualOp = op
	return func() {
		m.mu.Lock()
		m.manual--
		m.mu.Unlock()
	}, nil
}

// checkLease refuses op while a lease is held (for real-time commands that
// a run must not be disturbed by, such as jog cancel).
func (m *Machine) checkLease(op string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lease != nil {
		return &BusyError{Owner: m.lease.owner, Op: op}
	}
	return nil
}
