// Package ssv is the SSV domain as the platform sees it (internal/domain):
// the SSVNetwork contract's events synced from execution-layer RPC into a
// registry of operators, validators, clusters and owners, served over the
// SSV exporter's WebSocket protocol and REST. Subpackages: events (the bus
// schema), abi (the contract's events), shares (the node's registration
// checks, BLS), sync (the sentry), state and sink (the registry tables),
// httpapi (REST, /query, /stream, page), emitter and devnet.
package ssv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/beacon"
	"github.com/valtrack/valtrack/internal/ssv/devnet"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/httpapi"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/shares"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
	"github.com/valtrack/valtrack/internal/store"
)

// Domain is the SSV domain.
type Domain struct {
	Env domain.Sources
}

var (
	_ domain.Domain  = Domain{}
	_ domain.Devnet  = Domain{}
	_ domain.Starter = Domain{}
)

// Name is "ssv".
func (Domain) Name() string { return events.Domain }

// Usage describes the sentry.
func (Domain) Usage() string {
	return "sync the SSVNetwork contract's events (operators, validators, clusters) from execution-layer RPC"
}

// Migrations are the ssv_* tables'.
func (Domain) Migrations() store.Migrations { return state.Migrations() }

// DevnetCommand is `valtrack devnet ssv`.
func (Domain) DevnetCommand() *cli.Command { return DevnetCommand() }

// Starting is what Open starts that takes a while: the devnet of
// `valtrack run --devnet` (domain.Starter).
func (Domain) Starting(cmd *cli.Command, r domain.Role) string {
	if domain.RunsDevnet(cmd, r) {
		return "the ssv devnet (go-ethereum dev node and the SSVNetwork contract)"
	}
	return ""
}

// Selected: --ssv, --ssv-dir or --devnet given.
func (Domain) Selected(cmd *cli.Command) bool {
	return len(cmd.StringSlice("ssv")) > 0 || cmd.String("ssv-dir") != "" || (domain.HasFlag(cmd, "devnet") && cmd.Bool("devnet"))
}

// SelectWith is --ssv with its RPC, or --ssv-dir.
func (Domain) SelectWith() string {
	return "--ssv NETWORK --eth-rpc URL (or --ssv-dir DIR as valtrack devnet ssv writes)"
}

// builtin are the SSV node's network configurations: the SSVNetwork
// proxy and the block it was deployed at (ssvlabs/ssv networkconfig;
// the addresses and blocks as issue 8 lists them).
// ChainID is the network's execution chain id (the networks' specs), which
// every endpoint must report: a mainnet contract looked up on a hoodi RPC
// would otherwise sync nothing and report healthy.
var builtin = map[string]netConfig{
	"mainnet": {Contract: common.HexToAddress("0xDD9BC35aE942eF0cFa76930954a156B3fF30a4E1"), FromBlock: 17507487, ChainID: 1},
	"holesky": {Contract: common.HexToAddress("0x38A4794cCEd47d3baf7370CcC43B560D3a1beEFA"), FromBlock: 181612, ChainID: 17000},
	"hoodi":   {Contract: common.HexToAddress("0x58410Bef803ECd7E63B23664C586A6DB72DAf59c"), FromBlock: 1065, ChainID: 560048},
}

type netConfig struct {
	Name      string
	Contract  common.Address
	FromBlock uint64
	ChainID   uint64 // 0: not known
	RPCs      []string
}

