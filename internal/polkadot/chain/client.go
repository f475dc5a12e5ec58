package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/polkadot/scale"
	"github.com/valtrack/valtrack/internal/retry"
)

// Client defaults.
const (
	DefaultTimeout  = 20 * time.Second
	DefaultMaxResp  = 32 << 20 // metadata (~1 MB hex) and 200-key batches fit
	DefaultChunk    = 200      // keys per state_queryStorageAt
	DefaultPageSize = 1000     // keys per state_getKeysPaged
	maxBackoff      = time.Minute
	maxKeys         = 1 << 20 // keys iterated under one prefix
	maxErrText      = 200
)

// RPCError is an error the node answered with.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string {
	m := e.Message
	if len(m) > maxErrText {
		m = m[:maxErrText] + "…"
	}
	return fmt.Sprintf("rpc error %d: %s", e.Code, m)
}

// ErrOtherChain: an endpoint serves another chain than the rest.
var ErrOtherChain = errors.New("endpoint serves another chain")

// Stats count a client's calls.
type Stats struct {
	Calls, Errors, Failovers uint64
}

type endpoint struct {
	url      string // the configured URL (may hold secrets: never logged)
	safe     string // scheme://host:port/path, no userinfo or query
	hostport string
	ws       bool

	mu        sync.Mutex // serialises calls on a websocket
	conn      *websocket.Conn
	downUntil time.Time
	fails     int           // in a row; 0 once it answers again
	reports   retry.Reports // which of those failures warn
	checked   bool          // its genesis was compared
	refused   error         // it serves another chain
}

// Client is JSON-RPC to several endpoints of one chain with failover.
type Client struct {
	eps     []*endpoint
	timeout time.Duration
	maxResp int64
	chunk   int
	log     *slog.Logger
	http    *http.Client
	id      atomic.Uint64

	calls, errs, failovers atomic.Uint64

	mu        sync.Mutex
	cur       int
	genesis   string
	chainName string
	props     *Properties                // system_properties, once answered
	mds       map[uint32]*scale.Metadata // by spec version
	now       func() time.Time
}

// ClientOptions configure NewClient.
type ClientOptions struct {
	Timeout time.Duration // per call (DefaultTimeout)
	MaxResp int64         // response bound in bytes (DefaultMaxResp)
	Chunk   int           // keys per state_queryStorageAt (DefaultChunk)
	Log     *slog.Logger
}

// SafeURL is u as it may be logged: scheme, host and port. Userinfo,
// query and fragment are dropped, and so is the path, shown as "/…":
// providers put API keys there too (wss://host/<KEY>).
func SafeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "(unparsable URL)"
	}
	out := p.Scheme + "://" + p.Host
	if p.Path != "" && p.Path != "/" {
		out += "/…"
	}
	return out
}

// NewClient checks the URLs (ws, wss, http, https) without dialling.
func NewClient(urls []string, o ClientOptions) (*Client, error) {
	if len(urls) == 0 {
		return nil, errors.New("no RPC URL: configure at least one ws:// or http:// endpoint")
	}
	c := &Client{timeout: o.Timeout, maxResp: o.MaxResp, chunk: o.Chunk, log: o.Log, mds: map[uint32]*scale.Metadata{}, now: time.Now}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxResp <= 0 {
		c.maxResp = DefaultMaxResp
	}
	if c.chunk <= 0 {
		c.chunk = DefaultChunk
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// No client-level timeout: each call carries its own deadline.
	c.http = &http.Client{}
	for _, u := range urls {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return nil, fmt.Errorf("RPC URL %s is not a URL: use ws://host:port or http://host:port", SafeURL(u))
		}
		ep := &endpoint{url: u, safe: SafeURL(u), hostport: p.Host}
		switch p.Scheme {
		case "ws", "wss":
			ep.ws = true
		case "http", "https":
		default:
			return nil, fmt.Errorf("RPC URL %s: scheme %q is not ws, wss, http or https", ep.safe, p.Scheme)
		}
		c.eps = append(c.eps, ep)
	}
	return c, nil
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Calls: c.calls.Load(), Errors: c.errs.Load(), Failovers: c.failovers.Load()}
}

// Endpoint is host:port of the endpoint that answered last.
func (c *Client) Endpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eps[c.cur].hostport
}

// Close closes websocket connections.
func (c *Client) Close() error {
	for _, ep := range c.eps {
		ep.mu.Lock()
		if ep.conn != nil {
			_ = ep.conn.CloseNow()
			ep.conn = nil
		}
		ep.mu.Unlock()
	}
	return nil
}

