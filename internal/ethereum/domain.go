// Package ethereum is the Ethereum domain as the platform sees it
// (internal/domain): its flags, its networks, and the parts it builds for
// each role from its subpackages — the sentry (discv5 crawl, libp2p
// handshakes, gossip observation), the sink and state tables, the archive
// tables, the analyzers (validator estimate, geolocation, pruning), the
// HTTP routes and the devnet.
package ethereum

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/ethereum/analyzers"
	"github.com/valtrack/valtrack/internal/ethereum/devnet"
	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/httpapi"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
	"github.com/valtrack/valtrack/internal/ethereum/sink"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
)

// Domain is the Ethereum domain. Env names the environment variable of a
// flag (VALTRACK_<FLAG>) and Logger builds the logger of a command, as the
// platform does for its own.
type Domain struct {
	Env    domain.Sources
	Logger func(*cli.Command) (*slog.Logger, error)
}

var (
	_ domain.Domain  = Domain{}
	_ domain.Devnet  = Domain{}
	_ domain.Starter = Domain{}
)

// Name is "ethereum".
func (Domain) Name() string { return events.Domain }

// Usage describes the sentry.
func (Domain) Usage() string {
	return "crawl an Ethereum consensus network and publish what its nodes say"
}

// Migrations are the ethereum_* tables'.
func (Domain) Migrations() store.Migrations { return state.Migrations() }

// Starting is what Open starts that takes a while: the devnet of
// `valtrack run --devnet` (domain.Starter).
func (Domain) Starting(cmd *cli.Command, r domain.Role) string {
	if domain.RunsDevnet(cmd, r) {
		return fmt.Sprintf("the ethereum devnet (%d in-process beacon nodes)", cmd.Int("devnet-nodes"))
	}
	return ""
}

// Selected: --eth or --devnet (the platform's flag of `valtrack run`) given.
func (Domain) Selected(cmd *cli.Command) bool {
	return len(cmd.StringSlice("eth")) > 0 || (domain.HasFlag(cmd, "devnet") && cmd.Bool("devnet"))
}

// SelectWith is --eth and its values.
func (Domain) SelectWith() string {
	return "--eth NETWORK (" + strings.Join(network.Builtin(), ", ") + ", or a devnet directory)"
}

