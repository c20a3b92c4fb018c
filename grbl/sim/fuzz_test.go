package sim

import (
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzLine feeds arbitrary bytes as one line: the board must answer it
// (ok, error:N, or a message) and stay responsive, never panic.
//
//	go test ./grbl/sim -run '^$' -fuzz FuzzLine -fuzztime 30s
func FuzzLine(f *testing.F) {
	for _, s := range []string{"G1 X1 F100", "G2 X1 Y1 R0.5 F10", "$J=G91X1F10", "G38.2 Z-1 F10", "$N0=G0",
		"G10 L20 P3 X1", "%", "G1 X1e5 F1", "$RST=*", "N5 G43.1 Z1", "G93 G1 X1 F2", "$130=0.001", "(((", "G28.1 G0 X1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n\x18") {
			t.Skip() // one line at a time; reset has its own tests
		}
		synctest.Test(t, func(t *testing.T) {
			m := mustMachine(t, Options{Probe: FlatSurface(-5)})
			h := mustConnect(t, m)
			h.send(line + "\n")
			h.send("\x18") // whatever the line started, reset
			for l := h.next(); !strings.HasPrefix(l, "Grbl 1.1h"); l = h.next() {
			}
			h.send("$I\n")
			for l := h.next(); l != "ok"; l = h.next() {
			}
		})
	})
}