type rpcReq struct {
	JSONRPC string `json:"jsonrpc"`
	ID      uint64 `json:"id"`
	Method  string `json:"method"`
	Params  []any  `json:"params"`
}

type rpcResp struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *RPCError       `json:"error"`
}

// Call calls method on the first healthy endpoint, failing over to the
// next on a transport error or timeout. An error the node answers with
// is returned as is (another endpoint would say the same).
func (c *Client) Call(ctx context.Context, out any, method string, params ...any) error {
	if err := c.ensure(ctx); err != nil {
		return err
	}
	return c.call(ctx, out, method, params, true)
}

func (c *Client) call(ctx context.Context, out any, method string, params []any, check bool) error {
	if params == nil {
		params = []any{}
	}
	c.mu.Lock()
	start := c.cur
	c.mu.Unlock()
	n := len(c.eps)
	var lastErr error
	// Two passes: first skip endpoints in backoff, then try them anyway
	// (better a recovering endpoint than none).
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < n; i++ {
			ep := c.eps[(start+i)%n]
			ep.mu.Lock()
			refused, down := ep.refused, c.now().Before(ep.downUntil)
			ep.mu.Unlock()
			if refused != nil || (pass == 0 && down) {
				continue
			}
			if check {
				if err := c.checkGenesis(ctx, ep); err != nil {
					lastErr = err
					if errors.Is(err, ErrOtherChain) {
						continue
					}
					c.markDown(ep, err)
					c.failovers.Add(1)
					continue
				}
			}
			c.calls.Add(1)
			raw, err := c.do(ctx, ep, method, params)
			var rerr *RPCError
			if err == nil || errors.As(err, &rerr) {
				c.markUp(ep)
				c.mu.Lock()
				if c.cur != (start+i)%n {
					c.cur = (start + i) % n
				}
				c.mu.Unlock()
				if err != nil {
					c.errs.Add(1)
					return fmt.Errorf("%s on %s: %w", method, ep.hostport, err)
				}
				if out == nil {
					return nil
				}
				if err := json.Unmarshal(raw, out); err != nil {
					c.errs.Add(1)
					return fmt.Errorf("%s on %s: unexpected result: %v", method, ep.hostport, trimErr(err))
				}
				return nil
			}
			c.errs.Add(1)
			lastErr = fmt.Errorf("%s on %s: %w", method, ep.hostport, err)
			c.markDown(ep, err)
			if ctx.Err() != nil {
				return lastErr
			}
			c.failovers.Add(1)
		}
	}
	if lastErr == nil {
		lastErr = errors.New("no usable endpoint")
	}
	return fmt.Errorf("all %d RPC endpoints failed (last: %w); check the URLs and the nodes", n, lastErr)
}

func trimErr(err error) string {
	s := err.Error()
	if len(s) > maxErrText {
		s = s[:maxErrText] + "…"
	}
	return s
}

func (c *Client) markDown(ep *endpoint, err error) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.fails++
	d := time.Second << min(ep.fails-1, 6)
	if d > maxBackoff {
		d = maxBackoff
	}
	ep.downUntil = c.now().Add(d)
	if ep.conn != nil {
		_ = ep.conn.CloseNow()
		ep.conn = nil
	}
	level := slog.LevelDebug // a long outage: a few of its failures warn
	if ep.reports.Warn(ep.fails, err) {
		level = slog.LevelWarn
	}
	c.log.Log(context.Background(), level, "polkadot rpc endpoint failed; skipping it", "endpoint", ep.safe, "backoff", d, "fails_in_row", ep.fails, "err", trimErr(err))
}

func (c *Client) markUp(ep *endpoint) {
	ep.mu.Lock()
	ep.fails, ep.downUntil = 0, time.Time{}
	ep.mu.Unlock()
}

