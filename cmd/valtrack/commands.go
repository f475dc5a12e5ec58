package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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
	"github.com/valtrack/valtrack/internal/ethereum/devnet"
	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
	"github.com/valtrack/valtrack/internal/geo"
	"github.com/valtrack/valtrack/internal/store"
)

func busFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "bus-max-age", Value: 7 * 24 * time.Hour, Usage: "how long the stream keeps events", Sources: env("bus-max-age")},
		&cli.Int64Flag{Name: "bus-max-bytes", Value: 10 << 30, Usage: "stream size limit in bytes (oldest events go first)", Sources: env("bus-max-bytes")},
		&cli.DurationFlag{Name: "bus-duplicates", Value: 2 * time.Minute, Usage: "window in which a re-published event (same Nats-Msg-Id) is dropped", Sources: env("bus-duplicates")},
		&cli.IntFlag{Name: "bus-replicas", Value: bus.DefaultReplicas, Usage: "copies of each stream kept by an external NATS JetStream cluster (1..5; 1 with the embedded bus); give every process the same value, it is applied at start", Sources: env("bus-replicas")},
		&cli.StringFlag{Name: "bus-listen", Usage: "embedded bus: also accept NATS clients on this address (e.g. 127.0.0.1:4222)", Sources: env("bus-listen")},
	}
}

func consumerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "durable", Value: "valtrack-ethereum", Usage: "JetStream durable consumer name; consumers with the same name share the work", Sources: env("durable")},
		&cli.IntFlag{Name: "batch-size", Value: consumer.DefaultBatchSize, Usage: "events written per batch (a partial batch is written after 1s)", Sources: env("batch-size")},
		&cli.BoolFlag{Name: "archive", Value: true, Usage: "write the Parquet archive under --data-dir/parquet", Sources: env("archive")},
		&cli.StringFlag{Name: "geoip-city", Usage: "MaxMind GeoLite2-City.mmdb for country/region/city/coordinates", Sources: env("geoip-city")},
		&cli.StringFlag{Name: "geoip-asn", Usage: "MaxMind GeoLite2-ASN.mmdb for ASN, AS organization and hosting class", Sources: env("geoip-asn")},
		&cli.DurationFlag{Name: "estimate-window", Value: 6 * time.Hour, Usage: "observation window of the validator estimate", Sources: env("estimate-window")},
		&cli.DurationFlag{Name: "analyze-every", Value: 30 * time.Second, Usage: "how often estimates and geolocation are refreshed", Sources: env("analyze-every")},
		&cli.DurationFlag{Name: "history-retention", Value: 7 * 24 * time.Hour, Usage: "how long observation history is kept in the state store (the Parquet archive keeps everything)", Sources: env("history-retention")},
	}
}

func apiFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "api-keys", Usage: "file of API keys (one per line, or name:key); re-read when it changes", Sources: env("api-keys")},
		&cli.FloatFlag{Name: "rate-per-ip", Value: 20, Usage: "requests per second per client IP without a key (0: unlimited)", Sources: env("rate-per-ip")},
		&cli.FloatFlag{Name: "rate-per-key", Value: 200, Usage: "requests per second per API key (0: unlimited)", Sources: env("rate-per-key")},
		&cli.BoolFlag{Name: "trust-proxy", Usage: "take the client IP from X-Forwarded-For (only behind a reverse proxy)", Sources: env("trust-proxy")},
	}
}

