package web

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the hand-written OpenAPI 3 document of the API. A test
// checks that it documents every route of Server.routes and no other.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns a copy of the embedded OpenAPI 3 document.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDoc)
	return nil
}
