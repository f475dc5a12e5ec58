// Package polkadot is the Polkadot/Kusama domain as the platform sees it
// (internal/domain): a delegation program in the manner of the Thousand
// Validators Programme — candidates from a file, validity from chain state
// and telemetry, scores explained, ranks and faults as logs, nominations
// every era period (dry run unless told to send). Subpackages: events
// (the bus schema), scale and ss58 (SCALE decoding from metadata,
// addresses), chain (the RPC reader), telemetry (the feed client), sentry
// (the poll loop), sink and state (tables), program (rules, scores,
// ranks, nominations), runner (the program as an analyzer), tx (signed
// extrinsics), httpapi (REST, page), chopsticks and devnet.
package polkadot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/polkadot/chain"
	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
	"github.com/valtrack/valtrack/internal/polkadot/devnet"
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/httpapi"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/runner"
	"github.com/valtrack/valtrack/internal/polkadot/sentry"
	"github.com/valtrack/valtrack/internal/polkadot/sink"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/polkadot/telemetry"
	"github.com/valtrack/valtrack/internal/store"
)

// Domain is the Polkadot domain.
type Domain struct {
	Env domain.Sources
}

// Name is "polkadot".
func (Domain) Name() string { return events.Domain }

// Usage describes the sentry.
func (Domain) Usage() string {
	return "read Polkadot/Kusama staking, session, identity and telemetry for the delegation program"
}

// Starting is what Open starts that takes a while: the devnet of
// `valtrack run --devnet` (domain.Starter).
func (Domain) Starting(cmd *cli.Command, r domain.Role) string {
	if r == domain.RoleRun && withDevnet(cmd) {
		return "the polkadot devnet (chopsticks)"
	}
	return ""
}

// Selected: --polkadot, --polkadot-dir or --devnet (unless
// --devnet-polkadot=false) given.
func (Domain) Selected(cmd *cli.Command) bool {
	return len(cmd.StringSlice("polkadot")) > 0 || cmd.String("polkadot-dir") != "" || withDevnet(cmd)
}

// SelectWith is --polkadot, or --polkadot-dir.
func (Domain) SelectWith() string {
	return "--polkadot NAME=RPC[,RPC…] (or --polkadot-dir DIR as valtrack devnet polkadot writes)"
}

// withDevnet: valtrack run --devnet, the Polkadot devnet not declined.
func withDevnet(cmd *cli.Command) bool {
	return domain.HasFlag(cmd, "devnet") && cmd.Bool("devnet") && (!domain.HasFlag(cmd, "devnet-polkadot") || cmd.Bool("devnet-polkadot"))
}

func checkChainName(n string) error { return events.CheckChain(n) }

// Flags of the Polkadot domain, by role.
func (d Domain) Flags(r domain.Role) []cli.Flag {
	env := d.Env.Of
	urls := func(flag string) func([]string) error {
		return func(v []string) error { _, _, err := parseURLs(flag, v); return err }
	}
	chains := []cli.Flag{
		&cli.StringSliceFlag{Name: "polkadot", Usage: "a relay chain to run the program on: NAME=RPC[,RPC…] (ws:// or http:// Substrate JSON-RPC; several URLs fail over), NAME a subject-safe name such as polkadot or kusama; repeatable", Sources: env("polkadot"),
			Validator: urls("polkadot")},
		&cli.StringFlag{Name: "polkadot-dir", Usage: "a devnet directory with the polkadot.json that valtrack devnet polkadot writes (chain, RPC, candidates file)", Sources: env("polkadot-dir")},
	}
	sentryFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "polkadot-people", Usage: "NAME=RPC[,RPC…]: the People chain of NAME, where identities live (default: identities read from the relay chain); repeatable", Sources: env("polkadot-people"),
			Validator: urls("polkadot-people")},
		&cli.StringSliceFlag{Name: "polkadot-staking", Usage: "NAME=RPC[,RPC…]: the chain holding NAME's staking pallet when it is not the relay chain (Asset Hub after the migration); repeatable", Sources: env("polkadot-staking"),
			Validator: urls("polkadot-staking")},
		&cli.StringSliceFlag{Name: "polkadot-telemetry", Usage: "NAME=URL: a substrate-telemetry feed (wss://…/feed) to follow NAME's nodes on; repeatable", Sources: env("polkadot-telemetry"),
			Validator: urls("polkadot-telemetry")},
		&cli.DurationFlag{Name: "polkadot-poll", Value: 30 * time.Second, Usage: "how often the sentry reads staking, session and identity state", Sources: env("polkadot-poll"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--polkadot-poll", v, time.Second) }},
	}
	programFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "polkadot-candidates", Usage: "[NAME=]FILE: the program file of NAME (candidates, rules, weights, nominators; YAML, docs/polkadot.md), re-read when it changes; repeatable", Sources: env("polkadot-candidates")},
		&cli.DurationFlag{Name: "polkadot-every", Value: 30 * time.Second, Usage: "how often the program evaluates validity, scores and whether a round is due", Sources: env("polkadot-every"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--polkadot-every", v, time.Second) }},
		&cli.BoolFlag{Name: "polkadot-send", Usage: "send the nominations (signed with the nominators' key files); without it every round is a dry run, computed and recorded only", Sources: env("polkadot-send")},
	}
	devnetFlags := []cli.Flag{
		&cli.BoolFlag{Name: "devnet-polkadot", Value: true, Usage: "with --devnet, also start the Polkadot devnet (chopsticks: needs Node.js, about a minute to start, longer on its first install); on by default, --devnet-polkadot=false leaves it out", Sources: env("devnet-polkadot")},
	}
	switch r {
	case domain.RoleRun:
		return domain.Concat(chains, sentryFlags, programFlags, devnetFlags)
	case domain.RoleSentry:
		return domain.Concat(chains, sentryFlags, programFlags[:1])
	case domain.RoleConsumer:
		return domain.Concat(chains, programFlags)
	default:
		return chains
	}
}

