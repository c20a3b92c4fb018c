package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// Link is what the service needs from the machine supervisor: the current
// connection, and an exclusive lease on the machine for the length of a run
// (manual jogging and homing are refused while it is held).
type Link interface {
	Conn() (*grbl.Conn, *Signals, error)
	Acquire(ctx context.Context, owner string) (release func(), err error)
}

// ProgramError is a program GRBL would reject: its diagnostics name each
// problem's file, line and column.
type ProgramError struct {
	File  string
	Diags []gcode.Diagnostic
}

func (e *ProgramError) Error() string {
	if len(e.Diags) == 0 {
		return e.File + ": not a program GRBL can run"
	}
	more := ""
	if len(e.Diags) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(e.Diags)-1)
	}
	return e.Diags[0].String() + more
}

// Diagnostics returns the problems (the web API reports them).
func (e *ProgramError) Diagnostics() []gcode.Diagnostic { return e.Diags }

// Errors the service returns besides the jobs and grbl sentinels.
var (
	// ErrBinary: an upload is not G-code text.
	ErrBinary = errors.New("not a G-code text file")
	// ErrShutdown is the cause of runs stopped because the daemon stops.
	ErrShutdown = errors.New("the daemon stopped during the run")
	// ErrUserAbort is the cause of runs aborted by a person.
	ErrUserAbort = errors.New("aborted by the operator")
	// ErrRecordLost is the cause of runs stopped because their telemetry
	// or progress could not be written (a full or failing disk): a run
	// whose record cannot be kept is stopped, not cut blind.
	ErrRecordLost = errors.New("the run's record could not be written")
)

// TelemetryWriter stores a run's telemetry samples; *jobs.Store is one.
type TelemetryWriter interface {
	AppendTelemetry(ctx context.Context, run jobs.ID, samples []jobs.Sample) error
}

// Service implements job submission and runs: it checks and stores
// programs, starts one run at a time, streams it through the machine's
// Conn, switches the router relay in step with the program, records
// progress and telemetry, and turns every way a run can end into a
// recorded state with the router off.
type Service struct {
	Store *jobs.Store
	// TelemetrySink receives the runs' samples (nil: Store). A write error
	// stops the run with ErrRecordLost.
	TelemetrySink TelemetryWriter
	Link          Link
	Relay         *relay.Router // nil: no relay
	// Publish, when set, receives run.* events (wire it to the event hub).
	Publish func(topic string, data any)
	// Machine names the machine profile recorded with each run.
	Machine string
	// MaxUpload bounds an uploaded program (default 64 MiB).
	MaxUpload int64
	// SpinUp is the dwell after the router is switched on.
	SpinUp time.Duration
	// SafeZ is the machine Z (mm) the tool retracts to for tool changes
	// and restarts.
	SafeZ float64
	// ToolChange is the machine position for tool changes; nil: stay put
	// (after retracting).
	ToolChange *[3]float64
	// Drift, when set, tracks Z drift: a reference probe before each run
	// of a job that did not opt out, checkpoints at safe points, the
	// absolute limit (see checkpoint.go).
	Drift *DriftConfig
	// ProgressInterval is how often progress is written to the store and
	// telemetry flushed (default 1 s; each write is an fsync).
	ProgressInterval time.Duration
	Logger           *slog.Logger
	Now              func() time.Time

	// Canary configures live canary judging of runs against their job's
	// baseline (judge.go).
	Canary CanaryOptions

	mu     sync.Mutex
	active *activeRun
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	opened bool
}

// activeRun is the run being executed.
type activeRun struct {
	id     jobs.ID
	cancel context.CancelCauseFunc
	conn   *grbl.Conn
	// resume wakes a run waiting for the operator (tool change).
	resume chan struct{}
	// waiting says the run waits for resume (tool change) rather than
	// being held by GRBL (M0, feed hold).
	waiting bool
	done    chan struct{}
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default().With("system", "runner")
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) publish(topic string, data any) {
	if s.Publish != nil {
		s.Publish(topic, data)
	}
}

