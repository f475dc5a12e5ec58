package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/store"
)

// The commands of a fleet: sentries on many machines publishing to an
// external NATS, consumers sharing durable consumers, API servers over
// PostgreSQL. See docs/operations.md.

func sentryCommand(ds registry) *cli.Command {
	var sub []*cli.Command
	for _, d := range ds {
		sub = append(sub, &cli.Command{
			Name:  d.Name(),
			Usage: d.Usage(),
			Description: "Publishes " + d.Name() + ".<network>.* events to the external NATS JetStream given by --nats-url.\n" +
				"For everything in one process, use `valtrack run`.",
			Flags:  concat(busFlags(), sentryFlags(), []cli.Flag{progressFlag(10 * time.Second)}, d.Flags(domain.RoleSentry)),
			Action: func(ctx context.Context, cmd *cli.Command) error { return sentryAction(ctx, cmd, d) },
		})
	}
	return &cli.Command{
		Name:     "sentry",
		Usage:    "run one domain's sentries, publishing to --nats-url",
		Commands: sub,
	}
}

func sentryAction(ctx context.Context, cmd *cli.Command, d domain.Domain) error {
	if cmd.String("nats-url") == "" {
		return errors.New("valtrack sentry publishes to an external NATS JetStream: give --nats-url nats://host:4222 (or VALTRACK_NATS_URL). To run sentry, bus, consumer and API in one process, use `valtrack run`")
	}
	if err := domain.CheckFlags(cmd, domain.RoleSentry, []domain.Domain{d}); err != nil {
		return err
	}
	if err := checkBusFlags(cmd); err != nil {
		return err
	}
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := openProc(work, cmd, false, []string{d.Name()})
	if err != nil {
		return err
	}
	defer p.st.close()
	log, st, lns, reg, b := p.log, p.st, p.lns, p.reg, p.bus
	pub := b.NewPublisher(log.With("component", "publisher"))
	defer releasePublisher(pub)
	doms, err := openDomains(work, []domain.Domain{d}, domain.Env{
		Role: domain.RoleSentry, Cmd: cmd, DataDir: cmd.String("data-dir"), Log: log, Registerer: reg,
		SentryID: sentryID(cmd), SentryLocation: cmd.String("sentry-location"),
	}, pub, st, nil)
	if err != nil {
		return err
	}
	g := &group{stop: cancel}
	g.Go("metrics", func() error {
		return serveMetrics(work, lns.public, reg, health(nil, b, doms, nil), api.DefaultHealthInterval, log)
	})
	for _, s := range doms[0].parts.Sentries {
		g.Go("sentry "+s.Network(), func() error { return s.Run(work) })
	}
	g.Go("progress", func() error { progress(work, cmd.Duration("progress-every"), doms, nil, log); return nil })
	err = g.Wait()
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancelFlush()
	if ferr := pub.Close(flushCtx); ferr != nil {
		log.Error("events still unpublished at shutdown", "pending", pub.Pending(), "err", ferr)
	}
	return err
}

func consumerCommand(ds registry) *cli.Command {
	return &cli.Command{
		Name:  "consumer",
		Usage: "write every domain's events from --nats-url into the archive and the state store, and run the analyzers",
		Description: "The consumer of a fleet: it reads each domain's stream from the external NATS JetStream given by\n" +
			"--nats-url (made there by that domain's `valtrack sentry`; it waits for streams that do not exist yet),\n" +
			"writes the Parquet archive under --data-dir and the state store (--db), and runs the analyzers.\n" +
			"Consumers given the same --durable share the work. /metrics and /healthz are served on --http.\n" +
			"For everything in one process, use `valtrack run`.\n\n" +
			"   valtrack consumer --nats-url nats://nats:4222 --db postgres://valtrack:…@db/valtrack --data-dir /srv/valtrack\n" +
			"   valtrack consumer --nats-url nats://nats:4222 --db postgres://… --data-dir /srv/valtrack-b --analyzers=false",
		Flags: concat(busFlags(), consumerFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "analyzers", Value: true, Usage: "also run the analyzers (run them in one consumer of a fleet)", Sources: env("analyzers")},
			progressFlag(10 * time.Second),
		}, domainFlags(ds, domain.RoleConsumer)),
		Action: func(ctx context.Context, cmd *cli.Command) error { return consumerAction(ctx, cmd, ds) },
	}
}

