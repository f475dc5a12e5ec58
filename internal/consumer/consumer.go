// Package consumer turns events from the bus into the Parquet archive and
// the state store. A batch is acknowledged only after both are durable; a
// redelivered batch changes nothing (the store is keyed by message id, and
// events the store already holds are not archived again); an event that
// cannot be decoded is counted, logged once per subject and terminated.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
	"github.com/valtrack/valtrack/internal/store"
)

// DefaultBatchSize is the events per batch: per-batch costs (a SQLite
// transaction, Parquet syncs) dominate below ~2000 (docs/BENCHMARKS.md).
const DefaultBatchSize = 2000

// Config configures a consumer.
type Config struct {
	Bus     *bus.Bus
	Store   store.Store
	Archive *archive.Writer // nil: no archive
	// Durable is the JetStream durable consumer name; processes using the
	// same name share the work.
	Durable   string
	BatchSize int
	MaxWait   time.Duration
	// AckWait is how long the bus waits for an acknowledgement before it
	// redelivers (default 30s): a consumer that dies mid-batch has its
	// batch redelivered to the others after this.
	AckWait time.Duration
	// Params gives the subnet parameters of known networks, used to split
	// long-lived from short-lived subnets for validator_metadata_events.
	Params     map[string]estimate.Params
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// Consumer is a running Ethereum events consumer.
type Consumer struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu        sync.Mutex
	loggedBad map[string]bool // subjects already logged as undecodable
	// longLived caches compute_subscribed_subnets per node and epoch: the
	// shuffle behind it is the costliest part of a validator row.
	longLived  map[longLivedKey][]int64
	processed  uint64
	lastBatchN int
}

type metrics struct {
	events    *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	batches   prometheus.Counter
	failures  prometheus.Counter
	batchSecs prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_events_total", Help: "Events written to the store, by kind."}, []string{"kind"}),
		rejected:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_events_rejected_total", Help: "Events terminated because they could not be decoded, by subject kind."}, []string{"kind"}),
		batches:   prometheus.NewCounter(prometheus.CounterOpts{Name: "valtrack_consumer_batches_total", Help: "Batches written and acknowledged."}),
		failures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "valtrack_consumer_batch_failures_total", Help: "Batches that failed to write and will be redelivered."}),
		batchSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "valtrack_consumer_batch_seconds", Help: "Time to write one batch durably.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.events, m.rejected, m.batches, m.failures, m.batchSecs} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					continue
				}
			}
		}
	}
	return m
}

// New validates the configuration.
func New(cfg Config) (*Consumer, error) {
	if cfg.Bus == nil || cfg.Store == nil {
		return nil, errors.New("consumer: a bus and a store are required")
	}
	if cfg.Durable == "" {
		cfg.Durable = "valtrack-ethereum"
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Consumer{cfg: cfg, log: cfg.Log.With("component", "consumer"), metrics: newMetrics(cfg.Registerer), loggedBad: map[string]bool{}, longLived: map[longLivedKey][]int64{}}, nil
}

// Processed is the number of events written so far.
func (c *Consumer) Processed() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.processed
}

// Run consumes until ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	if err := c.cfg.Bus.EnsureStream(ctx, events.Domain); err != nil {
		return fmt.Errorf("consumer: ensure stream: %w", err)
	}
	return c.cfg.Bus.Consume(ctx, bus.ConsumeConfig{
		Domain:    events.Domain,
		Durable:   c.cfg.Durable,
		BatchSize: c.cfg.BatchSize,
		MaxWait:   c.cfg.MaxWait,
		AckWait:   c.cfg.AckWait,
	}, c.handle)
}

type longLivedKey struct {
	node  [32]byte
	epoch uint64
	net   string
}

// maxLongLivedCache bounds the cache; it is simply emptied when full.
const maxLongLivedCache = 100_000

func (c *Consumer) longLivedSubnets(net string, id [32]byte, epoch uint64, sp subnets.Params) []int64 {
	k := longLivedKey{id, epoch, net}
	c.mu.Lock()
	v, ok := c.longLived[k]
	c.mu.Unlock()
	if ok {
		return v
	}
	for _, s := range subnets.ComputeSubscribedSubnets(id, epoch, sp) {
		v = append(v, int64(s))
	}
	c.mu.Lock()
	if len(c.longLived) >= maxLongLivedCache {
		c.longLived = map[longLivedKey][]int64{}
	}
	c.longLived[k] = v
	c.mu.Unlock()
	return v
}

type decoded struct {
	msg   *bus.Msg
	kind  string
	value any
}

