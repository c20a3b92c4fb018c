package web_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/kerf-cnc/kerf/jobs/events"
	"github.com/kerf-cnc/kerf/web"
)

// The daemon serves the API on its data directory's socket; services not
// provided answer 503.
func ExampleServer() {
	dir, err := os.MkdirTemp("", "kerf")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	hub := events.NewHub(events.Options{})

	srv := web.NewServer()
	srv.SocketPath = filepath.Join(dir, "kerf.sock")
	srv.Events = hub
	if err := srv.Open(); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c := web.NewSocketClient(srv.SocketPath)
	_, err = c.MachineStatus(context.Background())
	fmt.Println(err)
	// Output: machine service is not available in this daemon: unavailable
}

// Follow the run events, resuming after the last sequence number seen.
func ExampleClient_Watch() {
	c := web.NewSocketClient("/var/lib/kerf/kerf.sock")
	var last uint64
	st, err := c.Watch(context.Background(), last, "run.*")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	for {
		m, err := st.Next()
		if err != nil {
			log.Fatal(err)
		}
		switch m.Type {
		case web.MsgGap:
			fmt.Println("missed events: reload the runs")
		case web.MsgEvent:
			last = m.Seq
			fmt.Println(m.Topic, string(m.Data))
		}
	}
}
