// Package machine supervises the daemon's link to its one GRBL board and
// offers manual control of the machine (home, unlock, reset, jog,
// overrides, settings, work offsets).
//
// A Machine dials the board (a serial port or the simulator), performs
// the grbl handshake, publishes what it learns and every status report,
// alarm, message and reset as machine.* events, and when the link fails
// (a yanked USB cable, a board that reset into its bootloader) switches
// the router relay off, says why, and dials again every
// ReconnectInterval. It never resumes anything by itself after
// reconnecting: a run that the loss interrupted stays interrupted.
//
// The job runner takes the current link with Conn and holds the lease
// (Acquire) while a run streams; meanwhile manual commands that move the machine or change
// settings are refused with a *BusyError, while FeedHold, CycleStart,
// Reset and Override stay allowed (safety first).
//
// # Usage
//
//	m := &machine.Machine{
//		Name:  "/dev/ttyUSB0",
//		Dial:  func(ctx context.Context) (io.ReadWriteCloser, error) { return hardware.OpenSerial("/dev/ttyUSB0", 115200) },
//		Events: hub,
//		Relay:  router,
//	}
//	if err := m.Open(ctx); err != nil { … }   // returns after the first attempt; no board is not an error
//	defer m.Close()                          // relay off, link closed ($10 restored), goroutines awaited
//	release, err := m.Acquire(ctx, "run 00A7") // *BusyError while another holds it
//	defer release()
//	conn, signals, err := m.Conn()            // ErrNotConnected while no board answers
//
// Status says, besides the link and the latest report, whether the machine
// is homed: a $H (Home) completed on the current link and no alarm or
// spontaneous reset has lost the position since (grbl.Conn.Homed). A new
// link starts not homed. The job runner refuses to start a job on a
// machine with homing enabled ($22=1) that is not homed.
//
// # Relay fail-safe
//
// The relay is switched off on every disconnect, failed connect attempt,
// banner (the board reset), ALARM:N, entry into the Alarm, Door or Sleep state,
// before a requested Reset, and in Close — whether or not a lease is held:
// the runner switches it off too during a run, and Off is idempotent.
//
// # Concurrency
//
// A Machine owns one goroutine, the supervisor, started by Open and
// stopped and awaited by Close; each grbl.Conn it opens owns its own
// goroutines and is closed (and awaited) by the supervisor when the link
// fails or the Machine closes. Events are published, and the relay
// switched, from the Conn's reader goroutine: both are non-blocking. All
// methods are safe for concurrent use; manual commands do not exclude one
// another (the link serialises them) but each keeps Acquire from
// succeeding while it runs. Close blocks until the supervisor has returned,
// which includes the link's Close (at most grbl.Options.ReplyTimeout to
// restore $10).
package machine
