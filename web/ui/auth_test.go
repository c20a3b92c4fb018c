package ui_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/kerf-cnc/kerf/jobs"
	"github.com/kerf-cnc/kerf/web"
)

// Harness login: a real user in a real jobs.Store, logged in through the
// web package's sessions. The e2e tests get the credentials through
// KERF_USER and KERF_PASS.
const (
	testUser     = "ada" // an operator
	testViewer   = "vic" // a viewer
	testAdmin    = "ida" // an admin
	testPassword = "correct horse battery"
	// testIterations keeps PBKDF2 cheap in tests; the daemon uses
	// jobs.DefaultPasswordIterations.
	testIterations = 1000
)

// authenticate gives the server a user store holding an operator, a
// viewer and an admin, all with testPassword.
func authenticate(t testing.TB, srv *web.Server) {
	t.Helper()
	store := jobs.NewStore(t.TempDir())
	if err := store.Open(context.Background()); err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	hash, err := jobs.HashPassword(testPassword, testIterations)
	if err != nil {
		t.Fatalf("hash password: %v", err)
	}
	for name, role := range map[string]string{testUser: "operator", testViewer: "viewer", testAdmin: "admin"} {
		if _, err := store.CreateUser(context.Background(), jobs.User{Name: name, Role: role, Password: hash}); err != nil {
			t.Fatalf("create user %s: %v", name, err)
		}
	}
	srv.Users = store
	srv.PasswordIterations = testIterations
}

// apiHandler is the API as the browser reaches it over TCP: every request
// authenticated.
func apiHandler(srv *web.Server) http.Handler { return srv.Handler() }
