package grbl

// window is the character-counting bookkeeping of lines sent but not yet
// answered: a FIFO of their byte counts whose sum never exceeds budget. It
// is a pure type (no I/O, no locking); Conn guards it with its mutex.
type window struct {
	budget int
	used   int
	queue  []sent // FIFO; head at queue[0]
}

// sent is one line in flight.
type sent struct {
	line  string
	tag   int64
	n     int       // bytes written for it, including the '\n'
	reply chan resp // non-nil for Command: receives the collected response
	lines []Message // messages collected for a Command while it is the head
	// homing marks a "$H" line; alarms is Conn's alarm count when it was
	// sent (an alarm before its ok means the cycle failed).
	homing bool
	alarms uint64
}

// resp is what a Command waiter receives.
type resp struct {
	lines []Message
	err   error
}

func newWindow(budget int) *window { return &window{budget: budget} }

// fits reports whether n more bytes may be sent now.
func (w *window) fits(n int) bool { return w.used+n <= w.budget }

// push records a sent line of n bytes. The caller checked fits.
func (w *window) push(s sent) {
	w.used += s.n
	w.queue = append(w.queue, s)
}

// head returns the oldest line in flight.
func (w *window) head() (*sent, bool) {
	if len(w.queue) == 0 {
		return nil, false
	}
	return &w.queue[0], true
}

// pop removes the oldest line (answered by ok or error:N).
func (w *window) pop() (sent, bool) {
	if len(w.queue) == 0 {
		return sent{}, false
	}
	s := w.queue[0]
	w.queue[0] = sent{}
	w.queue = w.queue[1:]
	if len(w.queue) == 0 {
		w.queue = w.queue[:0:0]
	}
	w.used -= s.n
	return s, true
}

// reset drops every line in flight (the board discarded them) and returns
// them oldest first.
func (w *window) reset() []sent {
	q := w.queue
	w.queue, w.used = nil, 0
	return q
}

// inFlight returns the number of lines and bytes sent but not answered.
func (w *window) inFlight() (lines, bytes int) { return len(w.queue), w.used }