// Open recovers runs a crash left running (they become interrupted with
// their last lines kept) and makes the service ready. The relay is
// switched off.
func (s *Service) Open(ctx context.Context) error {
	if s.Relay != nil {
		if err := s.Relay.Off("daemon start"); err != nil {
			return fmt.Errorf("runner: relay off at start: %w", err)
		}
	}
	runs, err := s.Store.RecoverInterrupted(ctx)
	if err != nil {
		return fmt.Errorf("runner: recover interrupted runs: %w", err)
	}
	for _, r := range runs {
		s.log().Warn("run interrupted by a crash or power loss", "run", r.ID, "job", r.JobID, "last_acked", r.LastAckedLine, "last_executed", r.LastExecutedLine)
	}
	s.mu.Lock()
	s.ctx, s.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	s.opened = true
	s.mu.Unlock()
	return nil
}

// Close stops an active run (feed hold, router off, soft reset; the run is
// recorded as interrupted) and waits for it.
func (s *Service) Close() error {
	s.mu.Lock()
	if !s.opened {
		s.mu.Unlock()
		return nil
	}
	s.opened = false
	cancel := s.cancel
	s.mu.Unlock()
	cancel(ErrShutdown)
	s.wg.Wait()
	if s.Relay != nil {
		return s.Relay.Off("daemon stop")
	}
	return nil
}

// ---- jobs ----

// AddJob reads a program, checks it against GRBL 1.1 (with the connected
// board's settings, see addOptions: the live machine is checked again at
// start), stores its body and a job record. A program with errors is
// refused with a *ProgramError.
func (s *Service) AddJob(ctx context.Context, name string, body io.Reader) (jobs.Job, error) {
	limit := s.MaxUpload
	if limit <= 0 {
		limit = 64 << 20
	}
	// Sniff the start for binary content before storing anything.
	head := make([]byte, 4096)
	n, err := io.ReadFull(body, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return jobs.Job{}, fmt.Errorf("read upload: %w", err)
	}
	head = head[:n]
	if n == 0 {
		return jobs.Job{}, fmt.Errorf("%s: %w", name, jobs.ErrEmpty)
	}
	if bytes.IndexByte(head, 0) >= 0 || (!utf8.Valid(head) && n < 4096 && !mostlyText(head)) {
		return jobs.Job{}, fmt.Errorf("%s: %w (NUL or binary bytes in the first %d bytes)", name, ErrBinary, n)
	}
	sha, size, err := s.Store.PutBody(ctx, io.MultiReader(bytes.NewReader(head), body), limit)
	if err != nil {
		return jobs.Job{}, fmt.Errorf("store %s: %w", name, err)
	}
	f, err := s.Store.OpenBody(sha)
	if err != nil {
		return jobs.Job{}, err
	}
	defer f.Close()
	rep, err := gcode.Check(f, name, s.addOptions())
	if err != nil {
		return jobs.Job{}, fmt.Errorf("check %s: %w", name, err)
	}
	if !rep.Streamable {
		return jobs.Job{}, programError(name, rep)
	}
	check, err := json.Marshal(rep)
	if err != nil {
		return jobs.Job{}, err
	}
	return s.Store.CreateJob(ctx, jobs.Job{Name: name, SHA256: sha, Size: size, Lines: rep.Lines, Check: check})
}

// addOptions are the check options for a new job: the connected board's
// settings, which are this machine's; with no board connected GRBL's
// defaults without a travel ($130-$132 unknown), since a generic 200 mm
// travel would refuse programs a bigger machine runs. The travel is held
// against the live machine at start either way.
func (s *Service) addOptions() gcode.Options {
	if conn, _, err := s.Link.Conn(); err == nil {
		return gcode.Options{Settings: gcode.Settings(conn.Settings()), SpindleRelay: s.senseRelay()}
	}
	set := gcode.DefaultSettings()
	for i := range 3 {
		set[gcode.SetTravelX+i] = 0
	}
	return gcode.Options{Settings: set, SpindleRelay: s.senseRelay()}
}

