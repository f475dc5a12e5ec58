// Package cosmos is the Cosmos domain as the platform sees it
// (internal/domain): CometBFT chains watched over RPC, every vote of every
// validator, the missed-vote analysis, alerts, the API and the devnet. Its
// subpackages hold the parts: events (the bus schema), rpc (our own
// CometBFT client), sentry (subscriptions, health, merge, backfill, the
// validator indexer), sink and state (tables), analyzers (missed votes),
// alerts (rules and channels), httpapi (routes and page section), devnet.
package cosmos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/cosmos/alerts"
	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/devnet"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/httpapi"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/sentry"
	"github.com/valtrack/valtrack/internal/cosmos/sink"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/store"
)

// Domain is the Cosmos domain. Env names the environment variable of a
// flag (VALTRACK_<FLAG>), as the platform does for its own.
type Domain struct {
	Env domain.Sources
}

var (
	_ domain.Domain  = Domain{}
	_ domain.Devnet  = Domain{}
	_ domain.Starter = Domain{}
)

// Name is "cosmos".
func (Domain) Name() string { return events.Domain }

// Usage describes the sentry.
func (Domain) Usage() string {
	return "watch CometBFT chains: every vote of every validator, rounds, blocks, validator sets"
}

// Migrations are the cosmos_* tables'.
func (Domain) Migrations() store.Migrations { return state.Migrations() }

// DevnetCommand is `valtrack devnet cosmos`.
func (Domain) DevnetCommand() *cli.Command { return DevnetCommand() }

// Starting is what Open starts that takes a while: the devnet of
// `valtrack run --devnet` (domain.Starter).
func (Domain) Starting(cmd *cli.Command, r domain.Role) string {
	if domain.RunsDevnet(cmd, r) {
		return fmt.Sprintf("the cosmos devnet (%d CometBFT validators)", cmd.Int("devnet-cosmos-validators"))
	}
	return ""
}

// Selected: --cosmos or --devnet given.
func (Domain) Selected(cmd *cli.Command) bool {
	return len(cmd.StringSlice("cosmos")) > 0 || (domain.HasFlag(cmd, "devnet") && cmd.Bool("devnet"))
}

// SelectWith is --cosmos and its value.
func (Domain) SelectWith() string { return "--cosmos NAME=RPC[,RPC…]" }

