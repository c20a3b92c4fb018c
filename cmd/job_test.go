package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/jobs/runner"
	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/webtest"
)

func writeJobFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJobAdd(t *testing.T) {
	var started []jobs.ID
	js := &webtest.JobService{T: t,
		AddJobFn: func(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
			b, _ := io.ReadAll(body)
			if bytes.Contains(b, []byte("M6")) {
				return jobs.Job{}, &web.ProgramError{File: name, Diags: []gcode.Diagnostic{
					{File: name, Line: 2, Col: 1, Severity: gcode.Error, GrblError: 20, Message: "M6 tool change is not supported by GRBL"},
					{File: name, Line: 3, Col: 5, Severity: gcode.Warning, Message: "feed rate never set"},
				}}
			}
			return jobs.Job{ID: 0x2A, Name: name, Size: int64(len(b)), Lines: bytes.Count(b, []byte("\n"))}, nil
		},
		StartJobFn: func(_ context.Context, id jobs.ID, from int) (jobs.Run, error) {
			started = append(started, id)
			return jobs.Run{ID: 5, JobID: id, State: jobs.StateQueued}, nil
		},
	}
	data := startDaemon(t, &web.Server{Jobs: js})
	good := writeJobFile(t, "sign.nc", "G21\nG0 X1\n")
	bad := writeJobFile(t, "tool.nc", "G21\nM6 T2\nG1 X1\n")

	t.Run("prints the id", func(t *testing.T) {
		code, out, stderr := runKerf(t, "job", "add", good, "--data", data)
		if code != 0 || out != "001A\n" {
			t.Errorf("code=%d out=%q stderr=%q", code, out, stderr)
		}
	})
	t.Run("--json has an id field", func(t *testing.T) {
		code, out, _ := runKerf(t, "job", "add", good, "--name", "oak sign", "--json", "--data", data)
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
			t.Fatalf("code=%d out=%q: %v", code, out, err)
		}
		if got["id"] != "001A" || got["name"] != "oak sign" || got["run"] != nil {
			t.Errorf("json=%v", got)
		}
	})
	t.Run("--start queues a run", func(t *testing.T) {
		started = nil
		code, out, _ := runKerf(t, "job", "add", good, "--start", "--json", "--data", data)
		var got struct {
			ID  string   `json:"id"`
			Run jobs.Run `json:"run"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
			t.Fatalf("code=%d out=%q: %v", code, out, err)
		}
		if got.ID != "001A" || got.Run.ID != 5 || !slices.Equal(started, []jobs.ID{0x2A}) {
			t.Errorf("got=%+v started=%v", got, started)
		}
	})
	t.Run("a file with errors is rejected with file:line:col", func(t *testing.T) {
		code, out, stderr := runKerf(t, "job", "add", bad, "--data", data)
		want := bad + ":2:1: error: M6 tool change is not supported by GRBL\n" +
			bad + ":3:5: warning: feed rate never set\n" +
			"kerf: " + bad + " was not added: GRBL would reject it\n"
		if code != 1 || out != "" || stderr != want {
			t.Errorf("code=%d out=%q stderr=\n%s\nwant\n%s", code, out, stderr, want)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		code, _, stderr := runKerf(t, "job", "add", filepath.Join(t.TempDir(), "nope.nc"), "--data", data)
		if code != 1 || !strings.Contains(stderr, "nope.nc: no such file") {
			t.Errorf("code=%d stderr=%q", code, stderr)
		}
	})
	t.Run("no file argument", func(t *testing.T) {
		code, _, stderr := runKerf(t, "job", "add", "--data", data)
		if code != 1 || !strings.Contains(stderr, "accepts 1 arg") {
			t.Errorf("code=%d stderr=%q", code, stderr)
		}
	})
}

func TestJobListAndShow(t *testing.T) {
	created := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	js := &webtest.JobService{T: t,
		JobsFn: func(_ context.Context, p jobs.Page) ([]jobs.Job, error) {
			if p.Limit != 2 {
				t.Errorf("limit=%d, want 2", p.Limit)
			}
			return []jobs.Job{{ID: 2, Name: "b.nc", Lines: 10, Size: 2048, Created: created}, {ID: 1, Name: "a.nc", Lines: 3, Size: 30, Created: created}}, nil
		},
		JobFn: func(_ context.Context, id jobs.ID) (jobs.Job, error) {
			if id != 2 {
				return jobs.Job{}, fmt.Errorf("job %s: %w", id, jobs.ErrNotFound)
			}
			return jobs.Job{ID: 2, Name: "b.nc", Lines: 10, Created: created}, nil
		},
	}
	rs := &webtest.RunService{T: t, RunsFn: func(_ context.Context, f jobs.RunFilter) ([]jobs.Run, error) {
		if f.JobID != 2 {
			t.Errorf("runs of job %s, want 0002", f.JobID)
		}
		return []jobs.Run{{ID: 9, JobID: 2, State: jobs.StateFailed, LastExecutedLine: 4, Reason: "error:20 on line 4"}}, nil
	}}
	data := startDaemon(t, &web.Server{Jobs: js, Runs: rs})

	code, out, _ := runKerf(t, "job", "list", "--limit", "2", "--data", data)
	if code != 0 || !strings.HasPrefix(out, "ID    NAME  LINES  SIZE     ADDED\n0002  b.nc  10     2.0 KiB  ") || strings.Count(out, "\n") != 3 {
		t.Errorf("list: code=%d out=\n%s", code, out)
	}
	code, out, _ = runKerf(t, "job", "list", "--limit", "2", "--json", "--data", data)
	var list []jobs.Job
	if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || len(list) != 2 || list[1].Name != "a.nc" {
		t.Errorf("list --json: code=%d list=%v err=%v", code, list, err)
	}
	code, out, _ = runKerf(t, "job", "show", "0002", "--data", data)
	if code != 0 || !strings.Contains(out, "name    b.nc") || !strings.Contains(out, "\nRUN   STATE   STARTED  LINE  REASON\n0009  failed  -        4/10  error:20 on line 4\n") {
		t.Errorf("show: code=%d out=\n%s", code, out)
	}
	code, out, _ = runKerf(t, "job", "show", "0002", "--json", "--data", data)
	var shown struct {
		ID   string     `json:"id"`
		Runs []jobs.Run `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || code != 0 || shown.ID != "0002" || len(shown.Runs) != 1 {
		t.Errorf("show --json: code=%d %+v err=%v", code, shown, err)
	}
	code, _, stderr := runKerf(t, "job", "show", "0003", "--data", data)
	if code != 1 || stderr != "kerf: job show: job 0003: not found\n" {
		t.Errorf("show unknown: code=%d stderr=%q", code, stderr)
	}
	code, _, stderr = runKerf(t, "job", "show", "x!", "--data", data)
	if code != 1 || !strings.Contains(stderr, `job ID "x!"`) {
		t.Errorf("show bad id: code=%d stderr=%q", code, stderr)
	}
}

func TestJobDelete(t *testing.T) {
	js := &webtest.JobService{T: t, DeleteJobFn: func(_ context.Context, id jobs.ID) error {
		if id == 8 {
			return fmt.Errorf("job 0008 has run 000D paused (abort it first): %w", jobs.ErrConflict)
		}
		return nil
	}}
	data := startDaemon(t, &web.Server{Jobs: js})
	if code, _, stderr := runKerf(t, "job", "delete", "0007", "--data", data); code != 0 || stderr != "deleted job 0007\n" {
		t.Errorf("code=%d stderr=%q", code, stderr)
	}
	code, _, stderr := runKerf(t, "job", "delete", "0008", "--data", data)
	if want := "kerf: job delete: job 0008 has run 000D paused (abort it first): conflict\n"; code != 1 || stderr != want {
		t.Errorf("code=%d stderr=%q, want %q", code, stderr, want)
	}
}

func TestJobStartAndActions(t *testing.T) {
	var mu sync.Mutex
	var log []string
	record := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
	js := &webtest.JobService{T: t, StartJobFn: func(_ context.Context, id jobs.ID, from int) (jobs.Run, error) {
		record(fmt.Sprintf("start %s from %d", id, from))
		return jobs.Run{ID: 12, JobID: id, FromLine: from, State: jobs.StateQueued}, nil
	}}
	runs := map[jobs.ID]jobs.Run{
		12: {ID: 12, JobID: 7, State: jobs.StateRunning},
		13: {ID: 13, JobID: 8, State: jobs.StatePaused},
	}
	act := func(name string, to jobs.RunState) func(context.Context, jobs.ID) (jobs.Run, error) {
		return func(_ context.Context, id jobs.ID) (jobs.Run, error) {
			record(name + " " + id.String())
			r := runs[id]
			r.State = to
			return r, nil
		}
	}
	rs := &webtest.RunService{T: t,
		RunsFn: func(_ context.Context, f jobs.RunFilter) ([]jobs.Run, error) {
			var out []jobs.Run
			for _, r := range runs {
				if r.JobID == f.JobID && (len(f.States) == 0 || slices.Contains(f.States, r.State)) {
					out = append(out, r)
				}
			}
			return out, nil
		},
		RunFn: func(_ context.Context, id jobs.ID) (jobs.Run, error) {
			r, ok := runs[id]
			if !ok {
				return jobs.Run{}, fmt.Errorf("run %s: %w", id, jobs.ErrNotFound)
			}
			return r, nil
		},
		PauseRunFn:  act("pause", jobs.StatePaused),
		ResumeRunFn: act("resume", jobs.StateRunning),
		AbortRunFn:  act("abort", jobs.StateAborted),
	}
	data := startDaemon(t, &web.Server{Jobs: js, Runs: rs})

	tests := []struct {
		args    []string
		code    int
		out     string
		errPart string
		logged  string
	}{
		{[]string{"job", "start", "0007"}, 0, "000C\n", "", "start 0007 from 0"},
		{[]string{"job", "start", "0007", "--from-line", "120"}, 0, "000C\n", "", "start 0007 from 120"},
		{[]string{"job", "start", "0007", "--from-line", "-3"}, 1, "", "--from-line: -3 is negative", ""},
		{[]string{"job", "pause", "0007"}, 0, "run 000C paused\n", "", "pause 000C"},
		{[]string{"job", "resume", "0008"}, 0, "run 000D running\n", "", "resume 000D"},
		{[]string{"job", "resume", "0007"}, 1, "", "job 0007 has no [paused] run to resume", ""},
		{[]string{"job", "abort", "--run", "000D"}, 0, "run 000D aborted\n", "", "abort 000D"},
		{[]string{"job", "abort", "0007", "--run", "000D"}, 1, "", "run 000D belongs to job 0008, not job 0007", ""},
		{[]string{"job", "abort"}, 1, "", "give a job ID or --run RUN", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			mu.Lock()
			log = nil
			mu.Unlock()
			code, out, stderr := runKerf(t, append(tt.args, "--data", data)...)
			if code != tt.code || out != tt.out || !strings.Contains(stderr, tt.errPart) {
				t.Errorf("code=%d out=%q stderr=%q; want %d %q %q", code, out, stderr, tt.code, tt.out, tt.errPart)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.logged != "" && !slices.Equal(log, []string{tt.logged}) || tt.logged == "" && len(log) > 0 {
				t.Errorf("service calls=%q, want %q", log, tt.logged)
			}
		})
	}
}

// watchFixture serves a run whose state the test changes while "kerf job
// watch" follows it.
type watchFixture struct {
	mu      sync.Mutex
	run     jobs.Run
	fetched chan struct{} // receives once per Runs call (the watch's first look)
}

func (f *watchFixture) set(fn func(*jobs.Run)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.run)
}

func newWatchDaemon(t *testing.T, start jobs.Run) (*watchFixture, *events.Hub, string) {
	f := &watchFixture{run: start, fetched: make(chan struct{}, 100)}
	hub := events.NewHub(events.Options{RingSize: 64, BufferSize: 64})
	js := &webtest.JobService{T: t, JobFn: func(_ context.Context, id jobs.ID) (jobs.Job, error) {
		return jobs.Job{ID: id, Name: "sign.nc", Lines: 200}, nil
	}}
	get := func() jobs.Run {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.run
	}
	rs := &webtest.RunService{T: t,
		RunsFn: func(context.Context, jobs.RunFilter) ([]jobs.Run, error) {
			r := get()
			f.fetched <- struct{}{}
			return []jobs.Run{r}, nil
		},
		RunFn: func(context.Context, jobs.ID) (jobs.Run, error) { return get(), nil },
	}
	return f, hub, startDaemon(t, &web.Server{Jobs: js, Runs: rs, Events: hub})
}

func TestJobWatch(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		end      func(*jobs.Run)
		args     []string
		terminal bool
		code     int
		outParts []string
		errPart  string
	}{
		{
			name: "completed: exit 0",
			end: func(r *jobs.Run) {
				r.State, r.LastExecutedLine, r.Ended = jobs.StateCompleted, 200, t0.Add(10*time.Minute)
			},
			code:     0,
			outParts: []string{"run 0003 running 50% (line 100/200)", "run 0003 completed in 10m0s\n"},
		},
		{
			name: "failed: exit 1 with the reason",
			end: func(r *jobs.Run) {
				r.State, r.LastExecutedLine, r.Reason = jobs.StateFailed, 120, "error:33 (Invalid target) on line 120"
			},
			code:     1,
			outParts: []string{"run 0003 running 50%"},
			errPart:  "kerf: run 0003 failed at line 120: error:33 (Invalid target) on line 120\n",
		},
		{
			name:     "interrupted: exit 1",
			end:      func(r *jobs.Run) { r.State = jobs.StateInterrupted },
			code:     1,
			errPart:  "run 0003 interrupted at line 100",
			outParts: []string{"line 100/200"},
		},
		{
			name: "json lines",
			end:  func(r *jobs.Run) { r.State, r.LastExecutedLine = jobs.StateCompleted, 200 },
			args: []string{"--json"},
			code: 0,
		},
		{
			name:     "progress bar on a terminal",
			end:      func(r *jobs.Run) { r.State, r.LastExecutedLine = jobs.StateAborted, 150 },
			terminal: true,
			code:     1,
			outParts: []string{"\r\033[K[###############...............]  50%  line 100/200  running"},
			errPart:  "run 0003 aborted at line 150",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := jobs.Run{ID: 3, JobID: 7, State: jobs.StateRunning, Started: t0, LastExecutedLine: 100}
			f, hub, data := newWatchDaemon(t, start)
			ios, _, out, errOut := TestStreams()
			ios.IsTerminal = tt.terminal
			done := make(chan int)
			go func() {
				done <- Execute(t.Context(), append([]string{"job", "watch", "0007", "--data", data}, tt.args...), ios)
			}()
			<-f.fetched // the command is subscribed and is reading the run
			f.set(tt.end)
			hub.Publish("run.state", map[string]string{"run": "0003"})
			var code int
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("watch did not end")
			}
			if code != tt.code || !strings.Contains(errOut.String(), tt.errPart) {
				t.Errorf("code=%d stderr=%q, want %d and %q", code, errOut.String(), tt.code, tt.errPart)
			}
			if tt.name == "json lines" {
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				var first, last jobs.Run
				if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &last) != nil ||
					first.State != jobs.StateRunning || last.State != jobs.StateCompleted {
					t.Errorf("json output=%q, want two run objects: running, completed", out.String())
				}
				return
			}
			for _, p := range tt.outParts {
				if !strings.Contains(out.String(), p) {
					t.Errorf("stdout=%q, want it to contain %q", out.String(), p)
				}
			}
		})
	}
}

