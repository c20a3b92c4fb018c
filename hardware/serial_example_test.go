package hardware_test

import (
	"fmt"
	"log"

	"github.com/kerf-cnc/kerf/hardware"
)

// List the serial ports and open the first likely GRBL board.
// (Compile-only: it needs a board.)
func ExampleOpenSerial() {
	ports, err := hardware.ListPorts()
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range ports {
		if !p.LikelyGRBL {
			continue
		}
		port, err := hardware.OpenSerial(p.Path, 115200)
		if err != nil {
			log.Fatal(err) // names the port and what to do: plug in, close the other program, join dialout
		}
		defer port.Close()
		fmt.Println("opened", p.Path, p.Board)
		return
	}
	log.Fatal("no GRBL board found; try `kerf ports`")
}
