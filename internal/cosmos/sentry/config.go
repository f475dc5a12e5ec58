// Package sentry observes one Cosmos chain through several CometBFT RPC
// endpoints and publishes what it sees on the bus: every vote, round and
// step any endpoint saw (once, with the first observer), every block and
// the canonical commit of every height (live from NewBlock, or backfilled
// from /commit after a gap, a reconnect or a restart, with no cap on the
// gap), the validator set wherever it changes, monikers, slashing params
// and each endpoint's health.
package sentry

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/domain"
)

// Defaults of Config's limits.
const (
	DefaultPollEvery      = 5 * time.Second
	DefaultMaxBlockAge    = 60 * time.Second
	DefaultStuckAfter     = 60 * time.Second
	DefaultStatusEvery    = time.Minute
	DefaultRequestTimeout = 10 * time.Second
	DefaultBackfill       = 4
	DefaultDedupHeights   = 64
	DefaultLCDEvery       = 10 * time.Minute
	DefaultUnhealthyGrace = 2 * time.Minute
)

// Config configures a Sentry of one chain.
type Config struct {
	Chain     string   // the chain's name in subjects (usually its chain id)
	ChainID   string   // expected node_info.network; default Chain
	Endpoints []string // RPC base URLs (may hold API keys: never logged)
	LCD       string   // optional REST (LCD) base URL, asked first for monikers and slashing params
	// GRPC is an optional cosmos-sdk gRPC endpoint, HOST:PORT (plaintext)
	// or tls://HOST:PORT (rpc.ParseGRPCAddress), asked after the LCD and
	// before abci_query for the same.
	GRPC      string
	Publisher domain.Publisher
	SentryID  string
	DataDir   string // where the cursor file is kept; "" keeps none
	Log       *slog.Logger
	// Registerer takes the metrics; nil: no metrics.
	Registerer prometheus.Registerer
	// FromHeight > 0: without a cursor, start (backfill) from this height
	// rather than the latest.
	FromHeight int64

	PollEvery      time.Duration // /status of each endpoint
	MaxBlockAge    time.Duration // latest_block_time older than this: unhealthy
	StuckAfter     time.Duration // height not advanced for this long: unhealthy
	StatusEvery    time.Duration // republish each endpoint's status this often
	RequestTimeout time.Duration // each HTTP request
	Backfill       int           // backfill requests in flight
	DedupHeights   int           // heights of votes, rounds and steps remembered for de-duplication
	LCDEvery       time.Duration // how often to read names and slashing params (LCD, gRPC or abci_query)
	UnhealthyGrace time.Duration // no endpoint healthy for longer than this: Healthy reports it
	// WS tunes the subscriptions (ReadLimit, PingEvery, StallTimeout, …);
	// its URL, Log and Count are set per endpoint.
	WS rpc.WSConfig
}

func (c *Config) defaults() error {
	if err := events.CheckChain(c.Chain); err != nil {
		return fmt.Errorf("cosmos sentry: %w", err)
	}
	if c.ChainID == "" {
		c.ChainID = c.Chain
	}
	if len(c.Endpoints) == 0 {
		return fmt.Errorf("cosmos sentry %s: no RPC endpoint: give at least one, e.g. --cosmos %s=http://127.0.0.1:26657", c.Chain, c.Chain)
	}
	if c.Publisher == nil {
		return fmt.Errorf("cosmos sentry %s: no publisher", c.Chain)
	}
	if c.GRPC != "" {
		if _, err := rpc.ParseGRPCAddress(c.GRPC); err != nil {
			return fmt.Errorf("cosmos sentry %s: gRPC endpoint: %w", c.Chain, err)
		}
	}
	if c.FromHeight < 0 {
		return fmt.Errorf("cosmos sentry %s: from height %d is negative", c.Chain, c.FromHeight)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PollEvery, DefaultPollEvery)
	def(&c.MaxBlockAge, DefaultMaxBlockAge)
	def(&c.StuckAfter, DefaultStuckAfter)
	def(&c.StatusEvery, DefaultStatusEvery)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	def(&c.LCDEvery, DefaultLCDEvery)
	def(&c.UnhealthyGrace, DefaultUnhealthyGrace)
	if c.Backfill <= 0 {
		c.Backfill = DefaultBackfill
	}
	if c.DedupHeights <= 0 {
		c.DedupHeights = DefaultDedupHeights
	}
	return nil
}

// endpointNames are the endpoints' host:port (no user information, no
// path, no query), made distinct with "#2", "#3" where two share one.
func endpointNames(urls []string) ([]string, error) {
	out := make([]string, len(urls))
	seen := map[string]int{}
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("endpoint %d (%s): not a URL with a host", i+1, rpc.Redact(raw))
		}
		host := u.Host
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" || u.Scheme == "wss" {
				port = "443"
			}
			host = net.JoinHostPort(u.Hostname(), port)
		}
		seen[host]++
		if k := seen[host]; k > 1 {
			host += "#" + strconv.Itoa(k)
		}
		out[i] = host
	}
	return out, nil
}