// parseURLs reads a NAME=URL[,URL…] flag with ws(s):// or http(s):// URLs.
func parseURLs(flag string, values []string) (map[string][]string, []string, error) {
	m, order, err := domain.NamedValues(flag, values, "", checkChainName)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range order {
		for _, u := range m[name] {
			if !rpcScheme(u) {
				return nil, nil, fmt.Errorf("--%s %s: %s; an endpoint starts with ws://, wss://, http:// or https://", flag, name,
					domain.BadURL(u, "ws://", "wss://", "http://", "https://"))
			}
		}
	}
	return m, order, nil
}

func rpcScheme(u string) bool {
	for _, p := range []string{"ws://", "wss://", "http://", "https://"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// chainConfig is one chain the domain runs.
type chainConfig struct {
	Name       string
	Relay      []string
	People     []string
	Staking    []string
	Telemetry  string
	Candidates string
}

// txURLs are where nominations are sent: the staking chain, where the
// staking and proxy pallets (and so nominate and the proxy announcements)
// live once staking has moved to Asset Hub, else the relay chain.
func (c *chainConfig) txURLs() []string {
	if len(c.Staking) > 0 {
		return c.Staking
	}
	return c.Relay
}

// chains reads the flags (and a devnet directory) into the chains.
func chains(cmd *cli.Command, devnetDirs ...string) ([]*chainConfig, error) {
	var out []*chainConfig
	by := map[string]*chainConfig{}
	add := func(name string) *chainConfig {
		if c := by[name]; c != nil {
			return c
		}
		c := &chainConfig{Name: name}
		by[name] = c
		out = append(out, c)
		return c
	}
	dirs := append([]string{}, devnetDirs...)
	if d := cmd.String("polkadot-dir"); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		info, err := readDevnetInfo(dir)
		if err != nil {
			return nil, err
		}
		c := add(info.Chain)
		c.Relay = append(c.Relay, info.RPC)
		c.Candidates = info.Candidates
		c.Telemetry = info.Telemetry
	}
	relay, order, err := parseURLs("polkadot", cmd.StringSlice("polkadot"))
	if err != nil {
		return nil, err
	}
	for _, n := range order {
		add(n).Relay = append(by[n].Relay, relay[n]...)
	}
	for _, spec := range []struct {
		flag string
		set  func(c *chainConfig, v []string)
	}{
		{"polkadot-people", func(c *chainConfig, v []string) { c.People = v }},
		{"polkadot-staking", func(c *chainConfig, v []string) { c.Staking = v }},
		{"polkadot-telemetry", func(c *chainConfig, v []string) { c.Telemetry = v[0] }},
	} {
		if !domain.HasFlag(cmd, spec.flag) {
			continue
		}
		m, names, err := parseURLs(spec.flag, cmd.StringSlice(spec.flag))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			c := by[n]
			if c == nil {
				return nil, fmt.Errorf("--%s %s: no --polkadot chain of that name", spec.flag, n)
			}
			if spec.flag == "polkadot-telemetry" && len(m[n]) > 1 {
				return nil, fmt.Errorf("--%s %s: give one feed URL", spec.flag, n)
			}
			spec.set(c, m[n])
		}
	}
	if domain.HasFlag(cmd, "polkadot-candidates") {
		if len(out) == 0 && len(cmd.StringSlice("polkadot-candidates")) > 0 && !withDevnet(cmd) {
			return nil, errors.New("--polkadot-candidates is the program file of a --polkadot chain, and no chain is given: add --polkadot NAME=RPC (or --polkadot-dir DIR), or drop --polkadot-candidates")
		}
		single := ""
		if len(out) == 1 {
			single = out[0].Name
		}
		m, names, err := domain.NamedValues("polkadot-candidates", cmd.StringSlice("polkadot-candidates"), single, checkChainName)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			c := by[n]
			if c == nil {
				return nil, fmt.Errorf("--polkadot-candidates %s: no --polkadot chain of that name", n)
			}
			if len(m[n]) != 1 {
				return nil, fmt.Errorf("--polkadot-candidates %s: give one file", n)
			}
			// Read as the program will (refused here, before anything opens,
			// with what to do: a missing file, a bad line).
			if _, err := program.NewWatcher(m[n][0], time.Second); err != nil {
				return nil, fmt.Errorf("--polkadot-candidates %s: %w", n, err)
			}
			c.Candidates = m[n][0]
		}
	}
	return out, nil
}

