package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Defaults of the Server's tunables.
const (
	// DefaultMaxUpload bounds a G-code upload: 64 MiB holds a few million
	// lines, far beyond what a hobby router runs.
	DefaultMaxUpload = 64 << 20
	// DefaultShutdownTimeout bounds how long Close waits for requests in
	// flight before it closes their connections.
	DefaultShutdownTimeout = 5 * time.Second
	// SocketMode is the permission of the Unix socket: owner and group.
	SocketMode fs.FileMode = 0o660
)

// Server serves the API, the panel, the API docs and /metrics on a Unix
// socket (trusted: its file permissions are the access control; every
// caller is admin) and optionally on TCP (every route but the public ones
// needs a token, a login session or a trusted proxy's header, and a role).
// Create it with NewServer, set the services and addresses, call Open, and
// Close when done.
type Server struct {
	// SocketPath is the Unix socket to listen on ("" for none).
	SocketPath string
	// Addr is the TCP address to listen on, e.g. ":8080" ("" for none). It
	// requires at least one way to authenticate: Tokens, Users or Proxy.
	Addr string
	// TLSCertFile and TLSKeyFile, both set, serve TCP over HTTPS (session
	// cookies are then Secure).
	TLSCertFile, TLSKeyFile string

	// Jobs, Runs, Machine, Relay, Events, Backups, Tokens and Users serve
	// the routes. A nil service makes its routes answer 503.
	Jobs    JobService
	Runs    RunService
	Machine MachineService
	Relay   RelayService
	Events  EventSource
	Backups Backupper
	Tokens  TokenStore
	Users   UserStore
	// Canary serves baselines, canary configs and verdicts (nil: 503).
	Canary CanaryService
	// Offsets serves /api/v1/machine/offsets and Programs the program text
	// of /api/v1/jobs/{id}/gcode; nil answers 503.
	Offsets  OffsetService
	Programs ProgramStore
	// Drift serves the drift routes (checkpoints, probe, job opt-out);
	// nil makes them answer 503.
	Drift DriftService
	// Proxy enables the trusted reverse-proxy mode (nil: off). See
	// ProxyAuth.
	Proxy *ProxyAuth
	// Metrics adds the daemon's metrics (machine, runs, serial link) to
	// /metrics; nil adds none.
	Metrics MetricsSource
	// Version is reported by kerf_build_info.
	Version string

	// UI is the panel's files (nil: the embedded panel, web/ui). UIDir, when
	// set, serves them from that directory instead (development only).
	UI    fs.FS
	UIDir string

	// SessionIdle and SessionMax bound login sessions (0: DefaultSessionIdle,
	// DefaultSessionMax).
	SessionIdle, SessionMax time.Duration
	// LoginBurst and LoginInterval rate-limit logins per client address (0:
	// DefaultLoginBurst, DefaultLoginInterval).
	LoginBurst    int
	LoginInterval time.Duration
	// PasswordIterations is the PBKDF2 cost of new passwords (0:
	// jobs.DefaultPasswordIterations; lower only in tests).
	PasswordIterations int
	// Now is the clock of sessions, the login limiter and uptime (nil:
	// time.Now).
	Now func() time.Time

	// MaxUpload bounds a G-code upload in bytes (0: DefaultMaxUpload).
	MaxUpload int64
	// ShutdownTimeout bounds Close's wait for requests in flight (0:
	// DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// WS tunes the websocket stream; zero fields take their defaults.
	WS WSOptions
	// Logger receives errors the server handles itself (500s, failed
	// websocket writes). Nil: slog.Default() with system=web.
	Logger *slog.Logger

	mu      sync.Mutex
	opened  bool
	closed  bool
	servers []*http.Server
	lns     []net.Listener
	socket  string        // socket file this server created
	done    chan struct{} // closed by Close: websocket handlers stop
	wg      sync.WaitGroup
	serveMu sync.Mutex
	errs    []error    // Serve errors other than ErrServerClosed
	events  eventCache // encoded recent events, shared by websocket streams

	authInit    authState   // sessions, login limiter (made on first use)
	metricsInit metricState // counters of /metrics (made on first use)
}

// NewServer returns a Server with default settings and no services.
func NewServer() *Server {
	return &Server{
		MaxUpload:       DefaultMaxUpload,
		ShutdownTimeout: DefaultShutdownTimeout,
		done:            make(chan struct{}),
	}
}

// Log attribute keys.
const (
	logSystem = "system"
	logMethod = "method"
	logPath   = "path"
	logStatus = "status"
	logErr    = "err"
	logSeq    = "seq"
	logTopic  = "topic"
)

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default().With(logSystem, "web")
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) maxUpload() int64 {
	if s.MaxUpload > 0 {
		return s.MaxUpload
	}
	return DefaultMaxUpload
}

