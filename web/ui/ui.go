package ui

import (
	"embed"
	"io/fs"
)

// assets holds the panel: the page, its style sheet, its ES modules and
// the icon. Only these paths are embedded; e2e/ and the Go files are not.
//
//go:embed index.html style.css favicon.svg js
var assets embed.FS

// FS returns the panel's assets rooted at the site root: "index.html",
// "style.css", "favicon.svg" and the modules under "js/". Serve it with
// http.FileServerFS, sending unknown non-API paths to "index.html".
func FS() fs.FS { return assets }
