package machine

import (
	"context"
	"fmt"
	"sync"
)

// Lease is exclusive use of the machine, held by the job runner while a
// run streams. While it is held, Acquire fails and manual commands that
// move the machine or change its settings are refused with a *BusyError;
// FeedHold, CycleStart, Reset and Override stay allowed.
type Lease struct {
	m     *Machine
	owner string
	once  sync.Once
}

// Acquire takes the lease for owner (e.g. "run 00A7"). It does not wait:
// while another lease is held, or a manual command is under way, it
// returns a *BusyError naming the holder. The link need not be up.
func (m *Machine) Acquire(ctx context.Context, owner string) (*Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("machine %s: acquire for %s: %w", m.Name, owner, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || !m.opened {
		return nil, fmt.Errorf("machine %s: acquire for %s: %w", m.Name, owner, ErrClosed)
	}
	if err := m.busyLocked("acquire for " + owner); err != nil {
		return nil, err
	}
	l := &Lease{m: m, owner: owner}
	m.lease = l
	return l, nil
}

// busyLocked returns a *BusyError when a lease is held or a manual
// command runs. m.mu is held.
func (m *Machine) busyLocked(op string) error {
	switch {
	case m.lease != nil:
		return &BusyError{Owner: m.lease.owner, Op: op}
	case m.manual > 0:
		return &BusyError{Owner: "manual " + m.manualOp, Op: op}
	}
	return nil
}

// Owner returns the name the lease was taken for.
func (l *Lease) Owner() string { return l.owner }

// Release gives the machine back. It is idempotent.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.m.mu.Lock()
		defer l.m.mu.Unlock()
		if l.m.lease == l {
			l.m.lease = nil
		}
	})
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