// devnetInfo is what a devnet directory's polkadot.json says.
type devnetInfo struct {
	Chain      string
	RPC        string
	Candidates string
	Telemetry  string
}

var errNoChains = errors.New("give a chain: --polkadot NAME=RPC (or --polkadot-dir D for a devnet)")

func readDevnetInfo(dir string) (devnetInfo, error) {
	info, err := devnet.ReadInfo(dir)
	if err != nil {
		return devnetInfo{}, fmt.Errorf("--polkadot-dir %s: %w", dir, err)
	}
	if err := events.CheckChain(info.Chain); err != nil {
		return devnetInfo{}, fmt.Errorf("--polkadot-dir %s: %w", dir, err)
	}
	return devnetInfo{Chain: info.Chain, RPC: info.RPC, Candidates: absIn(dir, info.Candidates), Telemetry: info.Telemetry}, nil
}

func absIn(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Migrations are the polkadot_* tables'.
func (Domain) Migrations() store.Migrations { return state.Migrations() }

// DevnetCommand is `valtrack devnet polkadot`.
func (Domain) DevnetCommand() *cli.Command { return devnet.DevnetCommand() }

var (
	_ domain.Domain  = Domain{}
	_ domain.Devnet  = Domain{}
	_ domain.Starter = Domain{}
)

type instance struct {
	env      domain.Env
	chains   []*chainConfig
	devnet   *devnet.Devnet
	readers  []*chain.Reader
	sentries []*sentry.Sentry
	feeds    []*telemetrySentry
	senders  []*sender
	runners  []*runner.Runner
}

// Open builds the parts of a role.
func (d Domain) Open(ctx context.Context, env domain.Env) (_ *domain.Parts, err error) {
	in := &instance{env: env}
	defer func() {
		if err != nil {
			_ = in.close()
		}
	}()
	var devDirs []string
	if env.Role == domain.RoleRun && withDevnet(env.Cmd) {
		if nerr := chopsticks.NodeAvailable(); nerr != nil {
			env.Log.Warn("the Polkadot devnet is not started", "why", nerr.Error())
		} else {
			env.Log.Info("starting the Polkadot devnet (chopsticks; about a minute, longer on first use while it installs)")
			dn, err := devnet.Start(ctx, devnet.Options{Dir: filepath.Join(env.DataDir, "devnet-polkadot"),
				Log: env.Log.With("component", "polkadot-devnet"), Out: os.Stderr})
			switch {
			case err != nil && ctx.Err() != nil:
				return nil, err
			case err != nil:
				// The other devnets run on: one that needs npm and Node.js
				// must not take them down (an offline machine cannot
				// install chopsticks), but it says why it is missing.
				env.Log.Warn("the Polkadot devnet is not started", "why", err.Error(),
					"hint", "valtrack devnet polkadot --dir D shows the whole error; --polkadot-dir D then uses it")
			default:
				in.devnet = dn
				devDirs = append(devDirs, dn.Dir())
			}
		}
	}
	in.chains, err = chains(env.Cmd, devDirs...)
	if err != nil {
		return nil, err
	}
	if env.Role == domain.RoleSentry && len(in.chains) == 0 {
		return nil, errNoChains
	}
	parts := &domain.Parts{Close: in.close, Progress: in.progress, Health: in.health}
	for _, c := range in.chains {
		parts.Networks = append(parts.Networks, c.Name)
	}
	sentries := env.Role == domain.RoleRun || env.Role == domain.RoleSentry
	runsProgram := env.Role == domain.RoleRun || env.Role == domain.RoleConsumer
	send := runsProgram && domain.HasFlag(env.Cmd, "polkadot-send") && env.Cmd.Bool("polkadot-send")
	for _, c := range in.chains {
		if (sentries || send) && len(c.Relay) == 0 {
			return nil, fmt.Errorf("--polkadot %s: give its RPC: --polkadot %s=wss://…", c.Name, c.Name)
		}
		var rd *chain.Reader
		if len(c.Relay) > 0 && (sentries || send) {
			rd, err = chain.New(chain.Config{Chain: c.Name, Relay: c.Relay, People: c.People, Staking: c.Staking, Log: env.Log})
			if err != nil {
				return nil, fmt.Errorf("polkadot %s: %w", c.Name, err)
			}
			in.readers = append(in.readers, rd)
		}
		var watcher *program.Watcher
		if c.Candidates != "" {
			watcher, err = program.NewWatcher(c.Candidates, 5*time.Second)
			if err != nil {
				return nil, fmt.Errorf("--polkadot-candidates %s: %w", c.Name, err)
			}
		}
		if sentries {
			if env.Publisher == nil {
				return nil, errors.New("polkadot: the sentries need a publisher")
			}
			extra := func() []string { return nil }
			if watcher != nil {
				extra = func() []string { return stashesOf(watcher) }
			}
			s, err := sentry.New(sentry.Config{Chain: c.Name, Reader: sentryReader{rd}, Publisher: env.Publisher,
				Every: env.Cmd.Duration("polkadot-poll"), Extra: extra, DataDir: filepath.Join(env.DataDir, "polkadot"),
				SentryID: env.SentryID, Log: env.Log})
			if err != nil {
				return nil, fmt.Errorf("polkadot %s: %w", c.Name, err)
			}
			in.sentries = append(in.sentries, s)
			parts.Sentries = append(parts.Sentries, s)
			if c.Telemetry != "" {
				f := &telemetrySentry{chain: c.Name, url: c.Telemetry, reader: rd, pub: env.Publisher, sentryID: env.SentryID, log: env.Log,
					stateFile: filepath.Join(env.DataDir, "polkadot", "telemetry-"+c.Name+".json")}
				if env.DB != nil {
					// In one process with the store: its records seed a first
					// run that has no state file yet (e.g. after an upgrade).
					st, name := state.New(env.DB), c.Name
					f.stored = func(ctx context.Context) ([]events.Telemetry, error) {
						ns, err := st.TelemetryNodes(ctx, name)
						out := make([]events.Telemetry, 0, len(ns))
						for _, n := range ns {
							out = append(out, *n)
						}
						return out, err
					}
				}
				in.feeds = append(in.feeds, f)
				parts.Sentries = append(parts.Sentries, f)
			}
		}
		if runsProgram && watcher != nil {
			rc := runner.Config{Chain: c.Name, Store: state.New(env.DB), Program: polled{watcher}, Send: send, Log: env.Log,
				LeaseHolder: domain.Holder(env.DataDir)}
			if sentries && c.Telemetry == "" {
				// This process runs the chain's sentries, so it knows there
				// is no feed: say so in the checks rather than wait for one.
				rc.NoTelemetryFeed = true
				env.Log.Warn("no telemetry feed for this chain: the telemetry checks stay unknown, so no candidate is valid unless they are skipped",
					"chain", c.Name, "hint", "--polkadot-telemetry "+c.Name+"=wss://…/feed, or rules.skip: [ONLINE, CLIENT_UPGRADE, CONNECTION_TIME, ACCUMULATED_OFFLINE_TIME, PROVIDER, SANCTIONED_GEO_AREA]")
			}
			if domain.HasFlag(env.Cmd, "polkadot-poll") {
				// Three polls missed: the sentry cannot read the chain.
				rc.Stale = 3*env.Cmd.Duration("polkadot-poll") + 30*time.Second
			}
			if send {
				snd := newSender(senderConfig{URLs: c.txURLs(), Log: env.Log.With("component", "polkadot-tx", "chain", c.Name)})
				in.senders = append(in.senders, snd)
				rc.Live, rc.Sender = liveReader{rd}, snd
			}
			r, err := runner.New(rc)
			if err != nil {
				return nil, fmt.Errorf("polkadot %s: %w", c.Name, err)
			}
			in.runners = append(in.runners, r)
			every := env.Cmd.Duration("polkadot-every")
			parts.Analyzers = append(parts.Analyzers,
				analyze.Analyzer{Name: "polkadot/program/" + c.Name, Every: every, Timeout: 10*every + 10*time.Minute, Run: r.Run})
		} else if runsProgram && !send {
			env.Log.Info("no program file for this chain: its facts are stored and served, no candidate is judged", "chain", c.Name,
				"hint", "--polkadot-candidates "+c.Name+"=FILE")
		}
	}
	if runsProgram {
		sk, err := sink.New(sink.Config{Store: state.New(env.DB), Geo: env.Geo, Archive: env.Archive, Log: env.Log.With("component", "polkadot-sink")})
		if err != nil {
			return nil, err
		}
		parts.Sink = sk
	}
	if env.DB != nil {
		names := parts.Networks
		a := httpapi.New(state.New(env.DB), func() []string { return names })
		parts.API = &a
	}
	return parts, nil
}

// polled is the program file as of now: a changed file is re-read (a
// stat when it has not changed) before it is handed out.
type polled struct{ w *program.Watcher }

func (p polled) Current() (*program.Config, error) {
	_, _ = p.w.Poll() // its error stays with the watcher: Current returns it
	return p.w.Current()
}

// stashesOf are the candidates' and nominators' accounts of the current
// program file (the sentry reads them besides the chain's validators).
func stashesOf(w *program.Watcher) []string {
	cfg, _ := polled{w}.Current()
	if cfg == nil {
		return nil
	}
	var out []string
	for _, c := range cfg.Candidates {
		out = append(out, c.Stash)
	}
	for _, n := range cfg.Nomination.Nominators {
		out = append(out, n.Account)
	}
	return out
}

// sentryReader is chain.Reader as the sentry wants it.
type sentryReader struct{ r *chain.Reader }

func (s sentryReader) Chain(ctx context.Context) (events.Chain, error) { return s.r.Chain(ctx) }
func (s sentryReader) Validators(ctx context.Context, at events.Chain, extra []string) ([]events.Validator, error) {
	return s.r.Validators(ctx, at, extra)
}
func (s sentryReader) Era(ctx context.Context, era uint32) (events.Era, error) {
	return s.r.Era(ctx, era)
}
func (s sentryReader) Faults(ctx context.Context, hash string) ([]events.Fault, error) {
	return s.r.Faults(ctx, hash)
}
func (s sentryReader) BlockHash(ctx context.Context, n uint64) (string, error) {
	return s.r.Relay().BlockHash(ctx, n)
}

// The staking chain's blocks, scanned for its Staking faults when staking
// is not on the relay (sentry.StakingReader).
func (s sentryReader) SeparateStaking() bool { return s.r.SeparateStaking() }
func (s sentryReader) StakingHead(ctx context.Context) (uint64, string, error) {
	return s.r.StakingHead(ctx)
}
func (s sentryReader) StakingBlockHash(ctx context.Context, n uint64) (string, error) {
	return s.r.StakingBlockHash(ctx, n)
}
func (s sentryReader) StakingFaults(ctx context.Context, hash string) ([]events.Fault, error) {
	return s.r.StakingFaults(ctx, hash)
}

var _ sentry.StakingReader = sentryReader{}

// liveReader is chain.Reader as the runner wants it.
type liveReader struct{ r *chain.Reader }

func (l liveReader) Chain(ctx context.Context) (events.Chain, error) { return l.r.Chain(ctx) }
func (l liveReader) Validators(ctx context.Context, at events.Chain, extra []string) ([]events.Validator, error) {
	return l.r.Validators(ctx, at, extra)
}
func (l liveReader) AnnouncementsOf(ctx context.Context, delegates ...string) (map[string][]runner.Announcement, error) {
	by, err := l.r.AnnouncementsOf(ctx, delegates...)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]runner.Announcement, len(by))
	for d, as := range by {
		list := make([]runner.Announcement, 0, len(as))
		for _, a := range as {
			list = append(list, runner.Announcement{Real: a.Real, CallHash: a.CallHash, Height: uint64(a.Height)})
		}
		out[d] = list
	}
	return out, nil
}