// Flags of the SSV domain, by role.
func (d Domain) Flags(r domain.Role) []cli.Flag {
	env := d.Env.Of
	nets := []cli.Flag{
		&cli.StringSliceFlag{Name: "ssv", Usage: "an SSV network to sync: mainnet, holesky, hoodi, or a name of your own with --ssv-contract and --ssv-from-block; repeatable", Sources: env("ssv"),
			Validator: func(v []string) error {
				for _, n := range v {
					if err := events.CheckNetwork(n); err != nil {
						return fmt.Errorf("--ssv: %w", err)
					}
				}
				return nil
			}},
		&cli.StringFlag{Name: "ssv-dir", Usage: "a devnet directory with the ssv.json that valtrack devnet ssv writes (network, RPC, contract, start block)", Sources: env("ssv-dir")},
	}
	sentryFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "eth-rpc", Usage: "execution-layer JSON-RPC URLs (http(s):// or ws(s)://) of the --ssv network, all on the same chain: URL[,URL…], or NETWORK=URL[,URL…] with several networks", Sources: env("eth-rpc")},
		&cli.StringFlag{Name: "ssv-contract", Usage: "SSVNetwork contract `ADDRESS` of the one --ssv network given (required for a network that is not built in; overrides a built-in one's)", Sources: env("ssv-contract"),
			Validator: func(v string) error {
				if !common.IsHexAddress(v) {
					return fmt.Errorf("--ssv-contract %q: give the contract's 20-byte hex address, e.g. 0xDD9BC35aE942eF0cFa76930954a156B3fF30a4E1", v)
				}
				return nil
			}},
		&cli.Uint64Flag{Name: "ssv-from-block", Usage: "block to sync the --ssv-contract from (its deployment block; required with --ssv-contract)", Sources: env("ssv-from-block")},
		&cli.Uint64Flag{Name: "ssv-replay-from", Usage: "publish the one --ssv network's blocks again from `BLOCK` (its cursor moved back): fills a block the consumer holds because an event never arrived (GET …/sync shows \"held\"); what is applied already is ignored. Give it for one start only", Sources: env("ssv-replay-from")},
		&cli.BoolFlag{Name: "ssv-bloom-check", Value: true, Usage: "with a single --eth-rpc, verify the history blocks an eth_getLogs answer holds no log of against their blooms, reading those whose bloom may hold the contract by hash (a node that lost a block's logs is caught; on mainnet, with nearly full blooms, up to two calls per block). --ssv-bloom-check=false trusts the range answers; a second --eth-rpc compares answers instead", Sources: env("ssv-bloom-check")},
		&cli.Uint64Flag{Name: "ssv-follow-distance", Value: 8, Usage: "blocks behind the head that are treated as final (the SSV node's default 8)", Sources: env("ssv-follow-distance"),
			Validator: func(v uint64) error {
				// 0 would process the head itself, which the next block may
				// reorg; the sentry also reads 0 as "the default".
				if v == 0 || v > 1024 {
					return fmt.Errorf("--ssv-follow-distance %d: use 1..1024 (default 8, the SSV node's)", v)
				}
				return nil
			}},
	}
	beaconFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "ssv-beacon", Usage: "a beacon node's REST API (http(s)://host:5052) of the --ssv network, for the validators' beacon-chain index, status, balance and epochs: URL, or NETWORK=URL with several networks", Sources: env("ssv-beacon"),
			Validator: func(vs []string) error {
				for _, v := range vs {
					u := strings.TrimSpace(v)
					if i := strings.Index(u, "="); i > 0 && !strings.Contains(u[:i], "/") {
						u = u[i+1:]
					}
					if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
						return errors.New("--ssv-beacon: a beacon node's REST API is http(s)://host:port (URL, or NETWORK=URL)")
					}
				}
				return nil
			}},
		&cli.DurationFlag{Name: "ssv-beacon-every", Value: 10 * time.Minute, Usage: "how often the validators' beacon-chain states are read again", Sources: env("ssv-beacon-every"),
			Validator: func(d time.Duration) error {
				if d < 10*time.Second {
					return fmt.Errorf("--ssv-beacon-every %s: at least 10s", d)
				}
				return nil
			}},
	}
	switch r {
	case domain.RoleRun:
		return domain.Concat(nets, sentryFlags, beaconFlags)
	case domain.RoleSentry:
		return domain.Concat(nets, sentryFlags)
	case domain.RoleConsumer:
		return domain.Concat(nets, beaconFlags)
	default:
		return nets
	}
}

// parseBeacons reads --ssv-beacon: one beacon node URL per network, for
// the only network or as NETWORK=URL.
func parseBeacons(values []string, nets []netConfig) (map[string]string, error) {
	single := ""
	if len(nets) == 1 {
		single = nets[0].Name
	}
	vals, names, err := domain.NamedValues("ssv-beacon", values, single, nil)
	if err != nil {
		if single == "" && len(nets) > 1 {
			return nil, errors.New("--ssv-beacon: with several SSV networks, give NETWORK=URL")
		}
		return nil, err
	}
	out := map[string]string{}
	for _, name := range names {
		if !slices.ContainsFunc(nets, func(n netConfig) bool { return n.Name == name }) {
			return nil, fmt.Errorf("--ssv-beacon %s: no SSV network of that name", name)
		}
		if len(vals[name]) != 1 {
			return nil, fmt.Errorf("--ssv-beacon %s: give one beacon node URL, not %d", name, len(vals[name]))
		}
		out[name] = vals[name][0]
	}
	return out, nil
}

