package web_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kerf-cnc/kerf/web"
	"github.com/kerf-cnc/kerf/web/ui"
)

func TestServeUI(t *testing.T) {
	panel := fstest.MapFS{
		"index.html":             {Data: []byte("<!doctype html><title>panel</title>")},
		"style.css":              {Data: []byte("body{}")},
		"js/app.js":              {Data: []byte("export {}")},
		"js/chunk.3f9a1c2e7b.js": {Data: []byte("export const x = 1")},
	}
	st := mustOpenStore(t)
	h := (&web.Server{UI: panel, Tokens: st, Logger: discardLogger()}).Handler() // TCP: the panel is public
	tests := []struct {
		name, target string
		code         int
		body         string
		cache        string
		ctype        string
	}{
		{"root is index.html", "/", 200, "<!doctype html><title>panel</title>", "no-cache", "text/html; charset=utf-8"},
		{"a file", "/style.css", 200, "body{}", "no-cache", "text/css; charset=utf-8"},
		{"a module", "/js/app.js", 200, "export {}", "no-cache", "text/javascript; charset=utf-8"},
		{"a hashed file is immutable", "/js/chunk.3f9a1c2e7b.js", 200, "export const x = 1", "public, max-age=31536000, immutable", ""},
		{"an SPA route falls back to index.html", "/jobs/00A7", 200, "<!doctype html><title>panel</title>", "no-cache", "text/html; charset=utf-8"},
		{"a missing file with an extension is 404", "/js/missing.js", 404, "", "", "application/json"},
		{"a directory is not listed", "/js", 200, "<!doctype html><title>panel</title>", "no-cache", ""},
		{"paths are inside the panel", "/etc/passwd", 200, "<!doctype html><title>panel</title>", "no-cache", ""},
		{"an unknown API path is a JSON 404", "/api/v2/jobs", 404, "", "", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serve(t, h, req{method: "GET", target: tt.target})
			if got.code != tt.code || (tt.body != "" && got.body != tt.body) {
				t.Fatalf("%d %q, want %d %q", got.code, got.body, tt.code, tt.body)
			}
			if tt.cache != "" && got.header.Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control=%q, want %q", got.header.Get("Cache-Control"), tt.cache)
			}
			if tt.ctype != "" && got.header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type=%q, want %q", got.header.Get("Content-Type"), tt.ctype)
			}
			if tt.code == 200 && (got.header.Get("X-Frame-Options") != "DENY" || got.header.Get("ETag") == "") {
				t.Errorf("headers %v: want X-Frame-Options DENY and an ETag", got.header)
			}
		})
	}
	t.Run("ETag revalidation", func(t *testing.T) {
		first := serve(t, h, req{method: "GET", target: "/"})
		got := serve(t, h, req{method: "GET", target: "/", header: map[string]string{"If-None-Match": first.header.Get("ETag")}})
		if got.code != 304 {
			t.Errorf("If-None-Match with the ETag: %d, want 304", got.code)
		}
	})
	t.Run("POST to a panel path is a JSON 404", func(t *testing.T) {
		if got := serve(t, h, req{method: "POST", target: "/jobs"}); got.code != 404 {
			t.Errorf("%d, want 404", got.code)
		}
	})
}

// TestServeUIEmbeddedNotWorkingDir: by default the embedded panel is
// served, whatever the working directory holds.
func TestServeUIEmbeddedNotWorkingDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("FROM THE WORKING DIRECTORY"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	want, err := fs.ReadFile(ui.FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	got := serve(t, (&web.Server{}).TrustedHandler(), req{method: "GET", target: "/"})
	if got.code != 200 || got.body != string(want) {
		t.Errorf("GET / = %d, %d bytes; want the embedded index.html (%d bytes)", got.code, len(got.body), len(want))
	}
}

func TestServeUIDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("dev panel"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &web.Server{UIDir: dir, Logger: discardLogger()}
	MustOpenServer(t, s) // Open validates UIDir
	h := s.TrustedHandler()
	if got := serve(t, h, req{method: "GET", target: "/anything"}); got.code != 200 || got.body != "dev panel" {
		t.Errorf("GET /anything = %d %q, want the UIDir's index.html", got.code, got.body)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := serve(t, h, req{method: "GET", target: "/"}); got.body != "edited" {
		t.Errorf("after an edit: %q, want the file as it is now", got.body)
	}
}

func TestAPIDocs(t *testing.T) {
	h := (&web.Server{Tokens: mustOpenStore(t), Logger: discardLogger()}).Handler()
	page := serve(t, h, req{method: "GET", target: "/api/docs"})
	if page.code != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page.body, `src="/api/docs/docs.js"`) || !strings.Contains(page.body, "/api/v1/openapi.json") {
		t.Fatalf("GET /api/docs: %d %q", page.code, page.header.Get("Content-Type"))
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "http") {
		t.Errorf("CSP %q: want scripts from this server only, no CDN", csp)
	}
	for _, f := range []string{"docs.js", "docs.css"} {
		got := serve(t, h, req{method: "GET", target: "/api/docs/" + f})
		if got.code != 200 || len(got.body) < 100 || strings.Contains(got.body, "https://") {
			t.Errorf("GET /api/docs/%s: %d, %d bytes (no remote URLs allowed)", f, got.code, len(got.body))
		}
	}
	js := serve(t, h, req{method: "GET", target: "/api/docs/docs.js"})
	if !strings.Contains(js.body, "x-kerf-role") {
		t.Error("the docs page does not show the roles")
	}
	for _, bad := range []string{"/api/docs/nope.js", "/api/docs/..%2fopenapi.json", "/api/docs/.hidden"} {
		if got := serve(t, h, req{method: "GET", target: bad}); got.code != 404 {
			t.Errorf("GET %s: %d, want 404", bad, got.code)
		}
	}
	if got := serve(t, h, req{method: "GET", target: "/api/v1/openapi.json"}); got.code != 200 {
		t.Errorf("the API description needs no credentials: %d", got.code)
	}
}
