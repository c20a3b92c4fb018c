package sim

import (
	"math"
	"strconv"
	"strings"
)

// Counters of report.c: WCO every 30 busy / 10 idle reports, Ov every 20 / 10.
const (
	wcoBusy = 30
	wcoIdle = 10
	ovBusy  = 20
	ovIdle  = 10
)

func (b *board) inches() bool { return b.set.flag(13) }

func (b *board) fmtNum(v float64) string {
	if b.inches() {
		return strconv.FormatFloat(roundTo(v/mmPerInch, 4), 'f', 4, 64)
	}
	return strconv.FormatFloat(roundTo(v, 3), 'f', 3, 64)
}

func roundTo(v float64, d int) float64 {
	p := math.Pow10(d)
	r := math.Round(v*p) / p
	if r == 0 {
		return 0 // no "-0.000"
	}
	return r
}

func (b *board) fmtVec(v [3]float64) string {
	return b.fmtNum(v[0]) + "," + b.fmtNum(v[1]) + "," + b.fmtNum(v[2])
}

func (b *board) fmtRate(mmPerMin float64) string {
	if b.inches() {
		return strconv.FormatFloat(mmPerMin/mmPerInch, 'f', 1, 64)
	}
	return strconv.FormatFloat(math.Round(mmPerMin), 'f', 0, 64)
}

func (b *board) wco() [3]float64 {
	var w [3]float64
	for i := range w {
		w[i] = b.gc.coordSys[i] + b.gc.coordOff[i]
	}
	w[2] += b.gc.tlo
	return w
}

func (b *board) stateName() string {
	switch b.state {
	case sIdle:
		return "Idle"
	case sRun:
		return "Run"
	case sHold:
		if b.holdDone {
			return "Hold:0"
		}
		return "Hold:1"
	case sJog:
		return "Jog"
	case sAlarm:
		return "Alarm"
	case sDoor:
		return "Door:" + strconv.Itoa(b.doorSub)
	case sCheck:
		return "Check"
	case sHome:
		return "Home"
	case sSleep:
		return "Sleep"
	}
	return "Idle"
}

func (b *board) busy() bool {
	switch b.state {
	case sHome, sRun, sHold, sJog, sDoor:
		return true
	}
	return false
}

// statusReport renders `<…>` and advances the WCO/Ov counters as report.c does.
func (b *board) statusReport() string {
	var sb strings.Builder
	sb.WriteString("<")
	sb.WriteString(b.stateName())
	pos := b.mo.pos
	if b.set.mask(10)&1 != 0 {
		sb.WriteString("|MPos:")
	} else {
		w := b.wco()
		for i := range pos {
			pos[i] -= w[i]
		}
		sb.WriteString("|WPos:")
	}
	sb.WriteString(b.fmtVec(pos))
	if b.set.mask(10)&2 != 0 {
		sb.WriteString("|Bf:")
		sb.WriteString(strconv.Itoa(b.mo.free()))
		sb.WriteString(",")
		sb.WriteString(strconv.Itoa(rxSize - len(b.rx)))
	}
	sb.WriteString("|FS:")
	feed := 0.0
	if b.motionActive() && !b.stalled(b.t) {
		feed = b.mo.v * 60
	}
	sb.WriteString(b.fmtRate(feed))
	sb.WriteString(",")
	sb.WriteString(strconv.FormatFloat(math.Round(b.spRPM), 'f', 0, 64))
	pn := ""
	if b.probeContact() {
		pn = "P"
	}
	lim := b.limitsPressed()
	for i, c := range "XYZ" {
		if lim&(1<<i) != 0 {
			pn += string(c)
		}
	}
	if pn != "" {
		sb.WriteString("|Pn:" + pn)
	}
	if b.wcoCounter > 0 {
		b.wcoCounter--
	} else {
		if b.busy() {
			b.wcoCounter = wcoBusy - 1
		} else {
			b.wcoCounter = wcoIdle - 1
		}
		if b.ovCounter == 0 {
			b.ovCounter = 1
		}
		sb.WriteString("|WCO:")
		sb.WriteString(b.fmtVec(b.wco()))
	}
	if b.ovCounter > 0 {
		b.ovCounter--
	} else {
		if b.busy() {
			b.ovCounter = ovBusy - 1
		} else {
			b.ovCounter = ovIdle - 1
		}
		sb.WriteString("|Ov:")
		sb.WriteString(strconv.Itoa(b.mo.ovFeed) + "," + strconv.Itoa(b.mo.ovRapid) + "," + strconv.Itoa(b.ovSpindle))
		a := ""
		if b.spPWM > 0 {
			if b.dirCCW {
				a += "C"
			} else {
				a += "S"
			}
		}
		if b.flood {
			a += "F"
		}
		if a != "" {
			sb.WriteString("|A:" + a)
		}
	}
	sb.WriteString(">\r\n")
	return sb.String()
}

// gcReport renders the `$G` answer.
func (b *board) gcReport() string {
	g := &b.gc
	var sb strings.Builder
	sb.WriteString("[GC:G")
	switch m := g.modal.motion; {
	case m >= motionProbe:
		sb.WriteString("38." + strconv.Itoa(m-motionProbe+2))
	default:
		sb.WriteString(strconv.Itoa(m))
	}
	sb.WriteString(" G" + strconv.Itoa(54+g.modal.coordSelect))
	sb.WriteString(" G" + strconv.Itoa(17+g.modal.plane))
	if g.modal.inches {
		sb.WriteString(" G20")
	} else {
		sb.WriteString(" G21")
	}
	if g.modal.incremental {
		sb.WriteString(" G91")
	} else {
		sb.WriteString(" G90")
	}
	if g.modal.feedInverse {
		sb.WriteString(" G93")
	} else {
		sb.WriteString(" G94")
	}
	switch g.modal.programFlow {
	case 3:
		sb.WriteString(" M0")
	case 2:
		sb.WriteString(" M2")
	case 30:
		sb.WriteString(" M30")
	}
	switch g.modal.spindle {
	case 1:
		sb.WriteString(" M3")
	case 2:
		sb.WriteString(" M4")
	default:
		sb.WriteString(" M5")
	}
	if g.modal.flood {
		sb.WriteString(" M8")
	} else {
		sb.WriteString(" M9")
	}
	sb.WriteString(" T" + strconv.Itoa(g.tool))
	sb.WriteString(" F" + b.fmtRate(g.feed))
	sb.WriteString(" S" + strconv.FormatFloat(math.Round(g.spindleS), 'f', 0, 64))
	sb.WriteString("]")
	return sb.String()
}

// paramsReport renders the `$#` dump (without the final ok).
func (b *board) paramsReport() string {
	var sb strings.Builder
	for i := 0; i < 6; i++ {
		sb.WriteString("[G" + strconv.Itoa(54+i) + ":" + b.fmtVec(b.coords[i]) + "]\r\n")
	}
	sb.WriteString("[G28:" + b.fmtVec(b.g28) + "]\r\n")
	sb.WriteString("[G30:" + b.fmtVec(b.g30) + "]\r\n")
	sb.WriteString("[G92:" + b.fmtVec(b.gc.coordOff) + "]\r\n")
	sb.WriteString("[TLO:" + b.fmtNum(b.gc.tlo) + "]\r\n")
	sb.WriteString("[PRB:" + b.fmtVec(b.prb) + ":" + boolDigit(b.prbOK) + "]\r\n")
	return sb.String()
}
