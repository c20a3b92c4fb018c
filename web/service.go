package web

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
)

// JobService adds, lists and starts jobs. The daemon's runner implements it.
type JobService interface {
	// AddJob reads a G-code program from body, checks it and stores it as a
	// new job called name. Errors: an error carrying diagnostics (see
	// Diagnoser) when GRBL would reject the program; jobs.ErrEmpty for an
	// empty body; jobs.ErrTooLarge over the size limit; ErrUnprocessable
	// for a body that is not G-code text (binary).
	AddJob(ctx context.Context, name string, body io.Reader) (jobs.Job, error)
	// Job returns one job. Errors: jobs.ErrNotFound.
	Job(ctx context.Context, id jobs.ID) (jobs.Job, error)
	// Jobs lists jobs newest first.
	Jobs(ctx context.Context, p jobs.Page) ([]jobs.Job, error)
	// DeleteJob removes a job and its runs. Errors: jobs.ErrNotFound;
	// jobs.ErrConflict while one of its runs is queued or active.
	DeleteJob(ctx context.Context, id jobs.ID) error
	// StartJob queues a run of the job from source line fromLine (0: the
	// beginning) and returns it. Errors: jobs.ErrNotFound; jobs.ErrInvalid
	// for a line outside the program; jobs.ErrBusy while another run is
	// active; grbl.ErrAlarm, grbl.ErrNotIdle or grbl.ErrNotHomed (homing
	// enabled, not homed) or grbl.ErrDisconnected when the machine cannot
	// run it.
	StartJob(ctx context.Context, id jobs.ID, fromLine int) (jobs.Run, error)
}

// RunService reads and controls runs.
type RunService interface {
	// Run returns one run. Errors: jobs.ErrNotFound.
	Run(ctx context.Context, id jobs.ID) (jobs.Run, error)
	// Runs lists runs matching f, newest first. Errors: jobs.ErrNotFound
	// for an unknown f.JobID; jobs.ErrInvalid for an unknown state.
	Runs(ctx context.Context, f jobs.RunFilter) ([]jobs.Run, error)
	// PauseRun feed-holds a running run. Errors: jobs.ErrNotFound;
	// jobs.ErrBadTransition when the run is not running.
	PauseRun(ctx context.Context, id jobs.ID) (jobs.Run, error)
	// ResumeRun resumes a paused run. Errors: jobs.ErrNotFound;
	// jobs.ErrBadTransition when the run is not paused.
	ResumeRun(ctx context.Context, id jobs.ID) (jobs.Run, error)
	// AbortRun stops a queued, running or paused run. Errors:
	// jobs.ErrNotFound; jobs.ErrBadTransition when it has already ended.
	AbortRun(ctx context.Context, id jobs.ID) (jobs.Run, error)
	// Telemetry calls fn for every sample of the run, oldest first, and
	// stops at fn's first error. Errors: jobs.ErrNotFound.
	Telemetry(ctx context.Context, runID jobs.ID, fn func(jobs.Sample) error) error
}

// MachineService reads and commands the machine. Methods that need a
// connected board fail with grbl.ErrDisconnected when there is none; those
// that need an idle board with grbl.ErrNotIdle or grbl.ErrAlarm; a command
// GRBL answers with error:N returns a *grbl.Error.
type MachineService interface {
	// Status returns a snapshot of the machine. It does not fail when the
	// board is disconnected: Connected is false then.
	Status(ctx context.Context) (MachineStatus, error)
	// Home runs the homing cycle ($H) and returns when it has finished.
	Home(ctx context.Context) error
	// Unlock clears an alarm lock ($X).
	Unlock(ctx context.Context) error
	// Reset soft-resets the board (0x18).
	Reset(ctx context.Context) error
	// Jog starts a jog ($J=). The request has been validated.
	Jog(ctx context.Context, j JogRequest) error
	// JogCancel cancels jogging (0x85).
	JogCancel(ctx context.Context) error
	// FeedHold holds motion (!).
	FeedHold(ctx context.Context) error
	// CycleStart resumes from a hold (~).
	CycleStart(ctx context.Context) error
	// Override changes an override; the request has been validated.
	Override(ctx context.Context, o OverrideRequest) error
	// Settings returns the board's $ settings in number order.
	Settings(ctx context.Context) ([]Setting, error)
	// SetSetting writes one setting ($N=V). Errors: *grbl.Error when GRBL
	// rejects the value; grbl.ErrNotIdle while a job runs.
	SetSetting(ctx context.Context, number int, value string) error
}

