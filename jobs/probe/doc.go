// Package probe measures the Z of a machine's reference: a touch plate or
// tool setter fixed to the spoilboard, probed with GRBL's G38.2 straight
// probe. It is the measuring half of kerf's Z-drift tracking (the job
// runner compares each checkpoint's touch with the run's first) and of the
// manual `kerf machine probe`.
//
// Run stops the router first (the relay switched off in drive mode, M5
// always, and the sense input confirmed off where there is one), retracts,
// travels to the plate at a safe height, touches it fast, backs off and
// touches it again slowly, and reads the machine Z of the second touch from
// GRBL's [PRB:] report. It then retracts, optionally returns to where the
// tool was, and puts GRBL's modal state back as `$G` reported it before
// (units, distance, plane, feed mode, coordinate system, motion mode, feed),
// so a program can continue exactly where it was.
//
// A probe that never closes within the travel is GRBL's own ALARM:5 (and a
// probe already closed at the start ALARM:4): Run returns an *Error that
// matches ErrFailed, never a Z. GRBL stays in Alarm until $X.
//
// # Concurrency
//
// The package starts no goroutines. Run issues its commands one at a time
// through the grbl.Conn (which serialises them with any other sender) and
// expects nothing else to move the machine meanwhile.
package probe
