// Package api serves valtrack's state over HTTP: Valtrack-compatible
// /validators, the /api/v1 read API, health, metrics, the OpenAPI document and
// a small overview page. Reads are public; a valid X-API-KEY unlocks the
// fields that locate nodes on the network (see views.go).
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/ethereum/state"
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

// Options configure a Server. Store and Log are required.
type Options struct {
	Store state.Store
	Log   *slog.Logger
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
	// Networks lists the configured networks; the API knows these and every
	// network the store has peers of.
	Networks func() []string
	Version  string
	// Health reports whether the state store answers (nil: always).
	Health func(context.Context) error
	// TrustProxy takes the client IP from X-Forwarded-For (its last entry, the
	// one the proxy in front of us added). Enable only behind such a proxy:
	// otherwise any client picks its own rate-limit bucket.
	TrustProxy bool

	// Optional limits; zero means the default.
	MaxRateBuckets     int           // bound on rate-limit buckets per kind (IP, key)
	KeysReloadInterval time.Duration // how often the keys file is stat'ed, at most
	QueryTimeout       time.Duration // per request, for store queries
	ShutdownTimeout    time.Duration // grace period of ListenAndServe on ctx done
	// CacheTTL is how long /validators and peer listings are served from
	// memory (default DefaultCacheTTL; negative: never, though concurrent
	// identical requests still share one query).
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
	nets    networkCache
	cache   *respCache
}

// New validates the options, loads the keys file and registers the metrics.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("api: Options.Store is required")
	}
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
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Health == nil {
		o.Health = func(context.Context) error { return nil }
	}
	if o.Networks == nil {
		o.Networks = func() []string { return nil }
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
	s.nets.now = time.Now
	s.cache = newRespCache(o.CacheTTL, time.Now)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the API's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe serves on addr until ctx is done, then shuts down
// gracefully; it returns nil after a clean shutdown.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w (is the address in use?)", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener, which it closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.log.Info("API listening", "addr", ln.Addr().String(), "keys", s.keys.count())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("api: shut down within %s: %w", s.o.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// networkCache holds the union of configured networks and the store's, so
// that resolving {network} does not cost a query per request.
type networkCache struct {
	now     func() time.Time
	mu      sync.Mutex
	at      time.Time
	names   map[string]networkView
	ordered []networkView
}

const (
	networkCacheTTL     = 5 * time.Second
	networkMissRefresh  = 1 * time.Second // an unknown name refreshes at most this often
	maxConfiguredListed = 1000
)

// networks returns the known networks; miss forces a refresh when the cache
// is older than networkMissRefresh (a network may just have appeared).
func (s *Server) networks(ctx context.Context, miss bool) (map[string]networkView, []networkView, error) {
	c := &s.nets
	c.mu.Lock()
	defer c.mu.Unlock()
	age := c.now().Sub(c.at)
	if c.names != nil && age < networkCacheTTL && (!miss || age < networkMissRefresh) {
		return c.names, c.ordered, nil
	}
	stored, err := s.o.Store.Networks(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list networks in the store: %w", err)
	}
	names := make(map[string]networkView)
	var ordered []string
	configured := s.o.Networks()
	if len(configured) > maxConfiguredListed {
		configured = configured[:maxConfiguredListed]
	}
	for _, n := range configured {
		if _, ok := names[n]; !ok {
			ordered = append(ordered, n)
		}
		names[n] = networkView{Name: n, Configured: true}
	}
	for _, n := range stored {
		v, ok := names[n]
		if !ok {
			ordered = append(ordered, n)
		}
		v.Name, v.HasData = n, true
		names[n] = v
	}
	c.ordered = c.ordered[:0:0]
	for _, n := range ordered {
		c.ordered = append(c.ordered, names[n])
	}
	c.names, c.at = names, c.now()
	return c.names, c.ordered, nil
}