// Flags of the Cosmos domain, by role.
func (d Domain) Flags(r domain.Role) []cli.Flag {
	env := d.Env.Of
	chains := []cli.Flag{
		&cli.StringSliceFlag{Name: "cosmos", Usage: "a CometBFT chain: NAME=RPC[,RPC…] (NAME is usually the chain id; several RPC URLs of one chain are watched together), or a DIR with the chain.json that valtrack devnet cosmos writes; repeatable", Sources: env("cosmos"),
			Validator: func(v []string) error { _, err := parseChains(v); return err }},
	}
	sentryFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "cosmos-chain-id", Usage: "NAME=ID: the chain id the endpoints of NAME must report (default: NAME); repeatable", Sources: env("cosmos-chain-id"),
			Validator: func(v []string) error { _, err := pairs("cosmos-chain-id", v, nil); return err }},
		&cli.StringSliceFlag{Name: "cosmos-lcd", Usage: "NAME=URL: the chain's REST (LCD) API, asked first for validator monikers and slashing parameters; without it (or while it is down) both come from the RPC's abci_query when the chain has x/staking and x/slashing; repeatable", Sources: env("cosmos-lcd"),
			Validator: checkLCDs},
		&cli.StringSliceFlag{Name: "cosmos-grpc", Usage: "NAME=HOST:PORT (plaintext, as cosmos-sdk serves :9090) or NAME=tls://HOST:PORT (TLS with the system's root CAs, as public endpoints serve :443): the chain's cosmos-sdk gRPC endpoint, asked for validator monikers and slashing parameters after the LCD and before the RPC's abci_query; a devnet DIR given to --cosmos names its own; repeatable", Sources: env("cosmos-grpc"),
			Validator: checkGRPCs},
	}
	analyzerFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "cosmos-slashing", Usage: "NAME=WINDOW:MIN: the chain's signed_blocks_window and min_signed_per_window (e.g. cosmoshub-4=10000:0.05; MIN 0: never jailed for downtime), over what its LCD or abci_query says; without any of them blocks and time to jail are reported unknown", Sources: env("cosmos-slashing"),
			Validator: checkSlashing},
		&cli.DurationFlag{Name: "cosmos-analyze-every", Value: time.Second, Usage: "how often the missed-vote analysis and the alert rules run", Sources: env("cosmos-analyze-every"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--cosmos-analyze-every", v, 100*time.Millisecond) }},
		&cli.DurationFlag{Name: "cosmos-late-votes", Value: analyzers.DefaultLateVotes, Usage: "how long after a height's analysis a vote of it stored late (a precommit after the next block, a slower endpoint) still corrects its misses", Sources: env("cosmos-late-votes"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--cosmos-late-votes", v, time.Second) }},
		&cli.StringFlag{Name: "alerts", Usage: "alert rules and channels (YAML, docs/cosmos-alerts.md); without it alerts are tracked and served by the API but sent nowhere", Sources: env("alerts"),
			Validator: func(path string) error {
				if path == "" {
					return nil
				}
				// Prefixed with the flag so that the usage error is this
				// message alone, not one pointing to --help: the file is
				// described in its own document, which the message names.
				if _, err := alerts.LoadConfig(path); err != nil {
					return fmt.Errorf("--alerts: %w", err)
				}
				return nil
			}},
		&cli.BoolFlag{Name: "alerts-test", Usage: "send a test alert on every channel of --alerts at start", Sources: env("alerts-test")},
	}
	devnetFlags := []cli.Flag{
		&cli.IntFlag{Name: "devnet-cosmos-validators", Value: 4, Usage: "validators of the Cosmos --devnet", Sources: env("devnet-cosmos-validators"),
			Validator: func(v int) error { return domain.InRange("--devnet-cosmos-validators", v, 1, 32) }},
	}
	switch r {
	case domain.RoleRun:
		return domain.Concat(chains, sentryFlags, analyzerFlags, devnetFlags)
	case domain.RoleSentry:
		return domain.Concat(chains, sentryFlags)
	case domain.RoleConsumer:
		return domain.Concat(chains, analyzerFlags)
	default:
		return chains
	}
}

// chain is one --cosmos chain.
type chain struct {
	Name      string
	Endpoints []string
	ChainID   string
	LCD       string
	GRPC      string // HOST:PORT or tls://HOST:PORT (rpc.ParseGRPCAddress)
	Window    int64
	MinSigned float64
}

// parseChains reads --cosmos values. The flag is a string slice, which
// splits on commas, so "a=U1,U2" arrives as "a=U1", "U2": a value without
// "=" continues the chain before it.
func parseChains(values []string) ([]*chain, error) {
	var out []*chain
	byName := map[string]*chain{}
	var last *chain
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if looksLikeURL(v) {
			// A URL continues the chain before it. It may hold "=" in its
			// query (?apikey=…), and a chain name has no ':' or '/', so it
			// is never NAME=….
			if last == nil {
				return nil, fmt.Errorf("--cosmos %s: give NAME=RPC[,RPC…] (e.g. cosmoshub-4=http://127.0.0.1:26657): a URL needs a chain name first", redact(v))
			}
			last.Endpoints = append(last.Endpoints, v)
			continue
		}
		name, rpc, ok := strings.Cut(v, "=")
		if !ok {
			if st, err := os.Stat(v); err == nil {
				c, err := chainFromDir(v, st.IsDir())
				if err != nil {
					return nil, err
				}
				if byName[c.Name] != nil {
					return nil, fmt.Errorf("--cosmos: chain %q given twice", c.Name)
				}
				byName[c.Name], last = c, c
				out = append(out, c)
				continue
			}
			return nil, fmt.Errorf("--cosmos %q: give NAME=RPC[,RPC…] (e.g. cosmoshub-4=http://127.0.0.1:26657) or a devnet DIR with chain.json", shown(v))
		}
		if err := events.CheckChain(name); err != nil {
			return nil, fmt.Errorf("--cosmos %s: %w", name, err)
		}
		if !looksLikeURL(rpc) {
			return nil, fmt.Errorf("--cosmos %s: %s (an http(s) RPC URL)", name, domain.BadURL(rpc, "http://", "https://"))
		}
		c := byName[name]
		if c == nil {
			c = &chain{Name: name, ChainID: name}
			byName[name] = c
			out = append(out, c)
		}
		c.Endpoints = append(c.Endpoints, rpc)
		last = c
	}
	return out, nil
}

func looksLikeURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// shown is a flag value as an error may print it: a value holding a URL
// (whose path or query may carry a key) only by scheme and host.
func shown(v string) string {
	if i := strings.Index(v, "://"); i >= 0 {
		start := strings.LastIndexAny(v[:i], "=,") + 1
		return v[:start] + redact(v[start:])
	}
	if !strings.ContainsAny(v, "?@#") {
		return v
	}
	// A host without a scheme may still carry a query or user info.
	if name, rest, ok := strings.Cut(v, "="); ok && !strings.ContainsAny(name, "?@#") {
		return name + "=" + redact(rest)
	}
	return redact(v)
}

// redact keeps the scheme and host of a URL: a path or query may hold an
// API key.
func redact(s string) string { return domain.ShowURL(s) }

func chainFromDir(path string, isDir bool) (*chain, error) {
	dir := path
	if !isDir {
		dir = filepath.Dir(path)
	}
	info, err := devnet.ReadChainInfo(dir)
	if err != nil {
		return nil, fmt.Errorf("--cosmos %s: %w", path, err)
	}
	// The devnet's gRPC listener names the validators the same way as
	// abci_query; asked first, it shows the gRPC path working.
	if info.GRPC != "" {
		// Refused here rather than when the sentry starts: the same parser
		// and the same forms as --cosmos-grpc.
		if _, err := rpc.ParseGRPCAddress(info.GRPC); err != nil {
			return nil, fmt.Errorf("--cosmos %s: chain.json grpc: %w", path, err)
		}
	}
	c := &chain{Name: info.ChainID, ChainID: info.ChainID, GRPC: info.GRPC}
	for _, v := range info.Validators {
		c.Endpoints = append(c.Endpoints, v.RPC)
	}
	if len(c.Endpoints) == 0 {
		return nil, fmt.Errorf("--cosmos %s: chain.json names no validator RPC", path)
	}
	return c, nil
}

// pairs reads NAME=VALUE flags into a map, refusing chains not in known;
// known nil checks the form only (a flag's validator, which cannot see
// --cosmos). An empty known refuses every name: a per-chain flag without
// any --cosmos names a chain that is not watched.
func pairs(flag string, values []string, known map[string]*chain) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		name, val, ok := strings.Cut(v, "=")
		if !ok || val == "" {
			return nil, fmt.Errorf("--%s %q: give NAME=VALUE", flag, shown(v))
		}
		if known != nil && known[name] == nil {
			if len(known) == 0 {
				return nil, fmt.Errorf("--%s %s=…: no --cosmos chain is named %q (no --cosmos was given); add --cosmos %s=RPC or drop --%s", flag, name, name, name, flag)
			}
			return nil, fmt.Errorf("--%s %s=…: no --cosmos chain is named %q; the chains are %s", flag, name, name, strings.Join(sortedNames(known), ", "))
		}
		out[name] = val
	}
	return out, nil
}