func consumerAction(ctx context.Context, cmd *cli.Command, ds registry) error {
	if cmd.String("nats-url") == "" {
		return errors.New("valtrack consumer reads from an external NATS JetStream: give --nats-url nats://host:4222 (or VALTRACK_NATS_URL). To run everything in one process, use `valtrack run`")
	}
	if err := domain.CheckFlags(cmd, domain.RoleConsumer, ds); err != nil {
		return err
	}
	if err := checkBusFlags(cmd); err != nil {
		return err
	}
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	// No stream is made here: each domain's sentries make theirs, and the
	// consumer of a domain waits for it (consumer.Config.WaitForStream).
	p, err := openProc(work, cmd, false, nil)
	if err != nil {
		return err
	}
	defer p.st.close()
	log, st, lns, reg, b := p.log, p.st, p.lns, p.reg, p.bus
	sto, err := openStorage(work, cmd, ds, log, st)
	if err != nil {
		return err
	}
	// Every domain is opened (each one's stream is consumed); Default, as
	// for run, only when no domain was chosen, so that a consumer given
	// --cosmos alone does not take up the first domain's default network.
	_, dflt := selected(ds, cmd)
	doms, err := openDomains(work, ds, domain.Env{
		Role: domain.RoleConsumer, Cmd: cmd, Default: dflt, DataDir: cmd.String("data-dir"), Log: log, Registerer: reg,
		DB: sto.db, Archive: sto.arch, Geo: sto.geo,
	}, nil, st, nil)
	if err != nil {
		return err
	}
	cons, err := consumers(cmd, b, sto, doms, reg, log, true)
	if err != nil {
		return err
	}
	var as []analyze.Analyzer
	if cmd.Bool("analyzers") {
		as = allAnalyzers(doms)
	}
	if err := analyze.Validate(as); err != nil {
		return err
	}
	g := &group{stop: cancel}
	g.Go("metrics", func() error {
		return serveMetrics(work, lns.public, reg, health(sto.db, b, doms, cons), api.DefaultHealthInterval, log)
	})
	for name, c := range cons {
		g.Go("consumer "+name, func() error { return c.Run(work) })
	}
	if len(as) > 0 {
		g.Go("analyzers", func() error {
			return analyze.Run(work, as, analyze.Options{Registerer: reg, Log: log.With("component", "analyze")})
		})
	}
	g.Go("progress", func() error { consumerProgress(work, cmd.Duration("progress-every"), cons, log); return nil })
	names := make([]string, 0, len(as))
	for _, a := range as {
		names = append(names, a.Name)
	}
	log.Info("consumer running", "networks", strings.Join(networkNames(doms), ","), "analyzers", strings.Join(names, ","), "bus", b.ClientURL())
	return g.Wait()
}

// consumerProgress prints what each domain's consumer stored and its rate.
func consumerProgress(ctx context.Context, every time.Duration, cons map[string]*consumer.Consumer, log *slog.Logger) {
	if every <= 0 {
		return
	}
	last := map[string]uint64{}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for name, c := range cons {
			n := c.Processed()
			log.Info("progress", "domain", name, "stored", n, "rate_per_s", float64(n-last[name])/every.Seconds())
			last[name] = n
		}
	}
}

