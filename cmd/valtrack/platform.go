package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/geo"
	"github.com/valtrack/valtrack/internal/store"
)

// The shared layers every command assembles around the domains.

func busFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "bus-max-age", Value: 7 * 24 * time.Hour, Usage: "how long a stream keeps events", Sources: env("bus-max-age"),
			Validator: func(v time.Duration) error { return positiveDuration("--bus-max-age", v) }},
		&cli.Int64Flag{Name: "bus-max-bytes", Usage: "size limit of each domain's stream in bytes (oldest events go first); each stream reserves it up front. 0: with the embedded bus, half the free disk under --data-dir split over the streams (64 MiB..10 GiB each); with --nats-url, 10 GiB", Sources: env("bus-max-bytes"),
			Validator: func(v int64) error {
				if v != 0 && v < 1<<20 {
					return fmt.Errorf("--bus-max-bytes %d: give at least 1048576 (1 MiB), or 0 to size it from the free disk", v)
				}
				return nil
			}},
		&cli.DurationFlag{Name: "bus-duplicates", Value: 2 * time.Minute, Usage: "window in which a re-published event (same Nats-Msg-Id) is dropped", Sources: env("bus-duplicates"),
			Validator: func(v time.Duration) error { return positiveDuration("--bus-duplicates", v) }},
		&cli.IntFlag{Name: "bus-replicas", Value: bus.DefaultReplicas, Usage: "copies of each stream kept by an external NATS JetStream cluster (1..5; 1 with the embedded bus); give every process the same value, it is applied at start", Sources: env("bus-replicas"),
			Validator: func(v int) error { return intRange("--bus-replicas", v, 1, 5) }},
		&cli.StringFlag{Name: "bus-listen", Usage: "embedded bus: also accept NATS clients on this address (e.g. 127.0.0.1:4222)", Sources: env("bus-listen"),
			Validator: func(v string) error { return listenAddr("--bus-listen", v) }},
	}
}

// checkBusFlags refuses bus flags wrong only together, before anything
// opens. The bus checks this too, but names its own settings, not the
// flags.
func checkBusFlags(cmd *cli.Command) error {
	if dup, age := cmd.Duration("bus-duplicates"), cmd.Duration("bus-max-age"); dup > age {
		return fmt.Errorf("--bus-duplicates %s is longer than --bus-max-age %s: the duplicate window must fit in the stream's retention; give --bus-duplicates %s or less, or a longer --bus-max-age", dup, age, age)
	}
	return nil
}

// sentryFlags identify this process's sentries in events, whatever domain.
func sentryFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "sentry-id", Usage: "this sentry's id in events (default: hostname)", Sources: env("sentry-id")},
		&cli.StringFlag{Name: "sentry-location", Usage: "this sentry's location in events, e.g. eu-central", Sources: env("sentry-location")},
	}
}

func consumerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "durable", Value: "valtrack", Usage: "JetStream durable consumer name prefix: each domain's durable is <durable>-<domain> (a value already ending in -<domain>, such as valtrack-ethereum, is used as is); consumers with the same name share the work", Sources: env("durable"),
			Validator: func(v string) error {
				if err := nonEmpty("--durable", v); err != nil {
					return err
				}
				// The durable of the longest domain name must still be a
				// JetStream consumer name.
				if strings.ContainsAny(v, " \t\r\n.*>/\\") || len(v) > 100 {
					return fmt.Errorf("--durable %q: give a name of at most 100 characters without whitespace, '.', '*', '>', '/' or '\\', e.g. valtrack", v)
				}
				return nil
			}},
		&cli.IntFlag{Name: "batch-size", Value: consumer.DefaultBatchSize, Usage: "events written per batch (a partial batch is written after 1s)", Sources: env("batch-size"),
			Validator: func(v int) error { return intRange("--batch-size", v, 1, bus.MaxBatchSize) }},
		&cli.BoolFlag{Name: "archive", Value: true, Usage: "write the Parquet archive under --data-dir/parquet (on by default; --archive=false turns it off)", Sources: env("archive")},
		&cli.StringFlag{Name: "geoip-city", Usage: "MaxMind GeoLite2-City.mmdb for country/region/city/coordinates", Sources: env("geoip-city")},
		&cli.StringFlag{Name: "geoip-asn", Usage: "MaxMind GeoLite2-ASN.mmdb for ASN, AS organization and hosting class", Sources: env("geoip-asn")},
	}
}

func apiFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api-keys", Usage: "file of API keys (one per line, or name:key); re-read when it changes", Sources: env("api-keys")},
		&cli.FloatFlag{Name: "rate-per-ip", Value: 20, Usage: "requests per second per client IP without a key (0: unlimited)", Sources: env("rate-per-ip"),
			Validator: func(v float64) error { return nonNegative("--rate-per-ip", v) }},
		&cli.FloatFlag{Name: "rate-per-key", Value: 200, Usage: "requests per second per API key (0: unlimited)", Sources: env("rate-per-key"),
			Validator: func(v float64) error { return nonNegative("--rate-per-key", v) }},
		&cli.BoolFlag{Name: "trust-proxy", Usage: "take the client IP from X-Forwarded-For (only behind a reverse proxy)", Sources: env("trust-proxy")},
		&cli.StringFlag{Name: "admin-http", Usage: "listen address for /metrics and /healthz apart from --http (empty: served on --http)", Sources: env("admin-http"),
			Validator: func(v string) error { return listenAddr("--admin-http", v) }},
		&cli.StringFlag{Name: "ws-origins", Usage: "origins whose browser pages may open the WebSocket routes (SSV /query, /stream): comma-separated hosts or patterns (explorer.example.org, *.example.org, https://host), * for any, same-origin for none but this server's; empty: each route's default (SSV: any origin, as the SSV exporter)", Sources: env("ws-origins"),
			Validator: func(v string) error {
				if _, err := api.ParseWSOrigins(v); err != nil {
					return fmt.Errorf("--ws-origins: %w", err)
				}
				return nil
			}},
	}
}

func progressFlag(def time.Duration) cli.Flag {
	return &cli.DurationFlag{Name: "progress-every", Value: def, Usage: "how often progress lines are printed (0: never)", Sources: env("progress-every"),
		Validator: func(v time.Duration) error {
			if v < 0 {
				return fmt.Errorf("--progress-every %s: give a positive duration, or 0 for no progress lines", v)
			}
			return nil
		}}
}

// domainFlags are the flags of the given domains for a role, each once.
func domainFlags(ds registry, r domain.Role) []cli.Flag {
	var out []cli.Flag
	seen := map[string]bool{}
	for _, d := range ds {
		for _, f := range d.Flags(r) {
			if name := f.Names()[0]; !seen[name] {
				seen[name] = true
				out = append(out, f)
			}
		}
	}
	return out
}

