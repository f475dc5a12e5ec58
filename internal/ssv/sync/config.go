// Package sync is the SSV sentry: it follows the SSVNetwork contract of one
// network through one or more execution-layer JSON-RPC endpoints and
// publishes every contract log on the bus (events.ContractEvent), a marker
// after each processed block (events.Block), reorgs that reach processed
// blocks (events.Reorg) and its progress (events.SyncStatus).
//
// History is read with eth_getLogs in adaptive block ranges up to head −
// FollowDistance; then the sentry follows new heads block by block. The
// number of logs of every block that has some is checked against the
// block's receipts, because nodes have been seen returning too few logs
// from their log index (ssvlabs/ssv#2990), and a mismatch re-reads from
// another endpoint (or, with one, from the same after a back-off). A
// history range is also compared with a second endpoint's answer or,
// without one, its blocks without logs with their blooms (bloomCheck). The last fully published block and the hashes of the
// recent blocks are kept in <DataDir>/ssv-<network>.cursor.
package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/safe"
	"github.com/valtrack/valtrack/internal/ssv/events"
)

// Defaults of Config's limits.
const (
	DefaultFollowDistance = 8
	DefaultInitialRange   = 1000
	DefaultMaxRange       = 10000
	DefaultGrowAfter      = 3 // successful ranges in a row before the range doubles
	DefaultPollEvery      = 2 * time.Second
	DefaultRequestTimeout = 10 * time.Second
	DefaultStatusEvery    = 30 * time.Second
	DefaultAckWait        = 10 * time.Second
	DefaultStatusMinGap   = 2 * time.Second
	// StatusHeadStep: a head this many blocks past the last published
	// status's publishes a new one (at most every StatusMinGap), so that
	// /sync's head and lag are current, not up to StatusEvery old.
	StatusHeadStep       = 2
	DefaultRetryMin      = 500 * time.Millisecond
	DefaultRetryMax      = 30 * time.Second
	DefaultMaxResponse   = 64 << 20 // bytes of one JSON-RPC answer
	DefaultNoHeadTimeout = 2 * time.Minute
	// KeepExtra blocks are kept beyond FollowDistance for reorg detection.
	KeepExtra = 64
	// Healthy() limits.
	MaxLagBlocks = 5
	MaxLagTime   = 300 * time.Second
)

// Decoder turns a contract log into its ABI event name and arguments (a JSON
// object). An error makes the log an events.Skipped with the error as its
// reason; wrap ErrUnknownTopic or ErrMalformed to label the metric.
type Decoder func(types.Log) (name string, args json.RawMessage, err error)

// Errors a Decoder may wrap, for the skipped-logs metric's reason label.
var (
	ErrUnknownTopic = errors.New("unknown event topic")
	ErrMalformed    = errors.New("malformed event data")
)

// Config configures the sentry of one SSV network.
type Config struct {
	Network  string         // subject token, e.g. mainnet
	Contract common.Address // the SSVNetwork contract
	// ChainID, when not 0, is the chain id every endpoint must report.
	ChainID   uint64
	FromBlock uint64 // the first block read when there is no cursor (the contract's deploy block)
	// RPCs are http(s):// or ws(s):// URLs; they may carry API keys and are
	// never logged (endpoints are named host:port).
	RPCs           []string
	FollowDistance uint64 // blocks behind head treated as final; default 8
	Decoder        Decoder
	// Publisher takes the events. Where it is a domain.Flusher the cursor
	// waits for its Flush (AckWait), so give each sentry a view of its own
	// (domain.Env.PublisherFor, a bus.Scope): a shared one would make the
	// cursor wait for every other publisher's messages too.
	Publisher domain.Publisher
	SentryID  string
	DataDir   string // cursor file directory; "" keeps no cursor
	// ReplayFrom, when set, moves a cursor that is past it back to this
	// block, so that the blocks from it are read and published again
	// (--ssv-replay-from): how an operator fills a block the consumer
	// holds because one of its events never arrived. The sink ignores
	// what it already applied, so a replay changes nothing else.
	ReplayFrom *uint64
	// NoBloomCheck turns off, with a single endpoint, the verification of
	// history blocks the answer holds no log of against their blooms
	// (bloomCheck): on mainnet, where blooms are nearly full, it costs up
	// to two calls per block. A second endpoint makes it unneeded.
	NoBloomCheck bool
	Log          *slog.Logger
	Registerer   prometheus.Registerer // nil: no metrics

	InitialRange   uint64        // first eth_getLogs range, blocks
	MaxRange       uint64        // largest eth_getLogs range, blocks
	GrowAfter      int           // successes before the range doubles
	PollEvery      time.Duration // eth_blockNumber polling without WebSocket
	NoHeadTimeout  time.Duration // with WebSocket: poll when no head came for this long
	RequestTimeout time.Duration // each JSON-RPC call
	StatusEvery    time.Duration // SyncStatus at least this often
	// AckWait bounds the wait for the bus's acknowledgement of a block's
	// messages before the cursor moves past it (when the Publisher can
	// wait: Flush). Past it the cursor stays behind and the sentry goes on.
	AckWait      time.Duration
	StatusMinGap time.Duration // and at most this often (mode changes, head moves)
	RetryMin     time.Duration // first backoff once every endpoint failed
	RetryMax     time.Duration // largest backoff
	MaxResponse  int64         // bytes of one answer

	now func() time.Time // the clock of health checks; tests move it
}

