package grbl

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestTranscript parses a GRBL 1.1h session transcript (output lines as a
// board prints them, "\r\n"-terminated) and checks that every line is
// understood and that the counts by kind match.
func TestTranscript(t *testing.T) {
	f, err := os.Open("testdata/grbl-1.1h-session.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue // the blank line before each banner
		}
		m := Parse(line + "\r")
		if u, ok := m.(Unknown); ok {
			t.Errorf("testdata/grbl-1.1h-session.txt:%d: %q not understood", n, u.Line)
		}
		counts[strings.Replace(fmt.Sprintf("%T", m), "grbl.", "", 1)]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"Banner": 2, "Feedback": 9, "Status": 9, "Help": 1, "OK": 14, "Version": 1, "BuildOptions": 1,
		"Setting": 34, "Modal": 1, "Offset": 10, "Probe": 2, "StartupLine": 2, "*Error": 4, "*Alarm": 2, "StartupEcho": 2,
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d, want %d", k, counts[k], v)
		}
	}
	for k := range counts {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected kind %s (%d)", k, counts[k])
		}
	}
}
