// Package ui embeds kerf's browser control panel: plain HTML, CSS and ES
// modules with no build step. The web package serves FS at "/" with an SPA
// fallback to index.html; the panel talks to the daemon only through the
// documented HTTP API (/api/v1) and the websocket event stream.
//
// Usage:
//
//	mux.Handle("/", http.FileServerFS(ui.FS()))
//
// The browser tests under e2e/ drive Debian's chromium through
// playwright-core (node's test runner) against a harness: a real
// web.Server with login sessions, event hub and websocket, and the
// webtest fakes scripting jobs, runs and the machine. TestBrowser starts
// the harness and runs them; without node or chromium it skips, or fails
// when CI is set. The tests under e2e/daemon/ drive the same panel
// against the real daemon on the simulator instead; cmd's TestPanelOnSim
// starts it and runs them. TestPageWeight holds the assets to their gzip
// budget. See docs/panel.md.
package ui
