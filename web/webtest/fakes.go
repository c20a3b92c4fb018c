package webtest

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// Compile-time checks that the fakes implement the interfaces.
var (
	_ web.JobService     = (*JobService)(nil)
	_ web.RunService     = (*RunService)(nil)
	_ web.MachineService = (*MachineService)(nil)
	_ web.RelayService   = (*RelayService)(nil)
	_ web.Backupper      = (*Backupper)(nil)
	_ web.TokenStore     = (*TokenStore)(nil)
	_ web.UserStore      = (*UserStore)(nil)
)

// unset reports a call to a method whose func field is nil. Fakes are
// called from server goroutines, so it marks the test failed with Errorf
// (FailNow may only run on the test goroutine) and returns an error the
// API answers with.
func unset(tb testing.TB, method string) error {
	tb.Helper()
	tb.Errorf("unexpected call to %s: its func field is not set", method)
	return fmt.Errorf("webtest: unexpected call to %s", method)
}

// JobService is a web.JobService whose methods call the func fields.
type JobService struct {
	T           testing.TB
	AddJobFn    func(ctx context.Context, name string, body io.Reader) (jobs.Job, error)
	JobFn       func(ctx context.Context, id jobs.ID) (jobs.Job, error)
	JobsFn      func(ctx context.Context, p jobs.Page) ([]jobs.Job, error)
	DeleteJobFn func(ctx context.Context, id jobs.ID) error
	StartJobFn  func(ctx context.Context, id jobs.ID, fromLine int) (jobs.Run, error)
}

// AddJob calls AddJobFn.
func (f *JobService) AddJob(ctx context.Context, name string, body io.Reader) (jobs.Job, error) {
	if f.AddJobFn == nil {
		return jobs.Job{}, unset(f.T, "JobService.AddJob")
	}
	return f.AddJobFn(ctx, name, body)
}

// Job calls JobFn.
func (f *JobService) Job(ctx context.Context, id jobs.ID) (jobs.Job, error) {
	if f.JobFn == nil {
		return jobs.Job{}, unset(f.T, "JobService.Job")
	}
	return f.JobFn(ctx, id)
}

// Jobs calls JobsFn.
func (f *JobService) Jobs(ctx context.Context, p jobs.Page) ([]jobs.Job, error) {
	if f.JobsFn == nil {
		return nil, unset(f.T, "JobService.Jobs")
	}
	return f.JobsFn(ctx, p)
}

// DeleteJob calls DeleteJobFn.
func (f *JobService) DeleteJob(ctx context.Context, id jobs.ID) error {
	if f.DeleteJobFn == nil {
		return unset(f.T, "JobService.DeleteJob")
	}
	return f.DeleteJobFn(ctx, id)
}

// StartJob calls StartJobFn.
func (f *JobService) StartJob(ctx context.Context, id jobs.ID, fromLine int) (jobs.Run, error) {
	if f.StartJobFn == nil {
		return jobs.Run{}, unset(f.T, "JobService.StartJob")
	}
	return f.StartJobFn(ctx, id, fromLine)
}

// RunService is a web.RunService whose methods call the func fields.
type RunService struct {
	T           testing.TB
	RunFn       func(ctx context.Context, id jobs.ID) (jobs.Run, error)
	RunsFn      func(ctx context.Context, f jobs.RunFilter) ([]jobs.Run, error)
	PauseRunFn  func(ctx context.Context, id jobs.ID) (jobs.Run, error)
	ResumeRunFn func(ctx context.Context, id jobs.ID) (jobs.Run, error)
	AbortRunFn  func(ctx context.Context, id jobs.ID) (jobs.Run, error)
	TelemetryFn func(ctx context.Context, id jobs.ID, fn func(jobs.Sample) error) error
}

// Run calls RunFn.
func (f *RunService) Run(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	if f.RunFn == nil {
		return jobs.Run{}, unset(f.T, "RunService.Run")
	}
	return f.RunFn(ctx, id)
}

// Runs calls RunsFn.
func (f *RunService) Runs(ctx context.Context, fl jobs.RunFilter) ([]jobs.Run, error) {
	if f.RunsFn == nil {
		return nil, unset(f.T, "RunService.Runs")
	}
	return f.RunsFn(ctx, fl)
}

// PauseRun calls PauseRunFn.
func (f *RunService) PauseRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	if f.PauseRunFn == nil {
		return jobs.Run{}, unset(f.T, "RunService.PauseRun")
	}
	return f.PauseRunFn(ctx, id)
}

// ResumeRun calls ResumeRunFn.
func (f *RunService) ResumeRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	if f.ResumeRunFn == nil {
		return jobs.Run{}, unset(f.T, "RunService.ResumeRun")
	}
	return f.ResumeRunFn(ctx, id)
}

