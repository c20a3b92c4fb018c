package cmd

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/kerf-cnc/kerf/gcode"
	"github.com/kerf-cnc/kerf/jobs/runner"
)

// progressBar draws a one-line progress bar with ETA on a terminal, and a
// plain line every 10 % otherwise.
type progressBar struct {
	out      io.Writer
	tty      bool
	quiet    bool
	total    int     // source lines
	estimate float64 // estimated seconds of the whole program

	mu       sync.Mutex
	lastDraw time.Time
	lastPct  int
	drawn    bool
}

func newProgressBar(ios IOStreams, totalLines int, estimate float64, quiet bool) *progressBar {
	return &progressBar{out: ios.ErrOut, tty: ios.IsTerminal, quiet: quiet, total: totalLines, estimate: estimate, lastPct: -1}
}

// barWidth is a progress bar's width in cells.
const barWidth = 30

// bar draws a progress bar "[####......]" filled to frac (clamped to
// [0, 1]), for "kerf send" and "kerf job watch" alike.
func bar(frac float64) string {
	filled := int(min(max(frac, 0), 1) * barWidth)
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled) + "]"
}

// eta blends the planner estimate with the rate seen so far.
func eta(done, total int, elapsed time.Duration, estimate float64) time.Duration {
	if total <= 0 || done <= 0 {
		return time.Duration(estimate * float64(time.Second))
	}
	frac := float64(done) / float64(total)
	if frac >= 1 {
		return 0
	}
	byRate := elapsed.Seconds() * (1 - frac) / frac
	if estimate <= 0 {
		return time.Duration(byRate * float64(time.Second))
	}
	byEstimate := estimate * (1 - frac)
	// Trust the observed rate more as the run goes on.
	w := frac
	return time.Duration(((1-w)*byEstimate + w*byRate) * float64(time.Second))
}

func (b *progressBar) update(p runner.Progress) {
	if b.quiet {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	pct := 0
	if b.total > 0 {
		pct = p.LastAcked * 100 / b.total
	}
	if b.tty {
		if now.Sub(b.lastDraw) < 100*time.Millisecond && pct == b.lastPct {
			return
		}
		state := ""
		if p.HaveStatus {
			state = stateName(p.Status)
		}
		fmt.Fprintf(b.out, "\r%s %3d%%  line %d/%d  %s  ETA %s   ",
			bar(float64(pct)/100), pct, p.LastAcked, b.total, state,
			fmtDuration(eta(p.LastAcked, b.total, p.Elapsed, b.estimate)))
		b.drawn = true
	} else {
		if pct/10 == b.lastPct/10 {
			return
		}
		fmt.Fprintf(b.out, "%3d%%  line %d/%d  elapsed %s  ETA %s\n", pct, p.LastAcked, b.total,
			fmtDuration(p.Elapsed), fmtDuration(eta(p.LastAcked, b.total, p.Elapsed, b.estimate)))
	}
	b.lastDraw, b.lastPct = now, pct
}

// pause shows a prompt on its own line.
func (b *progressBar) pause(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.out)
		b.drawn = false
	}
	fmt.Fprintln(b.out, msg)
}

func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.out)
		b.drawn = false
	}
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// Uno-class boards parse and plan roughly 250 blocks a second (GRBL's
// maintainers' figure); kerf uses it to say whether the board bound a run.
const boardBlocksPerSecond = 250.0

// summarize renders the end-of-run summary: what was sent, how fast, and
// which limit bound the run.
func summarize(res runner.Result, elapsed time.Duration, baud int, rep *gcode.Report) string {
	var b strings.Builder
	secs := elapsed.Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	wireSecs := float64(res.BytesSent) * 10 / float64(baud) // 8N1: 10 bits a byte
	boardSecs := float64(res.Sent) / boardBlocksPerSecond
	motionSecs := 0.0
	if rep != nil {
		motionSecs = rep.EstimatedSeconds
	}
	fmt.Fprintf(&b, "lines       %d sent, %d acknowledged (last source line %d)\n", res.Sent, res.Acked, res.LastAcked)
	fmt.Fprintf(&b, "bytes       %d (wire form", res.BytesSent)
	if rep != nil && rep.Bytes > 0 {
		fmt.Fprintf(&b, "; the file has %d: %.0f%% saved", rep.Bytes, 100*(1-float64(rep.WireBytes)/float64(rep.Bytes)))
	}
	b.WriteString(")\n")
	fmt.Fprintf(&b, "time        %.1f s, %.0f lines/s\n", secs, float64(res.Sent)/secs)
	fmt.Fprintf(&b, "wire        %.0f%% of the %d-baud limit (%.1f s of pure transfer)\n", 100*wireSecs/secs, baud, wireSecs)
	fmt.Fprintf(&b, "planner     empty for %.1f s while lines were waiting\n", res.PlannerStarve.Seconds())
	if res.EndOverhead > 0 {
		fmt.Fprintf(&b, "end         %.2f s from the last ok to Idle\n", res.EndOverhead.Seconds())
	}
	bound, share := "motion", motionSecs
	if wireSecs > share {
		bound, share = "wire", wireSecs
	}
	if boardSecs > share {
		bound, share = "board processing", boardSecs
	}
	fmt.Fprintf(&b, "bound by    %s (wire %.1f s, board ~%.1f s at %.0f blocks/s, motion ~%.1f s estimated)\n",
		bound, wireSecs, boardSecs, boardBlocksPerSecond, motionSecs)
	return b.String()
}
