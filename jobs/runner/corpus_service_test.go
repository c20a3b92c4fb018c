package runner

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/grbl/sim"
	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/relay"
)

// corpusSpeed is the simulated board's time scale for the corpus runs:
// wire, parsing and motion a hundred times faster than a real LongMill,
// so that hours of cutting are a few minutes of virtual time (each
// virtual second costs a progress write to the store).
const corpusSpeed = 100

// shortCorpusBytes bounds the files run with -short.
const shortCorpusBytes = 100 << 10

// Every corpus file kerf check passes runs to completion through the whole
// Service (add, start, the recorder, the store) on the simulated LongMill,
// and the run is recorded completed with its last acknowledged and last
// executed lines at the program's end. M0 pauses and M6 tool changes are
// resumed as an operator would. With -short only the files under 100 KiB.
func TestServiceRunsCorpus(t *testing.T) {
	files, err := filepath.Glob("../../testdata/corpus/open/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	ran := 0
	for _, path := range files {
		if !checkFile(t, path).Streamable {
			continue
		}
		ran++
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			if testing.Short() && fi.Size() > shortCorpusBytes {
				t.Skipf("%d KiB: not with -short", fi.Size()>>10)
			}
			synctest.Test(t, func(t *testing.T) { runCorpusFile(t, path) })
		})
	}
	if ran < 9 {
		t.Fatalf("only %d corpus files streamable", ran)
	}
}

func runCorpusFile(t *testing.T, path string) {
	f := mustService(t, sim.Options{Profile: "longmill30", Speed: corpusSpeed}, relay.ModeNone)
	ctx := context.Background()
	body, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	job, err := f.svc.AddJob(ctx, filepath.Base(path), body)
	if err != nil {
		t.Fatal(err)
	}

	// The operator: resume every pause (M0, tool change) the run records.
	paused := make(chan jobs.ID, 16)
	f.svc.Publish = func(topic string, data any) {
		if ev, ok := data.(RunEvent); ok && topic == "run.state" && ev.State == jobs.StatePaused {
			paused <- ev.Run
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var resumeErr error
	resumes := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case id := <-paused:
				resumes++
				if _, err := f.svc.ResumeRun(ctx, id); err != nil && resumeErr == nil {
					resumeErr = err
				}
			case <-stop:
				return
			}
		}
	}()
	run := f.runToEnd(t, job, 0)
	close(stop)
	wg.Wait()
	if resumeErr != nil {
		t.Fatalf("resume: %v", resumeErr)
	}

	if run.State != jobs.StateCompleted {
		t.Fatalf("run %s: %q after %d lines acknowledged", run.State, run.Reason, run.LastAckedLine)
	}
	if run.LastAckedLine != job.Lines || run.LastExecutedLine != job.Lines {
		t.Fatalf("run completed with last lines acked %d, executed %d; the program has %d", run.LastAckedLine, run.LastExecutedLine, job.Lines)
	}
	st := f.rig.m.Stats()
	if st.Overflows != 0 || st.ErrorCount() != 0 {
		t.Fatalf("board: overflows %d, errors %v", st.Overflows, st.Errors)
	}
	if run.Summary.LinesSent == 0 || int64(st.Lines) < int64(run.Summary.LinesSent) {
		t.Fatalf("the board took %d lines, the run recorded %d sent", st.Lines, run.Summary.LinesSent)
	}
	t.Logf("%d lines, %d sent, %d pauses resumed", job.Lines, run.Summary.LinesSent, resumes)
}