func TestProgressETA(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ios, _, out, _ := TestStreams()
	p := &progressPrinter{ios: ios, lines: 1000, now: func() time.Time { return t0.Add(5 * time.Minute) }}
	r := jobs.Run{ID: 3, State: jobs.StateRunning, Started: t0, LastExecutedLine: 250, Summary: jobs.RunSummary{Paused: time.Minute}}
	if err := p.show(r); err != nil {
		t.Fatal(err)
	}
	// 4 minutes of running for 25 %: 12 minutes to go.
	if want := "run 0003 running 25% (line 250/1000) ETA 12m0s\n"; out.String() != want {
		t.Errorf("out=%q, want %q", out.String(), want)
	}
	out.Reset()
	if err := p.show(r); err != nil || out.Len() != 0 {
		t.Errorf("an unchanged run printed %q again", out.String())
	}
	r.FromLine = 501 // starting half-way: progress counts from there
	r.LastExecutedLine = 750
	if f := p.fraction(r); f != 0.5 {
		t.Errorf("fraction from line 501 at 750 = %v, want 0.5", f)
	}
}

// TestProgressETAEstimate: with the job's time estimate the ETA knows the
// last lines are the long moves: 90 % of the lines in 1 min, but only half
// of the estimated time, leaves about a minute, not 7 s.
func TestProgressETAEstimate(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var pts []gcode.TimePoint
	for l := 1; l <= 100; l++ {
		sec := float64(l-1) * 100 / 90 // lines 1-90: 100 s
		if l > 91 {
			sec = 100 + float64(l-91)*100/10 // lines 91-100: 10 s each
		}
		pts = append(pts, gcode.TimePoint{Line: l, Seconds: min(sec, 200)})
	}
	check, err := json.Marshal(gcode.Report{EstimatedSeconds: 200, TimeProfile: pts})
	if err != nil {
		t.Fatal(err)
	}
	ios, _, out, _ := TestStreams()
	p := &progressPrinter{ios: ios, lines: 100, profile: runner.ProfileOf(jobs.Job{Lines: 100, Check: check}), now: func() time.Time { return t0.Add(time.Minute) }}
	r := jobs.Run{ID: 3, State: jobs.StateRunning, Started: t0, LastExecutedLine: 90}
	if err := p.show(r); err != nil {
		t.Fatal(err)
	}
	// 100 s of estimate in 60 s, 100 s left: 60 s to go.
	if want := "run 0003 running 90% (line 90/100) ETA 1m0s\n"; out.String() != want {
		t.Errorf("out=%q, want %q", out.String(), want)
	}
}

