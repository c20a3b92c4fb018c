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
// playwright-core against a real web.Server; TestBrowser runs them.
// See docs/panel.md.
package ui
