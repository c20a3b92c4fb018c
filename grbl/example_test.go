package grbl_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/kerf-cnc/kerf/grbl"
	"github.com/kerf-cnc/kerf/hardware"
)

// Connect to a board on a serial port, check it is ready and stream lines.
// (Compile-only: it needs a board.)
func ExampleConn_Open() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	port, err := hardware.OpenSerial("/dev/ttyUSB0", 115200)
	if err != nil {
		log.Fatal(err) // e.g. "no such port /dev/ttyUSB0 (is the board plugged in? try `kerf ports`)"
	}
	c := grbl.NewConn(port, grbl.Options{})
	if err := c.Open(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.CheckIdle(ctx); err != nil {
		var alarm *grbl.AlarmStateError
		if errors.As(err, &alarm) {
			log.Fatalf("cannot start: %v", alarm) // says which alarm and "$X"/"$H"
		}
		log.Fatal(err)
	}
	program := []string{"G21G90", "G0Z5", "G1X10F500", "M2"}
	go func() {
		for _, line := range program {
			if err := c.Send(ctx, line, 0); err != nil {
				return
			}
		}
	}()
	for range program {
		a := <-c.Acks()
		if a.Err != nil {
			_ = c.FeedHold()
			log.Fatalf("line %q: %v", a.Line, a.Err)
		}
	}
	fmt.Println(c.Status().State)
}
