package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/grbl"
)

// errBoardState: the board's `$G` state is not one a run's wire form may
// start from.
var errBoardState = errors.New("board state not used")

// boardState reads the board's parser state (`$G`) for the run's compiler,
// while the run holds the machine, Idle, before anything is streamed: the
// wire form may then drop the words that repeat it. It returns nil, the
// strict wire form that assumes nothing, when the state cannot be read or
// is not one to start from (logged): the spindle on (the program's M3 must
// stay an action that switches the relay), or, with drift checkpoints
// (probing), a G2/G3/G38.x motion mode that the reference probe leaves as G0.
func (s *Service) boardState(ctx context.Context, conn *grbl.Conn, probing bool) *gcode.BoardState {
	b, err := readBoardState(ctx, conn, probing)
	if err != nil {
		s.log().Warn("wire form assumes no board state for this run", "err", err)
		return nil
	}
	return b
}

func readBoardState(ctx context.Context, conn *grbl.Conn, probing bool) (*gcode.BoardState, error) {
	b, err := queryBoardState(ctx, conn)
	if err != nil {
		return nil, err
	}
	if !b.SpindleOff() {
		return nil, fmt.Errorf("$G %q: spindle or coolant on at the start: %w", b.String(), errBoardState)
	}
	if mw := b.MotionWord(); probing && mw != "G0" && mw != "G1" && mw != "G80" {
		return nil, fmt.Errorf("$G %q: motion mode %s does not survive the reference probe: %w", b.String(), mw, errBoardState)
	}
	return &b, nil
}

// queryBoardState asks the board for its parser state (`$G`).
func queryBoardState(ctx context.Context, conn *grbl.Conn) (gcode.BoardState, error) {
	resp, err := conn.Command(ctx, "$G")
	if err != nil {
		return gcode.BoardState{}, fmt.Errorf("read $G: %w", err)
	}
	var words []string
	for _, m := range resp.Lines {
		if md, ok := m.(grbl.Modal); ok {
			words = md.Words
		}
	}
	if words == nil {
		return gcode.BoardState{}, fmt.Errorf("$G: the board sent no [GC:] report: %w", errBoardState)
	}
	return gcode.ParseBoardState(strings.Join(words, " "))
}

// preflightOptions are gopts with the board's parser state, so that the
// preflight holds the program against the machine as the board will read
// it: a program that never sets its units runs in inches on a board left in
// G20, 25.4 times the travel a strict check would assume. Without a
// readable state the check stays strict (logged).
func (s *Service) preflightOptions(ctx context.Context, conn *grbl.Conn, gopts gcode.Options) gcode.Options {
	b, err := queryBoardState(ctx, conn)
	if err != nil {
		s.log().Warn("preflight assumes no board state", "err", err)
		return gopts
	}
	gopts.Board = &b
	return gopts
}
