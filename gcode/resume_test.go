package gcode

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

func resumeAt(t *testing.T, src string, line int) Resume {
	t.Helper()
	c := NewCompiler(strings.NewReader(src), "r.nc", Options{})
	for {
		wl, err := c.Next()
		if err == io.EOF {
			t.Fatalf("line %d never reached", line)
		}
		if err != nil {
			t.Fatal(err)
		}
		if wl.Source >= line {
			return c.ResumeBefore(wl.Source)
		}
	}
}

func TestResumeBefore(t *testing.T) {
	src := "G20 G91 G18\nG55\nG1 X1 Z-0.5 F10\nM3 S12000\nM8\nG92 X0\nX1\nG1 Z1\n"
	r := resumeAt(t, src, 7)
	want := Resume{
		Line:      7,
		Machine:   [3]float64{25.4, 0, -12.7},
		Work:      [3]float64{0, 0, -12.7},
		SpindleOn: true, Speed: 12000, Flood: true, Feed: 254,
		Offsets: []string{"G21G92X0Y0Z-12.7"},
		Modal:   []string{"G20G91G18G94G55", "G1F10"},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got  %+v\nwant %+v", r, want)
	}
}

func TestResumeArcMode(t *testing.T) {
	src := "G21 G90 G17\nG0 X0 Y0\nG2 X10 Y0 I5 J0 F300\nX0 Y0 I-5 J0\n"
	r := resumeAt(t, src, 4)
	if !r.Arc || len(r.Modal) != 2 || r.Modal[1] != "F300" {
		t.Fatalf("arc resume = %+v, want Arc, and F300 without a motion word", r)
	}
}
