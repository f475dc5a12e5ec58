// Package api is valtrack's HTTP server, shared by the domains: listeners and
// graceful shutdown, API keys, rate limits, metrics, the response cache,
// errors, parameter parsing, CORS, panic recovery, /healthz, /metrics,
// /api/v1/networks, the OpenAPI document merged from the domains' fragments
// and the page at / made of their sections. It imports no domain: each domain
// hands New a Domain whose Mount registers its routes on a Router. Reads are
// public; a valid X-API-KEY makes the Caller an admin, and the domains decide
// what that unlocks.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the optional limits in Options.
const (
	DefaultBurst              = 20
	DefaultMaxRateBuckets     = 10000
	DefaultKeysReloadInterval = 2 * time.Second
	DefaultQueryTimeout       = 10 * time.Second
	DefaultShutdownTimeout    = 10 * time.Second
	DefaultCacheTTL           = 5 * time.Second

	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Options configure a Server. Log is required.
type Options struct {
	Log *slog.Logger
	// Domains are the domains whose routes, OpenAPI fragments, page sections
	// and networks the server serves, in this order.
	Domains []Domain
	// NotRun are domains this binary has but this process does not run:
	// a request under /api/v1/<Name> answers 404 saying so and how to
	// start it, rather than "no such endpoint" for a route that exists.
	NotRun []NotRun
	// KeysFile holds the API keys, one per line ("key" or "name:key", '#'
	// comments). It is re-read when it changes; empty means no keys, so a
	// request with X-API-KEY is always refused.
	KeysFile string
	// RatePerIP and RatePerKey are sustained requests per second of an
	// anonymous client (by IP) and of an API key; <= 0 disables that limit.
	RatePerIP, RatePerKey float64
	// Burst is the bucket size of both limits (default DefaultBurst).
	Burst int
	// Registry receives the API's metrics and is served on /metrics; nil
	// makes a new one.
	Registry *prometheus.Registry
	Version  string
	// Health reports whether the state store answers (nil: always). It runs
	// at most once per HealthInterval, however often /healthz is polled.
	Health func(context.Context) error
	// HealthInterval is how long a Health result is served (default
	// DefaultHealthInterval): a failing store turns /healthz to 503 within it.
	HealthInterval time.Duration
	// SeparateAdmin takes /healthz and /metrics off Handler (they answer 404
	// there); serve AdminHandler on a listener of its own, so that a public
	// port does not expose them.
	SeparateAdmin bool
	// TrustProxy takes the client IP from X-Forwarded-For (its last entry, the
	// one the proxy in front of us added). Enable only behind such a proxy:
	// otherwise any client picks its own rate-limit bucket.
	TrustProxy bool

	// Optional limits; zero means the default.
	MaxRateBuckets     int           // bound on rate-limit buckets per kind (IP, key)
	KeysReloadInterval time.Duration // how often the keys file is stat'ed, at most
	QueryTimeout       time.Duration // per request, for store queries
	ShutdownTimeout    time.Duration // grace period of ListenAndServe on ctx done
	// WSOrigins, when not nil, are the origins whose browser pages may open
	// any WebSocket route, replacing every route's WSOptions.OriginPatterns
	// (see ParseWSOrigins): an empty, non-nil list allows same-origin pages
	// only, "*" any page. Clients that send no Origin (not browsers) are
	// always accepted.
	WSOrigins []string
	// CacheTTL is how long the domains' cached responses (Router.Cache) are
	// served from memory (default DefaultCacheTTL; negative: never, though
	// concurrent identical requests still share one query).
	CacheTTL time.Duration
}

// Server is the HTTP API. It is safe for concurrent use.
type Server struct {
	o       Options
	log     *slog.Logger
	keys    *keyring
	ipRate  *limiter
	keyRate *limiter
	metrics *metrics
	handler http.Handler
	admin   http.Handler
	cache   *Cache
	health  *healthCache
	ws      wsRegistry
	openapi []byte // merged document
	page    []byte // rendered page
}

// New validates the options, loads the keys file and registers the metrics.
func New(o Options) (*Server, error) {
	if o.Log == nil {
		return nil, errors.New("api: Options.Log is required")
	}
	if o.RatePerIP < 0 || o.RatePerKey < 0 || o.Burst < 0 {
		return nil, fmt.Errorf("api: rate limits must not be negative (RatePerIP=%g, RatePerKey=%g, Burst=%d); use 0 to disable", o.RatePerIP, o.RatePerKey, o.Burst)
	}
	if o.Burst == 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxRateBuckets <= 0 {
		o.MaxRateBuckets = DefaultMaxRateBuckets
	}
	if o.KeysReloadInterval <= 0 {
		o.KeysReloadInterval = DefaultKeysReloadInterval
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if err := checkOriginPatterns(o.WSOrigins); err != nil {
		return nil, fmt.Errorf("api: WSOrigins: %w", err)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Health == nil {
		o.Health = func(context.Context) error { return nil }
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	s := &Server{o: o, log: o.Log.With("component", "api")}
	m, err := newMetrics(o.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.keys, err = newKeyring(o.KeysFile, o.KeysReloadInterval, s.log, func(n int) { m.keys.Set(float64(n)) })
	if err != nil {
		return nil, err
	}
	s.ipRate = newLimiter(o.RatePerIP, o.Burst, o.MaxRateBuckets, time.Now)
	s.keyRate = newLimiter(o.RatePerKey, o.Burst, o.MaxRateBuckets, time.Now)
	s.cache = newCache(o.CacheTTL, time.Now)
	s.health = &healthCache{probe: o.Health, interval: o.HealthInterval, now: time.Now}
	if s.openapi, err = mergeOpenAPI(baseOpenAPI, o.Domains); err != nil {
		return nil, err
	}
	if s.page, err = renderPage(o.Domains); err != nil {
		return nil, err
	}
	if s.handler, err = s.routes(); err != nil {
		return nil, err
	}
	s.admin = s.adminHandler()
	return s, nil
}

// Handler returns the API's root handler: the domains' routes and the shared
// ones, and /healthz and /metrics unless Options.SeparateAdmin.
func (s *Server) Handler() http.Handler { return s.handler }

// AdminHandler serves /healthz and /metrics only (JSON 404 for the rest), for
// an operator's listener apart from the public one.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// OpenAPI returns the merged OpenAPI document served at /openapi.yaml.
func (s *Server) OpenAPI() []byte { return s.openapi }

// ListenAndServe serves Handler on addr until ctx is done, then shuts down
// gracefully (WebSocket connections included); it returns nil after a clean
// shutdown.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return ListenError("api: listen on "+addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener, which it closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.handler, "API listening", true)
}

// ListenAndServeAdmin serves AdminHandler on addr until ctx is done.
func (s *Server) ListenAndServeAdmin(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return ListenError("api: listen on "+addr+" for /metrics and /healthz", err)
	}
	return s.ServeAdmin(ctx, ln)
}

// ServeAdmin is ListenAndServeAdmin on an existing listener, which it closes.
func (s *Server) ServeAdmin(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.admin, "admin endpoints listening", false)
}

// serve runs one listener; the public one (ws) also closes the WebSocket
// connections at shutdown, which http.Server.Shutdown leaves alone.
func (s *Server) serve(ctx context.Context, ln net.Listener, h http.Handler, msg string, ws bool) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info(msg, "addr", ln.Addr().String(), "keys", s.keys.count())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	var wsErr error
	if ws {
		wsErr = s.ws.shutdown(sctx)
	}
	if err := errors.Join(wsErr, srv.Shutdown(sctx)); err != nil {
		srv.Close()
		return fmt.Errorf("api: shut down within %s: %w", s.o.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}
