// Package runner runs jobs on the machine: Stream sends one program
// through a grbl.Conn with character counting and stops the machine safely
// on any failure; Service checks and stores programs, starts one run at a
// time, switches the router relay in step with the program, records
// progress and telemetry, and turns every way a run can end into a
// recorded state with the router off.
//
// # Wire form from the board's state
//
// A run reads the board's `$G` after the preflight, holding the machine,
// Idle, just before streaming, and compiles the program from that state
// (gcode.Options.Board): words that repeat the board's modes are not sent
// (board.go). When `$G` cannot be read, the spindle or coolant is on, or
// drift checkpoints are on and the motion mode is G2/G3/G38.x (the reference
// probe leaves G0), the run uses the strict wire form, which assumes nothing
// about the board, and logs why. Start-from-line runs use the same state for
// the lines they skip.
//
// # Z drift
//
// With Service.Drift set (DriftConfig), a run of a job that did not opt
// out (jobs.Job.NoDrift) probes the reference plate before its first line
// and checkpoints at the program's safe points (gcode's SafePoints: the tool
// back above the safe Z after a cut), no more often than the interval, the
// safe point after the last cut always (checkpoint.go). A checkpoint runs
// on the sending goroutine between two lines (Stream.AtLine; the final one
// at Stream.AtEnd, so a failure there stops the machine too): drain to
// Idle, probe (jobs/probe: router off, G38.2 twice, retract, back, modal
// state restored), router on with its spin-up, continue at the next line.
// Each touch is stored (jobs.Store.AddCheckpoint) and published as a
// run.drift DriftEvent. Beyond DriftConfig.LimitUM the run is aborted
// (ErrDriftLimit); a touch that fails (ALARM:5) fails the run with a
// *CheckpointError, never reading as drift 0. After a tool change the next
// touch is a new reference.
//
// # Concurrency
//
// Service starts one goroutine per active run (started by StartJob,
// awaited by Close and Wait); a Stream owns the acknowledgement goroutine
// it starts in Run and waits for it before returning. The drift
// checkpointer is used only by its run's goroutine. A run with a canary
// baseline also has a judging goroutine (started by the run's stream,
// halted and waited for on every path out of it); the recorder hands it
// each telemetry sample under a mutex and signals a finished program
// window through a one-slot buffered channel, never blocking. Service
// methods are safe for concurrent use.
package runner