func (c *Consumer) reject(m *bus.Msg, kind string, err error) {
	c.metrics.rejected.WithLabelValues(kind).Inc()
	c.mu.Lock()
	first := !c.loggedBad[m.Subject]
	c.loggedBad[m.Subject] = true
	c.mu.Unlock()
	if first {
		c.log.Warn("refusing an event it cannot read (further ones on this subject are counted, not logged)",
			"subject", m.Subject, "stream_seq", m.StreamSeq, "err", err)
	}
	if terr := m.Term(); terr != nil {
		c.log.Debug("terminate message", "subject", m.Subject, "err", terr)
	}
}

// decodeAll decodes a batch, refusing what it cannot read. (Decoding in
// parallel was measured: no gain on the pipeline benchmark, whose bound is
// the store's single writer.)
func (c *Consumer) decodeAll(batch []*bus.Msg) []decoded {
	ds := make([]decoded, 0, len(batch))
	for _, m := range batch {
		_, kind, err := events.SplitSubject(c.subjectOf(m))
		if err != nil {
			c.reject(m, "unknown", err)
			continue
		}
		v, err := events.Decode(kind, m.Data)
		if err != nil {
			c.reject(m, kind, err)
			continue
		}
		ds = append(ds, decoded{msg: m, kind: kind, value: v})
	}
	return ds
}

// handle writes one batch; returning nil acknowledges it.
func (c *Consumer) handle(ctx context.Context, batch []*bus.Msg) error {
	start := time.Now()
	ds := c.decodeAll(batch)
	if len(ds) == 0 {
		return nil
	}
	b := c.toBatch(ds)
	// Archive and store are written concurrently: both are idempotent for a
	// redelivered batch (the archive skips message ids it holds, the store
	// is keyed by them), and the batch is acknowledged only after both.
	var archErr error
	var wg sync.WaitGroup
	if c.cfg.Archive != nil {
		// Before Apply starts: once it commits, this batch's own events
		// would look stored by someone else.
		fresh, err := c.freshIDs(ctx, ds)
		if err != nil {
			c.metrics.failures.Inc()
			return fmt.Errorf("consumer: write batch: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.archive(ds, fresh); err != nil {
				archErr = fmt.Errorf("consumer: archive batch: %w", err)
			}
		}()
	}
	storeErr := c.cfg.Store.Apply(ctx, b)
	wg.Wait()
	if err := errors.Join(archErr, storeErr); err != nil {
		c.metrics.failures.Inc()
		return fmt.Errorf("consumer: write batch: %w", err)
	}
	for _, d := range ds {
		c.metrics.events.WithLabelValues(d.kind).Inc()
	}
	c.metrics.batches.Inc()
	c.metrics.batchSecs.Observe(time.Since(start).Seconds())
	c.mu.Lock()
	c.processed += uint64(len(ds))
	c.lastBatchN = len(ds)
	c.mu.Unlock()
	return nil
}

