package gcode

import (
	"io"
	"sort"
)

// Check reads a whole program with constant memory and returns every
// diagnostic (up to Options.MaxDiagnostics, all counted) and the analysis.
// The error is non-nil only when the input cannot be read.
func Check(r io.Reader, name string, opts Options) (*Report, error) {
	var rep *Report
	var e *engine
	e = newEngine(r, name, opts, func(d Diagnostic) {
		if d.Severity == Error {
			rep.Errors++
		} else {
			rep.Warnings++
		}
		if len(rep.Diagnostics) < e.opts.MaxDiagnostics {
			rep.Diagnostics = append(rep.Diagnostics, d)
			e.mute = len(rep.Diagnostics) == e.opts.MaxDiagnostics
		} else {
			rep.DiagnosticsDropped++
		}
	})
	rep = e.rep
	for {
		first := len(rep.Diagnostics)
		kind, err := e.step()
		if d := rep.Diagnostics[first:]; len(d) > 1 {
			sort.SliceStable(d, func(i, j int) bool { return d[i].Col < d[j].Col })
		}
		if err != nil {
			return nil, err
		}
		if kind == lineEOF {
			break
		}
		if kind == lineWire && len(e.wire) > 0 {
			rep.WireLines++
			rep.WireBytes += int64(len(e.wire)) + 1
		}
	}
	e.finish()
	rep.Streamable = rep.Errors == 0
	if rep.Diagnostics == nil {
		rep.Diagnostics = []Diagnostic{}
	}
	return rep, nil
}