func concat(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func sentryID(cmd *cli.Command) string {
	if id := cmd.String("sentry-id"); id != "" {
		return id
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "valtrack"
	}
	return h
}

// stack releases, in reverse order, what a command opened; a constructor
// that fails half way leaves nothing open.
type stack struct {
	log *slog.Logger
	fns []func() error
	whs []string
}

func (s *stack) push(what string, fn func() error) {
	s.fns = append(s.fns, fn)
	s.whs = append(s.whs, what)
}

func (s *stack) close() {
	for i := len(s.fns) - 1; i >= 0; i-- {
		if err := s.fns[i](); err != nil && s.log != nil {
			s.log.Warn("close "+s.whs[i], "err", err)
		}
	}
	s.fns, s.whs = nil, nil
}

func openBus(ctx context.Context, cmd *cli.Command, reg prometheus.Registerer, log *slog.Logger, streams []string) (*bus.Bus, error) {
	cfg := bus.Config{
		URL:        cmd.String("nats-url"),
		DataDir:    cmd.String("data-dir"),
		ListenAddr: cmd.String("bus-listen"),
		MaxAge:     cmd.Duration("bus-max-age"),
		MaxBytes:   cmd.Int64("bus-max-bytes"),
		Duplicates: cmd.Duration("bus-duplicates"),
		Replicas:   int(cmd.Int("bus-replicas")),
		Streams:    max(len(streams), 1),
		Name:       "valtrack-" + cmd.Name,
		Registerer: reg,
	}
	b, err := bus.Open(ctx, cfg, log.With("component", "bus"))
	if err != nil {
		return nil, err
	}
	for _, d := range streams {
		if err := b.EnsureStream(ctx, d); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

// openDB opens the shared database with every domain's migrations.
func openDB(ctx context.Context, cmd *cli.Command, ds registry, log *slog.Logger, opts ...store.Option) (*store.DB, error) {
	if err := os.MkdirAll(cmd.String("data-dir"), 0o755); err != nil {
		return nil, fmt.Errorf("create --data-dir %s: %w; check the path and its permissions", cmd.String("data-dir"), err)
	}
	opts = append([]store.Option{store.WithMigrations(ds.migrations()...)}, opts...)
	return store.Open(ctx, cmd.String("db"), cmd.String("data-dir"), log.With("component", "store"), opts...)
}

// proc is what every long-running command opens first, in this order: the
// logger, its listeners (so that an address in use fails before anything
// else starts), the metrics registry and the bus with its domains' streams.
// st releases them, and what the command opens next, in reverse.
type proc struct {
	log *slog.Logger
	st  *stack
	lns *listeners
	reg *prometheus.Registry
	bus *bus.Bus
}

// openProc opens a proc; on failure it has released what it opened.
func openProc(ctx context.Context, cmd *cli.Command, withAdmin bool, streams []string) (_ *proc, err error) {
	p := &proc{}
	if p.log, err = logger(cmd); err != nil {
		return nil, err
	}
	p.st = &stack{log: p.log}
	defer func() {
		if err != nil {
			p.st.close()
		}
	}()
	if p.lns, err = listen(cmd, withAdmin); err != nil {
		return nil, err
	}
	p.st.push("listeners", p.lns.Close)
	p.reg = newRegistry()
	if p.bus, err = openBus(ctx, cmd, p.reg, p.log, streams); err != nil {
		return nil, err
	}
	p.st.push("bus", p.bus.Close)
	return p, nil
}

// selected are the domains the command line chose for `valtrack run`, or
// the default one (first registered) with env.Default when none.
func selected(ds registry, cmd *cli.Command) (registry, bool) {
	var out registry
	for _, d := range ds {
		if d.Selected(cmd) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return ds[:1], true
	}
	return out, false
}

// storage is what the roles that write state open: the database (every
// domain's migrations applied), the archive (nil with --archive=false) and
// geolocation.
type storage struct {
	db   *store.DB
	arch *archive.Writer
	geo  *geo.Resolver
}

// openStorage opens the storage, registering each part's Close on st.
func openStorage(ctx context.Context, cmd *cli.Command, ds registry, log *slog.Logger, st *stack) (storage, error) {
	var s storage
	var err error
	if s.db, err = openDB(ctx, cmd, ds, log); err != nil {
		return s, err
	}
	st.push("database", s.db.Close)
	if cmd.Bool("archive") {
		if s.arch, err = archive.Open(archive.Options{Root: cmd.String("data-dir"), Log: log.With("component", "archive")}); err != nil {
			return s, err
		}
		st.push("archive", s.arch.Close)
	}
	if s.geo, err = geo.Open(geo.Options{CityDB: cmd.String("geoip-city"), ASNDB: cmd.String("geoip-asn")}); err != nil {
		return s, err
	}
	st.push("geolocation", s.geo.Close)
	return s, nil
}

// consumers builds one consumer per domain that has a sink.
// With waitForStreams, each waits for its stream to be made by the
// domain's sentries (valtrack consumer) rather than making it.
func consumers(cmd *cli.Command, b *bus.Bus, sto storage, doms []opened, reg prometheus.Registerer, log *slog.Logger, waitForStreams bool) (map[string]*consumer.Consumer, error) {
	out := map[string]*consumer.Consumer{}
	for _, o := range doms {
		if o.parts.Sink == nil {
			continue
		}
		c, err := consumer.New(consumer.Config{
			Bus: b, Domain: o.d.Name(), Sink: o.parts.Sink, Archive: sto.arch, Probe: sto.db.Ping,
			Durable: durableName(cmd.String("durable"), o.d.Name()), BatchSize: int(cmd.Int("batch-size")),
			WaitForStream: waitForStreams, Registerer: reg, Log: log,
		})
		if err != nil {
			return nil, err
		}
		out[o.d.Name()] = c
	}
	return out, nil
}

// durableName is <prefix>-<domain>. A prefix that already ends in
// -<domain> is that durable itself: fleets deployed before domains gave
// --durable valtrack-ethereum, and a new name would make a new durable that
// reads the whole stream again.
func durableName(prefix, domain string) string {
	if strings.HasSuffix(prefix, "-"+domain) {
		return prefix
	}
	return prefix + "-" + domain
}

func allAnalyzers(doms []opened) []analyze.Analyzer {
	var out []analyze.Analyzer
	for _, o := range doms {
		out = append(out, o.parts.Analyzers...)
	}
	return out
}

// health is what /healthz checks: the store answers (where there is one),
// no consumer keeps failing a batch, and every domain's parts report
// healthy.
func health(db *store.DB, b *bus.Bus, doms []opened, cons map[string]*consumer.Consumer) func(context.Context) error {
	return func(ctx context.Context) error {
		var errs []error
		if b != nil {
			if err := b.Healthy(); err != nil {
				errs = append(errs, &api.PartError{Part: "bus", Err: err})
			}
		}
		if db != nil {
			if err := db.Ping(ctx); err != nil {
				errs = append(errs, &api.PartError{Part: "state store", Err: err})
			}
		}
		for _, o := range doms {
			if c := cons[o.d.Name()]; c != nil {
				if err := c.Healthy(); err != nil {
					errs = append(errs, &api.PartError{Part: o.d.Name() + " consumer", Err: err})
				}
			}
			if o.parts.Health == nil {
				continue
			}
			if err := o.parts.Health(ctx); err != nil {
				errs = append(errs, &api.PartError{Part: o.d.Name(), Err: err})
			}
		}
		return errors.Join(errs...)
	}
}

// newAPI is the API of the opened domains doms; every other domain of ds
// answers under its prefix that this process does not run it, and how to
// start it.
func newAPI(cmd *cli.Command, db *store.DB, b *bus.Bus, ds registry, doms []opened, cons map[string]*consumer.Consumer, reg *prometheus.Registry, log *slog.Logger) (*api.Server, error) {
	var apis []api.Domain
	open := map[string]bool{}
	for _, o := range doms {
		open[o.d.Name()] = true
		if o.parts.API != nil {
			apis = append(apis, *o.parts.API)
		}
	}
	var notRun []api.NotRun
	for _, d := range ds {
		if !open[d.Name()] {
			notRun = append(notRun, api.NotRun{Name: d.Name(), Start: fmt.Sprintf("restart `valtrack %s` with %s (see `valtrack %s --help`)", cmd.Name, d.SelectWith(), cmd.Name)})
		}
	}
	origins, err := api.ParseWSOrigins(cmd.String("ws-origins"))
	if err != nil {
		return nil, fmt.Errorf("--ws-origins: %w", err)
	}
	return api.New(api.Options{
		Domains: apis, NotRun: notRun, Health: health(db, b, doms, cons), Log: log, KeysFile: cmd.String("api-keys"),
		RatePerIP: cmd.Float("rate-per-ip"), RatePerKey: cmd.Float("rate-per-key"),
		Registry: reg, Version: version, TrustProxy: cmd.Bool("trust-proxy"),
		SeparateAdmin: cmd.String("admin-http") != "", WSOrigins: origins,
	})
}

// checkAPIFlags refuses API flags wrong only together, before anything
// opens: --admin-http on the address of --http would fail to bind with
// "address in use" against this very process, which sends the operator
// looking for another one.
func checkAPIFlags(cmd *cli.Command) error {
	pub, adm := cmd.String("http"), cmd.String("admin-http")
	if adm == "" || !sameListenAddr(pub, adm) {
		return nil
	}
	why := ""
	if adm != pub {
		why = " (a host left out, 0.0.0.0 and :: all listen on every interface)"
	}
	return fmt.Errorf("--admin-http %s is the address of --http %s%s: the admin listener (/metrics, /healthz) must be a different address, e.g. 127.0.0.1:9090, or leave --admin-http empty to serve /metrics and /healthz on --http", adm, pub, why)
}

// sameListenAddr reports whether listening on a and on b would take the
// same socket: the same port (by number; port 0 is a fresh one each time)
// and the same host, every interface (no host, 0.0.0.0, ::) overlapping
// any host. Host names are compared as written: resolving them is not a
// start-up check's business.
func sameListenAddr(a, b string) bool {
	ha, pa, ok1 := listenKey(a)
	hb, pb, ok2 := listenKey(b)
	if !ok1 || !ok2 || pa != pb || pa == 0 {
		return false
	}
	return ha == hb || ha == "" || hb == ""
}

// listenKey is a listen address's host ("" for every interface) and port.
func listenKey(v string) (string, int, bool) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", 0, false
	}
	p, err := net.LookupPort("tcp", port)
	if err != nil {
		return "", 0, false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap().WithZone("")
		if ip.IsUnspecified() {
			return "", p, true
		}
		return ip.String(), p, true
	}
	return strings.ToLower(strings.TrimSuffix(host, ".")), p, true
}

// listeners are the command's TCP listeners, bound before anything else
// opens: an address in use is refused at start, before the bus, the devnet
// and the sentries have started only to be stopped again.
type listeners struct {
	public, admin net.Listener
}

// listen binds --http and, for the API when --admin-http is set, that too.
func listen(cmd *cli.Command, withAdmin bool) (*listeners, error) {
	if withAdmin {
		if err := checkAPIFlags(cmd); err != nil {
			return nil, err
		}
	}
	l := &listeners{}
	var err error
	if l.public, err = net.Listen("tcp", cmd.String("http")); err != nil {
		return nil, api.ListenError("--http "+cmd.String("http"), err)
	}
	if a := cmd.String("admin-http"); withAdmin && a != "" {
		if l.admin, err = net.Listen("tcp", a); err != nil {
			l.public.Close()
			return nil, api.ListenError("--admin-http "+a, err)
		}
	}
	return l, nil
}

// Close closes the listeners that serving has not closed already (a
// command that failed before serving).
func (l *listeners) Close() error {
	var errs []error
	for _, ln := range []net.Listener{l.public, l.admin} {
		if ln != nil {
			if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// serveAPI serves the API on the --http listener and, when --admin-http is
// set, /metrics and /healthz on its own, until ctx is done.
func serveAPI(ctx context.Context, lns *listeners, srv *api.Server) error {
	if lns.admin == nil {
		return srv.Serve(ctx, lns.public)
	}
	// Either listener failing stops the other: half an API is not served.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ctx, lns.public) }()
	go func() { errc <- srv.ServeAdmin(ctx, lns.admin) }()
	err := <-errc
	cancel()
	return errors.Join(err, <-errc)
}

// group runs goroutines and collects the first error; it cancels the rest
// through stop. Every goroutine a command starts is in a group and waited
// for.
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
	stop context.CancelFunc
}

func (g *group) Go(name string, f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			g.once.Do(func() {
				g.err = fmt.Errorf("%s: %w", name, err)
				g.stop()
			})
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

// progress prints every domain's progress lines every `every` (never when
// 0), each with the events its consumer stored when there is one.
func progress(ctx context.Context, every time.Duration, doms []opened, cons map[string]*consumer.Consumer, log *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, o := range doms {
			if o.parts.Progress == nil {
				continue
			}
			for _, attrs := range o.parts.Progress(ctx) {
				if c := cons[o.d.Name()]; c != nil {
					attrs = append(attrs, "stored", c.Processed())
				}
				log.Info("progress", append([]any{"domain", o.d.Name()}, attrs...)...)
			}
		}
	}
}

func networkNames(doms []opened) []string {
	var out []string
	for _, o := range doms {
		for _, n := range o.parts.Networks {
			out = append(out, o.d.Name()+"/"+n)
		}
	}
	return out
}