func sortedNames(known map[string]*chain) []string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func checkLCDs(values []string) error {
	lcds, err := pairs("cosmos-lcd", values, nil)
	if err != nil {
		return err
	}
	for name, u := range lcds {
		if !looksLikeURL(u) {
			return fmt.Errorf("--cosmos-lcd %s: %s (the LCD needs an http(s) URL)", name, domain.BadURL(u, "http://", "https://"))
		}
	}
	return nil
}

func checkGRPCs(values []string) error {
	all, err := pairs("cosmos-grpc", values, nil)
	if err != nil {
		return err
	}
	for name, addr := range all {
		if _, err := rpc.ParseGRPCAddress(addr); err != nil {
			return fmt.Errorf("--cosmos-grpc %s: %w", name, err)
		}
	}
	return nil
}

func checkSlashing(values []string) error {
	all, err := pairs("cosmos-slashing", values, nil)
	if err != nil {
		return err
	}
	for _, v := range all {
		if _, _, err := parseSlashing(v); err != nil {
			return err
		}
	}
	return nil
}

func parseSlashing(v string) (int64, float64, error) {
	w, m, ok := strings.Cut(v, ":")
	window, err1 := strconv.ParseInt(w, 10, 64)
	min, err2 := strconv.ParseFloat(m, 64)
	if !ok || err1 != nil || err2 != nil || window < 1 || !(min >= 0 && min <= 1) {
		return 0, 0, fmt.Errorf("--cosmos-slashing %q: give WINDOW:MIN, a window of at least 1 block and a share in 0..1 (e.g. 10000:0.05)", v)
	}
	return window, min, nil
}

