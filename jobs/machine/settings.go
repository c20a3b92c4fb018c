package machine

import (
	"slices"
	"strconv"
	"strings"
)

// Setting is one GRBL $ setting.
type Setting struct {
	// Number is N in $N.
	Number int `json:"number"`
	// Value is the value as GRBL prints it (integers without decimals,
	// distances and rates with three).
	Value string `json:"value"`
	// Name says what the setting is, with its unit; empty for numbers GRBL
	// 1.1 does not define (grblHAL and FluidNC add their own).
	Name string `json:"name,omitempty"`
}

// settingNames are GRBL 1.1's settings, worded after its settings
// documentation (doc/markdown/settings.md) with the unit.
var settingNames = map[int]string{
	0:   "Step pulse time, µs",
	1:   "Step idle delay, ms",
	2:   "Step pulse invert, mask",
	3:   "Step direction invert, mask",
	4:   "Invert step enable pin, boolean",
	5:   "Invert limit pins, boolean",
	6:   "Invert probe pin, boolean",
	10:  "Status report options, mask",
	11:  "Junction deviation, mm",
	12:  "Arc tolerance, mm",
	13:  "Report in inches, boolean",
	20:  "Soft limits enable, boolean",
	21:  "Hard limits enable, boolean",
	22:  "Homing cycle enable, boolean",
	23:  "Homing direction invert, mask",
	24:  "Homing locate feed rate, mm/min",
	25:  "Homing search seek rate, mm/min",
	26:  "Homing switch debounce delay, ms",
	27:  "Homing switch pull-off distance, mm",
	30:  "Maximum spindle speed, RPM",
	31:  "Minimum spindle speed, RPM",
	32:  "Laser-mode enable, boolean",
	100: "X-axis travel resolution, step/mm",
	101: "Y-axis travel resolution, step/mm",
	102: "Z-axis travel resolution, step/mm",
	110: "X-axis maximum rate, mm/min",
	111: "Y-axis maximum rate, mm/min",
	112: "Z-axis maximum rate, mm/min",
	120: "X-axis acceleration, mm/sec^2",
	121: "Y-axis acceleration, mm/sec^2",
	122: "Z-axis acceleration, mm/sec^2",
	130: "X-axis maximum travel, mm",
	131: "Y-axis maximum travel, mm",
	132: "Z-axis maximum travel, mm",
}

// SettingName returns GRBL 1.1's name for setting n, or "" when 1.1 does
// not define it.
func SettingName(n int) string { return settingNames[n] }

// integerSetting reports whether GRBL prints setting n without decimals.
func integerSetting(n int) bool {
	switch n {
	case 11, 12, 24, 25, 27:
		return false
	case 30, 31:
		return true // RPM values print as integers
	}
	return n < 100
}

// formatSetting prints v the way GRBL 1.1 prints setting n in "$$".
func formatSetting(n int, v float64) string {
	if integerSetting(n) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// settingsList turns a settings map into a list in number order.
func settingsList(m map[int]float64) []Setting {
	nums := make([]int, 0, len(m))
	for n := range m {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	out := make([]Setting, 0, len(nums))
	for _, n := range nums {
		out = append(out, Setting{Number: n, Value: formatSetting(n, m[n]), Name: settingNames[n]})
	}
	return out
}

// parseSettingValue checks a value for "$N=value": a plain decimal number
// (GRBL reads no exponent, no sign but '-', which it then refuses with
// error:4 for most settings: that is GRBL's to say).
func parseSettingValue(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errorf("value", "empty")
	}
	dot, digits := false, 0
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		case c == '-' && i == 0:
		default:
			return "", errorf("value", "%q is not a decimal number (character %d)", v, i+1)
		}
	}
	if digits == 0 {
		return "", errorf("value", "%q is not a decimal number", v)
	}
	return v, nil
}
