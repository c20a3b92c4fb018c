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
//     spindle events, feed range and safe points.
//   - NewCompiler / Compiler.Next stream the program as WireLines: the
//     shortest text GRBL reads identically (comments, spaces, line numbers,
//     checksums and redundant modal words dropped, numbers trimmed without
//     changing the value GRBL computes), each mapped to its source line and
//     carrying the sender actions around it. The first line GRBL would reject
//     stops the compiler with a *DiagnosticError.
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
// # Equivalence
//
// A wire line is produced from the source line and the interpreter state
// before it. The Compiler re-reads every wire line it produces and checks that
// the interpreter state and motion after it equal those after the source line;
// the tests prove the same property over the whole corpus and under fuzzing.
// Numbers are compared as GRBL computes them (its read_float: at most 8
// significant digits, float32 scaling), so a trimmed number is only used when
// GRBL's float32 value is bit-identical.
//
// # Concurrency
//
// The package starts no goroutines. A Compiler is not safe for concurrent
// use; separate Compilers and Check calls may run in parallel.
package gcode