// Open checks the configuration, binds the listeners (bind errors are
// returned here, synchronously) and starts serving. Errors: ErrSocketInUse
// when another daemon answers on SocketPath; a TCP Addr with no way to
// authenticate (the API is never served unauthenticated on TCP); a bad
// Proxy, UIDir or TLS key pair; listen errors.
func (s *Server) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.opened:
		return errors.New("web server: already opened")
	case s.SocketPath == "" && s.Addr == "":
		return errors.New("web server: neither a socket path nor a TCP address is set")
	case s.Addr != "" && s.Tokens == nil && s.Users == nil && s.Proxy == nil:
		return fmt.Errorf("web server: TCP address %s needs tokens, users or a trusted proxy: the API is never served unauthenticated on TCP", s.Addr)
	case (s.TLSCertFile == "") != (s.TLSKeyFile == ""):
		return errors.New("web server: TLS needs both a certificate and a key file")
	}
	if s.Proxy != nil {
		if err := s.Proxy.Validate(); err != nil {
			return fmt.Errorf("web server: %w", err)
		}
	}
	if s.UIDir != "" {
		if err := checkUIDir(s.UIDir); err != nil {
			return fmt.Errorf("web server: %w", err)
		}
	}
	var tlsConf *tls.Config
	if s.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("web server: TLS key pair %s, %s: %w", s.TLSCertFile, s.TLSKeyFile, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.metrics().start(s.now())
	s.doneChan()
	var lns []net.Listener
	var handlers []http.Handler
	if s.SocketPath != "" {
		ln, err := listenSocket(s.SocketPath)
		if err != nil {
			return err
		}
		s.socket = s.SocketPath
		lns, handlers = append(lns, ln), append(handlers, s.TrustedHandler())
	}
	if s.Addr != "" {
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			s.removeSocket()
			return fmt.Errorf("web server: listen on %s: %w", s.Addr, err)
		}
		if tlsConf != nil {
			ln = tls.NewListener(ln, tlsConf)
		}
		lns, handlers = append(lns, ln), append(handlers, s.Handler())
	}
	s.opened = true
	s.lns = lns
	for i, ln := range lns {
		srv := &http.Server{
			Handler:           handlers[i],
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelWarn),
		}
		s.servers = append(s.servers, srv)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.serveMu.Lock()
				s.errs = append(s.errs, fmt.Errorf("web server: serve %s: %w", ln.Addr(), err))
				s.serveMu.Unlock()
			}
		}()
	}
	return nil
}

// enter registers a request handler with the server, so Close waits for
// it; after Close has begun it returns false and the request is refused.
// A true result must be paired with s.wg.Done.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// doneChan returns the channel Close closes, creating it for a Server not
// made by NewServer. s.mu is held.
func (s *Server) doneChan() chan struct{} {
	if s.done == nil {
		s.done = make(chan struct{})
	}
	return s.done
}

// SocketAddr returns the Unix listener's address, nil before Open or when
// there is none.
func (s *Server) SocketAddr() net.Addr { return s.addr("unix") }

// TCPAddr returns the TCP listener's address (with the real port when Addr
// asked for port 0), nil before Open or when there is none.
func (s *Server) TCPAddr() net.Addr { return s.addr("tcp") }

func (s *Server) addr(network string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.lns {
		if ln.Addr().Network() == network {
			return ln.Addr()
		}
	}
	return nil
}

// Close stops accepting, ends websocket streams, waits up to
// ShutdownTimeout for requests in flight (then closes their connections,
// which cancels their contexts), waits for every handler and every
// goroutine the server started, and removes the socket file. It is
// idempotent and returns serve errors, if any.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.doneChan())
	servers := s.servers
	s.mu.Unlock()

	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("web server: shutdown: %w", err), srv.Close())
		}
	}
	s.wg.Wait()
	s.mu.Lock()
	s.removeSocket()
	s.mu.Unlock()
	s.serveMu.Lock()
	errs = append(errs, s.errs...)
	s.serveMu.Unlock()
	return errors.Join(errs...)
}

// removeSocket deletes the socket file this server created. s.mu is held.
func (s *Server) removeSocket() {
	if s.socket == "" {
		return
	}
	_ = os.Remove(s.socket)
	s.socket = ""
}

// staleProbeTimeout bounds the dial that tells a live daemon's socket from
// a stale one.
const staleProbeTimeout = time.Second

// listenSocket listens on a Unix socket at path with SocketMode. A socket
// file left by a crashed daemon (nothing accepts on it) is removed; a live
// one is ErrSocketInUse; any other file at path is left alone and reported.
// The socket is bound under a temporary name, given its mode, then renamed
// into place, so it is never reachable with wider permissions.
func listenSocket(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("web server: %s exists and is not a socket: remove it or choose another data dir", path)
		}
		c, err := net.DialTimeout("unix", path, staleProbeTimeout)
		if err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("web server: another kerf is serving on %s: %w", path, ErrSocketInUse)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("web server: probe existing socket %s: %w", path, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("web server: remove stale socket %s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("web server: socket %s: %w", path, err)
	}
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	_ = os.Remove(tmp) // a leftover of this pid's earlier attempt
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("web server: listen on %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		_ = ln.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, SocketMode); err != nil {
		return fail(fmt.Errorf("web server: chmod socket %s: %w", path, err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("web server: place socket %s: %w", path, err))
	}
	return socketListener{Listener: ln, addr: &net.UnixAddr{Name: path, Net: "unix"}}, nil
}

// socketListener reports the socket's final path as its address (the
// listener was bound under the temporary name).
type socketListener struct {
	net.Listener
	addr net.Addr
}

func (l socketListener) Addr() net.Addr { return l.addr }