func TestEventConcerns(t *testing.T) {
	tests := []struct {
		data string
		typ  string
		want bool
	}{
		{`{"run":"0003","line":5}`, web.MsgEvent, true},
		{`{"run_id":"0004"}`, web.MsgEvent, false},
		{`{"id":"3"}`, web.MsgEvent, true},
		{`{"line":5}`, web.MsgEvent, true},
		{``, web.MsgEvent, true},
		{``, web.MsgGap, true},
		{``, web.MsgHello, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ+tt.data, func(t *testing.T) {
			if got := eventConcerns(web.Message{Type: tt.typ, Data: json.RawMessage(tt.data)}, 3); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// parseOnly runs cmd's flag and argument parsing with args; runF captured
// the options, so no daemon is involved.
func parseOnly(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	ios, _, _, _ := TestStreams()
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(t.Context())
}

func TestJobFlagParsing(t *testing.T) {
	ios, _, _, _ := TestStreams()
	co := &clientOptions{}

	t.Run("add", func(t *testing.T) {
		var got *jobAddOptions
		cmd := newCmdJobAdd(ios, co, func(_ context.Context, o *jobAddOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "part.nc", "--name", "oak", "--start", "--json"); err != nil {
			t.Fatal(err)
		}
		if got.File != "part.nc" || got.Name != "oak" || !got.Start || !got.JSON {
			t.Errorf("options=%+v", got)
		}
	})
	t.Run("start", func(t *testing.T) {
		var got *jobStartOptions
		cmd := newCmdJobStart(ios, co, func(_ context.Context, o *jobStartOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "00a7", "--from-line", "42"); err != nil {
			t.Fatal(err)
		}
		if want := jobs.ID(10*32 + 7); got.ID != want || got.FromLine != 42 { // Crockford base32
			t.Errorf("options=%+v", got)
		}
	})
	t.Run("pause --run", func(t *testing.T) {
		var got *jobRunActionOptions
		cmd := newCmdJobRunAction(ios, co, "pause", func(_ context.Context, o *jobRunActionOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "--run", "0o12"); err != nil { // Crockford: o reads as 0
			t.Fatal(err)
		}
		if got.Action != "pause" || got.RunID != jobs.ID(1*32+2) || got.JobID != 0 {
			t.Errorf("options=%+v", got)
		}
	})
	t.Run("watch", func(t *testing.T) {
		var got *jobWatchOptions
		cmd := newCmdJobWatch(ios, co, func(_ context.Context, o *jobWatchOptions) error { got = o; return nil })
		if err := parseOnly(t, cmd, "0007", "--json", "--interval", "250ms"); err != nil {
			t.Fatal(err)
		}
		if got.JobID != 7 || !got.JSON || got.Interval != 250*time.Millisecond {
			t.Errorf("options=%+v", got)
		}
	})

	refusals := []struct {
		name    string
		cmd     func() *cobra.Command
		args    []string
		mention string
	}{
		{"start: bad id", func() *cobra.Command { return newCmdJobStart(ios, co, nil) }, []string{"7U"}, `job ID "7U"`},
		{"start: two ids", func() *cobra.Command { return newCmdJobStart(ios, co, nil) }, []string{"1", "2"}, "accepts 1 arg"},
		{"pause: bad --run", func() *cobra.Command { return newCmdJobRunAction(ios, co, "pause", nil) }, []string{"--run", "??"}, `invalid argument "??" for "--run"`},
		{"watch: no id", func() *cobra.Command { return newCmdJobWatch(ios, co, nil) }, []string{}, "give a job ID or --run"},
		{"watch: bad interval", func() *cobra.Command { return newCmdJobWatch(ios, co, nil) }, []string{"1", "--interval", "0s"}, "--interval"},
		{"list: bad limit", func() *cobra.Command { return newCmdJobList(ios, co, nil) }, []string{"--limit", "0"}, "--limit"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			err := parseOnly(t, tt.cmd(), tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("err=%v, want mention of %q", err, tt.mention)
			}
		})
	}
}

func TestJogFlagParsing(t *testing.T) {
	ios, _, _, _ := TestStreams()
	var got *jogOptions
	cmd := newCmdMachineJog(ios, &clientOptions{}, func(_ context.Context, o *jogOptions) error { got = o; return nil })
	if err := parseOnly(t, cmd, "--y", "-2.5", "--feed", "300"); err != nil {
		t.Fatal(err)
	}
	r := got.Request
	if r.X != nil || r.Z != nil || r.Y == nil || *r.Y != -2.5 || r.Feed != 300 || !r.Incremental {
		t.Errorf("request=%+v", r)
	}
}

func TestJobWatchPollsWithoutEvents(t *testing.T) {
	var mu sync.Mutex
	run := jobs.Run{ID: 3, JobID: 7, State: jobs.StateRunning, LastExecutedLine: 10}
	js := &webtest.JobService{T: t, JobFn: func(_ context.Context, id jobs.ID) (jobs.Job, error) {
		return jobs.Job{ID: id, Lines: 20}, nil
	}}
	rs := &webtest.RunService{T: t,
		RunsFn: func(context.Context, jobs.RunFilter) ([]jobs.Run, error) {
			mu.Lock()
			defer mu.Unlock()
			r := run
			run.State, run.LastExecutedLine = jobs.StateCompleted, 20 // the next read sees it done
			return []jobs.Run{r}, nil
		},
		RunFn: func(context.Context, jobs.ID) (jobs.Run, error) {
			mu.Lock()
			defer mu.Unlock()
			return run, nil
		},
	}
	data := startDaemon(t, &web.Server{Jobs: js, Runs: rs, Logger: discardLog()}) // no event hub: 503 on /ws
	code, out, stderr := runKerf(t, "job", "watch", "0007", "--interval", "10ms", "--data", data)
	if code != 0 || !strings.Contains(stderr, "no event stream") || !strings.Contains(out, "run 0003 running 50%") || !strings.Contains(out, "completed") {
		t.Errorf("code=%d out=%q stderr=%q", code, out, stderr)
	}
}

// TestJobAddCorpusThroughRealCheck runs the real G-code check in the job
// service, so the diagnostics kerf job add prints are gcode's own for a
// corpus file that is invalid for GRBL on purpose.
func TestJobAddCorpusThroughRealCheck(t *testing.T) {
	settings := gcode.DefaultSettings()
	settings[130], settings[131], settings[132] = 800, 800, 100 // a LongMill 30x30
	js := &webtest.JobService{T: t, AddJobFn: func(_ context.Context, name string, body io.Reader) (jobs.Job, error) {
		rep, err := gcode.Check(body, name, gcode.Options{Settings: settings})
		if err != nil {
			return jobs.Job{}, err
		}
		if !rep.Streamable {
			return jobs.Job{}, &web.ProgramError{File: name, Diags: rep.Diagnostics}
		}
		return jobs.Job{ID: 1, Name: name, Lines: rep.Lines}, nil
	}}
	data := startDaemon(t, &web.Server{Jobs: js})

	bad := filepath.Join("..", "testdata", "corpus", "open", "gcodetools_longmill-line_invalid_gcode.nc")
	code, out, stderr := runKerf(t, "job", "add", bad, "--data", data)
	for _, want := range []string{
		bad + ":124:1: error: error:20",
		bad + ":200:1: error: error:20",
		bad + ":202:1: error: error:20",
		"kerf: " + bad + " was not added: GRBL would reject it",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 || out != "" {
		t.Errorf("code=%d out=%q, want 1 and no job id", code, out)
	}

	good := filepath.Join("..", "testdata", "corpus", "open", "gcodetools_longmill-line_M0.nc")
	code, out, stderr = runKerf(t, "job", "add", good, "--data", data)
	if code != 0 || out != "0001\n" {
		t.Errorf("valid corpus file: code=%d out=%q stderr=%q", code, out, stderr)
	}
}
