package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/domain"
)

func runCommand(ds registry) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "everything in one process: embedded bus, sentries, consumers, analyzers and API",
		Description: "The main job. With no --nats-url and no --db it needs nothing installed: the bus, the\n" +
			"state (SQLite) and the Parquet archive live in --data-dir. The domains whose networks are\n" +
			"given run (with none given: " + ds[0].Name() + "'s default network).\n\n" +
			"   valtrack run --devnet                 start every domain's local devnet too and watch them\n" +
			"   valtrack run --eth /tmp/dn            a devnet started with `valtrack devnet ethereum --dir /tmp/dn`\n" +
			"   valtrack run --eth mainnet --geoip-city GeoLite2-City.mmdb --geoip-asn GeoLite2-ASN.mmdb",
		Flags:  concat(busFlags(), sentryFlags(), consumerFlags(), apiFlags(), []cli.Flag{progressFlag(5 * time.Second), devnetFlag()}, domainFlags(ds, domain.RoleRun)),
		Action: func(ctx context.Context, cmd *cli.Command) error { return runAction(ctx, cmd, ds) },
	}
}

// devnetFlag is the platform's, not a domain's: one --devnet starts the
// devnet of every domain that has one (each domain's Selected and Open read
// it), so that no domain owns a flag another one needs.
func devnetFlag() cli.Flag {
	return &cli.BoolFlag{Name: "devnet", Usage: "also start in this process the local devnet of every domain that has one (Ethereum, Cosmos, SSV; Polkadot when Node.js is installed) and observe them", Sources: env("devnet")}
}

func runAction(ctx context.Context, cmd *cli.Command, ds registry) (err error) {
	// Every domain is checked, selected or not: a flag of a domain that
	// nothing selected (--ssv-contract without --ssv) would be ignored.
	if err := domain.CheckFlags(cmd, domain.RoleRun, ds); err != nil {
		return err
	}
	if err := checkBusFlags(cmd); err != nil {
		return err
	}
	if err := checkAPIFlags(cmd); err != nil {
		return err
	}
	run, dflt := selected(ds, cmd)
	dataDir := cmd.String("data-dir")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create --data-dir %s: %w; check the path and its permissions", dataDir, err)
	}
	// ctx ends at Ctrl-C; work ends when ctx does or a part fails.
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	p, err := openProc(work, cmd, true, run.names())
	if err != nil {
		return err
	}
	defer p.st.close()
	log, st, lns, reg, b := p.log, p.st, p.lns, p.reg, p.bus
	sto, err := openStorage(work, cmd, ds, log, st)
	if err != nil {
		return err
	}
	pub := b.NewPublisher(log.With("component", "publisher"))
	defer releasePublisher(pub)
	// Each domain's sentries start as soon as it is open, while a slower
	// devnet still starts: they publish to the durable stream, which the
	// consumers read from its start once every domain is open. Deferred
	// after releasePublisher and the stack, this stops and waits for them
	// on every return before the publisher is released and the domains
	// are closed (a start that fails after openDomains).
	g := &group{stop: cancel}
	sr := newSentryRunner(work, g)
	defer sr.stop()
	doms, err := openDomains(work, run, domain.Env{
		Role: domain.RoleRun, Cmd: cmd, Default: dflt, DataDir: dataDir, Log: log, Registerer: reg,
		DB: sto.db, Archive: sto.arch, Geo: sto.geo, SentryID: sentryID(cmd), SentryLocation: cmd.String("sentry-location"),
	}, pub, st, sr.hook())
	if err != nil {
		// A sentry that failed while the others opened cancelled the start;
		// its error is the cause, not the interruption it caused. The
		// hook has stopped the sentries, so this wait is short.
		if gerr := g.Wait(); gerr != nil && errors.Is(err, context.Canceled) {
			return gerr
		}
		return err
	}
	cons, err := consumers(cmd, b, sto, doms, reg, log, false)
	if err != nil {
		return err
	}
	as := allAnalyzers(doms)
	if err := analyze.Validate(as); err != nil {
		return err
	}
	srv, err := newAPI(cmd, sto.db, b, ds, doms, cons, reg, log)
	if err != nil {
		return err
	}

	for name, c := range cons {
		g.Go("consumer "+name, func() error { return c.Run(work) })
	}
	g.Go("analyzers", func() error {
		return analyze.Run(work, as, analyze.Options{Registerer: reg, Log: log.With("component", "analyze")})
	})
	g.Go("api", func() error { return serveAPI(work, lns, srv) })
	g.Go("progress", func() error { progress(work, cmd.Duration("progress-every"), doms, cons, log); return nil })
	log.Info("valtrack running", "networks", strings.Join(networkNames(doms), ","), "api", cmd.String("http"), "data_dir", dataDir, "bus", b.ClientURL())

	<-work.Done()
	// Sentries stop first and their publisher flushes, so every event they
	// hold reaches the stream before the process exits; the consumers pick
	// up whatever they have not acknowledged on the next start.
	log.Info("shutting down: stopping sentries and flushing their events")
	sr.stop()
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancelFlush()
	if err := pub.Close(flushCtx); err != nil {
		log.Error("events still unpublished at shutdown", "pending", pub.Pending(), "err", err)
	}
	cancel()
	err = g.Wait()
	log.Info("stopped")
	return err
}

// releasePublisher closes pub on every return: a start that fails after
// it was made must not leave its goroutine running. After the shutdown's
// own flush it is a no-op (Close is idempotent).
func releasePublisher(pub *bus.Publisher) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = pub.Close(ctx)
}

// sentryRunner runs the domains' sentries in g, each domain's as soon as
// it is open (its hook). Their context is not work's: at shutdown they
// stop first, so that what they hold is flushed while the rest still runs.
// A sentry's error stops g, which cancels work and with it the domains
// still opening.
type sentryRunner struct {
	ctx    context.Context
	cancel context.CancelFunc
	g      *group
	wg     sync.WaitGroup
}

func newSentryRunner(work context.Context, g *group) *sentryRunner {
	ctx, cancel := context.WithCancel(context.WithoutCancel(work))
	return &sentryRunner{ctx: ctx, cancel: cancel, g: g}
}

// start runs o's sentries. It is not called after stop (openConcurrently
// calls ready only while the start goes on, unready after the last one).
func (r *sentryRunner) start(o opened) {
	for _, s := range o.parts.Sentries {
		r.wg.Add(1)
		r.g.Go("sentry "+o.d.Name()+"/"+s.Network(), func() error { defer r.wg.Done(); return s.Run(r.ctx) })
	}
}

// stop stops every sentry started and waits until each one's Run has
// returned; calling it again does nothing more.
func (r *sentryRunner) stop() {
	r.cancel()
	r.wg.Wait()
}

func (r *sentryRunner) hook() *readyHook { return &readyHook{ready: r.start, unready: r.stop} }
