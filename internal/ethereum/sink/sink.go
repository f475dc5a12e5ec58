// Package sink is what the Ethereum domain gives the shared consumer: it
// decodes ethereum.<network>.* events, applies them to the Ethereum state
// tables, and writes Valtrack's three archive tables (discovery_events,
// metadata_events and the derived validator_metadata_events).
package sink

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// Config configures the sink.
type Config struct {
	State   state.Store
	Archive *archive.Writer // nil: no archive
	// Params gives the subnet parameters of known networks, used to split
	// long-lived from short-lived subnets for validator_metadata_events
	// (mainnet's for any other network).
	Params map[string]estimate.Params
	// Log, when set, hears once per network of events for a network
	// Params lacks (a consumer not given that --eth).
	Log *slog.Logger
}

// Sink implements consumer.Sink for the Ethereum domain.
type Sink struct {
	cfg  Config
	disc *archive.Table[DiscoveryRow]
	meta *archive.Table[MetadataRow]
	val  *archive.Table[ValidatorMetadataRow]

	mu     sync.Mutex
	warned map[string]bool // networks without Params already logged

	// longLived answers compute_subscribed_subnets by id prefix and period:
	// the shuffle behind it was the costliest part of a validator row.
	longLived subnets.Cache
}

// New registers the archive tables (when there is an archive).
func New(cfg Config) (*Sink, error) {
	if cfg.State == nil {
		return nil, errors.New("ethereum sink: a state store is required")
	}
	s := &Sink{cfg: cfg}
	if cfg.Archive != nil {
		var err error
		if s.disc, s.meta, s.val, err = RegisterTables(cfg.Archive); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// RegisterTables registers the Ethereum archive tables on w.
func RegisterTables(w *archive.Writer) (*archive.Table[DiscoveryRow], *archive.Table[MetadataRow], *archive.Table[ValidatorMetadataRow], error) {
	disc, err := archive.Register(w, events.Domain, TableDiscovery, archive.TableOptions{}, func(r *DiscoveryRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.Timestamp, Size: r.approxSize(), MsgID: r.MsgID}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	meta, err := archive.Register(w, events.Domain, TableMetadata, archive.TableOptions{}, func(r *MetadataRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.Timestamp, Size: r.approxSize(), MsgID: r.MsgID}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	// Validator rows derive from a metadata event and share its id.
	val, err := archive.Register(w, events.Domain, TableValidatorMetadata, archive.TableOptions{Derived: true}, func(r *ValidatorMetadataRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.Timestamp, Size: r.approxSize(), MsgID: r.MsgID}
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return disc, meta, val, nil
}

// Decode parses an Ethereum event; its strings come out made safe.
func (s *Sink) Decode(kind string, data []byte) (any, error) { return events.Decode(kind, data) }

// Apply writes the events to the state tables in one transaction.
func (s *Sink) Apply(ctx context.Context, evs []consumer.Event) error {
	return s.cfg.State.Apply(ctx, toBatch(evs))
}

// Applied reports which events the state tables already hold (see
// consumer.AppliedChecker).
func (s *Sink) Applied(ctx context.Context, msgIDs []string) (map[string]bool, error) {
	return s.cfg.State.Applied(ctx, msgIDs)
}

// Archive appends the events' archive rows.
func (s *Sink) Archive(evs []consumer.Event) error {
	if s.disc == nil {
		return nil
	}
	var disc []DiscoveryRow
	var meta []MetadataRow
	var vals []ValidatorMetadataRow
	for _, ev := range evs {
		switch e := ev.Value.(type) {
		case *events.PeerDiscovered:
			row := FromPeerDiscovered(e)
			row.MsgID = ev.MsgID
			disc = append(disc, row)
		case *events.MetadataReceived:
			row := FromMetadataReceived(e)
			row.MsgID = ev.MsgID
			meta = append(meta, row)
			if v, ok := s.validatorRow(e, row); ok {
				v.MsgID = ev.MsgID
				vals = append(vals, v)
			}
		}
	}
	return errors.Join(write(s.disc, disc), write(s.meta, meta), write(s.val, vals))
}

func write[T any](t *archive.Table[T], rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return t.Write(rows)
}

// warnUnknown says once per network that its events come to a consumer
// that was not given it: they are stored, but nothing estimates them.
func (s *Sink) warnUnknown(network string) {
	if s.cfg.Log == nil {
		return
	}
	s.mu.Lock()
	first := !s.warned[network]
	if first {
		if s.warned == nil {
			s.warned = map[string]bool{}
		}
		s.warned[network] = true
	}
	s.mu.Unlock()
	if first {
		s.cfg.Log.Warn("events of an ethereum network this consumer was not given: they are stored, but no estimate runs for it and its validator rows use mainnet's subnet parameters; give the consumer --eth "+network,
			"network", network)
	}
}

// validatorRow is Valtrack's validator_metadata_event: written when a peer
// is subscribed to more subnets than its long-lived ones.
func (s *Sink) validatorRow(e *events.MetadataReceived, m MetadataRow) (ValidatorMetadataRow, bool) {
	p, ok := s.cfg.Params[e.Network]
	sp := p.Subnets
	if !ok {
		sp = subnets.ParamsMainnet()
		s.warnUnknown(e.Network)
	}
	long := map[int64]bool{}
	var longList []int64
	if id, ok := estimate.ParseNodeID(e.ID); ok {
		for _, sn := range s.longLived.Subscribed(id, e.Epoch, sp) {
			long[int64(sn)] = true
		}
	}
	// The MetaData attnets are the subnets the node itself declares
	// long-lived (all 64 for a node subscribed to every subnet).
	for _, sn := range estimate.SetBits(e.MetaData.Attnets, 64) {
		long[int64(sn)] = true
	}
	for sn := int64(0); sn < 64; sn++ {
		if long[sn] {
			longList = append(longList, sn)
		}
	}
	var short []int64
	for _, sn := range e.SubscribedSubnets {
		if !long[sn] {
			short = append(short, sn)
		}
	}
	if len(short) == 0 {
		return ValidatorMetadataRow{}, false
	}
	return ValidatorMetadataRow{
		ENR: m.ENR, ID: m.ID, Multiaddr: m.Multiaddr, Epoch: m.Epoch,
		SeqNumber: m.SeqNumber, Attnets: m.Attnets, Syncnets: m.Syncnets,
		LongLivedSubnets: longList, SubscribedSubnets: e.SubscribedSubnets, ShortLivedSubnets: short,
		ClientVersion: m.ClientVersion, CrawlerID: m.CrawlerID, CrawlerLocation: m.CrawlerLocation,
		Timestamp: m.Timestamp, PeerID: m.PeerID, Network: m.Network,
	}, true
}

func toBatch(evs []consumer.Event) state.Batch {
	var b state.Batch
	for _, ev := range evs {
		id := ev.MsgID
		switch e := ev.Value.(type) {
		case *events.PeerDiscovered:
			b.Discoveries = append(b.Discoveries, state.Discovery{
				Network: e.Network, NodeID: e.ID, PeerID: e.PeerID, ENR: e.ENR, ENRSeq: e.ENRSeq,
				IP: e.IP, Port: e.Port, ForkDigest: e.ForkDigest, Attnets: e.Attnets, Syncnets: e.Syncnets,
				SameNetwork: e.SameNetwork, SentryID: e.Sentry.ID, Time: time.UnixMilli(e.Timestamp).UTC(), MsgID: id,
			})
		case *events.MetadataReceived:
			b.Observations = append(b.Observations, state.Observation{
				Network: e.Network, PeerID: e.PeerID, NodeID: e.ID, ENR: e.ENR, Multiaddr: e.Multiaddr,
				IP: e.IP, Port: e.Port, Direction: e.Direction, Epoch: e.Epoch, HeadSlot: e.HeadSlot,
				ForkDigest: e.ForkDigest, Seq: e.MetaData.SeqNumber, Attnets: e.MetaData.Attnets,
				Syncnets: e.MetaData.Syncnets, CGC: e.MetaData.CGC, SubscribedSubnets: e.SubscribedSubnets,
				SubscribedSyncnets: e.SubscribedSyncnets, ClientVersion: e.ClientVersion, ClientName: e.ClientName,
				ClientVersionNum: e.ClientVersionNum, SentryID: e.Sentry.ID, Time: time.UnixMilli(e.Timestamp).UTC(), MsgID: id,
			})
		case *events.Subscription:
			b.Subscriptions = append(b.Subscriptions, state.SubscriptionChange{
				Network: e.Network, PeerID: e.PeerID, Kind: e.Kind, Subnet: e.Subnet, Subscribed: e.Subscribed,
				Epoch: e.Epoch, SentryID: e.Sentry.ID, Time: time.UnixMilli(e.Timestamp).UTC(), MsgID: id,
			})
		}
	}
	return b
}
