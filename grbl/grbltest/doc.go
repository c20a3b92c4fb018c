// Package grbltest provides Fake, a scripted stand-in for a GRBL 1.1 board
// for tests of code that talks to grbl.Conn. It speaks the wire protocol
// over net.Pipe: a bounded RX buffer that records overflows (a sender bug),
// real-time bytes handled on arrival, one reply per line, status reports,
// banners on soft reset. It models no motion; grbl/sim does that.
//
// # Concurrency
//
// A started Fake runs three goroutines (receive, process, transmit), all
// stopped and awaited by Close. Its methods are safe for concurrent use.
package grbltest
