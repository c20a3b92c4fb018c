package gcode

// Box is an axis-aligned bounding box in mm.
type Box struct {
	Min [3]float64 `json:"min"`
	Max [3]float64 `json:"max"`
	// MinLine and MaxLine are the source lines that reached each extreme.
	MinLine [3]int `json:"min_line"`
	MaxLine [3]int `json:"max_line"`
	Empty   bool   `json:"empty,omitempty"`
}

func emptyBox() Box { return Box{Empty: true} }

func (b *Box) add(p *[3]float64, line int) {
	if b.Empty {
		b.Empty = false
		b.Min, b.Max = *p, *p
		b.MinLine = [3]int{line, line, line}
		b.MaxLine = b.MinLine
		return
	}
	for i := 0; i < 3; i++ {
		if p[i] < b.Min[i] {
			b.Min[i], b.MinLine[i] = p[i], line
		}
		if p[i] > b.Max[i] {
			b.Max[i], b.MaxLine[i] = p[i], line
		}
	}
}

// Bounds are the extents the tool reaches, arcs included.
type Bounds struct {
	// Work is in the work coordinates active at each point.
	Work Box `json:"work"`
	// Machine is in machine coordinates (with Options.Offsets, or zero
	// offsets when those are unknown).
	Machine Box `json:"machine"`
}

// ToolChange is an M6 the sender must handle.
type ToolChange struct {
	Line int `json:"line"`
	Tool int `json:"tool"`
}

// SpindleEvent is a spindle state change.
type SpindleEvent struct {
	Line int `json:"line"`
	// State is "cw" (M3), "ccw" (M4) or "off" (M5, program end).
	State string  `json:"state"`
	Speed float64 `json:"speed"`
}

// SafePoint is a place between cuts where the tool is retracted at or above
// Options.SafeZ: a point to check for drift.
type SafePoint struct {
	Line    int        `json:"line"`
	Work    [3]float64 `json:"work"`
	Machine [3]float64 `json:"machine"`
}

// TimePoint maps a source line to the estimated run time before it.
type TimePoint struct {
	Line    int     `json:"line"`
	Seconds float64 `json:"seconds"`
}

// Report is what Check finds in one program.
type Report struct {
	File  string `json:"file"`
	Lines int    `json:"lines"`
	Bytes int64  `json:"bytes"`
	// WireLines and WireBytes count the wire form (each line plus its '\n').
	WireLines int   `json:"wire_lines"`
	WireBytes int64 `json:"wire_bytes"`
	// Streamable is true when there is no error.
	Streamable  bool         `json:"streamable"`
	Errors      int          `json:"errors"`
	Warnings    int          `json:"warnings"`
	Diagnostics []Diagnostic `json:"diagnostics"`
	// DiagnosticsDropped counts diagnostics beyond Options.MaxDiagnostics.
	DiagnosticsDropped int `json:"diagnostics_dropped,omitempty"`

	// Units is "mm", "inch", "mixed" or "unset" (no G20/G21 in the file).
	Units            string  `json:"units"`
	Bounds           Bounds  `json:"bounds"`
	EstimatedSeconds float64 `json:"estimated_seconds"`
	// DwellSeconds is the part of EstimatedSeconds spent in G4 dwells.
	DwellSeconds float64 `json:"dwell_seconds"`
	// TimeProfile samples the estimated time elapsed before the first move
	// of up to maxTimePoints source lines spread over the program (lines
	// that move; each as the look-ahead finally plans it), so that a sender
	// can turn "now at line L" into an ETA: EstimatedSeconds minus the
	// interpolated elapsed time.
	TimeProfile []TimePoint `json:"time_profile"`
	// Moves counts motion blocks; Segments the planner segments (arcs split
	// as GRBL splits them).
	Moves    int64 `json:"moves"`
	Segments int64 `json:"segments"`

	Tools          []int          `json:"tools"`
	ToolChanges    []ToolChange   `json:"tool_changes"`
	SpindleEvents  []SpindleEvent `json:"spindle_events"`
	SpindleEventsN int            `json:"spindle_events_total"`
	// FeedMin and FeedMax are the programmed feed range of feed moves in
	// mm/min (G94 only); 0 when there are none.
	FeedMin     float64     `json:"feed_min"`
	FeedMax     float64     `json:"feed_max"`
	Pauses      []int       `json:"pauses"`
	ProgramEnd  int         `json:"program_end,omitempty"`
	SafePoints  []SafePoint `json:"safe_points"`
	SafePointsN int         `json:"safe_points_total"`
	// DollarLines are the source lines of `$` commands inside the program.
	DollarLines []int `json:"dollar_lines"`
}
