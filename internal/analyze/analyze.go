// Package analyze runs the periodic analyzers over the state store: the
// validator estimate of every beacon node and the geolocation of new IPs.
package analyze

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/geo"
)

// Config configures the analyzers.
type Config struct {
	Store state.Store
	Geo   *geo.Resolver // nil: no geolocation
	// Networks maps a network name to its estimator parameters.
	Networks map[string]estimate.Params
	// Window is how far back the estimate looks (default 6h).
	Window time.Duration
	// Every is how often the analyzers run (default 1 minute).
	Every time.Duration
	// Retention is how long observation history is kept (default 7 days;
	// negative keeps it forever). Peers, IP metadata and estimates stay.
	Retention time.Duration
	Log       *slog.Logger
	Now       func() time.Time
}

func (c *Config) defaults() {
	if c.Window <= 0 {
		c.Window = 6 * time.Hour
	}
	if c.Every <= 0 {
		c.Every = time.Minute
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
}

// Run runs the analyzers every cfg.Every until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	t := time.NewTicker(cfg.Every)
	defer t.Stop()
	var lastPrune time.Time
	for {
		if err := Once(ctx, cfg); err != nil && ctx.Err() == nil {
			cfg.Log.Warn("analyzers failed; retrying at the next tick", "err", err)
		}
		if now := cfg.Now(); cfg.Retention > 0 && now.Sub(lastPrune) >= time.Hour {
			lastPrune = now
			if n, err := cfg.Store.Prune(ctx, now.Add(-cfg.Retention)); err != nil && ctx.Err() == nil {
				cfg.Log.Warn("pruning old history failed; retrying in an hour", "err", err)
			} else if n > 0 {
				cfg.Log.Info("pruned old history", "rows", n, "older_than", cfg.Retention)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once runs every analyzer one time.
func Once(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if cfg.Geo != nil {
		if err := Locate(ctx, cfg); err != nil {
			return err
		}
	}
	return Estimate(ctx, cfg)
}

// Locate geolocates the peer IPs that have no IP metadata yet.
func Locate(ctx context.Context, cfg Config) error {
	cfg.defaults()
	nets, err := cfg.Store.Networks(ctx)
	if err != nil {
		return fmt.Errorf("locate: list networks: %w", err)
	}
	for _, n := range nets {
		for {
			ips, err := cfg.Store.IPsWithoutInfo(ctx, n, 1000)
			if err != nil {
				return fmt.Errorf("locate %s: %w", n, err)
			}
			if len(ips) == 0 {
				break
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
			if err := cfg.Store.PutIPInfo(ctx, infos); err != nil {
				return fmt.Errorf("locate %s: store: %w", n, err)
			}
			if len(ips) < 1000 {
				break
			}
		}
	}
	return nil
}

// Estimate recomputes the validator estimates of every configured network.
func Estimate(ctx context.Context, cfg Config) error {
	cfg.defaults()
	now := cfg.Now()
	for name, p := range cfg.Networks {
		hs, err := cfg.Store.Histories(ctx, name, now.Add(-cfg.Window))
		if err != nil {
			return fmt.Errorf("estimate %s: read histories: %w", name, err)
		}
		if len(hs) == 0 {
			continue
		}
		in := make([]estimate.History, 0, len(hs))
		for i := range hs {
			in = append(in, estimateInput(&hs[i]))
		}
		res := estimate.Network(in, p)
		es := make([]state.Estimate, 0, len(res))
		total := 0
		for _, r := range res {
			es = append(es, state.Estimate{Network: name, PeerID: r.PeerID, Validators: r.Validators, Low: r.Low, High: r.High,
				Confidence: r.Confidence, Method: r.Method, Heuristic: r.Heuristic, Epochs: r.Epochs, UpdatedAt: now})
			total += r.Validators
		}
		if err := cfg.Store.PutEstimates(ctx, es); err != nil {
			return fmt.Errorf("estimate %s: store: %w", name, err)
		}
		cfg.Log.Debug("estimates updated", "network", name, "nodes", len(es), "validators", total)
	}
	return nil
}

// estimateInput is the part of a stored history the estimator reads.
func estimateInput(h *state.History) estimate.History {
	out := estimate.History{PeerID: h.PeerID, NodeID: h.NodeID, Snapshots: make([]estimate.Snapshot, 0, len(h.Observations))}
	for _, o := range h.Observations {
		out.Snapshots = append(out.Snapshots, estimate.Snapshot{Time: o.Time, Epoch: o.Epoch, Attnets: o.Attnets, Subscribed: o.SubscribedSubnets})
	}
	for _, c := range h.Subscriptions {
		if c.Kind == "attestation" {
			out.Changes = append(out.Changes, estimate.Change{Time: c.Time, Subnet: c.Subnet, Subscribed: c.Subscribed})
		}
	}
	return out
}
