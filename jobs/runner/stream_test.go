package runner

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/grbl/sim"
)

// rig is a sim board and an open Conn to it, inside a synctest bubble.
type rig struct {
	m       *sim.Machine
	conn    *grbl.Conn
	signals *Signals
}

func mustRig(t *testing.T, opts sim.Options) *rig {
	t.Helper()
	m, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	port, err := m.Connect()
	if err != nil {
		t.Fatal(err)
	}
	sig := &Signals{}
	conn := grbl.NewConn(port, grbl.Options{OnMessage: sig.Handle, Logger: slog.New(slog.DiscardHandler)})
	if err := conn.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if conn.AlarmError() != nil { // homing enabled: the board starts locked
		if _, err := conn.Command(context.Background(), "$X"); err != nil {
			t.Fatal(err)
		}
	}
	return &rig{m: m, conn: conn, signals: sig}
}

func compile(t *testing.T, name, src string, settings gcode.Settings) *gcode.Compiler {
	t.Helper()
	return gcode.NewCompiler(strings.NewReader(src), name, gcode.Options{Settings: settings})
}

func TestStreamCompletes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustRig(t, sim.Options{Profile: "3018pro"})
		src := "G21 G90\nG0 X1 Y1\nM3 S1000\nG1 X10 F600\nG1 Y10\nG2 X0 Y0 I-5 J-5\nM5\nG0 X0 Y0\nM30\n"
		var last Progress
		s := &Stream{Conn: r.conn, Signals: r.signals, Program: compile(t, "t.nc", src, r.conn.Settings()),
			OnProgress: func(p Progress) { last = p }}
		res, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.LastAcked != 9 || res.LastExecuted != 9 || last.Acked != res.Acked || res.Acked != res.Sent {
			t.Fatalf("result %+v", res)
		}
		st := r.m.Stats()
		if st.Overflows != 0 || st.ErrorCount() != 0 || st.State != "Idle" {
			t.Fatalf("sim stats: overflows=%d errors=%v state=%s", st.Overflows, st.Errors, st.State)
		}
	})
}

func TestStreamErrorStopsMachine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// error:N at the 6th line the board receives (a sim fault): GRBL
		// keeps running what is buffered, so the stream must hold and reset.
		f, err := sim.ParseFault("error:line=20,code=33")
		if err != nil {
			t.Fatal(err)
		}
		r := mustRig(t, sim.Options{Profile: "3018pro", Faults: []sim.Fault{f}})
		var b strings.Builder
		b.WriteString("G21 G90 G1 F300\n")
		for i := 1; i <= 60; i++ {
			b.WriteString("X" + itoa(i) + "\n")
		}
		stopped := 0
		s := &Stream{Conn: r.conn, Signals: r.signals, Program: compile(t, "e.nc", b.String(), r.conn.Settings()),
			OnStop: func(error) { stopped++ }}
		_, err = s.Run(context.Background())
		var se *StopError
		var ge *grbl.Error
		if !errors.As(err, &se) || !errors.As(err, &ge) || ge.Code != 33 {
			t.Fatalf("err = %v, want a StopError wrapping error:33", err)
		}
		if stopped != 1 {
			t.Fatalf("OnStop called %d times, want 1", stopped)
		}
		st := r.m.Stats()
		if st.Resets < 2 { // power-on banner + our soft reset
			t.Fatalf("resets = %d, want the soft reset after the error", st.Resets)
		}
		if st.State != "Idle" {
			t.Fatalf("state after stop = %s, want Idle (hold finished before the reset: no ALARM:3)", st.State)
		}
		if st.Commanded[0] >= 60 {
			t.Fatalf("machine reached X%.0f: the buffered moves were not stopped", st.Commanded[0])
		}
	})
}

// Every corpus file that kerf check passes streams into the simulated
// board with zero overflows and zero errors.
func TestStreamCorpus(t *testing.T) {
	files, err := filepath.Glob("../../testdata/corpus/open/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	streamed := 0
	for _, path := range files {
		rep := checkFile(t, path)
		if !rep.Streamable {
			continue
		}
		streamed++
		t.Run(filepath.Base(path), func(t *testing.T) {
			// The large files run through the whole Service in
			// TestServiceRunsCorpus; streaming them here too doubled the
			// package's CPU for no new path.
			if fi, err := os.Stat(path); err == nil && fi.Size() > shortCorpusBytes {
				t.Skipf("%d KiB: streamed end to end by TestServiceRunsCorpus", fi.Size()>>10)
			}
			synctest.Test(t, func(t *testing.T) {
				r := mustRig(t, sim.Options{Profile: "longmill30"})
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				prog := gcode.NewCompiler(f, path, gcode.Options{Settings: r.conn.Settings()})
				// M0 pauses: the operator presses resume whenever GRBL holds.
				s := &Stream{Conn: r.conn, Signals: r.signals, Program: prog, OnProgress: func(p Progress) {
					if p.HaveStatus && p.Status.State == grbl.StateHold && p.Status.SubState == 0 {
						_ = r.conn.Resume()
					}
				}}
				res, err := s.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				st := r.m.Stats()
				if st.Overflows != 0 || st.ErrorCount() != 0 {
					t.Fatalf("overflows=%d errors=%v", st.Overflows, st.Errors)
				}
				if int64(st.Lines) < res.Sent {
					t.Fatalf("board took %d lines, %d sent", st.Lines, res.Sent)
				}
			})
		})
	}
	if streamed < 9 {
		t.Fatalf("only %d corpus files streamable", streamed)
	}
}

func checkFile(t *testing.T, path string) *gcode.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings, err := gcode.ProfileSettings("longmill30")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := gcode.Check(f, path, gcode.Options{Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
