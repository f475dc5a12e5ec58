package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// endpoint is one JSON-RPC endpoint. Its client is dialled lazily and
// dropped after a transport failure so that the next use reconnects.
type endpoint struct {
	name    string
	raw     string // never logged
	ws      bool
	secrets []string
	timeout time.Duration
	max     int64

	mu       sync.Mutex
	client   *rpc.Client
	chainID  uint64 // 0 until checked
	head     uint64
	healthy  bool
	lastErr  string
	disabled string // set when it reported another chain: never used again
}

func newEndpoint(name, raw string, timeout time.Duration, max int64) *endpoint {
	return &endpoint{name: name, raw: raw, ws: strings.HasPrefix(raw, "ws"), secrets: secretsOf(raw), timeout: timeout, max: max}
}

// limitedBody fails a read past max bytes, so that a hostile or broken
// node cannot make the sentry buffer an unbounded answer.
type limitedBody struct {
	r   io.ReadCloser
	n   int64
	max int64
}

var errTooLarge = errors.New("response size exceeded")

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.n > b.max {
		return 0, fmt.Errorf("%w: more than %d bytes", errTooLarge, b.max)
	}
	if rem := b.max + 1 - b.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return n, fmt.Errorf("%w: more than %d bytes", errTooLarge, b.max)
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }

type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{r: resp.Body, max: t.max}
	return resp, nil
}