// AbortRun calls AbortRunFn.
func (f *RunService) AbortRun(ctx context.Context, id jobs.ID) (jobs.Run, error) {
	if f.AbortRunFn == nil {
		return jobs.Run{}, unset(f.T, "RunService.AbortRun")
	}
	return f.AbortRunFn(ctx, id)
}

// Telemetry calls TelemetryFn.
func (f *RunService) Telemetry(ctx context.Context, id jobs.ID, fn func(jobs.Sample) error) error {
	if f.TelemetryFn == nil {
		return unset(f.T, "RunService.Telemetry")
	}
	return f.TelemetryFn(ctx, id, fn)
}

// MachineService is a web.MachineService whose methods call the func
// fields.
type MachineService struct {
	T            testing.TB
	StatusFn     func(ctx context.Context) (web.MachineStatus, error)
	HomeFn       func(ctx context.Context) error
	UnlockFn     func(ctx context.Context) error
	ResetFn      func(ctx context.Context) error
	JogFn        func(ctx context.Context, j web.JogRequest) error
	JogCancelFn  func(ctx context.Context) error
	FeedHoldFn   func(ctx context.Context) error
	CycleStartFn func(ctx context.Context) error
	OverrideFn   func(ctx context.Context, o web.OverrideRequest) error
	SettingsFn   func(ctx context.Context) ([]web.Setting, error)
	SetSettingFn func(ctx context.Context, number int, value string) error
}

// Status calls StatusFn.
func (f *MachineService) Status(ctx context.Context) (web.MachineStatus, error) {
	if f.StatusFn == nil {
		return web.MachineStatus{}, unset(f.T, "MachineService.Status")
	}
	return f.StatusFn(ctx)
}

func (f *MachineService) simple(ctx context.Context, fn func(context.Context) error, name string) error {
	if fn == nil {
		return unset(f.T, "MachineService."+name)
	}
	return fn(ctx)
}

// Home calls HomeFn.
func (f *MachineService) Home(ctx context.Context) error { return f.simple(ctx, f.HomeFn, "Home") }

// Unlock calls UnlockFn.
func (f *MachineService) Unlock(ctx context.Context) error {
	return f.simple(ctx, f.UnlockFn, "Unlock")
}

// Reset calls ResetFn.
func (f *MachineService) Reset(ctx context.Context) error { return f.simple(ctx, f.ResetFn, "Reset") }

// JogCancel calls JogCancelFn.
func (f *MachineService) JogCancel(ctx context.Context) error {
	return f.simple(ctx, f.JogCancelFn, "JogCancel")
}

// FeedHold calls FeedHoldFn.
func (f *MachineService) FeedHold(ctx context.Context) error {
	return f.simple(ctx, f.FeedHoldFn, "FeedHold")
}

// CycleStart calls CycleStartFn.
func (f *MachineService) CycleStart(ctx context.Context) error {
	return f.simple(ctx, f.CycleStartFn, "CycleStart")
}

// Jog calls JogFn.
func (f *MachineService) Jog(ctx context.Context, j web.JogRequest) error {
	if f.JogFn == nil {
		return unset(f.T, "MachineService.Jog")
	}
	return f.JogFn(ctx, j)
}

// Override calls OverrideFn.
func (f *MachineService) Override(ctx context.Context, o web.OverrideRequest) error {
	if f.OverrideFn == nil {
		return unset(f.T, "MachineService.Override")
	}
	return f.OverrideFn(ctx, o)
}

// Settings calls SettingsFn.
func (f *MachineService) Settings(ctx context.Context) ([]web.Setting, error) {
	if f.SettingsFn == nil {
		return nil, unset(f.T, "MachineService.Settings")
	}
	return f.SettingsFn(ctx)
}

// SetSetting calls SetSettingFn.
func (f *MachineService) SetSetting(ctx context.Context, number int, value string) error {
	if f.SetSettingFn == nil {
		return unset(f.T, "MachineService.SetSetting")
	}
	return f.SetSettingFn(ctx, number, value)
}

// Backupper is a web.Backupper calling BackupFn.
type Backupper struct {
	T        testing.TB
	BackupFn func(ctx context.Context, w io.Writer) (int64, error)
}

// Backup calls BackupFn.
func (f *Backupper) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if f.BackupFn == nil {
		return 0, unset(f.T, "Backupper.Backup")
	}
	return f.BackupFn(ctx, w)
}

// TokenStore is a web.TokenStore whose methods call the func fields.
type TokenStore struct {
	T                   testing.TB
	AuthenticateTokenFn func(ctx context.Context, secret string) (name, role string, err error)
	IssueTokenFn        func(ctx context.Context, name, role string) (jobs.Token, string, error)
	TokensFn            func(ctx context.Context) ([]jobs.Token, error)
	DeleteTokenFn       func(ctx context.Context, id jobs.ID) error
}

