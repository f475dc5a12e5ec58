// Package sentry is the Ethereum beacon-network sentry: it crawls discv5,
// dials every node of the network over libp2p, performs the Status/MetaData
// handshake, watches gossipsub subscription announcements without joining
// any mesh, and publishes what it learns as events (internal/ethereum/events)
// through a Publisher. Its state lives in a peerstore in the data directory so
// a restart resumes where it stopped.
package sentry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// Publisher puts an event on the bus; *bus.Publisher satisfies it.
type Publisher interface {
	Publish(ctx context.Context, subject, msgID string, data []byte) error
}

// Defaults of Config.
const (
	DefaultListenIP     = "0.0.0.0"
	DefaultPort         = 9000 // for the command line; 0 in Config means random
	DefaultDialWorkers  = 32
	DefaultDialTimeout  = 10 * time.Second
	DefaultRetireAfter  = 24 * time.Hour
	DefaultSettleDelay  = time.Second
	DefaultMaxConns     = 1000
	DefaultBackoffBase  = 10 * time.Second
	DefaultBackoffMax   = time.Hour
	DefaultSaveInterval = 30 * time.Second
	DefaultIdentifyWait = 3 * time.Second
	DefaultVersion      = "dev"

	// maxQueuedEvents bounds the events waiting for the Publisher; beyond it
	// events are counted as dropped and logged (the bus is down for long).
	maxQueuedEvents = 1 << 20
	// maxPublishAttempts bounds retries of one event against a failing bus.
	maxPublishAttempts = 5
	// maxSubscriptionsPerRPC bounds the subscription options we process from
	// one gossipsub RPC; a beacon node announces well under 200 topics.
	maxSubscriptionsPerRPC = 1000
	// maxTopicsPerPeer bounds the topics remembered per peer.
	maxTopicsPerPeer = 256
)

// Config configures a Sentry. Zero fields take the defaults above.
type Config struct {
	Network *network.Network
	// DataDir holds the node key and the peerstore.
	DataDir string
	// ListenIP is the IP of every listener; default 0.0.0.0 (tests: 127.0.0.1).
	ListenIP string
	// DiscPort (UDP), TCPPort and QUICPort (UDP); 0 picks a random free port
	// (what tests want). The command line's default is DefaultPort.
	DiscPort, TCPPort, QUICPort int
	// DialWorkers bounds concurrent dials; default 32.
	DialWorkers int
	// DialTimeout bounds one dial; default 10s.
	DialTimeout time.Duration
	// RecheckInterval is how often every known peer is re-dialed or
	// re-handshaken; default one epoch.
	RecheckInterval time.Duration
	// RetireAfter retires peers neither discovered nor connected for so long;
	// default 24h.
	RetireAfter time.Duration
	// SettleDelay is the wait between a handshake and its MetadataReceived
	// event, so the subscriptions the peer announces right after connecting
	// are in it; default 1s.
	SettleDelay time.Duration
	// MaxConns is the connection manager's high water; default 1000.
	MaxConns int
	// BackoffBase and BackoffMax shape the per-peer exponential backoff after
	// failures; defaults 10s and 1h.
	BackoffBase, BackoffMax time.Duration
	// SaveInterval is how often the peerstore is written; default 30s.
	SaveInterval time.Duration
	// IdentifyWait bounds the wait for the peer's identify agent; default 3s.
	IdentifyWait time.Duration
	// CrawlRequery is how often discv5 nodes are asked again for their table
	// and ENR; default 10 minutes.
	CrawlRequery time.Duration
	// SentryID and SentryLocation go into every event; SentryID defaults to
	// the sentry's peer id.
	SentryID       string
	SentryLocation string
	// Version is our identify agent's version: "valtrack/<Version>".
	Version    string
	ReqResp    reqresp.Options
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

func (c *Config) validate() error {
	if c.Network == nil || c.Network.Config == nil {
		return errors.New("sentry: config: no network given (load one with network.Load)")
	}
	if c.DataDir == "" {
		return errors.New("sentry: config: no data directory given (set --data-dir)")
	}
	if c.ListenIP == "" {
		c.ListenIP = DefaultListenIP
	}
	if ip := net.ParseIP(c.ListenIP); ip == nil || ip.To4() == nil {
		return fmt.Errorf("sentry: config: listen IP %q is not an IPv4 address such as 0.0.0.0", c.ListenIP)
	}
	for _, p := range []*int{&c.DiscPort, &c.TCPPort, &c.QUICPort} {
		if *p < 0 || *p > 65535 {
			return fmt.Errorf("sentry: config: port %d out of range; give 1-65535, or 0 for a random one", *p)
		}
	}
	if c.DialWorkers < 0 || c.MaxConns < 0 {
		return fmt.Errorf("sentry: config: negative limit (dial workers %d, max conns %d)", c.DialWorkers, c.MaxConns)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.DialWorkers == 0 {
		c.DialWorkers = DefaultDialWorkers
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.Network.Config.SecondsPerSlot <= 0 || c.Network.Config.SlotsPerEpoch == 0 {
		return fmt.Errorf("sentry: config: network %s has no slot duration or slots per epoch", c.Network.Name)
	}
	def(&c.DialTimeout, DefaultDialTimeout)
	def(&c.RecheckInterval, c.Network.Config.SecondsPerSlot*time.Duration(c.Network.Config.SlotsPerEpoch))
	def(&c.RetireAfter, DefaultRetireAfter)
	def(&c.SettleDelay, DefaultSettleDelay)
	def(&c.BackoffBase, DefaultBackoffBase)
	def(&c.BackoffMax, DefaultBackoffMax)
	def(&c.SaveInterval, DefaultSaveInterval)
	def(&c.IdentifyWait, DefaultIdentifyWait)
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}
