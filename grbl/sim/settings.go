package sim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// settingKind says how GRBL 1.1h prints a `$n` value in the `$$` dump.
type settingKind int

const (
	kindInt   settingKind = iota // printed without decimals (uint8 settings, masks, booleans)
	kindFloat                    // printed with 3 decimals
	kindRPM                      // RPM values print as integers (N_DECIMAL_RPMVALUE = 0)
)

// settingKinds lists every setting a 1.1h build reports, in `$$` order.
var settingOrder = []int{0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 32,
	100, 101, 102, 110, 111, 112, 120, 121, 122, 130, 131, 132}

func kindOf(n int) settingKind {
	switch n {
	case 11, 12, 24, 25, 27:
		return kindFloat
	case 30, 31:
		return kindRPM
	}
	if n >= 100 {
		return kindFloat
	}
	return kindInt
}

// genericDefaults are the settings of the stock 1.1h build (config.h /
// defaults.h DEFAULTS_GENERIC), which GRBL-FACTS §8 lists.
func genericDefaults() map[int]float64 {
	return map[int]float64{
		0: 10, 1: 25, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 10: 1, 11: 0.010, 12: 0.002, 13: 0,
		20: 0, 21: 0, 22: 0, 23: 0, 24: 25, 25: 500, 26: 250, 27: 1, 30: 1000, 31: 0, 32: 0,
		100: 250, 101: 250, 102: 250, 110: 500, 111: 500, 112: 500,
		120: 10, 121: 10, 122: 10, 130: 200, 131: 200, 132: 200,
	}
}

// profiles holds the stock `$$` of the supported machines, laid over the
// generic defaults.
//
// 3018pro: SainSmart Genmitsu 3018-PROVer. Travel 300 x 180 x 45 mm is the
// vendor's published work area; the rates, accelerations, steps/mm and
// homing settings are those of SainSmart's GRBL 1.1f settings sheet for the PROVer
// as we recall it — not verified against a primary source in this change;
// check your board with `$$`.
//
// longmill30: Sienci LongMill MK1 30x30 (Arduino Uno, GRBL 1.1). Values from
// the machine profiles Sienci ships in gSender (LONGMILL_MASTER_LIST_GRBL
// with LONGMILL_MK1_30x30: $3=5, $130=770, $131=820, $132=110).
var profiles = map[string]map[int]float64{
	"3018pro": {
		0: 10, 1: 25, 2: 0, 3: 2, 4: 0, 5: 0, 6: 0, 10: 1, 11: 0.010, 12: 0.002, 13: 0,
		20: 0, 21: 0, 22: 1, 23: 0, 24: 100, 25: 500, 26: 250, 27: 1, 30: 1000, 31: 0, 32: 0,
		100: 800, 101: 800, 102: 800, 110: 1000, 111: 1000, 112: 600,
		120: 30, 121: 30, 122: 30, 130: 300, 131: 180, 132: 45,
	},
	"longmill30": {
		0: 10, 1: 100, 2: 1, 3: 5, 4: 1, 5: 0, 6: 0, 10: 1, 11: 0.010, 12: 0.002, 13: 0,
		20: 0, 21: 0, 22: 0, 23: 3, 24: 25, 25: 1500, 26: 250, 27: 1, 30: 30000, 31: 10000, 32: 0,
		100: 200, 101: 200, 102: 200, 110: 4000, 111: 4000, 112: 3000,
		120: 750, 121: 750, 122: 500, 130: 770, 131: 820, 132: 110,
	},
}

// Profiles returns the machine profile names New accepts, sorted. The empty
// profile ("") means GRBL's generic defaults.
func Profiles() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// settings is the board's EEPROM image of the `$` settings.
type settings struct {
	v map[int]float64
}

func newSettings(profile string, overrides map[int]float64) (settings, error) {
	base := genericDefaults()
	if profile != "" {
		p, ok := profiles[profile]
		if !ok {
			return settings{}, fmt.Errorf("profile %q: %w (known: %v)", profile, ErrUnknownProfile, Profiles())
		}
		for k, v := range p {
			base[k] = v
		}
	}
	s := settings{v: base}
	keys := make([]int, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	// $20=1 needs $22=1 already stored, so $22 goes first.
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == 22) != (keys[j] == 22) {
			return keys[i] == 22
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		if code := s.store(k, overrides[k]); code != 0 {
			return settings{}, fmt.Errorf("setting $%d=%g: GRBL would answer error:%d (%s)", k, overrides[k], code, errorText(code))
		}
	}
	return s, nil
}

func (s settings) clone() settings {
	c := make(map[int]float64, len(s.v))
	for k, v := range s.v {
		c[k] = v
	}
	return settings{v: c}
}

func (s settings) get(n int) float64 { return s.v[n] }
func (s settings) flag(n int) bool   { return s.v[n] != 0 }
func (s settings) mask(n int) int    { return int(s.v[n]) }

// rate returns axis i's max rate in mm/s; accel in mm/s²; travel in mm (positive).
func (s settings) rate(i int) float64   { return s.v[110+i] / 60 }
func (s settings) accel(i int) float64  { return s.v[120+i] }
func (s settings) travel(i int) float64 { return s.v[130+i] }

// store applies `$n=value` the way settings_store_global_setting does and
// returns GRBL's status code (0 = ok).
func (s settings) store(n int, value float64) int {
	if value < 0 {
		return 4
	}
	if n >= 100 {
		if n > 132 || (n%10) > 2 || n/10 > 13 {
			return 3
		}
		s.v[n] = value
		return 0
	}
	iv := math.Trunc(value)
	switch n {
	case 0:
		if iv < 3 {
			return 6
		}
		s.v[n] = iv
	case 1, 2, 3, 10, 23, 26:
		s.v[n] = float64(int(iv) & 0xff)
	case 4, 5, 6, 13, 21, 32:
		s.v[n] = boolVal(iv)
	case 11:
		s.v[n] = math.Abs(value)
	case 12, 24, 25, 27, 30, 31:
		s.v[n] = value
	case 20:
		if iv != 0 && !s.flag(22) {
			return 10
		}
		s.v[n] = boolVal(iv)
	case 22:
		s.v[n] = boolVal(iv)
		if iv == 0 {
			s.v[20] = 0
		}
	default:
		return 3
	}
	return 0
}

func boolVal(v float64) float64 {
	if v != 0 {
		return 1
	}
	return 0
}

// dump renders the `$$` answer (without the final ok).
func (s settings) dump() string {
	var b []byte
	for _, n := range settingOrder {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '=')
		b = append(b, formatSetting(n, s.v[n])...)
		b = append(b, '\r', '\n')
	}
	return string(b)
}

func formatSetting(n int, v float64) string {
	switch kindOf(n) {
	case kindFloat:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case kindRPM:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatInt(int64(v), 10)
}
