package sim_test

import (
	"bufio"
	"fmt"
	"log"
	"strings"

	"github.com/kerf-cnc/kerf/grbl/sim"
)

// A sender's-eye view: connect, wait for the banner, ask for the build info.
func Example() {
	m, err := sim.New(sim.Options{Profile: "longmill30"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	port, err := m.Connect()
	if err != nil {
		log.Fatal(err)
	}
	r := bufio.NewReader(port)
	readLine := func() string {
		l, err := r.ReadString('\n')
		if err != nil {
			log.Fatal(err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	for readLine() != "Grbl 1.1h ['$' for help]" {
	}
	fmt.Fprint(port, "$I\n")
	for l := readLine(); ; l = readLine() {
		fmt.Println(l)
		if l == "ok" {
			break
		}
	}
	// Output:
	// [VER:1.1h.20190830:]
	// [OPT:V,15,128]
	// ok
}

// Inject faults in their command-line form.
func ExampleParseFault() {
	f, err := sim.ParseFault("stall:line=120,for=5s")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Kind, f.Line, f.For)
	// Output: stall 120 5s
}