func concat(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func openBus(ctx context.Context, cmd *cli.Command, reg prometheus.Registerer, log *slog.Logger) (*bus.Bus, error) {
	cfg := bus.Config{
		URL:        cmd.String("nats-url"),
		DataDir:    cmd.String("data-dir"),
		ListenAddr: cmd.String("bus-listen"),
		MaxAge:     cmd.Duration("bus-max-age"),
		MaxBytes:   cmd.Int64("bus-max-bytes"),
		Duplicates: cmd.Duration("bus-duplicates"),
		Replicas:   int(cmd.Int("bus-replicas")),
		Name:       "valtrack-" + cmd.Name,
		Registerer: reg,
	}
	b, err := bus.Open(ctx, cfg, log.With("component", "bus"))
	if err != nil {
		return nil, err
	}
	if err := b.EnsureStream(ctx, events.Domain); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func openStore(ctx context.Context, cmd *cli.Command, log *slog.Logger, opts ...store.Option) (store.Store, error) {
	if err := os.MkdirAll(cmd.String("data-dir"), 0o755); err != nil {
		return nil, fmt.Errorf("create --data-dir: %w", err)
	}
	return store.Open(ctx, cmd.String("db"), cmd.String("data-dir"), log.With("component", "store"), opts...)
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// group runs goroutines and collects the first error; cancel stops the rest.
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
	stop context.CancelFunc
}

func (g *group) Go(name string, f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			g.once.Do(func() {
				g.err = fmt.Errorf("%s: %w", name, err)
				g.stop()
			})
		}
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "everything in one process: embedded bus, sentries, consumer, analyzers and API",
		Description: "The main job. With no --nats-url and no --db it needs nothing installed: the bus, the\n" +
			"state (SQLite) and the Parquet archive live in --data-dir.\n\n" +
			"   valtrack run --devnet                 start a local Ethereum devnet too and watch it\n" +
			"   valtrack run --eth /tmp/dn            a devnet started with `valtrack devnet ethereum --dir /tmp/dn`\n" +
			"   valtrack run --eth mainnet --geoip-city GeoLite2-City.mmdb --geoip-asn GeoLite2-ASN.mmdb",
		Flags: concat(ethFlags(), busFlags(), consumerFlags(), apiFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "devnet", Usage: "also start a local Ethereum devnet in this process and observe it", Sources: env("devnet")},
			&cli.IntFlag{Name: "devnet-nodes", Value: 50, Usage: "nodes of the --devnet", Sources: env("devnet-nodes")},
			&cli.DurationFlag{Name: "progress-every", Value: 5 * time.Second, Usage: "how often progress lines are printed", Sources: env("progress-every")},
		}),
		Action: runAction,
	}
}