// readDevnet reads the ssv.json of a devnet directory.
func readDevnet(dir string) (netConfig, uint64, error) {
	info, err := devnet.ReadInfo(dir)
	if err != nil {
		return netConfig{}, 0, fmt.Errorf("--ssv-dir %s: %w; start one with `valtrack devnet ssv --dir %s`", dir, err, dir)
	}
	if err := events.CheckNetwork(info.Network); err != nil {
		return netConfig{}, 0, fmt.Errorf("--ssv-dir %s: %w", dir, err)
	}
	if !common.IsHexAddress(info.Contract) || info.RPCHTTP == "" {
		return netConfig{}, 0, fmt.Errorf("--ssv-dir %s: its ssv.json lacks a contract address or an RPC URL", dir)
	}
	n := netConfig{Name: info.Network, Contract: common.HexToAddress(info.Contract), FromBlock: info.FromBlock, RPCs: []string{info.RPCHTTP}}
	if info.RPCWS != "" {
		// WebSocket first: new heads are pushed, not polled.
		n.RPCs = []string{info.RPCWS, info.RPCHTTP}
	}
	return n, info.ChainID, nil
}

// networks reads --ssv, --ssv-dir, --eth-rpc, --ssv-contract and
// --ssv-from-block into the networks to sync (sentries) or serve.
func (in *instance) networks(needRPC bool) error {
	cmd := in.env.Cmd
	if dir := cmd.String("ssv-dir"); dir != "" {
		n, chainID, err := readDevnet(dir)
		if err != nil {
			return err
		}
		in.nets = append(in.nets, n)
		in.chainIDs[n.Name] = chainID
	}
	if len(cmd.StringSlice("ssv")) == 0 && len(cmd.StringSlice("eth-rpc")) > 0 {
		return errors.New("--eth-rpc is the execution-layer RPC of an --ssv network, and no --ssv network is given: add --ssv NAME (mainnet, holesky, hoodi), or drop --eth-rpc (a devnet's --ssv-dir brings its own RPC)")
	}
	rpcs, err := parseRPCs(cmd.StringSlice("eth-rpc"), cmd.StringSlice("ssv"))
	if err != nil {
		return err
	}
	names := cmd.StringSlice("ssv")
	if cmd.IsSet("ssv-contract") || cmd.IsSet("ssv-from-block") {
		// One address for several networks would move every one of them
		// to it, built-in ones included.
		if len(names) != 1 {
			return fmt.Errorf("--ssv-contract and --ssv-from-block name the contract of one network, and %d --ssv networks are given: run one process per custom network", len(names))
		}
		if !cmd.IsSet("ssv-contract") || !cmd.IsSet("ssv-from-block") {
			return errors.New("--ssv-contract and --ssv-from-block go together: give the contract's address and the block it was deployed in (from block 0 the sync would read the whole chain)")
		}
	}
	if cmd.IsSet("ssv-replay-from") && len(names)+len(in.nets) != 1 {
		// One block number means nothing on several chains.
		return fmt.Errorf("--ssv-replay-from names a block of one network, and %d are given: run the replay with one --ssv network (or --ssv-dir)", len(names)+len(in.nets))
	}
	for _, name := range names {
		n, ok := builtin[name]
		if !ok {
			if !cmd.IsSet("ssv-contract") {
				return fmt.Errorf("--ssv %s: not a built-in network (%s); give its --ssv-contract ADDRESS and --ssv-from-block N", name, strings.Join(builtinNames(), ", "))
			}
			n = netConfig{Contract: common.HexToAddress(cmd.String("ssv-contract")), FromBlock: cmd.Uint64("ssv-from-block")}
		} else if cmd.IsSet("ssv-contract") {
			n.Contract = common.HexToAddress(cmd.String("ssv-contract"))
			n.FromBlock = cmd.Uint64("ssv-from-block")
		}
		n.Name = name
		n.RPCs = rpcs[name]
		if n.ChainID != 0 {
			in.chainIDs[name] = n.ChainID
		}
		if needRPC && len(n.RPCs) == 0 {
			return fmt.Errorf("--ssv %s: give its execution-layer RPC: --eth-rpc URL[,URL…]", name)
		}
		for _, o := range in.nets {
			if o.Name == name {
				return fmt.Errorf("--ssv %s: given twice", name)
			}
		}
		in.nets = append(in.nets, n)
	}
	return nil
}