// telemetrySentry follows a chain's nodes on a telemetry feed: it learns
// the chain's genesis hash (what the feed is subscribed by) from the RPC,
// then runs the feed client, publishing each node's state.
type telemetrySentry struct {
	chain, url, sentryID string
	reader               *chain.Reader
	pub                  domain.Publisher
	log                  *slog.Logger
	// stateFile keeps the nodes' state (this week's offline time, online
	// since) across restarts; stored, when set, seeds a run without one.
	stateFile string
	stored    func(ctx context.Context) ([]events.Telemetry, error)

	mu     sync.Mutex
	client *telemetry.Client
}

func (t *telemetrySentry) Network() string { return t.chain + " telemetry" }

func (t *telemetrySentry) Run(ctx context.Context) error {
	var genesis string
	for attempt := 0; ; attempt++ {
		g, err := t.reader.Relay().Genesis(ctx)
		if err == nil {
			genesis = g
			break
		}
		if attempt%10 == 0 {
			t.log.Warn("telemetry waits for the chain's genesis hash", "chain", t.chain, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(min(time.Duration(attempt+1)*time.Second, 30*time.Second)):
		}
	}
	c, err := telemetry.New(telemetry.Config{Chain: t.chain, URL: t.url, Genesis: genesis, SentryID: t.sentryID, StateFile: t.stateFile,
		Log: t.log.With("component", "polkadot-telemetry", "chain", t.chain),
		Publish: func(n events.Telemetry) {
			b, err := json.Marshal(n)
			if err != nil {
				return
			}
			id := fmt.Sprintf("%s-tel-%s-%d", t.chain, safeID(n.Name), n.At)
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := t.pub.Publish(pctx, events.Subject(t.chain, events.KindTelemetry), id, b); err != nil && ctx.Err() == nil {
				t.log.Warn("telemetry node not published", "chain", t.chain, "err", err)
			}
		}})
	if err != nil {
		return fmt.Errorf("telemetry of %s: %w", t.chain, err)
	}
	if _, err := os.Stat(t.stateFile); errors.Is(err, os.ErrNotExist) && t.stored != nil {
		if recs, err := t.stored(ctx); err != nil {
			t.log.Warn("telemetry state not restored from the store", "chain", t.chain, "err", err)
		} else {
			c.Restore(recs)
		}
	}
	t.mu.Lock()
	t.client = c
	t.mu.Unlock()
	return c.Run(ctx)
}

// safeID is a node name fit for a message id.
func safeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	return string(b)
}