func runAction(ctx context.Context, cmd *cli.Command) error {
	log, err := logger(cmd)
	if err != nil {
		return err
	}
	dataDir := cmd.String("data-dir")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create --data-dir %s: %w", dataDir, err)
	}
	def := "mainnet"
	var dn *devnet.Devnet
	var nets []*network.Network
	if cmd.Bool("devnet") {
		def = ""
		dir := filepath.Join(dataDir, "devnet")
		dn, err = devnet.Start(ctx, devnet.Options{Nodes: int(cmd.Int("devnet-nodes")), Dir: dir, Log: log.With("component", "devnet")})
		if err != nil {
			return fmt.Errorf("start devnet: %w", err)
		}
		defer dn.Close()
		n, err := network.Load(dir)
		if err != nil {
			return fmt.Errorf("load the devnet's network: %w", err)
		}
		nets = append(nets, n)
		log.Info("devnet started", "nodes", cmd.Int("devnet-nodes"), "dir", dir)
	}
	more, err := loadNetworks(cmd, def)
	if err != nil {
		return err
	}
	nets = append(nets, more...)
	if cmd.Bool("devnet") && cmd.Int("p2p-port") == 9000 && !cmd.IsSet("p2p-port") {
		// The devnet is on loopback: keep the sentry there too, on free ports.
		_ = cmd.Set("p2p-ip", "127.0.0.1")
		_ = cmd.Set("p2p-port", "0")
	}

	reg := newRegistry()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b, err := openBus(ctx, cmd, reg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	st, err := openStore(ctx, cmd, log)
	if err != nil {
		return err
	}
	defer st.Close()

	pub := b.NewPublisher(log.With("component", "publisher"))
	var sentries []*sentry.Sentry
	for i, n := range nets {
		s, err := newSentry(cmd, n, i, pub, reg, log)
		if err != nil {
			return fmt.Errorf("sentry %s: %w", n.Name, err)
		}
		sentries = append(sentries, s)
	}
	cons, arch, geoR, params, err := newConsumer(ctx, cmd, b, st, nets, reg, log)
	if err != nil {
		return err
	}
	if arch != nil {
		defer arch.Close()
	}
	defer geoR.Close()
	srv, err := newAPI(cmd, st, nets, reg, log)
	if err != nil {
		return err
	}

	// Sentries stop first and their publisher flushes, so every event they
	// hold reaches the stream before the process exits; the consumer picks
	// up whatever it has not acknowledged on the next start.
	sentryCtx, stopSentries := context.WithCancel(context.Background())
	defer stopSentries()
	g := &group{stop: cancel}
	var sentryWG sync.WaitGroup
	for _, s := range sentries {
		s := s
		sentryWG.Add(1)
		g.Go("sentry", func() error { defer sentryWG.Done(); return s.Run(sentryCtx) })
	}
	g.Go("consumer", func() error { return cons.Run(ctx) })
	g.Go("analyzers", func() error {
		return analyze.Run(ctx, analyze.Config{Store: st, Geo: geoR, Networks: params, Window: cmd.Duration("estimate-window"), Every: cmd.Duration("analyze-every"), Retention: cmd.Duration("history-retention"), Log: log.With("component", "analyze")})
	})
	g.Go("api", func() error { return srv.ListenAndServe(ctx, cmd.String("http")) })
	log.Info("valtrack running", "networks", networkNames(nets), "api", cmd.String("http"), "data_dir", dataDir, "bus", b.ClientURL())
	go progress(ctx, cmd.Duration("progress-every"), sentries, cons, st, nets, log)

	<-ctx.Done()
	log.Info("shutting down: stopping sentries and flushing their events")
	stopSentries()
	sentryWG.Wait()
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancelFlush()
	if err := pub.Close(flushCtx); err != nil {
		log.Error("events still unpublished at shutdown", "pending", pub.Pending(), "err", err)
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

func networkNames(nets []*network.Network) string {
	var names []string
	for _, n := range nets {
		names = append(names, n.Name)
	}
	return strings.Join(names, ",")
}

func newConsumer(ctx context.Context, cmd *cli.Command, b *bus.Bus, st store.Store, nets []*network.Network, reg prometheus.Registerer, log *slog.Logger) (*consumer.Consumer, *archive.Writer, *geo.Resolver, map[string]estimate.Params, error) {
	var arch *archive.Writer
	if cmd.Bool("archive") {
		a, err := archive.Open(archive.Options{Root: cmd.String("data-dir"), Log: log.With("component", "archive")})
		if err != nil {
			return nil, nil, nil, nil, err
		}
		arch = a
	}
	g, err := geo.Open(geo.Options{CityDB: cmd.String("geoip-city"), ASNDB: cmd.String("geoip-asn")})
	if err != nil {
		if arch != nil {
			arch.Close()
		}
		return nil, nil, nil, nil, err
	}
	params := estimateParams(ctx, cmd, nets, log)
	c, err := consumer.New(consumer.Config{
		Bus: b, Store: st, Archive: arch, Durable: cmd.String("durable"), BatchSize: int(cmd.Int("batch-size")),
		Params: params, Registerer: reg, Log: log,
	})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return c, arch, g, params, nil
}

func newAPI(cmd *cli.Command, st store.Store, nets []*network.Network, reg *prometheus.Registry, log *slog.Logger) (*api.Server, error) {
	names := make([]string, 0, len(nets))
	for _, n := range nets {
		names = append(names, n.Name)
	}
	return api.New(api.Options{
		Store: st, Log: log, KeysFile: cmd.String("api-keys"),
		RatePerIP: cmd.Float("rate-per-ip"), RatePerKey: cmd.Float("rate-per-key"),
		Registry: reg, Networks: func() []string { return names }, Version: version, TrustProxy: cmd.Bool("trust-proxy"),
	})
}

// progress prints what the process has done so far, every `every`.
func progress(ctx context.Context, every time.Duration, sentries []*sentry.Sentry, c *consumer.Consumer, st store.Store, nets []*network.Network, log *slog.Logger) {
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
		for i, s := range sentries {
			ss := s.Stats()
			attrs := []any{"network", nets[i].Name, "discovered", ss.Discovered, "handshaken", ss.Handshaken, "connected", ss.Connected, "failed", failedTotal(ss), "published", ss.Published}
			if c != nil {
				attrs = append(attrs, "stored", c.Processed())
			}
			if stats, err := st.Stats(ctx, nets[i].Name, time.Now().Add(-24*time.Hour)); err == nil {
				attrs = append(attrs, "nodes", stats.Nodes, "validators_estimated", stats.EstimatedValidators)
			}
			log.Info("progress", attrs...)
		}
	}
}

func failedTotal(s sentry.Stats) int {
	n := 0
	for _, v := range s.Failed {
		n += v
	}
	return n
}