// instance is the domain opened for one role.
type instance struct {
	env      domain.Env
	chains   []*chain
	devnet   *devnet.Devnet
	sentries []*sentry.Sentry
	alerts   *alerts.Engine
	db       *store.DB
	// slashing are the --cosmos-slashing values by chain: window, min.
	slashing map[string][2]float64
	// started: when Open ran (the analysis is not judged stalled before
	// it has had AnalysisStallAfter to progress); discovered: the chains
	// found in the store and analysed (nil: no discovery).
	started    time.Time
	discovered *discovery
}

// AnalysisStallAfter: a chain whose analysis has not moved for this long
// while heights wait is stalled. Longer than the analyzer's SkipAfter (it
// waits that long for a missing height before skipping it).
const AnalysisStallAfter = analyzers.DefaultSkipAfter + 3*time.Minute

// health is /healthz's view of the domain (domain.Parts.Health): a chain
// whose sentry has reached no healthy endpoint for longer than its grace,
// or whose analysis here is stalled, makes it unhealthy, with the reason.
func (in *instance) health(ctx context.Context) error {
	now := time.Now()
	var errs []error
	for _, s := range in.sentries {
		if err := s.Healthy(now); err != nil {
			errs = append(errs, fmt.Errorf("cosmos chain %s: sentry: %w", s.Chain(), err))
		}
	}
	if in.db != nil && (in.env.Role == domain.RoleRun || in.env.Role == domain.RoleConsumer) {
		for _, name := range in.analysedChains() {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			a, err := state.AnalysisOf(qctx, in.db, name)
			cancel()
			if err == nil {
				err = analysisHealth(a, in.started, now)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("cosmos chain %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// analysisHealth judges a chain's analysis: stalled when a height after
// the analysed one is complete in the store (its block and the next,
// which carries its commit) and the analyzer has written nothing for
// AnalysisStallAfter (counted from started at the earliest, so a process
// catching up is not judged by the age of the last one's writes).
func analysisHealth(a state.Analysis, started, now time.Time) error {
	if a.LatestBlock < a.AnalyzedHeight+2 {
		return nil // nothing complete to analyse
	}
	since := started
	if u := time.UnixMilli(a.UpdatedAt); a.UpdatedAt > 0 && u.After(since) {
		since = u
	}
	if now.Sub(since) <= AnalysisStallAfter {
		return nil
	}
	return fmt.Errorf("the missed-vote analysis is stalled at height %d for %s while blocks up to %d are stored (limit %s): check this process's log for cosmos/missed errors",
		a.AnalyzedHeight, now.Sub(since).Round(time.Second), a.LatestBlock, AnalysisStallAfter)
}

// analysedChains are the chains this process analyses: the configured
// ones and those discovery found.
func (in *instance) analysedChains() []string {
	names := in.chainNames()
	if d := in.discovered; d != nil {
		d.mu.Lock()
		names = append(names, d.names...)
		d.mu.Unlock()
	}
	return names
}

// Open builds the parts of a role.
func (d Domain) Open(ctx context.Context, env domain.Env) (_ *domain.Parts, err error) {
	in := &instance{env: env, db: env.DB}
	defer func() {
		if err != nil {
			_ = in.close()
		}
	}()
	cmd := env.Cmd
	chains, err := parseChains(cmd.StringSlice("cosmos"))
	if err != nil {
		return nil, err
	}
	in.chains = chains
	if domain.RunsDevnet(cmd, env.Role) {
		if err := in.startDevnet(ctx); err != nil {
			return nil, err
		}
	}
	if err := in.configure(); err != nil {
		return nil, err
	}
	if env.Role == domain.RoleSentry && len(in.chains) == 0 {
		return nil, errors.New("give the chains to watch: --cosmos NAME=RPC[,RPC…] (e.g. --cosmos cosmoshub-4=http://127.0.0.1:26657)")
	}
	in.started = time.Now()
	parts := &domain.Parts{Close: in.close, Progress: in.progress, Health: in.health}
	for _, c := range in.chains {
		parts.Networks = append(parts.Networks, c.Name)
	}
	switch env.Role {
	case domain.RoleRun, domain.RoleSentry:
		if env.Publisher == nil {
			return nil, errors.New("cosmos: the sentries need a publisher")
		}
		for _, c := range in.chains {
			s, err := sentry.New(sentry.Config{Chain: c.Name, ChainID: c.ChainID, Endpoints: c.Endpoints, LCD: c.LCD, GRPC: c.GRPC,
				Publisher: env.Publisher, SentryID: env.SentryID, DataDir: filepath.Join(env.DataDir, "cosmos"),
				Log: env.Log, Registerer: env.Registerer})
			if err != nil {
				return nil, fmt.Errorf("sentry %s: %w", c.Name, err)
			}
			in.sentries = append(in.sentries, s)
			parts.Sentries = append(parts.Sentries, s)
		}
	}
	switch env.Role {
	case domain.RoleRun, domain.RoleConsumer:
		sk, err := sink.New(sink.Config{DB: env.DB, Archive: env.Archive})
		if err != nil {
			return nil, err
		}
		parts.Sink = sk
		as, err := in.analyzers(ctx)
		if err != nil {
			return nil, err
		}
		parts.Analyzers = as
	}
	if env.DB != nil {
		if in.alerts == nil {
			// serve: the alerts are read from the store; nothing is sent.
			eng, err := alerts.New(alerts.DefaultConfig(), alerts.Deps{DB: env.DB, Log: env.Log.With("component", "alerts"), Registerer: env.Registerer})
			if err != nil {
				return nil, err
			}
			in.alerts = eng
		}
		a := httpapi.New(env.DB, in.chainNames, alertLister{in.alerts})
		parts.API = &a
	}
	return parts, nil
}

// alertLister adapts the engine's typed list to the API's interface.
type alertLister struct{ e *alerts.Engine }

func (l alertLister) List(ctx context.Context, chain string, includeResolved bool) (any, error) {
	return l.e.List(ctx, chain, includeResolved)
}

// configure applies the per-chain flags to the --cosmos chains.
func (in *instance) configure() error {
	cmd := in.env.Cmd
	known := map[string]*chain{}
	for _, c := range in.chains {
		known[c.Name] = c
	}
	ids, err := pairs("cosmos-chain-id", cmd.StringSlice("cosmos-chain-id"), known)
	if err != nil {
		return err
	}
	lcds, err := pairs("cosmos-lcd", cmd.StringSlice("cosmos-lcd"), known)
	if err != nil {
		return err
	}
	// --cosmos-slashing alone may name chains this process learns only
	// from the store (a consumer without --cosmos); once chains are named,
	// a value for another one would be ignored while the WARN about
	// unknown slashing parameters asks for it, so it is refused.
	slashingKnown := known
	if len(in.chains) == 0 {
		slashingKnown = nil
	}
	slashing, err := pairs("cosmos-slashing", cmd.StringSlice("cosmos-slashing"), slashingKnown)
	if err != nil {
		return err
	}
	for name, id := range ids {
		known[name].ChainID = id
	}
	if err := checkLCDs(cmd.StringSlice("cosmos-lcd")); err != nil {
		return err
	}
	for name, u := range lcds {
		known[name].LCD = u
	}
	if err := checkGRPCs(cmd.StringSlice("cosmos-grpc")); err != nil {
		return err
	}
	grpcs, err := pairs("cosmos-grpc", cmd.StringSlice("cosmos-grpc"), known)
	if err != nil {
		return err
	}
	for name, addr := range grpcs {
		known[name].GRPC = addr
	}
	in.slashing = map[string][2]float64{}
	for name, v := range slashing {
		w, m, err := parseSlashing(v)
		if err != nil {
			return err
		}
		if c := known[name]; c != nil {
			c.Window, c.MinSigned = w, m
		}
		in.slashing[name] = [2]float64{float64(w), m}
	}
	return nil
}

func (in *instance) startDevnet(ctx context.Context) error {
	dir := filepath.Join(in.env.DataDir, "devnet-cosmos")
	dn, err := devnet.Start(ctx, devnet.Options{Validators: int(in.env.Cmd.Int("devnet-cosmos-validators")), Dir: dir,
		Log: in.env.Log.With("component", "devnet")})
	if err != nil {
		return fmt.Errorf("start the cosmos devnet: %w", err)
	}
	in.devnet = dn
	c, err := chainFromDir(dir, true)
	if err != nil {
		return err
	}
	c.Window, c.MinSigned = in.slashingOf(c.Name)
	for _, o := range in.chains {
		if o.Name == c.Name {
			return fmt.Errorf("--cosmos %s: the devnet's chain has that name", c.Name)
		}
	}
	in.chains = append(in.chains, c)
	return nil
}

// chainNames are the configured chains, or (serve, consumer without
// --cosmos) the chains the store has data of.
func (in *instance) chainNames() []string {
	names := make([]string, 0, len(in.chains))
	for _, c := range in.chains {
		names = append(names, c.Name)
	}
	return names
}

// close releases what Open opened.
func (in *instance) close() error {
	var errs []error
	if in.alerts != nil {
		in.alerts.Close()
		in.alerts = nil
	}
	if in.devnet != nil {
		if err := in.devnet.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop the cosmos devnet: %w", err))
		}
		in.devnet = nil
	}
	return errors.Join(errs...)
}

// analyzers are the missed-vote analysis and the alert rules of every
// configured chain; without --cosmos (a consumer of a fleet, which learns
// its chains from what the sentries publish), of every chain found in the
// store.
func (in *instance) analyzers(ctx context.Context) ([]analyze.Analyzer, error) {
	cmd := in.env.Cmd
	cfg := alerts.DefaultConfig()
	if path := cmd.String("alerts"); path != "" {
		c, err := alerts.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	eng, err := alerts.New(cfg, alerts.Deps{DB: in.db, Chains: in.chainNames(), Log: in.env.Log.With("component", "alerts"), Registerer: in.env.Registerer,
		Holder: domain.Holder(in.env.DataDir)})
	if err != nil {
		return nil, err
	}
	in.alerts = eng
	if cmd.Bool("alerts-test") {
		if len(cfg.Channels) == 0 {
			return nil, errors.New("--alerts-test: no channel to test; give --alerts FILE with channels (docs/cosmos-alerts.md)")
		}
		if err := eng.SendTest(ctx); err != nil {
			return nil, fmt.Errorf("--alerts-test: %w", err)
		}
		in.env.Log.Info("test alert sent on every channel", "channels", len(cfg.Channels))
	}
	set, err := analyzers.NewSet(analyzers.Config{DB: in.db, Chains: in.analyzerChains(), Every: cmd.Duration("cosmos-analyze-every"),
		LateVotes: cmd.Duration("cosmos-late-votes"), Registerer: in.env.Registerer, Log: in.env.Log.With("component", "analyze")})
	if err != nil {
		return nil, err
	}
	var out []analyze.Analyzer
	known := map[string]bool{}
	for _, c := range in.analyzerChains() {
		a, err := set.Analyzer(c)
		if err != nil {
			return nil, err
		}
		out = append(out, a, eng.Analyzer(c.Name))
		known[c.Name] = true
	}
	if len(in.chains) > 0 {
		// The chains are named: only those are analysed and alerted on.
		// Others in the store (watched before, or by another process's
		// sentries) are not; their open alerts are resolved with a note
		// once no process evaluates them any more (none has a live
		// heartbeat for the chain): another consumer of the store that
		// analyses them keeps them.
		return append(out, eng.Retirer(in.chainNames())), nil
	}
	d := &discovery{in: in, set: set, eng: eng, known: known}
	in.discovered = d
	out = append(out, analyze.Analyzer{Name: "cosmos/discovered", Every: cmd.Duration("cosmos-analyze-every"), Timeout: time.Minute, Run: d.run})
	return out, nil
}

func (in *instance) analyzerChains() []analyzers.Chain {
	out := make([]analyzers.Chain, 0, len(in.chains))
	for _, c := range in.chains {
		out = append(out, analyzers.Chain{Name: c.Name, Window: c.Window, MinSigned: c.MinSigned})
	}
	return out
}

// discovery runs the analyzers of the chains that have data in the store,
// in a process given no --cosmos: a consumer of a fleet learns its chains
// from what the sentries publish. It looks for new chains every 30 s.
type discovery struct {
	in     *instance
	set    *analyzers.Set
	eng    *alerts.Engine
	known  map[string]bool
	mu     sync.Mutex
	extra  []analyze.Analyzer
	names  []string // of the chains of extra
	listed time.Time
}

func (d *discovery) run(ctx context.Context) error {
	if time.Since(d.listed) > 30*time.Second {
		if err := d.list(ctx); err != nil {
			return err
		}
	}
	d.mu.Lock()
	as := append([]analyze.Analyzer(nil), d.extra...)
	d.mu.Unlock()
	var errs []error
	for _, a := range as {
		if err := a.Run(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (d *discovery) list(ctx context.Context) error {
	names, err := state.Chains(ctx, d.in.db)
	if err != nil {
		return err
	}
	d.listed = time.Now()
	sort.Strings(names)
	for _, name := range names {
		if d.known[name] || events.CheckChain(name) != nil {
			continue
		}
		w, m := d.in.slashingOf(name)
		a, err := d.set.Analyzer(analyzers.Chain{Name: name, Window: w, MinSigned: m})
		if err != nil {
			return err
		}
		d.known[name] = true
		d.mu.Lock()
		d.extra = append(d.extra, a, d.eng.Analyzer(name))
		d.names = append(d.names, name)
		d.mu.Unlock()
		d.in.env.Log.Info("analysing a chain found in the store", "chain", name)
	}
	return nil
}

func (in *instance) slashingOf(name string) (int64, float64) {
	if v, ok := in.slashing[name]; ok {
		return int64(v[0]), v[1]
	}
	return 0, 0
}

// progress is one line per chain: the sentry's counters (where this role
// runs sentries) and how far the analysis is (where it has the database).
func (in *instance) progress(ctx context.Context) [][]any {
	var lines [][]any
	for i, c := range in.chains {
		attrs := []any{"chain", c.Name}
		if i < len(in.sentries) {
			st := in.sentries[i].Stats()
			attrs = append(attrs, "height", st.LastHeight, "endpoints_healthy", fmt.Sprintf("%d/%d", st.EndpointsHealthy, st.Endpoints),
				"votes", st.Votes, "backfilled", st.Backfilled, "published", st.Published)
			if st.Drops > 0 {
				attrs = append(attrs, "dropped", st.Drops)
			}
		}
		if in.db != nil {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			p, err := state.ProgressOf(qctx, in.db, c.Name)
			cancel()
			if err == nil {
				attrs = append(attrs, "analyzed", p.AnalyzedHeight, "missing_now", p.ConsecutiveMissing)
			}
		}
		lines = append(lines, attrs)
	}
	return lines
}
