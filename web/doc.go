// Package web is the kerf daemon's HTTP face: REST routes under /api/v1, a
// websocket event stream, authentication and roles, the OpenAPI document
// and its docs page (/api/docs), Prometheus metrics (/metrics), the control
// panel (web/ui, with an SPA fallback), and a Go client for all of it.
//
// The daemon's composition root (kerf serve) builds a Server, fills in the
// services it needs — JobService, RunService, MachineService,
// OffsetService, ProgramStore, EventSource, Backupper, TokenStore,
// UserStore, MetricsSource, all declared here by their consumer — and opens
// it:
//
//	srv := web.NewServer()
//	srv.SocketPath = filepath.Join(dataDir, "kerf.sock")
//	srv.Addr = ":8080" // optional; needs Tokens, Users or Proxy
//	srv.Jobs, srv.Runs, srv.Machine = runner, runner, machine
//	srv.Events, srv.Backups = hub, store
//	srv.Tokens, srv.Users = store, store
//	if err := srv.Open(); err != nil { ... } // bind and config errors surface here
//	defer srv.Close()
//
// Clients use Client, over the Unix socket or over TCP with a token:
//
//	c := web.NewSocketClient(filepath.Join(dataDir, "kerf.sock"))
//	job, err := c.AddJob(ctx, "part.nc", f)
//
// # Access control
//
// Roles are ordered viewer < operator < admin. Viewer reads everything;
// operator also uploads, starts, pauses, resumes and aborts jobs and moves
// the machine (jog, home, unlock, reset, hold, resume, overrides, work
// offsets); admin
// also writes GRBL settings, deletes jobs, downloads backups and manages
// tokens and users. The route table (routes) gives every route its least
// role, and one check (guard, authorize) enforces it before any handler
// runs: no credentials → 401, a role too low → 403 naming the role needed.
// Websocket commands need operator, checked by the same function.
//
// The Unix socket is trusted: its mode (0660) and the data directory's are
// the access control, and every caller there is admin. On TCP a request is
// authenticated, in this order, by a trusted reverse proxy's identity
// header (ProxyAuth: believed only from the configured addresses; the same
// header from anywhere else is refused), a bearer token (TokenStore; tokens
// carry a role), or a login session cookie (UserStore; POST
// /api/v1/auth/login). Sessions are 256-bit random IDs kept in memory only
// as SHA-256 hashes, expire after SessionIdle without use (each use extends
// them) and after SessionMax in any case, and end when the user is removed
// or their password changes. Cookie-authenticated requests that change
// state must be same-origin (Sec-Fetch-Site, else Origin); bearer tokens
// need no such check. Logins are rate-limited per client address (IPv6 per
// /64) in bounded memory, and at most two password verifications (PBKDF2,
// see jobs.HashPassword) run at once. Nothing is granted by default: a
// daemon without users, tokens or proxy refuses every TCP request, and Open
// refuses to listen on TCP at all without one of them.
//
// Public routes: login, logout, /api/v1/openapi.json, /api/docs and the
// panel's files (the panel must load to show its login form).
//
// # Metrics
//
// GET /metrics (viewer) writes the Prometheus text format by hand:
// kerf_build_info, kerf_uptime_seconds, kerf_http_requests_total{method,
// route,code}, login attempts, websocket clients, events sent and dropped,
// events published (when the EventSource has Seq), and whatever the
// daemon's MetricsSource returns, checked against the naming rules.
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
// grbl.ErrAlarm/ErrNotIdle/ErrNotHomed → 409, jobs.ErrTooLarge → 413, a Diagnoser (a
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
// The session table, the login limiter and the metric counters are guarded
// by their own mutexes and start no goroutines (expired sessions are
// dropped when met or when the table is full). Open starts one goroutine per listener (http.Server.Serve); net/http
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