// senseRelay says GRBL's own spindle output switches the router's SSR
// (relay mode sense): the check then warns where an S below $30 would feed
// the SSR PWM instead of a steady level.
func (s *Service) senseRelay() bool {
	return s.Relay != nil && s.Relay.Mode() == relay.ModeSense
}

func mostlyText(b []byte) bool {
	bad := 0
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			bad++
		}
	}
	return bad*20 < len(b)
}

func programError(name string, rep *gcode.Report) *ProgramError {
	pe := &ProgramError{File: name}
	for _, d := range rep.Diagnostics {
		if d.Severity == gcode.Error {
			pe.Diags = append(pe.Diags, d)
		}
	}
	return pe
}

// Job returns one job.
func (s *Service) Job(ctx context.Context, id jobs.ID) (jobs.Job, error) { return s.Store.Job(ctx, id) }

// Jobs lists jobs newest first.
func (s *Service) Jobs(ctx context.Context, p jobs.Page) ([]jobs.Job, error) {
	return s.Store.Jobs(ctx, p)
}

// DeleteJob removes a job that has no active run.
func (s *Service) DeleteJob(ctx context.Context, id jobs.ID) error { return s.Store.DeleteJob(ctx, id) }

// Run returns one run.
func (s *Service) Run(ctx context.Context, id jobs.ID) (jobs.Run, error) { return s.Store.Run(ctx, id) }

// Runs lists runs.
func (s *Service) Runs(ctx context.Context, f jobs.RunFilter) ([]jobs.Run, error) {
	return s.Store.Runs(ctx, f)
}

// Telemetry streams a run's samples.
func (s *Service) Telemetry(ctx context.Context, id jobs.ID, fn func(jobs.Sample) error) error {
	return s.Store.Telemetry(ctx, id, fn)
}

// ---- starting ----

// StartJob checks the job against the live machine and starts a run of it
// from source line fromLine (0 or 1: the beginning).
func (s *Service) StartJob(ctx context.Context, id jobs.ID, fromLine int) (jobs.Run, error) {
	s.mu.Lock()
	if !s.opened {
		s.mu.Unlock()
		return jobs.Run{}, errors.New("runner: not open")
	}
	if s.active != nil {
		busy := s.active.id
		s.mu.Unlock()
		return jobs.Run{}, fmt.Errorf("run %s is active: %w", busy, jobs.ErrBusy)
	}
	s.mu.Unlock()

	job, err := s.Store.Job(ctx, id)
	if err != nil {
		return jobs.Run{}, err
	}
	if fromLine < 0 || fromLine > job.Lines {
		return jobs.Run{}, fmt.Errorf("start from line %d: the program has lines 1 to %d: %w", fromLine, job.Lines, jobs.ErrInvalid)
	}
	conn, sig, err := s.Link.Conn()
	if err != nil {
		return jobs.Run{}, err
	}
	if err := conn.CheckIdle(ctx); err != nil {
		return jobs.Run{}, fmt.Errorf("machine not ready: %w", err)
	}
	if err := checkHomed(conn); err != nil {
		return jobs.Run{}, err
	}
	release, err := s.Link.Acquire(ctx, "run of job "+job.Name)
	if err != nil {
		return jobs.Run{}, err
	}
	run, err := s.Store.CreateRun(ctx, jobs.Run{JobID: job.ID, Machine: s.Machine, FromLine: fromLine})
	if err != nil {
		release()
		return jobs.Run{}, err
	}
	// Preflight: the program against this machine's live settings and
	// work offsets (travel, soft limits), before anything moves.
	gopts := gcode.Options{Settings: gcode.Settings(conn.Settings()), Offsets: BoardOffsets(conn.Info()), SpindleRelay: s.senseRelay()}
	if err := s.preflight(job, s.preflightOptions(ctx, conn, gopts)); err != nil {
		release()
		s.finish(context.WithoutCancel(ctx), run.ID, jobs.StateFailed, "preflight: "+err.Error(), nil)
		return jobs.Run{}, err
	}
	run, err = s.Store.UpdateRun(ctx, run.ID, func(r *jobs.Run) error { r.State = jobs.StateRunning; return nil })
	if err != nil {
		release()
		return jobs.Run{}, err
	}
	rctx, cancel := context.WithCancelCause(s.ctx)
	ar := &activeRun{id: run.ID, cancel: cancel, conn: conn, resume: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	s.active = ar
	s.mu.Unlock()
	s.publish("run.state", runEvent(run))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ar.done)
		defer release()
		defer func() {
			s.mu.Lock()
			s.active = nil
			s.mu.Unlock()
		}()
		defer s.recoverRun(rctx, run.ID, conn)
		s.execute(rctx, ar, job, run, conn, sig, gopts)
	}()
	return run, nil
}

