// Package grbl speaks the GRBL 1.1 serial protocol (and tolerates grblHAL
// and FluidNC): it parses everything a board sends into typed messages,
// streams G-code with character counting, sends real-time commands ahead of
// everything else, polls status, and performs the connect handshake.
//
// It works over any io.ReadWriteCloser; opening a serial device is the job
// of package hardware, and tests use grbltest.Fake over net.Pipe.
//
// # Usage
//
//	port, _ := hardware.OpenSerial("/dev/ttyUSB0", 115200)
//	c := grbl.NewConn(port, grbl.Options{})
//	if err := c.Open(ctx); err != nil { ... }  // banner, $I, $$, $G, $#, $10 fix-up
//	defer c.Close()                             // restores $10, stops everything
//	if err := c.CheckIdle(ctx); err != nil { ... } // ErrAlarm (with how to clear it), ErrNotIdle
//	go func() { for a := range c.Acks() { ... } }() // a.Err: nil, *grbl.Error, ErrReset, ErrDisconnected
//	for i, line := range lines {
//		if err := c.Send(ctx, line, int64(i+1)); err != nil { ... }
//	}
//	c.Drain(ctx)
//
// Parse and ParseStatus are pure functions usable on their own.
//
// # Board state
//
// Besides the latest status report (Status), a Conn keeps what the board
// told it: its settings (Settings, refreshed by every "$N=value" line, so
// any "$$" re-read keeps them true), whether it is in alarm and how to
// clear it (AlarmError), and whether the machine is homed (Homed: a "$H"
// answered ok with no alarm during the cycle, and no position-losing alarm
// or spontaneous reset since; a new Conn starts not homed).
//
// # Streaming rules
//
// Send appends '\n' (never "\r\n", which GRBL answers twice) and counts
// every byte: the bytes of unanswered lines never exceed the RX budget (128,
// or the rx figure of "[OPT:…,blocks,rx]", or Options.RXBufferSize). Every
// ok or error:N answers the oldest line; nothing else does. Lines longer
// than 79 characters or than the budget, or containing a line terminator
// or a real-time byte, are refused before sending (*LineError). $-commands
// and the EEPROM writers G10 L2/L20, G28.1 and G30.1 are sent alone (see
// SendAlone). A banner (the board reset) or SoftReset zeroes the count and
// fails every line in flight with ErrReset. After a reset the board did by
// itself, lines written just before its banner reached us may sit in its
// RX buffer (and run): Conn then sends nothing, and drops the stray
// replies, until two status reports in a row show the board Idle (or in
// Alarm) with its RX buffer and planner empty, the second asked for after
// the first arrived: the first may answer a '?' written before the banner
// was read, generated before those lines reached the RX buffer. (A stray
// "G4 P…" dwell can still outlast that check: its ok would then be taken
// for the next line.) When the port fails, every
// outstanding line fails with ErrDisconnected, Done closes, and Acks closes
// after the last failed ack.
//
// # Concurrency
//
// A Conn owns up to three goroutines, all started by Open and stopped and
// awaited by Close:
//
//   - the reader: blocking reads, parsing, ack bookkeeping; it calls
//     Options.OnMessage and delivers Acks. Closing the port stops it.
//   - the writer: the only goroutine that writes to the port. Real-time
//     bytes (Realtime, FeedHold, Resume, SoftReset, the poller's '?') are
//     written before any queued line and never wait for RX budget.
//   - the status poller (unless PollInterval < 0): '?' every PollInterval,
//     but not while one is unanswered for less than PollTimeout.
//
// All methods are safe for concurrent use. Send, Command and SoftReset
// serialise among themselves (a Command holds the line until its answer);
// Realtime, Status, Info, InFlight, Drain and WaitStatus never wait for
// them. Acks is buffered for MaxLinesInFlight acks, more than can ever be
// in flight; a consumer that lets more pile up stalls the reader until it
// reads again or Close is called. OnMessage runs on the reader goroutine
// and must not block or call methods that wait for the board. Close blocks
// until every goroutine has returned (it first tries to restore $10 for at
// most Options.ReplyTimeout, and skips that if a send is under way).
package grbl
