// Package webtest provides func-field fakes of package web's service
// interfaces: a call to a method whose func field is nil fails the test.
// Tests of web and of the CLI serve a real web.Server with them (and the
// real event hub, jobs/events).
//
// # Concurrency
//
// The fakes are called from server goroutines; their func fields must be
// safe for that. The fakes themselves hold no state.
package webtest