// checkHomed refuses a machine with homing enabled ($22=1) that has not
// been homed since kerf connected to it or since it lost its position: its
// machine coordinates, and so the travel and soft-limit checks, mean
// nothing yet.
func checkHomed(conn *grbl.Conn) error {
	if conn.Settings()[22] != 1 || conn.Homed() {
		return nil
	}
	return fmt.Errorf("machine not ready: %w: homing is enabled ($22=1) and the machine has not been homed since kerf connected to it or since it last lost its position; home it (kerf machine home), then start the job again", grbl.ErrNotHomed)
}

func (s *Service) preflight(job jobs.Job, gopts gcode.Options) error {
	f, err := s.Store.OpenBody(job.SHA256)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := gcode.Check(f, job.Name, gopts)
	if err != nil {
		return err
	}
	if !rep.Streamable {
		return programError(job.Name, rep)
	}
	return nil
}

// BoardOffsets turns the board's $# report into the checker's offsets
// (nil when the board reported none).
func BoardOffsets(info grbl.BoardInfo) *gcode.Offsets {
	if len(info.Offsets) == 0 {
		return nil
	}
	var o gcode.Offsets
	for i, name := range []string{"G54", "G55", "G56", "G57", "G58", "G59"} {
		copy(o.WCS[i][:], info.Offsets[name])
	}
	copy(o.G28[:], info.Offsets["G28"])
	copy(o.G30[:], info.Offsets["G30"])
	return &o
}

// RunEvent is the data of run.* events.
type RunEvent struct {
	Run    jobs.ID       `json:"run"`
	Job    jobs.ID       `json:"job"`
	State  jobs.RunState `json:"state"`
	Reason string        `json:"reason,omitempty"`
}

func runEvent(r jobs.Run) RunEvent {
	return RunEvent{Run: r.ID, Job: r.JobID, State: r.State, Reason: r.Reason}
}

// ProgressEvent is the data of run.progress events.
type ProgressEvent struct {
	Run          jobs.ID `json:"run"`
	Job          jobs.ID `json:"job"`
	Lines        int     `json:"lines"`
	LastSent     int     `json:"last_sent"`
	LastAcked    int     `json:"last_acked"`
	LastExecuted int     `json:"last_executed"`
	ElapsedMs    int64   `json:"elapsed_ms"`
	// EtaMs is the time left at the run's pace so far: its time spent
	// moving (held, door and sleep left out) over the lines executed. 0
	// before there is a pace.
	EtaMs int64 `json:"eta_ms"`
}

// ---- controlling ----

// PauseRun feed-holds the active run.
func (s *Service) PauseRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	ar, err := s.activeFor(ctx, id)
	if err != nil {
		return jobs.Run{}, err
	}
	run, err := s.Store.UpdateRun(ctx, id, func(r *jobs.Run) error {
		if r.State != jobs.StateRunning {
			return &jobs.TransitionError{From: r.State, To: jobs.StatePaused}
		}
		r.State, r.Reason = jobs.StatePaused, "paused by the operator"
		return nil
	})
	if err != nil {
		return jobs.Run{}, err
	}
	if err := ar.conn.FeedHold(); err != nil {
		return run, fmt.Errorf("feed hold: %w", err)
	}
	s.publish("run.state", runEvent(run))
	return run, nil
}