func (c *Config) defaults() error {
	if err := events.CheckNetwork(c.Network); err != nil {
		return fmt.Errorf("ssv sentry: %w", err)
	}
	if c.Contract == (common.Address{}) {
		return fmt.Errorf("ssv sentry %s: no contract address: give the SSVNetwork address, e.g. --ssv-contract 0xDD9BC35aE942eF0cFa76930954a156B3fF30a4E1", c.Network)
	}
	if len(c.RPCs) == 0 {
		return fmt.Errorf("ssv sentry %s: no RPC endpoint: give at least one execution-layer JSON-RPC URL, e.g. --eth-rpc http://127.0.0.1:8545", c.Network)
	}
	if len(c.RPCs) > 64 {
		return fmt.Errorf("ssv sentry %s: %d RPC endpoints, at most 64", c.Network, len(c.RPCs))
	}
	if c.Decoder == nil {
		return fmt.Errorf("ssv sentry %s: no log decoder", c.Network)
	}
	if c.Publisher == nil {
		return fmt.Errorf("ssv sentry %s: no publisher", c.Network)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.FollowDistance == 0 {
		c.FollowDistance = DefaultFollowDistance
	}
	if c.MaxRange == 0 {
		c.MaxRange = DefaultMaxRange
	}
	if c.InitialRange == 0 {
		c.InitialRange = min(DefaultInitialRange, c.MaxRange)
	}
	if c.InitialRange > c.MaxRange {
		return fmt.Errorf("ssv sentry %s: initial range %d is above the largest range %d", c.Network, c.InitialRange, c.MaxRange)
	}
	if c.GrowAfter <= 0 {
		c.GrowAfter = DefaultGrowAfter
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PollEvery, DefaultPollEvery)
	def(&c.NoHeadTimeout, DefaultNoHeadTimeout)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	def(&c.StatusEvery, DefaultStatusEvery)
	def(&c.AckWait, DefaultAckWait)
	def(&c.StatusMinGap, DefaultStatusMinGap)
	def(&c.RetryMin, DefaultRetryMin)
	def(&c.RetryMax, DefaultRetryMax)
	if c.RetryMax < c.RetryMin {
		c.RetryMax = c.RetryMin
	}
	if c.MaxResponse <= 0 {
		c.MaxResponse = DefaultMaxResponse
	}
	return nil
}

// endpointName is a URL's host:port (no user information, path or query).
func endpointName(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errors.New("not a URL with a host")
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return "", fmt.Errorf("scheme %q: give an http://, https://, ws:// or wss:// URL", u.Scheme)
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	port := "80"
	if u.Scheme == "https" || u.Scheme == "wss" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// endpointNames names every URL, made distinct with "#2", "#3" where two
// share a host:port.
func endpointNames(urls []string) ([]string, error) {
	out := make([]string, len(urls))
	seen := map[string]int{}
	for i, raw := range urls {
		n, err := endpointName(raw)
		if err != nil {
			return nil, fmt.Errorf("RPC endpoint %d: %w", i+1, err)
		}
		seen[n]++
		if k := seen[n]; k > 1 {
			n += "#" + strconv.Itoa(k)
		}
		out[i] = n
	}
	return out, nil
}

// secretsOf are the parts of a URL that may be credentials: user, password,
// the query and its values, and long path segments (keys in paths).
func secretsOf(raw string) []string {
	return append([]string{raw}, safe.URLSecrets(raw)...)
}
