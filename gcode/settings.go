package gcode

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Settings holds GRBL `$n` values (n -> value) relevant to checking and
// estimating. Units are GRBL's: mm, mm/min, mm/s².
type Settings map[int]float64

// Setting numbers used by this package.
const (
	SetJunctionDeviation = 11  // $11 junction deviation, mm
	SetArcTolerance      = 12  // $12 arc tolerance, mm
	SetSoftLimits        = 20  // $20 soft limits enable
	SetHomingEnable      = 22  // $22 homing enable
	SetMaxSpindle        = 30  // $30 max spindle speed, RPM
	SetMinSpindle        = 31  // $31 min spindle speed, RPM
	SetLaserMode         = 32  // $32 laser mode
	SetMaxRateX          = 110 // $110..$112 max rate, mm/min
	SetAccelX            = 120 // $120..$122 acceleration, mm/s²
	SetTravelX           = 130 // $130..$132 max travel, mm
)

// DefaultSettings returns GRBL 1.1's generic build defaults (defaults_generic.h
// as the firmware reports them after `$RST=$`).
func DefaultSettings() Settings {
	return Settings{
		0: 10, 1: 25, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 10: 1,
		11: 0.010, 12: 0.002, 13: 0,
		20: 0, 21: 0, 22: 0, 23: 0, 24: 25, 25: 500, 26: 250, 27: 1,
		30: 1000, 31: 0, 32: 0,
		100: 250, 101: 250, 102: 250,
		110: 500, 111: 500, 112: 500,
		120: 10, 121: 10, 122: 10,
		130: 200, 131: 200, 132: 200,
	}
}

// stockProfile returns the stock `$$` values of a machine kerf targets
// (ProfileSettings lays them over DefaultSettings), or false if unknown.
//
//   - "3018pro": SainSmart Genmitsu 3018-PROVer (Grbl 1.1f board, 800
//     steps/mm). Travel 300x180x45 mm is the vendor's published work area.
//     Rates 1000/1000/600 mm/min and 30 mm/s² are the commonly quoted stock
//     sheet values, not verified against a primary SainSmart source; they
//     match kerf's grbl/sim profile so that estimates and simulation agree.
//     Tuned machines differ a lot (one owner's published 3018 settings,
//     https://gist.github.com/netroy/970e7a64fa55346aef5747935857f400, use
//     1500/1500/1200 mm/min and 300 mm/s²): check against your own `$$` with
//     --settings.
//   - "longmill30": Sienci LongMill MK1 30x30, from gSender's EEPROM machine
//     profiles (Sienci-Labs/gsender, LONGMILL_MASTER_LIST_GRBL and
//     LONGMILL_MK1_30x30): 200 steps/mm, 4000/4000/3000 mm/min,
//     750/750/500 mm/s², travel 770x820x110 mm.
func stockProfile(name string) (Settings, bool) {
	switch name {
	case "3018pro":
		return Settings{
			3: 2, 22: 1, 24: 100,
			100: 800, 101: 800, 102: 800,
			110: 1000, 111: 1000, 112: 600,
			120: 30, 121: 30, 122: 30,
			130: 300, 131: 180, 132: 45,
		}, true
	case "longmill30":
		return Settings{
			0: 10, 1: 100, 2: 1, 3: 5, 4: 1, 10: 1, 11: 0.010, 12: 0.002,
			23: 3, 24: 25, 25: 1500, 26: 250, 27: 1,
			30: 30000, 31: 10000, 32: 0,
			100: 200, 101: 200, 102: 200,
			110: 4000, 111: 4000, 112: 3000,
			120: 750, 121: 750, 122: 500,
			130: 770, 131: 820, 132: 110,
		}, true
	}
	return nil, false
}

// ProfileNames lists the names ProfileSettings accepts, sorted.
func ProfileNames() []string { return []string{"3018pro", "longmill30"} }

// ProfileSettings returns the stock settings of a known machine ("3018pro",
// "longmill30"), laid over DefaultSettings.
func ProfileSettings(name string) (Settings, error) {
	p, ok := stockProfile(name)
	if !ok {
		return nil, fmt.Errorf("unknown machine profile %q (known: %s)", name, strings.Join(ProfileNames(), ", "))
	}
	s := DefaultSettings()
	for k, v := range p {
		s[k] = v
	}
	return s, nil
}

// ParseSettings reads `$n=v` lines as GRBL's `$$` prints them, laid over
// DefaultSettings. Blank lines, "ok" and bracketed or parenthesised trailing
// text ("$11=0.010 (junction deviation, mm)") are accepted; anything else is
// an error naming the line.
func ParseSettings(r io.Reader) (Settings, error) {
	s := DefaultSettings()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if i := strings.IndexAny(t, "(;"); i >= 0 {
			t = strings.TrimSpace(t[:i])
		}
		if t == "" || t == "ok" || strings.HasPrefix(t, "[") || strings.HasPrefix(t, "Grbl ") {
			continue
		}
		if !strings.HasPrefix(t, "$") {
			return nil, fmt.Errorf("settings line %d: %q is not a $n=value line", line, t)
		}
		k, v, ok := strings.Cut(t[1:], "=")
		if !ok {
			return nil, fmt.Errorf("settings line %d: %q has no '='", line, t)
		}
		n, err := strconv.Atoi(strings.TrimSpace(k))
		if err != nil || n < 0 || n > 255 {
			return nil, fmt.Errorf("settings line %d: bad setting number %q", line, k)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("settings line %d: $%d: bad value %q", line, n, v)
		}
		if f < 0 {
			return nil, fmt.Errorf("settings line %d: $%d: negative value %v", line, n, f)
		}
		s[n] = f
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read settings after line %d: %w", line, err)
	}
	return s, nil
}

// Get returns setting n, or GRBL's generic default when absent.
func (s Settings) Get(n int) float64 {
	if v, ok := s[n]; ok {
		return v
	}
	return DefaultSettings()[n]
}