// ResumeRun resumes a paused run: after a feed hold or an M0 it sends
// cycle start once the hold is complete; at a tool change it continues.
func (s *Service) ResumeRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	ar, err := s.activeFor(ctx, id)
	if err != nil {
		return jobs.Run{}, err
	}
	run, err := s.Store.UpdateRun(ctx, id, func(r *jobs.Run) error {
		if r.State != jobs.StatePaused {
			return &jobs.TransitionError{From: r.State, To: jobs.StateRunning}
		}
		r.State, r.Reason = jobs.StateRunning, ""
		return nil
	})
	if err != nil {
		return jobs.Run{}, err
	}
	s.mu.Lock()
	waiting := ar.waiting
	s.mu.Unlock()
	if waiting {
		select {
		case ar.resume <- struct{}{}:
		default:
		}
	} else {
		// '~' is ignored until the hold has finished decelerating.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := ar.conn.WaitStatus(wctx, func(st grbl.Status) bool {
			return st.State != grbl.StateHold || st.SubState == 0
		})
		cancel()
		if err != nil {
			return run, fmt.Errorf("resume: %w", err)
		}
		if err := ar.conn.Resume(); err != nil {
			return run, fmt.Errorf("resume: %w", err)
		}
	}
	s.publish("run.state", runEvent(run))
	return run, nil
}

// AbortRun stops a run: feed hold, router off, soft reset; the run is
// recorded as aborted.
func (s *Service) AbortRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	s.mu.Lock()
	ar := s.active
	s.mu.Unlock()
	if ar == nil || ar.id != id {
		// Not active: a queued run is cancelled, an ended one refused.
		run, err := s.Store.UpdateRun(ctx, id, func(r *jobs.Run) error {
			r.State, r.Reason = jobs.StateAborted, ErrUserAbort.Error()
			return nil
		})
		if err == nil {
			s.publish("run.state", runEvent(run))
		}
		return run, err
	}
	ar.cancel(ErrUserAbort)
	select {
	case <-ar.done:
	case <-ctx.Done():
		return jobs.Run{}, ctx.Err()
	}
	return s.Store.Run(ctx, id)
}

// ActiveRun returns the running or paused run's ID, 0 when none.
func (s *Service) ActiveRun() jobs.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return 0
	}
	return s.active.id
}

// Wait blocks until run id is not active any more and returns it.
func (s *Service) Wait(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	s.mu.Lock()
	ar := s.active
	s.mu.Unlock()
	if ar != nil && ar.id == id {
		select {
		case <-ar.done:
		case <-ctx.Done():
			return jobs.Run{}, ctx.Err()
		}
	}
	return s.Store.Run(context.WithoutCancel(ctx), id)
}

func (s *Service) activeFor(ctx context.Context, id jobs.ID) (*activeRun, error) {
	s.mu.Lock()
	ar := s.active
	s.mu.Unlock()
	if ar == nil || ar.id != id {
		r, err := s.Store.Run(ctx, id)
		if err != nil {
			return nil, err
		}
		return nil, &jobs.TransitionError{From: r.State, To: jobs.StatePaused}
	}
	return ar, nil
}

// finish records the end of a run.
func (s *Service) finish(ctx context.Context, id jobs.ID, state jobs.RunState, reason string, res *Result) {
	run, err := s.Store.UpdateRun(ctx, id, func(r *jobs.Run) error {
		r.State, r.Reason = state, reason
		if res != nil {
			if res.LastAcked > r.LastAckedLine {
				r.LastAckedLine = res.LastAcked
			}
			if res.LastExecuted > r.LastExecutedLine {
				r.LastExecutedLine = res.LastExecuted
			}
			r.Summary.LinesSent = int(res.Sent)
		}
		return nil
	})
	if err != nil {
		s.log().Error("record the end of a run", "run", id, "state", state, "err", err)
		return
	}
	s.publish("run.state", runEvent(run))
}

func itoa(i int) string { return strconv.Itoa(i) }
