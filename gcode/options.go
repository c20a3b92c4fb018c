package gcode

// DefaultSafeZ is the work Z (mm) at or above which the tool counts as
// retracted when Options.SafeZ is 0.
const DefaultSafeZ = 1.0

// Offsets are the controller's stored coordinate data, as `$#` reports them
// (machine coordinates, mm).
type Offsets struct {
	// WCS holds G54..G59.
	WCS [6][3]float64 `json:"wcs"`
	G28 [3]float64    `json:"g28"`
	G30 [3]float64    `json:"g30"`
}

// Options configure Check and NewCompiler. The zero value checks against
// GRBL's generic defaults.
type Options struct {
	// Settings of the machine; nil means DefaultSettings().
	Settings Settings
	// Offsets are the stored work offsets. nil means unknown: machine
	// coordinates are computed with zero offsets and the soft-limit check
	// compares only the program's extent with the travel.
	Offsets *Offsets
	// Start is where the tool is when the program starts, in G54 work
	// coordinates (mm).
	Start [3]float64
	// SafeZ is the work Z (mm) at or above which the tool is retracted;
	// 0 means DefaultSafeZ.
	SafeZ float64
	// Board is the controller's parser state when the program starts (see
	// BoardState: read from `$G` while the machine is held, Idle, just
	// before streaming). The interpreter starts from it and the wire form
	// may drop words that repeat what it knows. nil: GRBL's reset state is
	// modelled but nothing is known (or ResetState with AssumeReset), so a
	// mode or value counts as known only once the program has set it. The
	// machine position is unknown either way.
	Board *BoardState
	// AssumeReset declares that the sender soft-resets GRBL before the job
	// and that no `$N` startup block changes a mode: it is Board =
	// ResetState() (G0 G17 G21 G90 G94 G54 M5 M9, F0 S0 T0, all known).
	// Board, when set, takes precedence.
	AssumeReset bool
	// EnableM7 accepts M7 (builds with ENABLE_M7).
	EnableM7 bool
	// SpindleRelay says GRBL's spindle output switches a solid-state relay
	// (kerf's relay sense mode): a warning marks every spindle speed that
	// GRBL would output as PWM instead of steadily on (S below $30).
	SpindleRelay bool
	// MaxDiagnostics caps the diagnostics a Report keeps (all are counted);
	// 0 means 1000.
	MaxDiagnostics int
	// MaxEvents caps each event list of a Report (tool changes, spindle
	// events, safe points, pauses); 0 means 10000.
	MaxEvents int
}

func (o Options) withDefaults() Options {
	if o.Settings == nil {
		o.Settings = DefaultSettings()
	}
	if o.SafeZ == 0 {
		o.SafeZ = DefaultSafeZ
	}
	if o.MaxDiagnostics <= 0 {
		o.MaxDiagnostics = 1000
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = 10000
	}
	if o.Board == nil && o.AssumeReset {
		r := ResetState()
		o.Board = &r
	}
	return o
}

// startMachine returns the machine position of Options.Start.
func (o Options) startMachine() [3]float64 {
	var p [3]float64
	for i := 0; i < 3; i++ {
		p[i] = o.Start[i]
		if o.Offsets != nil {
			p[i] += o.Offsets.WCS[0][i]
		}
	}
	return p
}