func serveCommand(ds registry) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the API over the state store",
		Description: "An API server of a fleet: it serves the read-only HTTP API, the OpenAPI document and the web page\n" +
			"on --http over the state store the consumers write (--db), applying the migrations at start. Run as many\n" +
			"as the load needs; /metrics and /healthz go to --admin-http when it is given. See docs/operations.md.\n\n" +
			"   valtrack serve --db postgres://valtrack:…@db/valtrack --api-keys /etc/valtrack/keys --trust-proxy\n" +
			"   valtrack serve --db postgres://valtrack:…@db/valtrack --http :8080 --admin-http 127.0.0.1:9090",
		Flags: concat(apiFlags(), domainFlags(ds, domain.RoleServe)),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if err := domain.CheckFlags(cmd, domain.RoleServe, ds); err != nil {
				return err
			}
			if err := checkAPIFlags(cmd); err != nil {
				return err
			}
			log, err := logger(cmd)
			if err != nil {
				return err
			}
			st := &stack{log: log}
			defer st.close()
			lns, err := listen(cmd, true)
			if err != nil {
				return err
			}
			st.push("listeners", lns.Close)
			db, err := openDB(ctx, cmd, ds, log)
			if err != nil {
				return err
			}
			st.push("database", db.Close)
			reg := newRegistry()
			doms, err := openDomains(ctx, ds, domain.Env{
				Role: domain.RoleServe, Cmd: cmd, DataDir: cmd.String("data-dir"), Log: log, Registerer: reg, DB: db,
			}, nil, st, nil)
			if err != nil {
				return err
			}
			srv, err := newAPI(cmd, db, nil, ds, doms, nil, reg, log)
			if err != nil {
				return err
			}
			log.Info("serving the API", "http", cmd.String("http"))
			return serveAPI(ctx, lns, srv)
		},
	}
}

func dbCommand(ds registry) *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "state store migrations (every domain's)",
		Commands: []*cli.Command{
			{
				Name:  "migrate",
				Usage: "apply every embedded migration not yet applied",
				Action: withDB(ds, true, func(ctx context.Context, cmd *cli.Command, db *store.DB) error {
					if err := db.Migrate(ctx); err != nil {
						return err
					}
					where := store.RedactDSN(cmd.String("db"))
					if where == "" {
						where = "SQLite in " + cmd.String("data-dir")
					}
					fmt.Println("migrations applied:", where)
					return nil
				}),
			},
			{
				Name:  "status",
				Usage: "list the embedded migrations of every domain and whether each is applied",
				Action: withDB(ds, false, func(ctx context.Context, cmd *cli.Command, db *store.DB) error {
					ms, err := db.MigrationStatus(ctx)
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "DOMAIN\tVERSION\tNAME\tAPPLIED\tAT\tNOTE")
					newer := 0
					for _, m := range ms {
						at, note := "", ""
						if m.Applied {
							at = m.AppliedAt.UTC().Format(time.RFC3339)
						}
						if m.Unknown {
							note = "unknown to this binary (applied by a newer valtrack)"
							newer++
						}
						fmt.Fprintf(w, "%s\t%d\t%s\t%v\t%s\t%s\n", m.Domain, m.Version, m.Name, m.Applied, at, note)
					}
					if err := w.Flush(); err != nil {
						return err
					}
					if newer > 0 {
						fmt.Fprintf(os.Stderr, "valtrack: %d migration(s) above are unknown to this binary: a newer valtrack migrated this database; run that one (this binary refuses to write to a domain with unknown migrations)\n", newer)
					}
					return nil
				}),
			},
		},
	}
}

// withDB opens the database without migrating it, for the db commands;
// unless create, a SQLite database that does not exist is refused rather
// than created.
func withDB(ds registry, create bool, f func(context.Context, *cli.Command, *store.DB) error) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		log, err := logger(cmd)
		if err != nil {
			return err
		}
		var db *store.DB
		if create {
			db, err = openDB(ctx, cmd, ds, log, store.WithoutMigrate())
		} else {
			db, err = store.Open(ctx, cmd.String("db"), cmd.String("data-dir"), log.With("component", "store"),
				store.WithMigrations(ds.migrations()...), store.WithoutMigrate(), store.WithExisting())
		}
		if err != nil {
			return err
		}
		defer db.Close()
		return f(ctx, cmd, db)
	}
}

// serveMetrics serves /metrics and /healthz on ln, which it closes, for the
// parts of a fleet that have no API of their own, until ctx is done.
func serveMetrics(ctx context.Context, ln net.Listener, reg *prometheus.Registry, healthy func(context.Context) error, every time.Duration, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", api.HealthHandler(healthy, every, version, log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	log.Info("serving metrics", "http", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics listener %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-errc // ErrServerClosed: Serve has returned
	return nil
}