func (e *endpoint) dial(ctx context.Context) (*rpc.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client != nil {
		return e.client, nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	opts := []rpc.ClientOption{rpc.WithWebsocketMessageSizeLimit(e.max)}
	if !e.ws {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = e.timeout
		opts = append(opts, rpc.WithHTTPClient(&http.Client{Transport: limitTransport{base: tr, max: e.max}, Timeout: e.timeout + time.Second}))
	}
	c, err := rpc.DialOptions(ctx, e.raw, opts...)
	if err != nil {
		return nil, e.scrub(fmt.Errorf("connect: %w", err))
	}
	e.client = c
	return c, nil
}

// drop closes the client after a transport failure.
func (e *endpoint) drop() {
	e.mu.Lock()
	c := e.client
	e.client = nil
	e.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

func (e *endpoint) close() { e.drop() }

// call makes one JSON-RPC call with the endpoint's timeout. Its error
// never holds the URL.
func (e *endpoint) call(ctx context.Context, result any, method string, args ...any) error {
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	err = c.CallContext(cctx, result, method, args...)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var rerr rpc.Error
	if !errors.As(err, &rerr) {
		// A transport failure (closed connection, HTTP status, time-out):
		// reconnect on the next call.
		if e.ws {
			e.drop()
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || cctx.Err() != nil {
		err = fmt.Errorf("%w (no answer within %s)", errTimeout, e.timeout)
	}
	return e.scrub(fmt.Errorf("%s: %w", method, err))
}

var errTimeout = errors.New("timed out")

// scrub removes the URL and its secrets from an error's text (net/http's
// errors quote the URL, API key included), keeping errors.Is/As.
func (e *endpoint) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.ReplaceAll(msg, ue.URL, e.name)
	}
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "redacted")
	}
	return &scrubbed{msg: msg, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

func (e *endpoint) chainIDCall(ctx context.Context) (uint64, error) {
	var id hexutil.Uint64
	if err := e.call(ctx, &id, "eth_chainId"); err != nil {
		return 0, err
	}
	return uint64(id), nil
}

func (e *endpoint) blockNumber(ctx context.Context) (uint64, error) {
	var n hexutil.Uint64
	if err := e.call(ctx, &n, "eth_blockNumber"); err != nil {
		return 0, err
	}
	return uint64(n), nil
}

// header is the part of a block header the sentry uses. The hash is the
// node's: computing it would tie the sentry to every fork's header layout.
type header struct {
	Number     hexutil.Uint64 `json:"number"`
	Hash       common.Hash    `json:"hash"`
	ParentHash common.Hash    `json:"parentHash"`
	Time       hexutil.Uint64 `json:"timestamp"`
	Bloom      types.Bloom    `json:"logsBloom"`
}

func (e *endpoint) header(ctx context.Context, n uint64) (*header, error) {
	var h *header
	if err := e.call(ctx, &h, "eth_getBlockByNumber", hexutil.EncodeUint64(n), false); err != nil {
		return nil, err
	}
	return h, checkHeader(n, h)
}

func checkHeader(n uint64, h *header) error {
	switch {
	case h == nil:
		return fmt.Errorf("eth_getBlockByNumber: block %d not found", n)
	case uint64(h.Number) != n:
		return fmt.Errorf("eth_getBlockByNumber: asked for block %d, got %d", n, h.Number)
	case h.Hash == (common.Hash{}):
		return fmt.Errorf("eth_getBlockByNumber: block %d has no hash", n)
	}
	return nil
}

// callBatch is how many calls one JSON-RPC batch holds.
const callBatch = 100

// batch makes the calls in JSON-RPC batches of callBatch, each within the
// endpoint's timeout. A batch refused as a whole (an endpoint without
// batches) and the calls of a batch that failed (a smaller batch limit
// fails each of them) are made again one by one. It returns the first
// call's error, never holding the URL.
func (e *endpoint) batch(ctx context.Context, elems []rpc.BatchElem) error {
	for len(elems) > 0 {
		chunk := elems[:min(callBatch, len(elems))]
		elems = elems[len(chunk):]
		c, err := e.dial(ctx)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, e.timeout)
		err = c.BatchCallContext(cctx, chunk)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, el := range chunk {
			if err != nil || el.Error != nil {
				if err := e.call(ctx, el.Result, el.Method, el.Args...); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// headers reads the headers of blocks ns, in batches.
func (e *endpoint) headers(ctx context.Context, ns []uint64) ([]*header, error) {
	out := make([]*header, len(ns))
	elems := make([]rpc.BatchElem, len(ns))
	for i, n := range ns {
		elems[i] = rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.EncodeUint64(n), false}, Result: &out[i]}
	}
	if err := e.batch(ctx, elems); err != nil {
		return nil, err
	}
	for i, n := range ns {
		if err := checkHeader(n, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// logsBlocks is logsBlock of each block hash, in batches.
func (e *endpoint) logsBlocks(ctx context.Context, addr common.Address, hashes []common.Hash) ([][]types.Log, error) {
	out := make([][]types.Log, len(hashes))
	elems := make([]rpc.BatchElem, len(hashes))
	for i := range hashes {
		elems[i] = rpc.BatchElem{Method: "eth_getLogs", Args: []any{logFilter{Address: addr, BlockHash: &hashes[i]}}, Result: &out[i]}
	}
	return out, e.batch(ctx, elems)
}

type logFilter struct {
	Address   common.Address `json:"address"`
	FromBlock string         `json:"fromBlock,omitempty"`
	ToBlock   string         `json:"toBlock,omitempty"`
	BlockHash *common.Hash   `json:"blockHash,omitempty"`
}

func (e *endpoint) logsRange(ctx context.Context, addr common.Address, from, to uint64) ([]types.Log, error) {
	var out []types.Log
	err := e.call(ctx, &out, "eth_getLogs", logFilter{Address: addr, FromBlock: hexutil.EncodeUint64(from), ToBlock: hexutil.EncodeUint64(to)})
	return out, err
}

func (e *endpoint) logsBlock(ctx context.Context, addr common.Address, hash common.Hash) ([]types.Log, error) {
	var out []types.Log
	err := e.call(ctx, &out, "eth_getLogs", logFilter{Address: addr, BlockHash: &hash})
	return out, err
}

type receipt struct {
	Logs []struct {
		Address common.Address `json:"address"`
		Removed bool           `json:"removed"`
	} `json:"logs"`
}

// receiptLogs counts the logs of addr in a block's receipts.
func (e *endpoint) receiptLogs(ctx context.Context, addr common.Address, hash common.Hash) (int, error) {
	var rs []receipt
	if err := e.call(ctx, &rs, "eth_getBlockReceipts", hash); err != nil {
		return 0, err
	}
	if rs == nil {
		return 0, fmt.Errorf("eth_getBlockReceipts: block %s not found", hash)
	}
	n := 0
	for _, r := range rs {
		for _, l := range r.Logs {
			if l.Address == addr && !l.Removed {
				n++
			}
		}
	}
	return n, nil
}

// rateLimited says whether an error is the endpoint refusing to answer
// now (HTTP 429, or a provider's rate-limit message, which Infura sends as
// -32005 like its result-size error): the range is fine, the endpoint is
// busy. The caller keeps the range size, moves to another endpoint, and
// waits once every endpoint refused.
func rateLimited(err error) bool {
	if err == nil {
		return false
	}
	var herr rpc.HTTPError
	if errors.As(err, &herr) && herr.StatusCode == http.StatusTooManyRequests {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"too many requests", "rate limit", "rate-limit", "ratelimit", "request rate", "rate exceeded",
		"requests per second", "compute units per second", "daily request count", "request count exceeded", "capacity limit", "throttl"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// tooLarge says whether an eth_getLogs error means "ask for fewer blocks":
// JSON-RPC -32005 (geth's and Infura's "query returned more than 10000
// results"), the size and range limits providers word in many ways
// (Alchemy's "Too many logs requested. Max logs per response is 20000.",
// "response size exceeded", "block range is too wide"…), our own response
// bound, and time-outs. A rate limit is not: see rateLimited.
func tooLarge(err error) bool {
	if err == nil || rateLimited(err) {
		return false
	}
	var rerr rpc.Error
	if errors.As(err, &rerr) && rerr.ErrorCode() == -32005 {
		return true
	}
	if errors.Is(err, errTooLarge) || errors.Is(err, errTimeout) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"more than", "response size", "size exceeded", "block range", "range is too", "limit exceeded", "too many", "too large", "exceed", "timeout", "timed out"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// status snapshots the endpoint for SyncStatus.
func (e *endpoint) status() (healthy bool, chainID, head uint64, lastErr string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.healthy, e.chainID, e.head, e.lastErr
}

func (e *endpoint) mark(err error) (changed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.healthy
	if err == nil {
		e.healthy, e.lastErr = true, ""
	} else {
		e.healthy, e.lastErr = false, err.Error()
	}
	return was != e.healthy
}
