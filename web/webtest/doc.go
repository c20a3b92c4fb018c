// Package webtest provides test doubles for package web's service
// interfaces: func-field fakes (a call to a method whose func field is nil
// fails the test) and Hub, an in-memory event hub with bounded subscriber
// buffers. Tests of web and of the CLI serve a real web.Server with them.
//
// # Concurrency
//
// The fakes are called from server goroutines; their func fields must be
// safe for that. Hub is safe for concurrent use and starts no goroutines.
package webtest
