package sim

import "fmt"

// Inject adds a fault while the board runs, counted from now rather than
// from New: Line N is the Nth line the board receives after the call, At
// is machine time after the call. It lets a test (or an operator at a
// console) break a job that is already under way without knowing how many
// lines the handshake and earlier jobs took. A fault ParseFault would
// refuse is refused here too; a closed machine returns ErrClosed.
func (m *Machine) Inject(f Fault) error {
	if _, err := ParseFault(f.String()); err != nil {
		return fmt.Errorf("sim: inject %s: %w", f, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	now := m.now()
	m.b.advance(now)
	if f.Line > 0 {
		f.Line += m.b.stats.lines
	} else {
		f.At += now
	}
	m.b.faults = append(m.b.faults, &faultState{Fault: f})
	m.nudge()
	return nil
}