// AuthenticateToken calls AuthenticateTokenFn.
func (f *TokenStore) AuthenticateToken(ctx context.Context, secret string) (string, string, error) {
	if f.AuthenticateTokenFn == nil {
		return "", "", unset(f.T, "TokenStore.AuthenticateToken")
	}
	return f.AuthenticateTokenFn(ctx, secret)
}

// IssueToken calls IssueTokenFn.
func (f *TokenStore) IssueToken(ctx context.Context, name, role string) (jobs.Token, string, error) {
	if f.IssueTokenFn == nil {
		return jobs.Token{}, "", unset(f.T, "TokenStore.IssueToken")
	}
	return f.IssueTokenFn(ctx, name, role)
}

// Tokens calls TokensFn.
func (f *TokenStore) Tokens(ctx context.Context) ([]jobs.Token, error) {
	if f.TokensFn == nil {
		return nil, unset(f.T, "TokenStore.Tokens")
	}
	return f.TokensFn(ctx)
}

// DeleteToken calls DeleteTokenFn.
func (f *TokenStore) DeleteToken(ctx context.Context, id jobs.ID) error {
	if f.DeleteTokenFn == nil {
		return unset(f.T, "TokenStore.DeleteToken")
	}
	return f.DeleteTokenFn(ctx, id)
}

// UserStore is a web.UserStore whose methods call the func fields.
type UserStore struct {
	T                 testing.TB
	CreateUserFn      func(ctx context.Context, u jobs.User) (jobs.User, error)
	UserFn            func(ctx context.Context, name string) (jobs.User, error)
	UsersFn           func(ctx context.Context) ([]jobs.User, error)
	SetUserPasswordFn func(ctx context.Context, name string, h jobs.PasswordHash) (jobs.User, error)
	DeleteUserFn      func(ctx context.Context, name string) error
}

// CreateUser calls CreateUserFn.
func (f *UserStore) CreateUser(ctx context.Context, u jobs.User) (jobs.User, error) {
	if f.CreateUserFn == nil {
		return jobs.User{}, unset(f.T, "UserStore.CreateUser")
	}
	return f.CreateUserFn(ctx, u)
}

// User calls UserFn.
func (f *UserStore) User(ctx context.Context, name string) (jobs.User, error) {
	if f.UserFn == nil {
		return jobs.User{}, unset(f.T, "UserStore.User")
	}
	return f.UserFn(ctx, name)
}

// Users calls UsersFn.
func (f *UserStore) Users(ctx context.Context) ([]jobs.User, error) {
	if f.UsersFn == nil {
		return nil, unset(f.T, "UserStore.Users")
	}
	return f.UsersFn(ctx)
}

// SetUserPassword calls SetUserPasswordFn.
func (f *UserStore) SetUserPassword(ctx context.Context, name string, h jobs.PasswordHash) (jobs.User, error) {
	if f.SetUserPasswordFn == nil {
		return jobs.User{}, unset(f.T, "UserStore.SetUserPassword")
	}
	return f.SetUserPasswordFn(ctx, name, h)
}

// DeleteUser calls DeleteUserFn.
func (f *UserStore) DeleteUser(ctx context.Context, name string) error {
	if f.DeleteUserFn == nil {
		return unset(f.T, "UserStore.DeleteUser")
	}
	return f.DeleteUserFn(ctx, name)
}

// RelayService is a web.RelayService whose methods call the func fields.
type RelayService struct {
	T             testing.TB
	RelayStatusFn func(ctx context.Context) (web.RelayStatus, error)
	RelayOnFn     func(ctx context.Context) (web.RelayStatus, error)
	RelayOffFn    func(ctx context.Context) (web.RelayStatus, error)
}

// RelayStatus calls RelayStatusFn.
func (f *RelayService) RelayStatus(ctx context.Context) (web.RelayStatus, error) {
	if f.RelayStatusFn == nil {
		return web.RelayStatus{}, unset(f.T, "RelayService.RelayStatus")
	}
	return f.RelayStatusFn(ctx)
}

// RelayOn calls RelayOnFn.
func (f *RelayService) RelayOn(ctx context.Context) (web.RelayStatus, error) {
	if f.RelayOnFn == nil {
		return web.RelayStatus{}, unset(f.T, "RelayService.RelayOn")
	}
	return f.RelayOnFn(ctx)
}

// RelayOff calls RelayOffFn.
func (f *RelayService) RelayOff(ctx context.Context) (web.RelayStatus, error) {
	if f.RelayOffFn == nil {
		return web.RelayStatus{}, unset(f.T, "RelayService.RelayOff")
	}
	return f.RelayOffFn(ctx)
}
