// Package jobs is kerf's durable record: uploaded G-code programs (jobs),
// their executions (runs) with the run state machine and the FIFO queue,
// per-run telemetry, baselines for canary judging, settings and API tokens.
// It is the only package that imports go.etcd.io/bbolt.
//
// # Layout on disk
//
//	DATA/kerf.db                 bbolt database (metadata, runs, telemetry, …)
//	DATA/kerf.pid                pid of the process holding the database
//	DATA/gcode/<ab>/<sha256>     G-code bodies, named by their SHA-256
//
// Bodies are written with PutBody (streamed, size-limited, temp file +
// fsync + rename + directory fsync) and then registered with CreateJob, which
// records which jobs use which body; DeleteJob removes a body file only when
// its last job goes.
//
// # Usage
//
//	s := jobs.NewStore(dataDir)
//	if err := s.Open(ctx); err != nil { … } // ErrInUse, ErrCorrupt, ErrNotWritable
//	defer s.Close()
//	if _, err := s.RecoverInterrupted(ctx); err != nil { … }
//	sha, size, err := s.PutBody(ctx, upload, limit)
//	job, err := s.CreateJob(ctx, jobs.Job{Name: name, SHA256: sha, Size: size, Lines: n})
//	run, err := s.CreateRun(ctx, jobs.Run{JobID: job.ID})
//	run, err = s.UpdateRun(ctx, run.ID, func(r *jobs.Run) error {
//		r.State = jobs.StateRunning // ErrBusy if another run is active
//		return nil
//	})
//
// # IDs
//
// Jobs, runs and tokens have an ID from a per-bucket bbolt sequence, shown
// as short Crockford base32 text ("000A"); see ID.
//
// # Run states
//
// queued → running ⇄ paused → completed | aborted | failed | interrupted;
// queued runs can also be aborted or fail preflight. RunState.Can is the
// pure transition function; UpdateRun enforces it inside the write
// transaction together with "one active run at a time" (ErrBusy).
//
// # Schema
//
// The meta bucket holds the schema version. Open applies the ordered
// migrations newer than it, each in one transaction with its version
// number; a database newer than this kerf is refused, not touched.
//
// # Failure behaviour
//
// Every record change is one bbolt transaction, so a failed write (disk
// full, crash) leaves the previous state. An existing database file is
// first opened read-only and checked; a damaged file is reported with
// ErrCorrupt and never written. A second process on the same data dir gets
// ErrInUse after LockTimeout instead of hanging.
//
// # Concurrency
//
// The store starts no goroutines. After Open, every method may be called
// from any goroutine; bbolt serialises write transactions and runs read
// transactions concurrently. Telemetry copies chunks out in small batches so
// a slow reader never pins a transaction. Open must finish before other
// methods are called; Close may race with them: it waits for transactions
// in progress, and later calls fail with ErrClosed.
package jobs
