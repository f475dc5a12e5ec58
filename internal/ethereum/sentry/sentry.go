package sentry

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/valtrack/valtrack/internal/ethereum/crawl"
	"github.com/valtrack/valtrack/internal/ethereum/peerstore"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// Stats are the sentry's counters since start.
type Stats struct {
	Discovered  int            // distinct nodes with an eth2 entry found by discv5
	SameNetwork int            // of those, nodes on this network
	Dialed      int            // dials attempted
	Handshaken  int            // distinct peers handshaken at least once
	Failed      map[string]int // failed dials and handshakes by reason
	Published   int            // events published
	Connected   int            // peers connected now
	Crawl       crawl.Stats    // the discv5 crawler's counters
}

// Sentry observes one Ethereum consensus network.
type Sentry struct {
	cfg     Config
	pub     Publisher
	key     *ecdsa.PrivateKey
	host    host.Host
	crawler *crawl.Crawler
	store   *peerstore.Store
	rr      *reqresp.Client
	m       *metrics
	log     *slog.Logger
	events  *eventQueue
	dials   *dialQueue
	fork    *forkState

	mu         sync.Mutex
	discovered map[enode.ID]bool // node id → on this network (last sighting)
	handshaken map[peer.ID]bool
	busy       map[peer.ID]bool            // handshakes in progress
	direction  map[peer.ID]string          // direction of the current connection
	subs       map[peer.ID]map[string]bool // current subnet topics per peer
	goodbyes   map[peer.ID]uint64          // goodbye received during a handshake
	failed     map[string]int
	stopping   bool // set once Run is shutting down; guards wg.Add

	dialed, published atomic.Int64
	hsSem             chan struct{} // bounds inbound handshakes
	wg                sync.WaitGroup
	runCtx            context.Context
	closeOnce         sync.Once
	closeErr          error
}

// New loads (or creates) the node key and the peerstore, binds discv5 and
// the libp2p host. Nothing is dialed before Run.
func New(cfg Config, pub Publisher) (*Sentry, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if pub == nil {
		return nil, fmt.Errorf("sentry: no publisher given")
	}
	key, err := loadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	store, err := peerstore.Open(filepath.Join(cfg.DataDir, peerstore.FileName), peerstore.Options{})
	if err != nil {
		return nil, err
	}
	s := &Sentry{
		cfg:        cfg,
		pub:        pub,
		key:        key,
		store:      store,
		log:        cfg.Log.With("network", cfg.Network.Name),
		events:     newEventQueue(),
		discovered: make(map[enode.ID]bool),
		handshaken: make(map[peer.ID]bool),
		busy:       make(map[peer.ID]bool),
		direction:  make(map[peer.ID]string),
		subs:       make(map[peer.ID]map[string]bool),
		goodbyes:   make(map[peer.ID]uint64),
		failed:     make(map[string]int),
		hsSem:      make(chan struct{}, cfg.DialWorkers),
	}
	s.fork = newForkState(cfg.Network, time.Now())
	s.dials = newDialQueue()
	h, err := newHost(&s.cfg, key)
	if err != nil {
		return nil, err
	}
	s.host = h
	s.rr = &reqresp.Client{Host: h, Opts: cfg.ReqResp}
	if s.cfg.SentryID == "" {
		s.cfg.SentryID = h.ID().String()
	}
	m, err := newMetrics(cfg.Registerer, func() float64 { return float64(len(h.Network().Peers())) })
	if err != nil {
		h.Close()
		return nil, err
	}
	s.m = m
	boot, err := s.bootnodes()
	if err != nil {
		h.Close()
		return nil, err
	}
	c, err := crawl.New(crawl.Config{
		PrivateKey: key,
		ListenAddr: fmt.Sprintf("%s:%d", cfg.ListenIP, cfg.DiscPort),
		Bootnodes:  boot,
		Entries:    s.localEntries(),
		Requery:    cfg.CrawlRequery,
		Follow:     s.follow,
		OnNode:     s.onNode,
		Log:        s.log,
	})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("sentry: %w", err)
	}
	s.crawler = c
	return s, nil
}

// PeerID is the sentry's libp2p peer id.
func (s *Sentry) PeerID() peer.ID { return s.host.ID() }

// Self is the sentry's current ENR.
func (s *Sentry) Self() *enode.Node { return s.crawler.Self() }

// Stats returns the counters.
func (s *Sentry) Stats() Stats {
	s.mu.Lock()
	st := Stats{
		Discovered: len(s.discovered),
		Handshaken: len(s.handshaken),
		Failed:     make(map[string]int, len(s.failed)),
	}
	for _, same := range s.discovered {
		if same {
			st.SameNetwork++
		}
	}
	for k, v := range s.failed {
		st.Failed[k] = v
	}
	s.mu.Unlock()
	st.Dialed = int(s.dialed.Load())
	st.Published = int(s.published.Load())
	st.Connected = len(s.host.Network().Peers())
	st.Crawl = s.crawler.Stats()
	return st
}

// Progress logs the counters every interval until ctx is done.
// With every <= 0 it logs nothing (time.NewTicker would panic).
func (s *Sentry) Progress(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		return
	}
	if log == nil {
		log = s.log
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st := s.Stats()
			failed := 0
			for _, v := range st.Failed {
				failed += v
			}
			log.Info(fmt.Sprintf("discovered=%d handshaken=%d published=%d connected=%d failed=%d",
				st.Discovered, st.Handshaken, st.Published, st.Connected, failed))
		}
	}
}

func (s *Sentry) bootnodes() ([]*enode.Node, error) {
	var out []*enode.Node
	for _, b := range s.cfg.Network.Bootnodes {
		n, err := enode.Parse(enode.ValidSchemes, b)
		if err != nil {
			s.log.Warn("skipping a bootnode that does not parse; fix bootstrap_nodes.txt", "bootnode", truncate(b, 32), "err", err)
			continue
		}
		out = append(out, n)
	}
	if len(out) == 0 && len(s.cfg.Network.Bootnodes) > 0 {
		return nil, fmt.Errorf("sentry: none of the %d bootnodes of %s parses; fix bootstrap_nodes.txt", len(s.cfg.Network.Bootnodes), s.cfg.Network.Name)
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