// checkGenesis compares ep's block-0 hash and system_chain name with
// the chain's, once. The name is compared too because chopsticks in
// genesis mode reports the same synthetic block-0 hash (0x4545…) for
// every chain it runs.
func (c *Client) checkGenesis(ctx context.Context, ep *endpoint) error {
	ep.mu.Lock()
	done := ep.checked
	ep.mu.Unlock()
	if done {
		return nil
	}
	c.calls.Add(2)
	raw, err := c.do(ctx, ep, "chain_getBlockHash", []any{0})
	if err != nil {
		c.errs.Add(1)
		return fmt.Errorf("genesis of %s: %w", ep.hostport, err)
	}
	var g string
	if err := json.Unmarshal(raw, &g); err != nil || !isHash(g) {
		return fmt.Errorf("genesis of %s: not a block hash", ep.hostport)
	}
	raw, err = c.do(ctx, ep, "system_chain", nil)
	if err != nil {
		c.errs.Add(1)
		return fmt.Errorf("system_chain of %s: %w", ep.hostport, err)
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil || len(name) > 128 {
		return fmt.Errorf("system_chain of %s: not a chain name", ep.hostport)
	}
	id := strings.ToLower(g) + " (" + name + ")"
	c.mu.Lock()
	if c.genesis == "" {
		c.genesis, c.chainName = strings.ToLower(g), name
	}
	want := c.genesis + " (" + c.chainName + ")"
	c.mu.Unlock()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if id != want {
		ep.refused = fmt.Errorf("%w: %s is %s, the other endpoints %s; remove it from this chain's URLs", ErrOtherChain, ep.safe, id, want)
		c.log.Error("polkadot rpc endpoint refused", "endpoint", ep.safe, "err", ep.refused)
		return ep.refused
	}
	ep.checked = true
	return nil
}

// ensure compares the genesis of every endpoint that answers, so a URL
// of another chain is refused up front rather than on first failover.
func (c *Client) ensure(ctx context.Context) error {
	for _, ep := range c.eps {
		ep.mu.Lock()
		done, refused := ep.checked, ep.refused
		ep.mu.Unlock()
		if refused != nil {
			return refused
		}
		if done {
			continue
		}
		if err := c.checkGenesis(ctx, ep); err != nil {
			if errors.Is(err, ErrOtherChain) {
				return err
			}
			// Unreachable now: checked when it is first used.
			c.markDown(ep, err)
		}
	}
	return nil
}

// Genesis is the chain's block-0 hash (0x…).
func (c *Client) Genesis(ctx context.Context) (string, error) {
	if err := c.ensure(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	g := c.genesis
	c.mu.Unlock()
	if g == "" {
		return "", errors.New("no endpoint answered chain_getBlockHash(0)")
	}
	return g, nil
}

func (c *Client) do(ctx context.Context, ep *endpoint, method string, params []any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if params == nil {
		params = []any{}
	}
	req := rpcReq{JSONRPC: "2.0", ID: c.id.Add(1), Method: method, Params: params}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var data []byte
	if ep.ws {
		data, err = c.doWS(ctx, ep, body, req.ID)
	} else {
		data, err = c.doHTTP(ctx, ep, body)
	}
	if err != nil {
		return nil, err
	}
	var resp rpcResp
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("not a JSON-RPC response: %s", trimErr(err))
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	return resp.Result, nil
}

func (c *Client) doHTTP(ctx context.Context, ep *endpoint, body []byte) ([]byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("bad request URL")
	}
	hr.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(hr)
	if err != nil {
		return nil, scrub(err, ep)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, c.maxResp+1))
	if err != nil {
		return nil, scrub(err, ep)
	}
	if int64(len(data)) > c.maxResp {
		return nil, fmt.Errorf("response exceeds %d bytes", c.maxResp)
	}
	if res.StatusCode != http.StatusOK && len(data) == 0 {
		return nil, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return data, nil
}

func (c *Client) doWS(ctx context.Context, ep *endpoint, body []byte, id uint64) ([]byte, error) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.conn == nil {
		conn, _, err := websocket.Dial(ctx, ep.url, &websocket.DialOptions{HTTPClient: c.http})
		if err != nil {
			return nil, scrub(err, ep)
		}
		conn.SetReadLimit(c.maxResp)
		ep.conn = conn
	}
	fail := func(err error) ([]byte, error) {
		_ = ep.conn.CloseNow()
		ep.conn = nil
		return nil, scrub(err, ep)
	}
	if err := ep.conn.Write(ctx, websocket.MessageText, body); err != nil {
		return fail(err)
	}
	want := []byte(fmt.Sprint(id))
	// Calls on one connection are serialised, so the answer is the next
	// message with our id; anything else (a stray notification) is skipped,
	// within a bound.
	for i := 0; i < 64; i++ {
		_, data, err := ep.conn.Read(ctx)
		if err != nil {
			return fail(err)
		}
		var probe struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(data, &probe) == nil && bytes.Equal(bytes.TrimSpace(probe.ID), want) {
			return data, nil
		}
	}
	return fail(errors.New("no answer among 64 messages"))
}