func (t *telemetrySentry) stats() (telemetry.Stats, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.client == nil {
		return telemetry.Stats{}, false
	}
	return t.client.Stats(), true
}

// progress is one line per chain.
func (in *instance) progress(ctx context.Context) [][]any {
	var lines [][]any
	for i, c := range in.chains {
		attrs := []any{"chain", c.Name}
		if i < len(in.sentries) {
			st := in.sentries[i].Stats()
			attrs = append(attrs, "block", st.Block, "era", st.ActiveEra, "validators", st.Validators, "published", st.Published)
			if st.Errors > 0 {
				attrs = append(attrs, "errors", st.Errors)
			}
		}
		for _, f := range in.feeds {
			if f.chain == c.Name {
				if st, ok := f.stats(); ok {
					attrs = append(attrs, "telemetry_nodes", st.Nodes, "feed_up", st.Connected)
				}
			}
		}
		if in.env.DB != nil {
			qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			cs, err := state.New(in.env.DB).Candidates(qctx, c.Name, state.CandidateFilter{})
			cancel()
			if err == nil && len(cs) > 0 {
				n := map[program.Status]int{}
				for _, x := range cs {
					n[x.Validity.Status]++
				}
				attrs = append(attrs, "candidates", len(cs), "valid", n[program.Valid], "invalid", n[program.Invalid], "unknown", n[program.Unknown])
			}
		}
		lines = append(lines, attrs)
	}
	return lines
}

// health fails while a sentry has not read its chain for three polls.
func (in *instance) health(context.Context) error {
	var errs []error
	for _, s := range in.sentries {
		if err := s.Healthy(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (in *instance) close() error {
	var errs []error
	for _, s := range in.senders {
		s.close()
	}
	for _, r := range in.readers {
		if err := r.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if in.devnet != nil {
		if err := in.devnet.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop the polkadot devnet: %w", err))
		}
		in.devnet = nil
	}
	return errors.Join(errs...)
}
