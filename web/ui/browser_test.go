package ui_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browserTimeout bounds the whole node test run.
const browserTimeout = 6 * time.Minute

// chromiumPath is Debian's chromium; KERF_CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("KERF_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// TestBrowser runs the panel's browser tests (web/ui/e2e, node's test
// runner driving Debian's chromium through playwright-core) against a
// harness daemon. Without node, chromium or e2e/node_modules it skips, or
// fails when the CI variable is set, so CI cannot pass without running it.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		// The 32-bit ARM step runs the harness under qemu-user with -short:
		// the panel is the same JavaScript against a daemon that is the
		// same Go, and an emulated harness makes the browser's timeouts
		// measure qemu. The full step (go test -race ./...) runs it.
		t.Skip("browser tests: not with -short")
	}
	var missing []string
	node, err := exec.LookPath("node")
	if err != nil {
		missing = append(missing, "node (apt-get install -y nodejs npm)")
	}
	if _, err := os.Stat(chromiumPath()); err != nil {
		missing = append(missing, chromiumPath()+" (apt-get install -y chromium)")
	}
	if _, err := os.Stat(filepath.Join("e2e", "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "e2e/node_modules/playwright-core (cd web/ui/e2e && npm ci)")
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser tests cannot run, missing: %v", missing)
		}
		t.Skipf("browser tests skipped, missing: %v", missing)
	}

	h := newHarness(t)
	shots := os.Getenv("KERF_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	// KERF_E2E narrows the run to some test files (e2e/canary.test.mjs).
	// The files are listed, not the directory: node --test would descend
	// into e2e/daemon, whose tests need the real daemon (cmd's
	// TestPanelOnSim runs them).
	files := strings.Fields(os.Getenv("KERF_E2E"))
	if len(files) == 0 {
		if files, err = filepath.Glob(filepath.Join("e2e", "*.test.mjs")); err != nil || len(files) == 0 {
			t.Fatalf("no browser test files in e2e/ (%v)", err)
		}
	}
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-concurrency=1"}, files...)...)
	cmd.Env = append(os.Environ(),
		"KERF_URL="+h.api.URL,
		"KERF_CONTROL="+h.control.URL,
		"KERF_CHROMIUM="+chromiumPath(),
		"KERF_SHOTS="+shots,
		"KERF_USER="+testUser,
		"KERF_VIEWER="+testViewer,
		"KERF_ADMIN="+testAdmin,
		"KERF_PASS="+testPassword,
		"KERF_CORPUS="+filepath.Join("..", "..", "testdata", "corpus", "open"),
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("node --test %s (screenshots in %s):\n%s", strings.Join(files, " "), shots, out.String())
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}
