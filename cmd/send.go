package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/hardware"
	"github.com/kerf-cnc/kerf/jobs/runner"
)

// Exit codes of kerf send.
const (
	exitSendFailed      = 1   // the board refused a line, an alarm, a disconnect
	exitSendRejected    = 2   // the file fails the check; nothing was sent
	exitSendInterrupted = 130 // Ctrl-C
)

type sendOptions struct {
	Port     string
	Baud     int
	RXBuffer int
	File     string
	Quiet    bool

	// open connects to the board; tests replace it with the simulator.
	open func(path string, baud int) (io.ReadWriteCloser, error)
}

func newCmdSend(ios IOStreams) *cobra.Command {
	opts := &sendOptions{open: func(p string, b int) (io.ReadWriteCloser, error) { return hardware.OpenSerial(p, b) }}
	cmd := &cobra.Command{
		Use:   "send --port PATH FILE",
		Short: "Stream one G-code file straight to a GRBL board",
		Long: `Stream one G-code file straight to a GRBL board, without the daemon.

kerf checks the whole file against the board's own settings first and sends
nothing if GRBL would reject any line. It then streams the compact wire form
with character counting (never overflowing GRBL's receive buffer), shows
progress with an ETA, and ends with a summary of the run.

On error:N or ALARM:N kerf holds the machine at once, soft-resets it (GRBL
keeps running what is buffered otherwise) and reports the file line. Ctrl-C
does the same. M0 pauses and M6 tool changes wait for Enter.

Exit status: 0 when every line was acknowledged and the machine is Idle,
1 when the run failed, 2 when the file was rejected before sending,
130 when interrupted.`,
		Example: `  kerf send --port /dev/ttyUSB0 part.nc
  kerf sim --pty /tmp/grbl & kerf send --port /tmp/grbl part.nc`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.File = args[0]
			return runSend(c.Context(), ios, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Port, "port", "p", "", "serial port of the board (see kerf ports)")
	cmd.Flags().IntVar(&opts.Baud, "baud", 115200, "serial speed")
	cmd.Flags().IntVar(&opts.RXBuffer, "rx-buffer", 0, "board receive buffer in bytes (0: from the board's [OPT:], else 128)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress, only the summary")
	_ = cmd.MarkFlagRequired("port")
	return cmd
}

func runSend(ctx context.Context, ios IOStreams, o *sendOptions) error {
	f, err := os.Open(o.File)
	if err != nil {
		return &ExitError{Code: exitSendRejected, Err: err}
	}
	defer f.Close()

	port, err := o.open(o.Port, o.Baud)
	if err != nil {
		return &ExitError{Code: exitSendFailed, Err: err}
	}
	signals := &runner.Signals{}
	conn := grbl.NewConn(port, grbl.Options{
		RXBufferSize: o.RXBuffer,
		OnMessage:    signals.Handle,
		Logger:       slog.New(slog.NewTextHandler(ios.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err := conn.Open(ctx); err != nil {
		port.Close()
		return &ExitError{Code: exitSendFailed, Err: fmt.Errorf("connect to %s: %w", o.Port, err)}
	}
	defer conn.Close()

	// The board must be ready: not in alarm, Idle.
	if err := conn.AlarmError(); err != nil {
		return &ExitError{Code: exitSendFailed, Err: err}
	}
	st, err := conn.WaitStatus(ctx, func(grbl.Status) bool { return true })
	if err != nil {
		return &ExitError{Code: exitSendFailed, Err: err}
	}
	if st.State != grbl.StateIdle {
		return &ExitError{Code: exitSendFailed, Err: fmt.Errorf("the board is %s, not Idle: finish or reset it first", stateName(st))}
	}

	// Check the whole file against this board before sending a byte.
	gopts := gcode.Options{Settings: gcode.Settings(conn.Settings()), Offsets: runner.BoardOffsets(conn.Info())}
	rep, err := gcode.Check(f, o.File, gopts)
	if err != nil {
		return &ExitError{Code: exitSendRejected, Err: err}
	}
	if !rep.Streamable {
		for _, d := range rep.Diagnostics {
			if d.Severity == gcode.Error {
				fmt.Fprintln(ios.ErrOut, d.String())
			}
		}
		return &ExitError{Code: exitSendRejected, Err: fmt.Errorf("%s: %d error(s): nothing was sent", o.File, rep.Errors)}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return &ExitError{Code: exitSendRejected, Err: err}
	}

	bar := newProgressBar(ios, rep.Lines, rep.EstimatedSeconds, o.Quiet)
	op := newOperator(ios.In)
	defer op.close()
	pauses := make(chan string, 1)
	var m0Pending atomic.Int64 // source line of an M0 sent and not yet paused at
	s := &runner.Stream{
		Conn:    conn,
		Signals: signals,
		Program: gcode.NewCompiler(f, o.File, gopts),
		Before: func(ctx context.Context, wl gcode.WireLine) error {
			if wl.Actions&gcode.ActionPause != 0 {
				m0Pending.Store(int64(wl.Source))
			}
			if wl.Actions&gcode.ActionToolChange != 0 {
				return toolChange(ctx, conn, op, bar, wl)
			}
			return nil
		},
		OnProgress: func(p runner.Progress) {
			bar.update(p)
			// GRBL holds by itself at M0; its ok waits for cycle start.
			if p.HaveStatus && p.Status.State == grbl.StateHold && p.Status.SubState == 0 {
				if line := m0Pending.Swap(0); line != 0 {
					select {
					case pauses <- fmt.Sprintf("Paused by M0 at line %d: press Enter to resume", line):
					default: // one pause at a time: GRBL holds until resumed
					}
				}
			}
		},
	}
	// The operator loop answers M0 pauses; it is stopped and waited for
	// before runSend returns.
	opCtx, stopOp := context.WithCancel(ctx)
	var opWG sync.WaitGroup
	opWG.Add(1)
	go func() {
		defer opWG.Done()
		for {
			select {
			case <-opCtx.Done():
				return
			case msg := <-pauses:
				bar.pause(msg)
				if op.wait(opCtx) == nil {
					_ = conn.Resume()
				}
			}
		}
	}()
	defer func() { stopOp(); opWG.Wait() }()
	start := time.Now()
	res, err := s.Run(ctx)
	bar.done()
	sum := summarize(res, time.Since(start), o.Baud, rep)
	fmt.Fprint(ios.Out, sum)
	if err != nil {
		var se *runner.StopError
		if errors.As(err, &se) && se.Line > 0 {
			err = fmt.Errorf("%s:%d: %w", o.File, se.Line, se.Cause)
		}
		if ctx.Err() != nil {
			return &ExitError{Code: exitSendInterrupted, Err: fmt.Errorf("interrupted: machine held and reset; last acknowledged line %d", res.LastAcked)}
		}
		return &ExitError{Code: exitSendFailed, Err: fmt.Errorf("%w (machine stopped; last acknowledged line %d)", err, res.LastAcked)}
	}
	return nil
}

// toolChange handles M6, which GRBL refuses: let the planner drain, stop
// the spindle, wait for the operator, then restart the spindle with a
// spin-up dwell if it was running.
func toolChange(ctx context.Context, conn *grbl.Conn, op *operator, bar *progressBar, wl gcode.WireLine) error {
	if err := conn.Drain(ctx); err != nil {
		return err
	}
	st, err := conn.WaitStatus(ctx, idleEmpty(conn))
	if err != nil {
		return err
	}
	spindleWasOn := st.Acc.SpindleCW || st.Acc.SpindleCCW
	if _, err := conn.Command(ctx, "M5"); err != nil {
		return fmt.Errorf("tool change: stop spindle: %w", err)
	}
	bar.pause(fmt.Sprintf("Tool change at line %d: load tool %d, then press Enter to continue", wl.Source, wl.Tool))
	if err := op.wait(ctx); err != nil {
		return err
	}
	if spindleWasOn {
		if _, err := conn.Command(ctx, fmt.Sprintf("M3S%g", st.Speed)); err != nil {
			return fmt.Errorf("tool change: restart spindle: %w", err)
		}
		if _, err := conn.Command(ctx, "G4P3"); err != nil {
			return fmt.Errorf("tool change: spin-up dwell: %w", err)
		}
	}
	return nil
}

// operator reads the operator's Enter presses from standard input. Its
// reader goroutine starts at the first wait and ends with the input (a
// blocked read on a terminal cannot be interrupted; the process exit ends
// it).
type operator struct {
	in    io.Reader
	once  sync.Once
	lines chan error
	done  chan struct{}
}

func newOperator(in io.Reader) *operator {
	return &operator{in: in, lines: make(chan error), done: make(chan struct{})}
}

// close lets the reader goroutine end once its current read returns.
func (o *operator) close() { close(o.done) }

func (o *operator) wait(ctx context.Context) error {
	o.once.Do(func() {
		go func() {
			r := bufio.NewReader(o.in)
			for {
				_, err := r.ReadString('\n')
				select {
				case o.lines <- err:
				case <-o.done:
					return
				}
				if err != nil {
					return
				}
			}
		}()
	})
	select {
	case err := <-o.lines:
		if err != nil {
			return fmt.Errorf("waiting for the operator (Enter): %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func idleEmpty(conn *grbl.Conn) func(grbl.Status) bool {
	blocks := conn.Info().PlannerBlocks
	return func(st grbl.Status) bool {
		return st.State == grbl.StateIdle && (!st.HasBuffer || blocks == 0 || st.PlannerFree >= blocks)
	}
}

func stateName(st grbl.Status) string {
	if st.SubState >= 0 && (st.State == grbl.StateHold || st.State == grbl.StateDoor) {
		return fmt.Sprintf("%s:%d", st.State, st.SubState)
	}
	return string(st.State)
}
