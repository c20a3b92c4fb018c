package gcode_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kerf-cnc/kerf/gcode"
)

func ExampleCheck() {
	src := "G21 G90\nG0 Z5\nG41 D1\nM3\nG1 Z-1 F100\n"
	rep, err := gcode.Check(strings.NewReader(src), "part.nc", gcode.Options{})
	if err != nil {
		panic(err) // unreadable input only
	}
	for _, d := range rep.Diagnostics {
		fmt.Println(d)
	}
	fmt.Println("streamable:", rep.Streamable)
	// Output:
	// part.nc:3:1: error: error:20 (Unsupported command): G41 cutter radius compensation is not supported by GRBL 1.1
	// part.nc:4:1: warning: spindle started with S0: set a spindle speed (S) before or with M3/M4
	// streamable: false
}

func ExampleCompiler() {
	src := "(face)\nN10 G21 G90 G94\nN20 G0 X0.000 Y0.000 Z5.000\nN30 T2 M6\nN40 M3 S12000\nN50 G1 Z-1.000 F300.0\nN60 G1 X10.000 F300.0\nM30\n"
	c := gcode.NewCompiler(strings.NewReader(src), "part.nc", gcode.Options{})
	for {
		wl, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("line %d: %-12q %v\n", wl.Source, wl.Text, wl.Actions)
	}
	// Output:
	// line 2: "G21G90G94"  none
	// line 3: "G0X0Y0Z5"   none
	// line 4: "T2"         tool-change
	// line 5: "M3S12000"   spindle-on
	// line 6: "G1Z-1F300"  none
	// line 7: "X10"        none
	// line 8: "M30"        program-end|spindle-off
}