// scrub removes the configured URL (it may carry credentials) from a
// transport error, leaving host:port.
func scrub(err error, ep *endpoint) error {
	// net/http wraps transport errors in a url.Error that prints the URL
	// (with the password masked but the query intact): keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s %s: %w", ue.Op, ep.safe, ue.Err)
	}
	s := err.Error()
	if ep.url != "" {
		s = strings.ReplaceAll(s, ep.url, ep.safe)
	}
	if p, perr := url.Parse(ep.url); perr == nil && p.User != nil {
		s = strings.ReplaceAll(s, p.User.String()+"@", "")
	}
	if len(s) > maxErrText*2 {
		s = s[:maxErrText*2] + "…"
	}
	return errors.New(s)
}

func isHash(s string) bool {
	if len(s) != 66 || !strings.HasPrefix(s, "0x") {
		return false
	}
	_, err := hex.DecodeString(s[2:])
	return err == nil
}

// hexBytes decodes a 0x string from the node.
func hexBytes(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, errors.New("hex without 0x")
	}
	return hex.DecodeString(s[2:])
}

func toHex(b []byte) string { return "0x" + hex.EncodeToString(b) }

// Header is the part of a block header the reader uses.
type Header struct {
	ParentHash string `json:"parentHash"`
	Number     string `json:"number"`
}

// BlockNumber parses the header's hex number.
func (h Header) BlockNumber() (uint64, error) {
	s := strings.TrimPrefix(h.Number, "0x")
	if s == "" || len(s) > 16 {
		return 0, fmt.Errorf("block number %q", trimErr(errors.New(h.Number)))
	}
	var n uint64
	for _, ch := range s {
		var d uint64
		switch {
		case ch >= '0' && ch <= '9':
			d = uint64(ch - '0')
		case ch >= 'a' && ch <= 'f':
			d = uint64(ch-'a') + 10
		case ch >= 'A' && ch <= 'F':
			d = uint64(ch-'A') + 10
		default:
			return 0, fmt.Errorf("block number %q is not hex", h.Number)
		}
		n = n<<4 | d
	}
	return n, nil
}

// FinalizedHead is chain_getFinalizedHead.
func (c *Client) FinalizedHead(ctx context.Context) (string, error) {
	var h string
	if err := c.Call(ctx, &h, "chain_getFinalizedHead"); err != nil {
		return "", err
	}
	if !isHash(h) {
		return "", errors.New("chain_getFinalizedHead: not a hash")
	}
	return h, nil
}

// BlockHash is chain_getBlockHash(n).
func (c *Client) BlockHash(ctx context.Context, n uint64) (string, error) {
	var h *string
	if err := c.Call(ctx, &h, "chain_getBlockHash", n); err != nil {
		return "", err
	}
	if h == nil || !isHash(*h) {
		return "", fmt.Errorf("block %d is not known to the node", n)
	}
	return *h, nil
}

// Header is chain_getHeader(hash).
func (c *Client) Header(ctx context.Context, hash string) (Header, uint64, error) {
	var h *Header
	if err := c.Call(ctx, &h, "chain_getHeader", hash); err != nil {
		return Header{}, 0, err
	}
	if h == nil {
		return Header{}, 0, fmt.Errorf("block %s is not known to the node", hash)
	}
	n, err := h.BlockNumber()
	return *h, n, err
}

// RuntimeVersion is the part of state_getRuntimeVersion used.
type RuntimeVersion struct {
	SpecName    string `json:"specName"`
	SpecVersion uint32 `json:"specVersion"`
}

// RuntimeVersion is state_getRuntimeVersion(at).
func (c *Client) RuntimeVersion(ctx context.Context, at string) (RuntimeVersion, error) {
	var v RuntimeVersion
	err := c.Call(ctx, &v, "state_getRuntimeVersion", at)
	return v, err
}

