package ui_test

import (
	"net/http"
	"testing"

	"github.com/kerf-cnc/kerf/web"
)

// authenticate configures the server's login. Until the web package serves
// login sessions the harness uses the trusted handler.
func authenticate(t testing.TB, srv *web.Server) { t.Helper() }

// apiHandler is the API as the browser reaches it.
func apiHandler(srv *web.Server) http.Handler { return srv.TrustedHandler() }