// Flags of the Ethereum domain, by role.
func (d Domain) Flags(r domain.Role) []cli.Flag {
	env := d.Env.Of
	nets := []cli.Flag{
		&cli.StringSliceFlag{Name: "eth", Usage: "Ethereum `NETWORK`: " + strings.Join(network.Builtin(), ", ") + ", or a directory with config.yaml, bootstrap_nodes.txt and genesis.json (as valtrack devnet ethereum writes); repeatable", Sources: env("eth")},
	}
	sentryFlags := []cli.Flag{
		&cli.StringFlag{Name: "p2p-ip", Value: "0.0.0.0", Usage: "IPv4 address the Ethereum sentry's discv5 and libp2p listen on", Sources: env("p2p-ip"),
			// Checked here, at start: the sentry would refuse it only after
			// the bus is open and the migrations ran, naming no flag.
			Validator: func(v string) error {
				if ip := net.ParseIP(v); ip == nil || ip.To4() == nil {
					return fmt.Errorf("--p2p-ip %q: give an IPv4 address of this machine, e.g. 0.0.0.0 (every interface) or 127.0.0.1", v)
				}
				return nil
			}},
		&cli.IntFlag{Name: "p2p-port", Value: 9000, Usage: "UDP port (discv5), TCP port (libp2p) and UDP port+1 (QUIC); 0 picks free ports", Sources: env("p2p-port"),
			Validator: func(v int) error { return portRange("--p2p-port", v) }},
		&cli.IntFlag{Name: "dial-workers", Value: 32, Usage: "concurrent outbound dials", Sources: env("dial-workers"),
			Validator: func(v int) error { return domain.InRange("--dial-workers", v, 1, 4096) }},
	}
	analyzerFlags := []cli.Flag{
		&cli.StringFlag{Name: "eth-beacon-api", Usage: "beacon node REST API URL, used for the network's active validator count (else the network's known figure)", Sources: env("eth-beacon-api"),
			Validator: checkBeaconURL},
		&cli.DurationFlag{Name: "estimate-window", Value: 6 * time.Hour, Usage: "observation window of the validator estimate", Sources: env("estimate-window"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--estimate-window", v, time.Minute) }},
		&cli.DurationFlag{Name: "analyze-every", Value: 30 * time.Second, Usage: "how often estimates and geolocation are refreshed", Sources: env("analyze-every"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--analyze-every", v, 100*time.Millisecond) }},
		&cli.DurationFlag{Name: "history-retention", Value: 7 * 24 * time.Hour, Usage: "how long observation history is kept in the state store (the Parquet archive keeps everything), at least --estimate-window; negative: forever", Sources: env("history-retention"),
			Validator: func(v time.Duration) error {
				if v == 0 {
					return fmt.Errorf("--history-retention 0: give how long to keep history (e.g. 168h, at least --estimate-window) or a negative duration to keep it forever")
				}
				return nil
			}},
	}
	devnetFlags := []cli.Flag{
		&cli.IntFlag{Name: "devnet-nodes", Value: 50, Usage: "nodes of the --devnet", Sources: env("devnet-nodes"),
			Validator: func(v int) error { return domain.InRange("--devnet-nodes", v, 1, 5000) }},
	}
	switch r {
	case domain.RoleRun:
		return domain.Concat(nets, sentryFlags, analyzerFlags, devnetFlags)
	case domain.RoleSentry:
		return domain.Concat(nets, sentryFlags)
	case domain.RoleConsumer:
		return domain.Concat(nets, analyzerFlags)
	default:
		return nets
	}
}

func portRange(flag string, v int) error {
	if v < 0 || v > 65534 {
		return fmt.Errorf("%s %d: use a port in 1..65534 (it also takes the next one for QUIC), or 0 for free ports", flag, v)
	}
	return nil
}

// instance is the domain opened for one role.
type instance struct {
	env      domain.Env
	nets     []*network.Network
	devnet   *devnet.Devnet
	sentries []*sentry.Sentry
	state    state.Store
	watch    *healthWatch
	// listenIP and port are where the sentries listen: --p2p-ip and
	// --p2p-port, or loopback and free ports beside the devnet. Kept here
	// rather than set on the command: the platform opens the domains
	// concurrently, and the parsed flags are shared by all of them.
	listenIP string
	port     int
}

// Open builds the parts of a role.
func (d Domain) Open(ctx context.Context, env domain.Env) (_ *domain.Parts, err error) {
	in := &instance{env: env, watch: newHealthWatch(time.Now())}
	defer func() {
		if err != nil {
			in.close()
		}
	}()
	cmd := env.Cmd
	if err := checkRetention(cmd, env.Role); err != nil {
		return nil, err
	}
	in.listenIP, in.port = cmd.String("p2p-ip"), int(cmd.Int("p2p-port"))
	if domain.RunsDevnet(cmd, env.Role) {
		if err := in.startDevnet(ctx); err != nil {
			return nil, err
		}
	}
	// mainnet is the default of `valtrack sentry ethereum`, and of run and
	// consumer only when their command line chose no domain at all
	// (Env.Default): a consumer given only --cosmos is no Ethereum one.
	def := ""
	if env.Default || env.Role == domain.RoleSentry {
		def = "mainnet"
	}
	if in.devnet != nil {
		def = ""
	}
	more, err := loadNetworks(cmd.StringSlice("eth"), def)
	if err != nil {
		return nil, err
	}
	in.nets = append(in.nets, more...)
	if err := checkUnique(in.nets); err != nil {
		return nil, err
	}
	parts := &domain.Parts{Close: in.close, Progress: in.progress, Health: in.health}
	for _, n := range in.nets {
		parts.Networks = append(parts.Networks, n.Name)
	}
	if env.DB != nil {
		in.state = state.New(env.DB)
		names := parts.Networks
		a := httpapi.New(in.state, func() []string { return names })
		parts.API = &a
	}
	switch env.Role {
	case domain.RoleRun, domain.RoleSentry:
		if env.Publisher == nil {
			return nil, errors.New("ethereum: the sentries need a publisher")
		}
		for i, n := range in.nets {
			s, err := in.newSentry(n, i)
			if err != nil {
				return nil, fmt.Errorf("sentry %s: %w", n.Name, err)
			}
			in.sentries = append(in.sentries, s)
			parts.Sentries = append(parts.Sentries, namedSentry{s, n.Name})
		}
	}
	switch env.Role {
	case domain.RoleRun, domain.RoleConsumer:
		if len(in.nets) == 0 {
			// A consumer given other domains' networks only: it still
			// stores the stream's events (every domain's stream is
			// consumed), but has no network to estimate, and leaves
			// locating and pruning to a consumer given --eth.
			sk, err := sink.New(sink.Config{State: in.state, Archive: env.Archive, Log: env.Log.With("component", "ethereum-sink")})
			if err != nil {
				return nil, err
			}
			parts.Sink = sk
			break
		}
		params := estimateParams(ctx, cmd.String("eth-beacon-api"), in.nets, env)
		sk, err := sink.New(sink.Config{State: in.state, Archive: env.Archive, Params: params, Log: env.Log.With("component", "ethereum-sink")})
		if err != nil {
			return nil, err
		}
		parts.Sink = sk
		as, err := analyzers.New(analyzers.Config{State: in.state, Geo: env.Geo, Networks: params,
			Window: cmd.Duration("estimate-window"), Every: cmd.Duration("analyze-every"),
			Retention: cmd.Duration("history-retention"), Log: env.Log.With("component", "analyze")})
		if err != nil {
			return nil, err
		}
		parts.Analyzers = in.watch.watch(as)
	}
	return parts, nil
}

// namedSentry adapts the sentry to domain.Sentry.
type namedSentry struct {
	*sentry.Sentry
	network string
}

func (s namedSentry) Network() string { return s.network }

func (in *instance) startDevnet(ctx context.Context) error {
	cmd := in.env.Cmd
	dir := filepath.Join(in.env.DataDir, "devnet")
	dn, err := devnet.Start(ctx, devnet.Options{Nodes: int(cmd.Int("devnet-nodes")), Dir: dir, Log: in.env.Log.With("component", "devnet")})
	if err != nil {
		return fmt.Errorf("start devnet: %w", err)
	}
	in.devnet = dn
	n, err := network.Load(dir)
	if err != nil {
		return fmt.Errorf("load the devnet's network: %w", err)
	}
	in.nets = append(in.nets, n)
	if !cmd.IsSet("p2p-port") && !cmd.IsSet("p2p-ip") {
		// The devnet is on loopback: keep the sentry there too, on free ports.
		in.listenIP, in.port = "127.0.0.1", 0
	}
	return nil
}

// close releases what Open opened: the sentries (those that ran closed
// themselves and make this a no-op; those that never ran, because a later
// step of the start failed, still hold their sockets) and the devnet.
func (in *instance) close() error {
	var errs []error
	for _, s := range in.sentries {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sentry: %w", err))
		}
	}
	in.sentries = nil
	if in.devnet != nil {
		if err := in.devnet.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop devnet: %w", err))
		}
		in.devnet = nil
	}
	return errors.Join(errs...)
}

// progress is one line per network: the sentry's counters (when this role
// runs sentries) and what the state knows (when it has the database).
func (in *instance) progress(ctx context.Context) [][]any {
	var lines [][]any
	for i, n := range in.nets {
		attrs := []any{"network", n.Name}
		if i < len(in.sentries) {
			ss := in.sentries[i].Stats()
			failed := 0
			for _, v := range ss.Failed {
				failed += v
			}
			attrs = append(attrs, "discovered", ss.Discovered, "handshaken", ss.Handshaken, "connected", ss.Connected, "failed", failed, "published", ss.Published)
		}
		if in.state != nil {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			stats, err := in.state.Stats(qctx, n.Name, time.Now().Add(-24*time.Hour))
			cancel()
			if err == nil {
				attrs = append(attrs, "nodes", stats.Nodes, "validators_estimated", stats.EstimatedValidators)
			}
		}
		lines = append(lines, attrs)
	}
	return lines
}

// loadNetworks loads every --eth network (def when none is given).
func loadNetworks(names []string, def string) ([]*network.Network, error) {
	if len(names) == 0 && def != "" {
		names = []string{def}
	}
	var out []*network.Network
	for _, n := range names {
		net, err := network.Load(n)
		if err != nil {
			return nil, fmt.Errorf("--eth %s: %w", n, err)
		}
		out = append(out, net)
	}
	return out, nil
}

func checkUnique(nets []*network.Network) error {
	seen := map[string]bool{}
	for _, n := range nets {
		if seen[n.Name] {
			return fmt.Errorf("--eth: network %q given twice", n.Name)
		}
		if n.Name == "dlq" {
			return errors.New(`--eth: a network cannot be named "dlq" (the dead-letter subjects use it)`)
		}
		seen[n.Name] = true
	}
	return nil
}

// newSentry builds the sentry of one network. Each network gets its own
// directory in the data dir (peerstore, node key) and, when several run in
// one process, its own ports (base port + 10·i).
func (in *instance) newSentry(n *network.Network, i int) (*sentry.Sentry, error) {
	cmd := in.env.Cmd
	port := in.port
	if port != 0 {
		port += 10 * i
	}
	quic := 0
	if port != 0 {
		quic = port + 1
	}
	var r prometheus.Registerer = in.env.Registerer
	if r != nil {
		r = prometheus.WrapRegistererWith(prometheus.Labels{"network": n.Name}, r)
	}
	return sentry.New(sentry.Config{
		Network:        n,
		DataDir:        filepath.Join(in.env.DataDir, "sentry", n.Name),
		ListenIP:       in.listenIP,
		DiscPort:       port,
		TCPPort:        port,
		QUICPort:       quic,
		DialWorkers:    int(cmd.Int("dial-workers")),
		SentryID:       in.env.SentryID,
		SentryLocation: in.env.SentryLocation,
		Registerer:     r,
		Log:            in.env.Log,
	}, in.env.Publisher)
}

// estimateParams returns the estimator parameters of the networks, with the
// active validator count from the beacon API when given.
func estimateParams(ctx context.Context, beaconAPI string, nets []*network.Network, env domain.Env) map[string]estimate.Params {
	out := map[string]estimate.Params{}
	for _, n := range nets {
		p := estimate.ParamsFor(n)
		if beaconAPI != "" {
			if v, err := activeValidators(ctx, beaconAPI, n.GenesisValidatorsRoot); err != nil {
				env.Log.Warn("could not read the active validator count from the beacon API; using the network's known figure", "network", n.Name, "err", err)
			} else {
				p.ActiveValidators = v
			}
		}
		if p.ActiveValidators == 0 {
			env.Log.Warn("active validator count unknown: estimates assume a small network; pass --eth-beacon-api", "network", n.Name)
		}
		out[n.Name] = p
	}
	return out
}
