package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// The panel's browser flow against the real daemon (issue #9's proof):
// web/ui/e2e/daemon/sim.test.mjs drives Debian's chromium through
// playwright-core against `kerf serve --sim` composed in-process by
// openDaemon — the simulated 3018 PRO over the real grbl.Conn, the real
// runner, store, canary judge, relay and web.Server with the embedded
// panel — at 1280 px and at 360 px, a fresh daemon for each.

// panelE2EDir is the panel's node test directory, from cmd.
var panelE2EDir = filepath.Join("..", "web", "ui")

// panelBrowserTimeout bounds one width's node run.
const panelBrowserTimeout = 4 * time.Minute

// panelPassword is the password of the test's admin user.
const panelPassword = "panel-on-the-sim"

// panelBrowserTools returns node and chromium, skipping the test without
// them (or without web/ui/e2e/node_modules), and failing it instead when
// the CI variable is set, as web/ui's TestBrowser does.
func panelBrowserTools(t *testing.T) (node, chromium string) {
	t.Helper()
	chromium = "/usr/bin/chromium"
	if p := os.Getenv("KERF_CHROMIUM"); p != "" {
		chromium = p
	}
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install -y nodejs npm)")
	}
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install -y chromium)")
	}
	if _, err := os.Stat(filepath.Join(panelE2EDir, "e2e", "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "web/ui/e2e/node_modules/playwright-core (cd web/ui/e2e && npm ci)")
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("panel browser tests cannot run, missing: %v", missing)
		}
		t.Skipf("panel browser tests skipped, missing: %v", missing)
	}
	return node, chromium
}

// panelSimConfig is the daemon's configuration for the browser flow:
// `kerf serve --sim` (the 3018 PRO, which must be homed before a job
// starts) listening on a free local port, with the router relay in drive
// mode (the panel shows it commanded on and off), the simulator 10× real
// time, and canary windows of 1 s so that a run of a few seconds is
// judged over enough windows for a run-so-far verdict.
func panelSimConfig(dir string) Config {
	cfg := DefaultConfig()
	cfg.DataDir = dir
	cfg.Sim = true
	cfg.SimSpeed = 10
	cfg.Listen = "127.0.0.1:0"
	cfg.RelayMode = "drive"
	cfg.SpinUp = time.Second
	cfg.CanaryWindow = time.Second
	cfg.CanaryInterval = 2 * time.Second
	cfg.LogLevel = "info"
	return cfg
}

// openPanelDaemon starts the daemon with an admin user and returns its
// panel URL and the user's name.
func openPanelDaemon(t *testing.T) (url, admin string) {
	t.Helper()
	// Short: the socket path must stay under ~100 bytes.
	dir, err := os.MkdirTemp("", "kerfpanel")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cfg := panelSimConfig(dir)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	log := &lockedBuffer{}
	d, err := openDaemon(context.Background(), IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: log}, cfg, &serveOptions{})
	if err != nil {
		t.Fatalf("openDaemon: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := d.close(); err != nil {
			t.Errorf("daemon close: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", log)
		}
	})
	// As `kerf user add admin --role admin` would; a low iteration count
	// keeps logins quick under -race.
	h, err := jobs.HashPassword(panelPassword, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	admin = "admin"
	if _, err := d.store.CreateUser(context.Background(), jobs.User{Name: admin, Role: web.RoleAdmin.String(), Password: h}); err != nil {
		t.Fatalf("create user: %v", err)
	}
	a := d.server.TCPAddr()
	if a == nil {
		t.Fatal("the daemon does not listen on TCP")
	}
	return "http://" + a.String(), admin
}

// TestPanelOnSim runs the panel's browser flow against the real daemon on
// the simulator: log in, upload a corpus file and compare its check summary
// with the daemon's, home from the alarm banner, start the job and see the
// DRO and progress move, pause (Hold, the position still), resume, abort
// (the router off), then run a short job to completion, make it the
// baseline from the canary card, run it again and read its canary report
// — with a screenshot of each view and no console errors — at 1280 px and
// at 360 px.
func TestPanelOnSim(t *testing.T) {
	if testing.Short() {
		// As web/ui's TestBrowser: the qemu step runs -short.
		t.Skip("browser tests: not with -short")
	}
	node, chromium := panelBrowserTools(t)
	shots := os.Getenv("KERF_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	corpus, err := filepath.Abs(filepath.Join("..", "testdata", "corpus", "open"))
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{1280, 360} {
		t.Run(fmt.Sprintf("%dpx", width), func(t *testing.T) {
			url, admin := openPanelDaemon(t)
			ctx, cancel := context.WithTimeout(context.Background(), panelBrowserTimeout)
			defer cancel()
			file := filepath.Join("e2e", "daemon", "sim.test.mjs")
			cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", file)
			cmd.Dir = panelE2EDir
			cmd.Env = append(os.Environ(),
				"KERF_URL="+url,
				"KERF_WIDTH="+fmt.Sprint(width),
				"KERF_CHROMIUM="+chromium,
				"KERF_SHOTS="+shots,
				"KERF_ADMIN="+admin,
				"KERF_PASS="+panelPassword,
				"KERF_CORPUS="+corpus,
			)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			t.Logf("node --test %s at %d px (screenshots in %s):\n%s", file, width, shots, out.String())
			if err != nil {
				t.Fatalf("panel browser flow at %d px failed: %v", width, err)
			}
		})
	}
}
