// Package web is the kerf daemon's HTTP API: REST routes under /api/v1, a
// websocket event stream, the OpenAPI document, and a Go client for all of
// them.
//
// The daemon's composition root (kerf serve) builds a Server, fills in the
// services it needs — JobService, RunService, MachineService, EventSource,
// Backupper, TokenChecker, all declared here by their consumer — and opens
// it:
//
//	srv := web.NewServer()
//	srv.SocketPath = filepath.Join(dataDir, "kerf.sock")
//	srv.Addr = ":8080" // optional; requires srv.Tokens
//	srv.Jobs, srv.Runs, srv.Machine = runner, runner, machine
//	srv.Events, srv.Backups, srv.Tokens = hub, store, store
//	if err := srv.Open(); err != nil { ... } // bind errors surface here
//	defer srv.Close()
//
// Clients use Client, over the Unix socket or over TCP with a token:
//
//	c := web.NewSocketClient(filepath.Join(dataDir, "kerf.sock"))
//	job, err := c.AddJob(ctx, "part.nc", f)
//
// # Access control
//
// The Unix socket is trusted: its mode (0660) and the data directory's are
// the access control. TCP requires "Authorization: Bearer <token>" on every
// request, checked by the TokenChecker; without one Open refuses to listen
// on TCP at all.
//
// # Errors
//
// Every error answer has the shape
//
//	{"error":{"code":"not_found","message":"job 00A7: not found","details":...}}
//
// mapped from typed errors in one function (classify): ErrBadRequest and
// jobs.ErrInvalid → 400, ErrUnauthorized → 401, ErrForbidden → 403,
// jobs.ErrNotFound → 404, ErrMethodNotAllowed → 405, jobs.ErrConflict/ErrBusy/ErrBadTransition and
// grbl.ErrAlarm/ErrNotIdle → 409, jobs.ErrTooLarge → 413, a Diagnoser (a
// program GRBL would reject, with its diagnostics in details),
// jobs.ErrEmpty, ErrUnprocessable and *grbl.Error → 422,
// ErrUnavailable and grbl.ErrDisconnected → 503. The client turns answers
// back into *APIError, which matches the same sentinels with errors.Is.
//
// # Websocket
//
// GET /api/v1/ws streams the events of the hub (jobs/events) as JSON text
// messages (Message); ?since=SEQ resumes after a sequence number (a gap
// message says when the hub no longer holds it), ?topics=run.*,machine.status
// filters. Clients may send machine commands (Command: jog, jog_cancel,
// override, hold, resume) on the same connection; each gets a reply. The
// wire format is described in docs/websocket.md.
//
// # Concurrency
//
// Open starts one goroutine per listener (http.Server.Serve); net/http
// starts one per connection. A websocket connection has exactly two: its
// handler goroutine, the only writer (events, replies, pings, close frames,
// each under a write deadline), and one reader that enforces the read limit
// and the pong deadline and runs the client's commands in order, handing
// the replies to the writer. A client that falls behind is dropped by the hub (its
// subscription ends) and is closed with code 4000; nothing the web layer
// does can block the hub's publisher. Close stops the listeners, tells every
// websocket handler to send a close frame, waits up to ShutdownTimeout for
// requests in flight and then for every goroutine the server started.
//
// Client is safe for concurrent use. A Stream (Client.Watch) is read by one
// goroutine; Send and Close may be called from any goroutine, and Close
// unblocks Next.
package web
