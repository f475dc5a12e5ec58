package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/ethereum/network"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
)

// The commands of a fleet: sentries on many machines publishing to an
// external NATS, consumers sharing a durable consumer, API servers over
// PostgreSQL. See docs/operations.md.

func sentryCommand() *cli.Command {
	return &cli.Command{
		Name:  "sentry",
		Usage: "run one sentry, publishing to --nats-url",
		Commands: []*cli.Command{{
			Name:        "ethereum",
			Usage:       "crawl an Ethereum consensus network and publish what its nodes say",
			Description: "Publishes ethereum.<network>.* events to the external NATS JetStream given by --nats-url.\nFor everything in one process, use `valtrack run`.",
			Flags:       concat(ethFlags(), busFlags(), []cli.Flag{&cli.DurationFlag{Name: "progress-every", Value: 10 * time.Second, Usage: "how often progress lines are printed", Sources: env("progress-every")}}),
			Action:      sentryAction,
		}},
	}
}

func sentryAction(ctx context.Context, cmd *cli.Command) error {
	if cmd.String("nats-url") == "" {
		return errors.New("valtrack sentry publishes to an external NATS JetStream: give --nats-url nats://host:4222 (or VALTRACK_NATS_URL). To run sentry, bus, consumer and API in one process, use `valtrack run`")
	}
	f, err := openFleetPart(ctx, cmd)
	if err != nil {
		return err
	}
	defer f.close()
	log, nets, reg, b := f.log, f.nets, f.reg, f.bus
	pub := b.NewPublisher(log.With("component", "publisher"))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &group{stop: cancel}
	g.Go("metrics", func() error { return serveMetrics(runCtx, cmd.String("http"), reg, log) })
	var ss []*sentry.Sentry
	for i, n := range nets {
		s, err := newSentry(cmd, n, i, pub, reg, log)
		if err != nil {
			return fmt.Errorf("sentry %s: %w", n.Name, err)
		}
		ss = append(ss, s)
		g.Go("sentry "+n.Name, func() error { return s.Run(runCtx) })
		go s.Progress(runCtx, cmd.Duration("progress-every"), log.With("network", n.Name))
	}
	err = g.Wait()
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancelFlush()
	if ferr := pub.Close(flushCtx); ferr != nil {
		log.Error("events still unpublished at shutdown", "pending", pub.Pending(), "err", ferr)
	}
	return err
}

func consumerCommand() *cli.Command {
	return &cli.Command{
		Name:  "consumer",
		Usage: "write events from --nats-url into the archive and the state store, and run the analyzers",
		Flags: concat(ethFlags(), busFlags(), consumerFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "analyzers", Value: true, Usage: "also run the estimate and geolocation analyzers (run them in one consumer of a fleet)", Sources: env("analyzers")},
		}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.String("nats-url") == "" {
				return errors.New("valtrack consumer reads from an external NATS JetStream: give --nats-url nats://host:4222 (or VALTRACK_NATS_URL). To run everything in one process, use `valtrack run`")
			}
			f, err := openFleetPart(ctx, cmd)
			if err != nil {
				return err
			}
			defer f.close()
			log, nets, reg, b := f.log, f.nets, f.reg, f.bus
			db, err := openStore(ctx, cmd, log)
			if err != nil {
				return err
			}
			defer db.Close()
			st := state.New(db)
			c, arch, geoR, params, err := newConsumer(ctx, cmd, b, st, nets, reg, log)
			if err != nil {
				return err
			}
			if arch != nil {
				defer arch.Close()
			}
			defer geoR.Close()
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			g := &group{stop: cancel}
			g.Go("metrics", func() error { return serveMetrics(runCtx, cmd.String("http"), reg, log) })
			g.Go("consumer", func() error { return c.Run(runCtx) })
			if cmd.Bool("analyzers") {
				g.Go("analyzers", func() error {
					return analyze.Run(runCtx, analyze.Config{Store: st, Geo: geoR, Networks: params, Window: cmd.Duration("estimate-window"), Every: cmd.Duration("analyze-every"), Retention: cmd.Duration("history-retention"), Log: log.With("component", "analyze")})
				})
			}
			go func() {
				var last uint64
				t := time.NewTicker(10 * time.Second)
				defer t.Stop()
				for {
					select {
					case <-runCtx.Done():
						return
					case <-t.C:
						n := c.Processed()
						log.Info("progress", "stored", n, "rate_per_s", float64(n-last)/10)
						last = n
					}
				}
			}()
			return g.Wait()
		},
	}
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the API over the state store",
		Flags: concat(ethFlags(), apiFlags()),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			log, err := logger(cmd)
			if err != nil {
				return err
			}
			nets, err := loadNetworks(cmd, "")
			if err != nil {
				return err
			}
			db, err := openStore(ctx, cmd, log)
			if err != nil {
				return err
			}
			defer db.Close()
			st := state.New(db)
			srv, err := newAPI(cmd, db, st, nets, newRegistry(), log)
			if err != nil {
				return err
			}
			log.Info("serving the API", "http", cmd.String("http"))
			return serveAPI(ctx, cmd, srv)
		},
	}
}

func dbCommand() *cli.Command {
	return &cli.Command{
		Name:  "db",
		Usage: "state store migrations",
		Commands: []*cli.Command{
			{
				Name:  "migrate",
				Usage: "apply every embedded migration not yet applied",
				Action: withStore(func(ctx context.Context, cmd *cli.Command, st *store.DB) error {
					if err := st.Migrate(ctx); err != nil {
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
				Usage: "list the embedded migrations and whether each is applied",
				Action: withStore(func(ctx context.Context, cmd *cli.Command, st *store.DB) error {
					ms, err := st.MigrationStatus(ctx)
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "DOMAIN\tVERSION\tNAME\tAPPLIED\tAT")
					for _, m := range ms {
						at := ""
						if m.Applied {
							at = m.AppliedAt.UTC().Format(time.RFC3339)
						}
						fmt.Fprintf(w, "%s\t%d\t%s\t%v\t%s\n", m.Domain, m.Version, m.Name, m.Applied, at)
					}
					return w.Flush()
				}),
			},
		},
	}
}

// fleetPart is what a sentry or consumer of a fleet opens first.
type fleetPart struct {
	log  *slog.Logger
	nets []*network.Network
	reg  *prometheus.Registry
	bus  *bus.Bus
}

func openFleetPart(ctx context.Context, cmd *cli.Command) (*fleetPart, error) {
	log, err := logger(cmd)
	if err != nil {
		return nil, err
	}
	nets, err := loadNetworks(cmd, "mainnet")
	if err != nil {
		return nil, err
	}
	reg := newRegistry()
	b, err := openBus(ctx, cmd, reg, log)
	if err != nil {
		return nil, err
	}
	return &fleetPart{log: log, nets: nets, reg: reg, bus: b}, nil
}

func (f *fleetPart) close() { f.bus.Close() }

// serveMetrics serves /metrics and /healthz for the parts of a fleet that
// have no API of their own.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("serving metrics", "http", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics listener %s: %w", addr, err)
	}
	return nil
}

// withStore opens the state store without migrating it, for the db commands.
func withStore(f func(context.Context, *cli.Command, *store.DB) error) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		log, err := logger(cmd)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, cmd, log, store.WithoutMigrate())
		if err != nil {
			return err
		}
		defer st.Close()
		return f(ctx, cmd, st)
	}
}