// Metadata is the runtime metadata at block at, cached by spec version.
func (c *Client) Metadata(ctx context.Context, at string) (*scale.Metadata, RuntimeVersion, error) {
	v, err := c.RuntimeVersion(ctx, at)
	if err != nil {
		return nil, v, err
	}
	c.mu.Lock()
	md := c.mds[v.SpecVersion]
	c.mu.Unlock()
	if md != nil {
		return md, v, nil
	}
	var s string
	if err := c.Call(ctx, &s, "state_getMetadata", at); err != nil {
		return nil, v, err
	}
	b, err := hexBytes(s)
	if err != nil {
		return nil, v, fmt.Errorf("state_getMetadata: %v", err)
	}
	md, err = scale.ParseMetadata(b)
	if err != nil {
		return nil, v, fmt.Errorf("metadata of %s %d: %w", v.SpecName, v.SpecVersion, err)
	}
	c.mu.Lock()
	if len(c.mds) > 8 { // a long-running process sees few upgrades; keep it bounded
		c.mds = map[uint32]*scale.Metadata{}
	}
	c.mds[v.SpecVersion] = md
	c.mu.Unlock()
	return md, v, nil
}

// Properties is system_properties (values may be numbers or arrays).
type Properties struct {
	SS58Format    json.RawMessage `json:"ss58Format"`
	TokenDecimals json.RawMessage `json:"tokenDecimals"`
	TokenSymbol   json.RawMessage `json:"tokenSymbol"`
}

// Properties is system_properties.
// The answer is kept: a chain's properties do not change while it runs.
func (c *Client) Properties(ctx context.Context) (Properties, error) {
	c.mu.Lock()
	if c.props != nil {
		p := *c.props
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	var p Properties
	if err := c.Call(ctx, &p, "system_properties"); err != nil {
		return p, err
	}
	c.mu.Lock()
	c.props = &p
	c.mu.Unlock()
	return p, nil
}

// SystemChain is system_chain.
func (c *Client) SystemChain(ctx context.Context) (string, error) {
	var s string
	err := c.Call(ctx, &s, "system_chain")
	return s, err
}

// Storage is state_getStorage(key, at); nil when the key is empty.
func (c *Client) Storage(ctx context.Context, key []byte, at string) ([]byte, error) {
	var s *string
	if err := c.Call(ctx, &s, "state_getStorage", toHex(key), at); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, nil
	}
	return hexBytes(*s)
}

type changeSet struct {
	Block   string       `json:"block"`
	Changes [][2]*string `json:"changes"`
}

// QueryStorage reads keys at one block with state_queryStorageAt in
// chunks; the result has one entry per key (nil: no value).
func (c *Client) QueryStorage(ctx context.Context, keys [][]byte, at string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for lo := 0; lo < len(keys); lo += c.chunk {
		hi := min(lo+c.chunk, len(keys))
		hk := make([]string, 0, hi-lo)
		// A key may be asked for twice (two stashes with one root
		// identity): every position gets the value.
		idx := make(map[string][]int, hi-lo)
		for i := lo; i < hi; i++ {
			h := toHex(keys[i])
			if len(idx[h]) == 0 {
				hk = append(hk, h)
			}
			idx[h] = append(idx[h], i)
		}
		var sets []changeSet
		if err := c.Call(ctx, &sets, "state_queryStorageAt", hk, at); err != nil {
			return nil, err
		}
		for _, s := range sets {
			for _, ch := range s.Changes {
				if ch[0] == nil {
					continue
				}
				is := idx[strings.ToLower(*ch[0])]
				if len(is) == 0 || ch[1] == nil {
					continue
				}
				b, err := hexBytes(*ch[1])
				if err != nil {
					return nil, fmt.Errorf("state_queryStorageAt: value of %.80s: %v", *ch[0], err)
				}
				for _, i := range is {
					out[i] = b
				}
			}
		}
	}
	return out, nil
}

// Keys lists every key under prefix at a block with state_getKeysPaged.
func (c *Client) Keys(ctx context.Context, prefix []byte, at string) ([][]byte, error) {
	var out [][]byte
	start := ""
	hp := toHex(prefix)
	for {
		var page []string
		params := []any{hp, DefaultPageSize, nil, at}
		if start != "" {
			params[2] = start
		}
		if err := c.Call(ctx, &page, "state_getKeysPaged", params...); err != nil {
			return nil, err
		}
		for _, k := range page {
			b, err := hexBytes(k)
			if err != nil || !bytes.HasPrefix(b, prefix) {
				return nil, fmt.Errorf("state_getKeysPaged returned key %.80s outside the prefix", k)
			}
			out = append(out, b)
		}
		if len(out) > maxKeys {
			return nil, fmt.Errorf("more than %d keys under %s", maxKeys, hp)
		}
		if len(page) < DefaultPageSize {
			return out, nil
		}
		next := page[len(page)-1]
		if next == start {
			return nil, errors.New("state_getKeysPaged does not advance")
		}
		start = next
	}
}