// EventSource is the daemon's event hub (*events.Hub implements it).
type EventSource interface {
	// Subscribe returns a subscription to the events after sequence number
	// since (0: only events published from now on) whose topic matches one
	// of topics (exactly, or by prefix for a pattern ending in "*"; none:
	// all). Errors: events.ErrGap when the events after since are no longer
	// buffered; events.ErrBadTopic for a malformed pattern; events.ErrClosed.
	Subscribe(since uint64, topics ...string) (*events.Subscription, error)
}

// Backupper writes a consistent copy of the database.
type Backupper interface {
	// Backup writes the copy to w and returns its size in bytes.
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// TokenStore authenticates and manages API tokens (*jobs.Store
// implements it).
type TokenStore interface {
	// AuthenticateToken returns the name and role of the token whose
	// secret this is. Errors: jobs.ErrNotFound or ErrUnauthorized for an
	// unknown or revoked token; any other error is a failure to check (the
	// request fails with 500/503, not 401).
	AuthenticateToken(ctx context.Context, secret string) (name, role string, err error)
	// IssueToken creates a token with a new random secret and returns it
	// with the secret, which is stored only hashed. Errors: jobs.ErrInvalid
	// for an empty name; jobs.ErrConflict when the name is taken.
	IssueToken(ctx context.Context, name, role string) (jobs.Token, string, error)
	// Tokens lists the tokens, oldest first.
	Tokens(ctx context.Context) ([]jobs.Token, error)
	// DeleteToken revokes a token. Errors: jobs.ErrNotFound.
	DeleteToken(ctx context.Context, id jobs.ID) error
}

// UserStore keeps the panel's users (*jobs.Store implements it). Passwords
// reach it only as jobs.PasswordHash values.
type UserStore interface {
	// CreateUser stores a new user. Errors: jobs.ErrInvalid for a bad
	// name; jobs.ErrConflict when the name is taken.
	CreateUser(ctx context.Context, u jobs.User) (jobs.User, error)
	// User returns one user. Errors: jobs.ErrNotFound.
	User(ctx context.Context, name string) (jobs.User, error)
	// Users lists the users by name.
	Users(ctx context.Context) ([]jobs.User, error)
	// SetUserPassword replaces a user's password hash. Errors:
	// jobs.ErrNotFound.
	SetUserPassword(ctx context.Context, name string, h jobs.PasswordHash) (jobs.User, error)
	// DeleteUser removes a user. Errors: jobs.ErrNotFound.
	DeleteUser(ctx context.Context, name string) error
}

// Diagnoser is implemented by the error AddJob returns for a program GRBL
// would reject; the API answers 422 with the diagnostics in the body.
type Diagnoser interface {
	error
	Diagnostics() []gcode.Diagnostic
}

// ProgramError is a ready-made Diagnoser for JobService implementations.
type ProgramError struct {
	// File is the program's name.
	File string
	// Diags holds every diagnostic, errors and warnings.
	Diags []gcode.Diagnostic
}

// Error summarises the first error diagnostic and the count.
func (e *ProgramError) Error() string {
	var first *gcode.Diagnostic
	n := 0
	for i := range e.Diags {
		if e.Diags[i].Severity == gcode.Error {
			if first == nil {
				first = &e.Diags[i]
			}
			n++
		}
	}
	switch {
	case first == nil:
		return fmt.Sprintf("program %s is not streamable", e.File)
	case n == 1:
		return fmt.Sprintf("program %s has 1 error: %s", e.File, first)
	}
	return fmt.Sprintf("program %s has %d errors, the first: %s", e.File, n, first)
}

// Diagnostics returns the diagnostics.
func (e *ProgramError) Diagnostics() []gcode.Diagnostic { return e.Diags }

// Unwrap returns gcode.ErrNotStreamable.
func (e *ProgramError) Unwrap() error { return gcode.ErrNotStreamable }

// MachineStatus is a snapshot of the machine for GET /api/v1/machine.
type MachineStatus struct {
	// Connected says whether a board is connected and answering.
	Connected bool `json:"connected"`
	// Port names the serial port or "sim".
	Port string `json:"port,omitempty"`
	// State is GRBL's state word (Idle, Run, Hold, Jog, Alarm, Door,
	// Check, Home, Sleep); empty when disconnected.
	State string `json:"state"`
	// SubState is the Hold:N or Door:N code, -1 when there is none.
	SubState int `json:"sub_state"`
	// HomingEnabled is the board's $22=1.
	HomingEnabled bool `json:"homing_enabled"`
	// Homed says a homing cycle completed since kerf connected and no
	// alarm or spontaneous reset has lost the position since; with homing
	// enabled a job starts only on a homed machine.
	Homed bool `json:"homed"`
	// MPos and WPos are the machine and work positions in mm (X, Y, Z).
	MPos []float64 `json:"mpos,omitempty"`
	WPos []float64 `json:"wpos,omitempty"`
	// WCO is the work coordinate offset in mm.
	WCO []float64 `json:"wco,omitempty"`
	// Feed is the actual feed rate in mm/min.
	Feed float64 `json:"feed"`
	// Spindle is the actual spindle speed in RPM.
	Spindle float64 `json:"spindle"`
	// Overrides are the feed, rapid and spindle overrides in percent.
	Overrides Overrides `json:"overrides"`
	// Relay is the router relay.
	Relay RelayStatus `json:"relay"`
	// Alarm is set while the board is in alarm.
	Alarm *AlarmInfo `json:"alarm,omitempty"`
	// ActiveRun is the running or paused run, 0 when none.
	ActiveRun jobs.ID `json:"active_run,omitempty"`
	// Updated is when the last status report arrived.
	Updated time.Time `json:"updated,omitzero"`
}

// Overrides are override values in percent.
type Overrides struct {
	Feed    int `json:"feed"`
	Rapid   int `json:"rapid"`
	Spindle int `json:"spindle"`
}

// RelayStatus is the router relay's commanded and sensed state and its last
// switch (GET /api/v1/relay, the machine status, the relay.* events). A nil
// pointer means unknown or not applicable in the relay's mode.
type RelayStatus struct {
	// Mode is "sense", "drive" or "none".
	Mode string `json:"mode"`
	// Commanded is what kerf asked for (drive mode) or what the program
	// asked GRBL for (sense mode).
	Commanded *bool `json:"commanded,omitempty"`
	// Sensed is what the sense input reads.
	Sensed *bool `json:"sensed,omitempty"`
	// LastSwitch is the most recent switch, absent before the first.
	LastSwitch *RelaySwitch `json:"last_switch,omitempty"`
}

// AlarmInfo describes an alarm and how to clear it.
type AlarmInfo struct {
	// Code is GRBL's ALARM:N, 0 when the board is locked without a code
	// (homing required at start-up).
	Code int `json:"code"`
	// Text is what the alarm means.
	Text string `json:"text"`
	// Clear says what the operator does next.
	Clear string `json:"clear"`
}

// JogRequest is the body of POST /api/v1/machine/jog.
type JogRequest struct {
	// X, Y and Z are the target (absolute, work coordinates) or the
	// distance (Incremental) in mm; nil axes do not move.
	X *float64 `json:"x,omitempty"`
	Y *float64 `json:"y,omitempty"`
	Z *float64 `json:"z,omitempty"`
	// Feed is the jog feed rate in mm/min; it must be positive.
	Feed float64 `json:"feed"`
	// Incremental makes the axes distances (G91) instead of a target (G90).
	Incremental bool `json:"incremental"`
}

// maxJogFeed bounds a jog feed rate: far above any hobby router's $110.
const maxJogFeed = 100000

// minJogFeed is the smallest feed the jog line can carry (F with three
// decimals).
const minJogFeed = 0.001

// Validate reports the first problem with the request, naming the field.
func (j JogRequest) Validate() error {
	if j.X == nil && j.Y == nil && j.Z == nil {
		return fmt.Errorf("jog: fields x, y, z: at least one axis is required: %w", ErrBadRequest)
	}
	// The jog line carries F with three decimals: anything below 0.001
	// would be sent as F0, which GRBL refuses.
	if !(j.Feed >= minJogFeed) || j.Feed > maxJogFeed {
		return fmt.Errorf("jog: field feed: %v must be at least %v and at most %d mm/min: %w", j.Feed, minJogFeed, maxJogFeed, ErrBadRequest)
	}
	for _, a := range []struct {
		name string
		v    *float64
	}{{"x", j.X}, {"y", j.Y}, {"z", j.Z}} {
		if a.v != nil && (*a.v != *a.v || *a.v > 1e6 || *a.v < -1e6) {
			return fmt.Errorf("jog: field %s: %v is not a distance in mm: %w", a.name, *a.v, ErrBadRequest)
		}
	}
	return nil
}

// OverrideRequest is the body of POST /api/v1/machine/override.
//
// Target "feed" and "spindle" take Op "reset" (100 %), "+10", "-10", "+1"
// or "-1"; target "rapid" takes "reset" (100 %), "50" or "25".
type OverrideRequest struct {
	Target string `json:"target"`
	Op     string `json:"op"`
}

// Validate reports an unknown target or an op the target does not take.
func (o OverrideRequest) Validate() error {
	var ops []string
	switch o.Target {
	case "feed", "spindle":
		ops = []string{"reset", "+10", "-10", "+1", "-1"}
	case "rapid":
		ops = []string{"reset", "50", "25"}
	default:
		return fmt.Errorf("override: field target: %q is not feed, rapid or spindle: %w", o.Target, ErrBadRequest)
	}
	for _, op := range ops {
		if o.Op == op {
			return nil
		}
	}
	return fmt.Errorf("override: field op: %q is not valid for %s (want one of %s): %w", o.Op, o.Target, strings.Join(ops, ", "), ErrBadRequest)
}

// Setting is one GRBL $ setting.
type Setting struct {
	// Number is N in $N.
	Number int `json:"number"`
	// Value is the value as GRBL prints it.
	Value string `json:"value"`
	// Name says what the setting is, when known.
	Name string `json:"name,omitempty"`
}

// SettingUpdate is the body of PUT /api/v1/machine/settings.
type SettingUpdate struct {
	Number int    `json:"number"`
	Value  string `json:"value"`
}

// Validate checks that the update is a plausible GRBL setting write.
func (u SettingUpdate) Validate() error {
	if u.Number < 0 || u.Number > 255 {
		return fmt.Errorf("setting: field number: %d is not a GRBL setting number (0-255): %w", u.Number, ErrBadRequest)
	}
	v := strings.TrimSpace(u.Value)
	if v == "" {
		return fmt.Errorf("setting: field value: must not be empty: %w", ErrBadRequest)
	}
	if !isNumber(v) {
		return fmt.Errorf("setting: field value: %q is not a number: %w", u.Value, ErrBadRequest)
	}
	return nil
}

func isNumber(s string) bool {
	dot, digits := false, 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		case c == '-' && i == 0:
		default:
			return false
		}
	}
	return digits > 0
}
