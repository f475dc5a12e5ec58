// Package analyzers are the Ethereum domain's periodic jobs, run by the
// shared scheduler (internal/analyze): per network, the validator estimate
// of every beacon node, kept up to date incrementally; the geolocation of
// new peer IPs; and the pruning of old observation history.
package analyzers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/geo"
)

// Config configures the analyzers.
type Config struct {
	State state.Store
	Geo   *geo.Resolver // nil: no geolocation
	// Networks maps a network name to its estimator parameters.
	Networks map[string]estimate.Params
	// Window is how far back the estimate looks (default 6h).
	Window time.Duration
	// Every is how often the estimate and geolocation run (default 30s).
	Every time.Duration
	// Retention is how long observation history is kept (default 7 days;
	// negative keeps it forever). Peers, IP metadata and estimates stay.
	Retention time.Duration
	Log       *slog.Logger
	Now       func() time.Time
}

func (c *Config) defaults() error {
	if c.State == nil {
		return errors.New("ethereum analyzers: a state store is required")
	}
	if c.Window < 0 || c.Every < 0 {
		return fmt.Errorf("ethereum analyzers: negative window %s or interval %s", c.Window, c.Every)
	}
	if c.Window == 0 {
		c.Window = 6 * time.Hour
	}
	if c.Every == 0 {
		c.Every = 30 * time.Second
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// pruneEvery is how often old history is deleted.
const pruneEvery = time.Hour

// New returns the analyzers: ethereum/estimate/<network> for each network
// (each fails alone), ethereum/locate when there is a resolver (without
// MaxMind databases it classes private and loopback addresses only), and
// ethereum/prune unless retention is negative.
func New(cfg Config) ([]analyze.Analyzer, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	var out []analyze.Analyzer
	names := make([]string, 0, len(cfg.Networks))
	for n := range cfg.Networks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := NewEstimator(cfg, n)
		out = append(out, analyze.Analyzer{Name: "ethereum/estimate/" + n, Every: cfg.Every, Run: e.Run})
	}
	if cfg.Geo != nil {
		out = append(out, analyze.Analyzer{Name: "ethereum/locate", Every: cfg.Every, Run: func(ctx context.Context) error { return Locate(ctx, cfg) }})
	}
	if cfg.Retention > 0 {
		out = append(out, analyze.Analyzer{Name: "ethereum/prune", Every: pruneEvery, Timeout: 30 * time.Minute, Run: func(ctx context.Context) error {
			n, err := cfg.State.Prune(ctx, cfg.Now().Add(-cfg.Retention))
			if err != nil {
				return fmt.Errorf("prune history older than %s: %w", cfg.Retention, err)
			}
			if n > 0 {
				cfg.Log.Info("pruned old history", "rows", n, "older_than", cfg.Retention)
			}
			return nil
		}})
	}
	return out, nil
}

// Locate geolocates the peer IPs of every network that have no IP metadata
// yet; a failing network does not keep the others from being located.
func Locate(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	nets, err := cfg.State.Networks(ctx)
	if err != nil {
		return fmt.Errorf("locate: list networks: %w", err)
	}
	var errs []error
	for _, n := range nets {
		if err := locateNetwork(ctx, cfg, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func locateNetwork(ctx context.Context, cfg Config, n string) error {
	const page = 1000
	for {
		ips, err := cfg.State.IPsWithoutInfo(ctx, n, page)
		if err != nil {
			return fmt.Errorf("locate %s: %w", n, err)
		}
		if len(ips) == 0 {
			return nil
		}
		infos := make([]state.IPInfo, 0, len(ips))
		for _, ip := range ips {
			g := cfg.Geo.Lookup(ip)
			infos = append(infos, state.IPInfo{
				IP: ip, Country: g.Country, CountryCode: g.CountryCode, Region: g.Region, City: g.City,
				Latitude: g.Latitude, Longitude: g.Longitude, ASN: g.ASN, ASOrganization: g.ASOrganization,
				Class: g.Class, UpdatedAt: cfg.Now(),
			})
		}
		if err := cfg.State.PutIPInfo(ctx, infos); err != nil {
			return fmt.Errorf("locate %s: store: %w", n, err)
		}
		if len(ips) < page {
			return nil
		}
	}
}

// settle is how far back each read of new history starts again: a
// PostgreSQL transaction can commit rows with lower ids after rows with
// higher ones were read (ids are taken at insert, rows appear at commit).
// Consumer transactions last far less than this; the estimator drops what
// it reads twice.
const settle = 2 * time.Minute

// Estimator keeps the validator estimates of one network up to date: each
// run reads only the history stored since the previous one and recounts
// only the nodes it concerns. Its state is in memory; the first run after a
// start reads the whole window once.
type Estimator struct {
	cfg     Config
	network string
	tracker *estimate.Tracker
	marks   []mark // cursors reached, oldest first
}

// mark is how far history had been read at a time.
type mark struct {
	at     time.Time
	cursor state.Cursor
}

// NewEstimator returns the estimator of one configured network.
func NewEstimator(cfg Config, network string) *Estimator {
	_ = cfg.defaults()
	return &Estimator{cfg: cfg, network: network, tracker: estimate.NewTracker(cfg.Networks[network], cfg.Window)}
}

// from is the cursor the next read starts at: the newest one reached at
// least settle ago, so late commits are not missed; none yet (the first
// minutes after a start) means the whole window.
func (e *Estimator) from(now time.Time) state.Cursor {
	var c state.Cursor
	for _, m := range e.marks {
		if now.Sub(m.at) < settle {
			break
		}
		c = m.cursor
	}
	return c
}

// Run reads new history, passes the tracker and writes the estimates that
// changed.
func (e *Estimator) Run(ctx context.Context) error {
	now := e.cfg.Now()
	since := now.Add(-e.cfg.Window)
	cursor := e.from(now)
	reached := cursor
	for {
		page, err := e.cfg.State.HistoryAfter(ctx, e.network, since, cursor, 0)
		if err != nil {
			return fmt.Errorf("estimate %s: %w", e.network, err)
		}
		e.add(page)
		cursor = page.Next
		reached = page.Next
		if !page.More {
			break
		}
	}
	e.marks = append(e.marks, mark{at: now, cursor: reached})
	// Keep one mark older than settle (the next start) and the newer ones.
	for len(e.marks) > 1 && now.Sub(e.marks[1].at) >= settle {
		e.marks = e.marks[1:]
	}
	changed, _ := e.tracker.Pass(now)
	if len(changed) == 0 {
		return nil
	}
	es := make([]state.Estimate, 0, len(changed))
	total := 0
	for _, r := range changed {
		es = append(es, state.Estimate{Network: e.network, PeerID: r.PeerID, Validators: r.Validators, Low: r.Low, High: r.High,
			Confidence: r.Confidence, Method: r.Method, Heuristic: r.Heuristic, Epochs: r.Epochs, UpdatedAt: now})
		total += r.Validators
	}
	if err := e.cfg.State.PutEstimates(ctx, es); err != nil {
		return fmt.Errorf("estimate %s: store: %w", e.network, err)
	}
	e.cfg.Log.Debug("estimates updated", "network", e.network, "changed", len(es))
	return nil
}

// add hands a page of history to the tracker, grouped by peer.
func (e *Estimator) add(page state.HistoryPage) {
	type peerData struct {
		node    string
		snaps   []estimate.Snapshot
		changes []estimate.Change
	}
	by := map[string]*peerData{}
	get := func(id string) *peerData {
		p := by[id]
		if p == nil {
			p = &peerData{}
			by[id] = p
		}
		return p
	}
	for _, o := range page.Observations {
		p := get(o.PeerID)
		if o.NodeID != "" {
			p.node = o.NodeID
		}
		p.snaps = append(p.snaps, estimate.Snapshot{Time: o.Time, Epoch: o.Epoch, Attnets: o.Attnets, Subscribed: o.SubscribedSubnets})
	}
	for _, c := range page.Subscriptions {
		if c.Kind != "attestation" {
			continue
		}
		p := get(c.PeerID)
		p.changes = append(p.changes, estimate.Change{Time: c.Time, Subnet: c.Subnet, Subscribed: c.Subscribed})
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := by[id]
		e.tracker.Add(id, p.node, p.snaps, p.changes)
	}
}
