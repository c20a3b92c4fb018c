package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web/ui"
)

// docsAssets is the API docs page: a small hand-written renderer of the
// OpenAPI document, no third-party code and no CDN.
//
//go:embed docs
var docsAssets embed.FS

// maxAssetSize bounds a panel file read into memory.
const maxAssetSize = 16 << 20

// hashedName matches file names carrying a content hash (app.3f9a1c2e.js),
// which never change and may be cached for good.
var hashedName = regexp.MustCompile(`[.-][0-9a-f]{8,}\.[a-z0-9]+$`)

// checkUIDir validates the development override: an existing directory
// with an index.html.
func checkUIDir(dir string) error {
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("UI dir %q: not an absolute path", dir)
	}
	fi, err := os.Stat(filepath.Join(dir, "index.html"))
	if err != nil {
		return fmt.Errorf("UI dir %q: %w", dir, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("UI dir %q: index.html is not a file", dir)
	}
	return nil
}

// uiFS is where the panel's files come from: UIDir (development), UI, or
// the embedded panel. Never the working directory.
func (s *Server) uiFS() fs.FS {
	switch {
	case s.UIDir != "":
		return os.DirFS(s.UIDir)
	case s.UI != nil:
		return s.UI
	}
	return ui.FS()
}

// serveUI serves the panel: a file that exists is served as it is; any
// other path without a file extension is a route of the single-page app
// and gets index.html; a missing file with an extension is 404 (a missing
// script must not come back as HTML). index.html and unhashed files are
// "no-cache" (revalidated by ETag); hashed names are immutable. Every answer
// forbids framing: the panel moves a machine, so no other site may overlay it.
func (s *Server) serveUI(w http.ResponseWriter, r *http.Request) {
	fsys := s.uiFS()
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	data, modTime, err := readAsset(fsys, name)
	if errors.Is(err, fs.ErrNotExist) && path.Ext(name) == "" {
		name = "index.html"
		data, modTime, err = readAsset(fsys, name)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.writeError(w, r, fmt.Errorf("no file %s in the panel: %w", r.URL.Path, jobs.ErrNotFound))
			return
		}
		s.writeError(w, r, fmt.Errorf("panel file %s: %w", name, err))
		return
	}
	h := w.Header()
	switch {
	case hashedName.MatchString(name):
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		h.Set("Cache-Control", "no-cache")
	}
	setPageSecurity(h)
	sum := sha256.Sum256(data)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	http.ServeContent(w, r, name, modTime, bytes.NewReader(data))
}

// setPageSecurity sets the headers of every HTML-serving answer.
func setPageSecurity(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	h.Set("Referrer-Policy", "same-origin")
}

// readAsset reads a regular file from fsys; a directory is ErrNotExist.
func readAsset(fsys fs.FS, name string) ([]byte, time.Time, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, time.Time{}, fs.ErrNotExist
	}
	if fi.Size() > maxAssetSize {
		return nil, time.Time{}, fmt.Errorf("%s is larger than %d bytes", name, maxAssetSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxAssetSize+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	return data, fi.ModTime(), nil
}

// apiDocs serves GET /api/docs (the page) and /api/docs/{file} (its
// script and style sheet) from the embedded docs directory.
func (s *Server) apiDocs(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	if name == "" {
		name = "index.html"
	}
	if strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("no API docs file %q: %w", name, jobs.ErrNotFound)
	}
	data, err := docsAssets.ReadFile("docs/" + name)
	if err != nil {
		return fmt.Errorf("no API docs file %q: %w", name, jobs.ErrNotFound)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	setPageSecurity(h)
	// The page runs only its own script and style sheet.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
	return nil
}
