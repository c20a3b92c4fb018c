package ui_test

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/kerf-cnc/kerf/web/ui"
)

// weightBudget is the panel's page weight budget: every embedded asset,
// gzip-compressed (as a browser fetches it through a compressing proxy or
// counts it on a slow link), in bytes. A Pi's browser on Wi-Fi loads it in
// well under a second.
const weightBudget = 40 << 10

// TestPageWeight sums the gzip size of the embedded assets and holds it to
// the budget.
func TestPageWeight(t *testing.T) {
	var raw, zipped int
	err := fs.WalkDir(ui.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(ui.FS(), path)
		if err != nil {
			return err
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		_, _ = w.Write(b)
		if err := w.Close(); err != nil {
			return err
		}
		raw += len(b)
		zipped += z.Len()
		t.Logf("%-16s %6d bytes, %6d gzipped", path, len(b), z.Len())
		return nil
	})
	if err != nil {
		t.Fatalf("walk assets: %v", err)
	}
	t.Logf("total %d bytes, %d gzipped (budget %d)", raw, zipped, weightBudget)
	if zipped > weightBudget {
		t.Errorf("panel weighs %d bytes gzipped, over the %d-byte budget", zipped, weightBudget)
	}
}

// TestAssetsResolve checks that every file the page and its modules refer
// to (src=, href=, import ... from) is embedded, so no request 404s.
func TestAssetsResolve(t *testing.T) {
	refs := regexp.MustCompile(`(?:src|href)="([^"#:]+)"|from '(\./[^']+)'`)
	check := func(file, dir string) {
		b, err := fs.ReadFile(ui.FS(), file)
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		for _, m := range refs.FindAllStringSubmatch(string(b), -1) {
			ref := m[1] + m[2]
			if ref == "" || strings.HasPrefix(ref, "/api/") {
				continue
			}
			p := strings.TrimPrefix(dir+"/"+strings.TrimPrefix(ref, "./"), "./")
			if _, err := fs.Stat(ui.FS(), p); err != nil {
				t.Errorf("%s refers to %q, which is not embedded (%v)", file, ref, err)
			}
		}
	}
	check("index.html", ".")
	mods, err := fs.Glob(ui.FS(), "js/*.js")
	if err != nil || len(mods) == 0 {
		t.Fatalf("no modules under js/: %v", err)
	}
	for _, m := range mods {
		check(m, "js")
	}
}

// TestIndexHasLandmarks checks the page's accessibility skeleton: a
// language, a viewport for phones, a main landmark, and labelled controls
// for the login form.
func TestIndexHasLandmarks(t *testing.T) {
	b, err := fs.ReadFile(ui.FS(), "index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	page := string(b)
	for _, want := range []string{
		`<html lang="en">`,
		`name="viewport" content="width=device-width, initial-scale=1"`,
		`<main id="main"`,
		`<label for="login-user">`,
		`<label for="login-pass">`,
		`<label for="jog-feed">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
}