// subjectOf strips the bus's test subject prefix, if any.
func (c *Consumer) subjectOf(m *bus.Msg) string {
	s := m.Subject
	if p := c.cfg.Bus.Subject(""); p != "" && len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func msgID(m *bus.Msg) string {
	if m.MsgID != "" {
		return m.MsgID
	}
	return fmt.Sprintf("seq-%d", m.StreamSeq)
}

// freshIDs returns the ids of the events to archive: those neither this
// archive nor the store holds yet. The archive catches a batch redelivered
// to this process after a crash between archiving and acknowledging; the
// store catches one written by another consumer on the same durable whose
// acknowledgement was lost, as when the NATS node leading the durable dies:
// the new leader may deliver it again, to anyone, even as a first delivery.
func (c *Consumer) freshIDs(ctx context.Context, ds []decoded) (map[string]bool, error) {
	fresh := make(map[string]bool, len(ds))
	var ask []string
	for _, d := range ds {
		switch d.value.(type) {
		case *events.PeerDiscovered, *events.MetadataReceived: // the archived kinds
		default:
			continue
		}
		if id := msgID(d.msg); !c.cfg.Archive.Contains(id) {
			fresh[id] = true
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return fresh, nil
	}
	stored, err := c.cfg.Store.Applied(ctx, ask)
	if err != nil {
		return nil, fmt.Errorf("check which events are archived elsewhere: %w", err)
	}
	for id := range stored {
		delete(fresh, id)
	}
	return fresh, nil
}

func (c *Consumer) archive(ds []decoded, fresh map[string]bool) error {
	var disc []archive.DiscoveryRow
	var meta []archive.MetadataRow
	var vals []archive.ValidatorMetadataRow
	for _, d := range ds {
		if !fresh[msgID(d.msg)] {
			continue
		}
		id := msgID(d.msg)
		switch e := d.value.(type) {
		case *events.PeerDiscovered:
			row := archive.FromPeerDiscovered(e)
			row.MsgID = id
			disc = append(disc, row)
		case *events.MetadataReceived:
			row := archive.FromMetadataReceived(e)
			row.MsgID = id
			meta = append(meta, row)
			if v, ok := c.validatorRow(e); ok {
				v.MsgID = id
				vals = append(vals, v)
			}
		}
	}
	if len(disc) > 0 {
		if err := c.cfg.Archive.WriteDiscovery(disc); err != nil {
			return err
		}
	}
	if len(meta) > 0 {
		if err := c.cfg.Archive.WriteMetadata(meta); err != nil {
			return err
		}
	}
	if len(vals) > 0 {
		if err := c.cfg.Archive.WriteValidatorMetadata(vals); err != nil {
			return err
		}
	}
	return c.cfg.Archive.Sync()
}

// validatorRow is Valtrack's validator_metadata_event: written when a peer
// is subscribed to more subnets than its long-lived ones.
func (c *Consumer) validatorRow(e *events.MetadataReceived) (archive.ValidatorMetadataRow, bool) {
	p, ok := c.cfg.Params[e.Network]
	sp := p.Subnets
	if !ok {
		sp = subnets.ParamsMainnet()
	}
	long := map[int64]bool{}
	var longList []int64
	if id, ok := estimate.ParseNodeID(e.ID); ok {
		for _, s := range c.longLivedSubnets(e.Network, id, e.Epoch, sp) {
			long[s] = true
		}
	}
	// The MetaData attnets are the subnets the node itself declares
	// long-lived (all 64 for a node subscribed to every subnet).
	for _, s := range estimate.SetBits(e.MetaData.Attnets, 64) {
		long[int64(s)] = true
	}
	for s := int64(0); s < 64; s++ {
		if long[s] {
			longList = append(longList, s)
		}
	}
	var short []int64
	for _, s := range e.SubscribedSubnets {
		if !long[s] {
			short = append(short, s)
		}
	}
	if len(short) == 0 {
		return archive.ValidatorMetadataRow{}, false
	}
	m := archive.FromMetadataReceived(e)
	return archive.ValidatorMetadataRow{
		ENR: m.ENR, ID: m.ID, Multiaddr: m.Multiaddr, Epoch: m.Epoch,
		SeqNumber: m.SeqNumber, Attnets: m.Attnets, Syncnets: m.Syncnets,
		LongLivedSubnets: longList, SubscribedSubnets: e.SubscribedSubnets, ShortLivedSubnets: short,
		ClientVersion: m.ClientVersion, CrawlerID: m.CrawlerID, CrawlerLocation: m.CrawlerLocation,
		Timestamp: m.Timestamp, PeerID: m.PeerID, Network: m.Network,
	}, true
}

func (c *Consumer) toBatch(ds []decoded) store.Batch {
	var b store.Batch
	for _, d := range ds {
		id := msgID(d.msg)
		switch e := d.value.(type) {
		case *events.PeerDiscovered:
			b.Discoveries = append(b.Discoveries, store.Discovery{
				Network: e.Network, NodeID: e.ID, PeerID: e.PeerID, ENR: e.ENR, ENRSeq: e.ENRSeq,
				IP: e.IP, Port: e.Port, ForkDigest: e.ForkDigest, Attnets: e.Attnets, Syncnets: e.Syncnets,
				SameNetwork: e.SameNetwork, SentryID: e.Sentry.ID, Time: time.UnixMilli(e.Timestamp).UTC(), MsgID: id,
			})
		case *events.MetadataReceived:
			b.Observations = append(b.Observations, store.Observation{
				Network: e.Network, PeerID: e.PeerID, NodeID: e.ID, ENR: e.ENR, Multiaddr: e.Multiaddr,
				IP: e.IP, Port: e.Port, Direction: e.Direction, Epoch: e.Epoch, HeadSlot: e.HeadSlot,
				ForkDigest: e.ForkDigest, Seq: e.MetaData.SeqNumber, Attnets: e.MetaData.Attnets,
				Syncnets: e.MetaData.Syncnets, CGC: e.MetaData.CGC, SubscribedSubnets: e.SubscribedSubnets,
				SubscribedSyncnets: e.SubscribedSyncnets, ClientVersion: e.ClientVersion, ClientName: e.ClientName,
				ClientVersionNum: e.ClientVersionNum, SentryID: e.Sentry.ID, Time: time.UnixMilli(e.Timestamp).UTC(), MsgID: id,
			})
		case *events.Subscription:
			b.Subscriptions = append(b.Subscriptions, store.SubscriptionChange{
				Network: e.Network, PeerID: e.PeerID, Kind: e.Kind, Subnet: e.Subnet, Subscribed: e.Subscribed,
				Epoch: e.Epoch, SentryID: e.Sentry.ID, Time: time.UnixMilli(e.Timestamp).UTC(), MsgID: id,
			})
		}
	}
	return b
}
