// Package gcode reads G-code programs for GRBL 1.1 machines.
//
// It streams a program from an io.Reader line by line with constant memory,
// whatever the file size, and for every line works out what GRBL 1.1 would do
// with it: the answer GRBL would give (ok or error:N), the modal state and
// machine target after the line, and what the sender itself must handle
// (M6 tool changes, M0 pauses, program end, `$` commands that must be sent
// alone).
//
// Three entry points:
//
//   - Check reads a whole program and returns a Report: every diagnostic
//     (file:line:col, severity, GRBL error code), bounds in work and machine
//     coordinates (arc extents included), a run-time estimate from GRBL's
//     acceleration and junction-deviation planner model, tools, tool changes,
//     spindle events, feed range, safe points and a time profile for ETAs.
//   - NewCompiler / Compiler.Next stream the program as WireLines: the
//     shortest text GRBL reads identically (comments, spaces, line numbers,
//     checksums and redundant modal words dropped, numbers trimmed without
//     changing the value GRBL computes), each mapped to its source line and
//     carrying the sender actions around it. The first line GRBL would reject
//     stops the compiler with a *DiagnosticError. Whole-program findings (the
//     travel and soft-limit check) exist only after the last line, so run
//     Check before streaming; the Compiler re-reports them at the end.
//   - Settings, DefaultSettings, ProfileSettings and ParseSettings describe
//     the machine ($110-$132, $11, $12, ...) that checks and estimates use.
//
// Usage:
//
//	rep, err := gcode.Check(f, "part.nc", gcode.Options{Settings: gcode.DefaultSettings()})
//	if err != nil { ... } // unreadable input only
//	for _, d := range rep.Diagnostics { fmt.Println(d) }
//
//	c := gcode.NewCompiler(f, "part.nc", opts)
//	for {
//		wl, err := c.Next()
//		if err == io.EOF { break }
//		if err != nil { ... } // errors.As(err, new(*gcode.DiagnosticError))
//		send(wl)
//	}
//
// # Wire form
//
// The wire form of a line is what GRBL's own pre-filter would keep (no
// spaces, comments, '/' or lower case), minus N words and `*` checksums,
// minus words that repeat a value the program itself has already set, with
// numbers in their shortest spelling. The controller's state before a job is
// unknown (a previous job or a `$N` startup block may have left G20, G91, a
// feed rate...), so the first G21/G90/G94/F/S/T... of a program is always
// kept; only repeats go. A sender that knows the board's state gives it in
// Options.Board (ParseBoardState reads GRBL's `$G` report; ResetState, or
// AssumeReset, is GRBL's state after a soft reset): the interpreter starts
// from it and words that repeat it go too. Axis words go only when the target equals the
// position on an axis whose position is anchored by an earlier absolute move
// (never after a probe, a work-offset change or a `$` command), or in G91
// when the increment is zero; a move whose axis words all go keeps the
// shortest one, since it must name an axis. G40, G61, G91.1 and M1 are
// always dropped (GRBL has no other mode, or ignores them). M6 is removed:
// GRBL rejects it and the sender performs the change (see ActionToolChange).
//
// # Equivalence
//
// A wire line is produced from the source line and the interpreter state
// before it. The Compiler re-reads every wire line it produces and checks that
// the interpreter state and motion after it equal those after the source line;
// the tests prove the same property over the whole corpus and under fuzzing,
// from the strict start and from random board states, also reading the wire
// lines alone, in sequence.
// Numbers are compared as GRBL computes them (its read_float: at most 8
// significant digits, float32 scaling), so a trimmed number is only used when
// GRBL's float32 value is bit-identical ("0.0010" stays ".0010" because
// GRBL computes 10*0.01*0.01 and 1*0.01*0.1 to different floats). A test
// works out the fewest bytes any equivalent line can take for every G0/G1
// move of the corpus; the wire form takes exactly that (docs/performance.md).
//
// # Analysis assumptions
//
// The check answers what GRBL 1.1 would answer after a reset with the given
// Settings (default: GRBL's generic defaults): F is 0 (so a feed move before
// any F is error:22), G21 G90 G94 G54 M5 M9 are active. Bounds and times start
// from Options.Start (the G54 work origin by default) and include it. Machine
// coordinates use Options.Offsets; when those are unknown, the soft-limit check
// only compares the program's extent with the travel ($130-$132). The time
// estimate follows GRBL's planner: per-axis rate and acceleration limits,
// junction deviation ($11), 15-block look-ahead, arcs split with $12, and a
// full stop wherever GRBL waits for the planner to empty (M3/M5, dwell,
// coolant, offset changes, EEPROM writes, tool changes, M0). Spindle spin-up,
// the serial link and the operator are not included.
//
// # Concurrency
//
// The package starts no goroutines. A Compiler is not safe for concurrent
// use; separate Compilers and Check calls may run in parallel.
package gcode