func builtinNames() []string { return []string{"mainnet", "holesky", "hoodi"} }

// parseRPCs reads --eth-rpc: URL[,URL…] for the only --ssv network, or
// NETWORK=URL[,URL…] (domain.NamedValues).
func parseRPCs(values, nets []string) (map[string][]string, error) {
	single := ""
	if len(nets) == 1 {
		single = nets[0]
	}
	out, names, err := domain.NamedValues("eth-rpc", values, single, nil)
	if err != nil {
		if single == "" && len(nets) > 1 {
			return nil, errors.New("--eth-rpc: with several --ssv networks, give NETWORK=URL[,URL…]")
		}
		return nil, err
	}
	for _, name := range names {
		found := false
		for _, n := range nets {
			found = found || n == name
		}
		if !found {
			return nil, fmt.Errorf("--eth-rpc %s: no --ssv network of that name", name)
		}
		for _, u := range out[name] {
			if !rpcScheme(u) {
				return nil, fmt.Errorf("--eth-rpc %s: %s; an RPC URL starts with http://, https://, ws:// or wss://", name,
					domain.BadURL(u, "http://", "https://", "ws://", "wss://"))
			}
		}
	}
	return out, nil
}

func rpcScheme(u string) bool {
	for _, p := range []string{"http://", "https://", "ws://", "wss://"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

type instance struct {
	env      domain.Env
	nets     []netConfig
	chainIDs map[string]uint64
	devnet   *devnet.Devnet
	sentries []*ssvsync.Sentry
	beacons  map[string]*beacon.Refresher // by network, where --ssv-beacon gives one
}

// Open builds the parts of a role.
func (d Domain) Open(ctx context.Context, env domain.Env) (_ *domain.Parts, err error) {
	in := &instance{env: env, chainIDs: map[string]uint64{}}
	defer func() {
		if err != nil {
			_ = in.close()
		}
	}()
	sentries := env.Role == domain.RoleRun || env.Role == domain.RoleSentry
	if domain.RunsDevnet(env.Cmd, env.Role) {
		dn, err := devnet.Start(ctx, devnet.Options{Dir: filepath.Join(env.DataDir, "devnet-ssv"), Log: env.Log.With("component", "devnet")})
		if err != nil {
			return nil, fmt.Errorf("start the ssv devnet: %w", err)
		}
		in.devnet = dn
		n, chainID, err := readDevnet(dn.Dir())
		if err != nil {
			return nil, err
		}
		in.nets = append(in.nets, n)
		in.chainIDs[n.Name] = chainID
	}
	if err := in.networks(sentries); err != nil {
		return nil, err
	}
	if env.Role == domain.RoleSentry && len(in.nets) == 0 {
		return nil, errors.New("give the network to sync: --ssv mainnet --eth-rpc URL (or --ssv-dir D for a devnet)")
	}
	parts := &domain.Parts{Close: in.close, Progress: in.progress, Health: in.health}
	for _, n := range in.nets {
		parts.Networks = append(parts.Networks, n.Name)
	}
	if sentries {
		if env.Publisher == nil {
			return nil, errors.New("ssv: the sentries need a publisher")
		}
		for _, n := range in.nets {
			var replay *uint64
			if env.Cmd.IsSet("ssv-replay-from") {
				r := env.Cmd.Uint64("ssv-replay-from")
				replay = &r
			}
			s, err := ssvsync.New(ssvsync.Config{Network: n.Name, Contract: n.Contract, ChainID: in.chainIDs[n.Name], FromBlock: n.FromBlock,
				RPCs: n.RPCs, FollowDistance: env.Cmd.Uint64("ssv-follow-distance"), Decoder: abi.Decode, Publisher: env.PublisherFor(n.Name),
				SentryID: env.SentryID, DataDir: filepath.Join(env.DataDir, "ssv"), ReplayFrom: replay, NoBloomCheck: !env.Cmd.Bool("ssv-bloom-check"), Log: env.Log, Registerer: env.Registerer})
			if err != nil {
				return nil, err // names the sentry and its network already
			}
			in.sentries = append(in.sentries, s)
			parts.Sentries = append(parts.Sentries, s)
		}
	}
	if env.Role == domain.RoleRun || env.Role == domain.RoleConsumer {
		sk, err := sink.New(sink.Config{DB: env.DB, Check: shares.Check, Log: env.Log.With("component", "sink")})
		if err != nil {
			return nil, err
		}
		parts.Sink = sk
	}
	if env.DB != nil && (env.Role == domain.RoleRun || env.Role == domain.RoleConsumer) {
		beacons, err := parseBeacons(env.Cmd.StringSlice("ssv-beacon"), in.nets)
		if err != nil {
			return nil, err
		}
		for _, n := range in.nets {
			u, ok := beacons[n.Name]
			if !ok {
				continue
			}
			c, err := beacon.New(u, 30*time.Second)
			if err != nil {
				return nil, fmt.Errorf("--ssv-beacon %s: %w", n.Name, err)
			}
			r := &beacon.Refresher{Network: n.Name, Client: c, Store: state.New(env.DB), Log: env.Log}
			if in.beacons == nil {
				in.beacons = map[string]*beacon.Refresher{}
			}
			in.beacons[n.Name] = r
			parts.Analyzers = append(parts.Analyzers, analyze.Analyzer{Name: "ssv/beacon/" + n.Name, Every: env.Cmd.Duration("ssv-beacon-every"), Run: r.Run})
		}
	}
	if env.DB != nil {
		names := parts.Networks
		a := httpapi.New(state.New(env.DB), func() []string { return names }, httpapi.Options{Pending: in.pending})
		parts.API = &a
	}
	return parts, nil
}

// pending is what /sync shows of a network of this process before its
// first sync status: the configured contract and, where the sentry runs
// here, its endpoints with their last errors.
func (in *instance) pending(network string) *httpapi.Pending {
	for i, n := range in.nets {
		if n.Name != network {
			continue
		}
		p := &httpapi.Pending{Contract: n.Contract.Hex()}
		if i < len(in.sentries) {
			for _, e := range in.sentries[i].Endpoints() {
				p.Endpoints = append(p.Endpoints, httpapi.PendingEndpoint{Name: e.Name, URL: e.URL, Error: e.Error})
			}
		}
		return p
	}
	return nil
}

// progress is one line per network: the sentry's position (where it runs)
// and what the registry holds (where the database is). Before the sentry
// has read a head, its figures (the start block, head 0) say nothing: the
// line says it waits for the RPC, with the endpoints' last error.
func (in *instance) progress(ctx context.Context) [][]any {
	var lines [][]any
	for i, n := range in.nets {
		attrs := []any{"network", n.Name}
		if i < len(in.sentries) && !in.sentries[i].Stats().HaveHead {
			attrs = append(attrs, "state", "waiting for eth RPC")
			var urls []string
			lastErr := ""
			for _, e := range in.sentries[i].Endpoints() {
				urls = append(urls, e.URL)
				if lastErr == "" && e.Error != "" {
					lastErr = e.URL + ": " + e.Error
				}
			}
			attrs = append(attrs, "rpc", strings.Join(urls, ","))
			if lastErr != "" {
				attrs = append(attrs, "last_error", lastErr)
			}
		} else if i < len(in.sentries) {
			st := in.sentries[i].Stats()
			attrs = append(attrs, "mode", st.Mode, "head", st.Head, "processed", st.Processed, "logs", st.Logs)
			if st.Skipped > 0 {
				attrs = append(attrs, "skipped", st.Skipped)
			}
			if st.Reorgs > 0 {
				attrs = append(attrs, "reorgs", st.Reorgs)
			}
		}
		if in.env.DB != nil {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			c, err := state.New(in.env.DB).Counts(qctx, n.Name)
			cancel()
			if err == nil {
				attrs = append(attrs, "operators", c.Operators, "validators", c.Validators, "invalid", c.Invalid)
			}
		}
		if r := in.beacons[n.Name]; r != nil {
			if asked, known := r.Counts(); asked > 0 {
				attrs = append(attrs, "on_beacon_chain", known)
			}
		}
		lines = append(lines, attrs)
	}
	return lines
}

// health fails while a sentry of this process is more than 5 blocks or
// 300 s behind its chain (sync.Sentry.Healthy), and — where the registry
// is (run, consumer, serve) — while the registry of a network is stale
// (registryHealth): a consumer or an API whose sentry runs elsewhere
// would otherwise answer healthy over a registry that stopped moving.
func (in *instance) health(ctx context.Context) error {
	var errs []error
	for _, s := range in.sentries {
		if err := s.Healthy(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Network(), err))
		}
	}
	if in.env.DB != nil && in.env.Role != domain.RoleSentry {
		st := state.New(in.env.DB)
		for _, n := range in.nets {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			sy, err := st.Sync(qctx, n.Name)
			cancel()
			if err == nil {
				err = registryHealth(sy, time.Now())
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// registryHealth judges a network's registry by what its sentry last
// reported and what was last applied. The sentry publishes a status at
// least every sync.DefaultStatusEvery, also while its endpoints fail, so
// a status older than sync.MaxLagTime means the sentry is stopped or the
// consumer is not applying events; a status whose endpoints all fail,
// with a last applied block older than sync.MaxLagTime, means the chain
// has moved on unseen.
func registryHealth(sy *registry.Sync, now time.Time) error {
	if sy == nil || sy.StatusAt.IsZero() {
		return errors.New("the registry has no sync status yet: check that the network's sentry runs (valtrack sentry ssv) and publishes to this bus")
	}
	if age := now.Sub(sy.StatusAt); age > ssvsync.MaxLagTime {
		return fmt.Errorf("the registry's last sync status is from %s, %s ago (a sentry sends one at least every %s): the sentry is stopped or this consumer does not apply its events; check both", sy.StatusAt.Format(time.RFC3339), age.Round(time.Second), ssvsync.DefaultStatusEvery)
	}
	if h := sy.Held; h != nil && h.Gap != nil {
		from := fmt.Sprint(h.Gap.From)
		if sy.LastBlockHash == "" {
			from = "the contract's start block" // nothing applied yet
		}
		return fmt.Errorf("the registry holds block %d (%s) since %s: a gap — blocks %s..%d were never received (their events and markers were lost on the way: bus stream limits, a message deleted from the stream, a sentry publishing from another cursor), and none of the %d held blocks is applied until they are; start the network's sentry once with --ssv-replay-from %[4]s to publish them again",
			h.Block, h.Hash, h.Since.Format(time.RFC3339), from, h.Gap.To, h.Blocks)
	}
	if h := sy.Held; h != nil {
		return fmt.Errorf("the registry holds block %d (%s) since %s: its marker announces %d events, %d arrived, and none of the %d held blocks is applied until they do; find the missing event among the network's dead letters (ssv.dlq.*) and replay it once its cause is fixed, or sync the network again from its start block",
			h.Block, h.Hash, h.Since.Format(time.RFC3339), h.Announced, h.Received, h.Blocks)
	}
	healthy := 0
	for _, e := range sy.Endpoints {
		if e.Healthy {
			healthy++
		}
	}
	if len(sy.Endpoints) > 0 && healthy == 0 && !sy.LastBlockTime.IsZero() {
		if age := now.Sub(sy.LastBlockTime); age > ssvsync.MaxLagTime {
			return fmt.Errorf("the sentry reports no healthy RPC endpoint and the last applied block %d is from %s, %s ago: check the endpoints (GET /api/v1/ssv/%s/sync shows their errors)", sy.LastBlock, sy.LastBlockTime.Format(time.RFC3339), age.Round(time.Second), sy.Network)
		}
	}
	return nil
}

func (in *instance) close() error {
	if in.devnet != nil {
		err := in.devnet.Close()
		in.devnet = nil
		if err != nil {
			return fmt.Errorf("stop the ssv devnet: %w", err)
		}
	}
	return nil
}
