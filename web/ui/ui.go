package ui

import (
	"embed"
	"io/fs"
)

//go:embed static
var assets embed.FS

// FS returns the panel's assets rooted at the site root: "index.html",
// "app.js", "style.css" and the rest sit at the top level, ready for
// http.FileServerFS or an SPA fallback that serves "index.html" for
// unknown paths.
func FS() fs.FS {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		// fs.Sub fails only on an invalid path; "static" is a constant.
		panic("ui: embedded assets: " + err.Error())
	}
	return sub
}
