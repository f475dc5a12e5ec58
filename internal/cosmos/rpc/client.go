package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/safe"
)

// Client limits, overridable in ClientOptions.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxResponse = 16 << 20 // 16 MiB: a /commit of 10,000 signatures is ~2 MiB
)

// ClientOptions tune a Client; zero values take the defaults.
type ClientOptions struct {
	Timeout     time.Duration // per request
	MaxResponse int64         // bytes of a response body
	HTTP        *http.Client  // default: a client of its own
	// Malformed, if set, is told of every answer that came but could not
	// be read (method: status, validators, commit, block, abci_query;
	// kind: one of the Kind* names).
	Malformed func(method, kind string)
}

// Kinds of malformed answers, the names passed to ClientOptions.Malformed.
const (
	KindOversize   = "oversize"    // a body over MaxResponse
	KindNotJSON    = "not_json"    // a 200 answer that is not a JSON-RPC response
	KindNoResult   = "no_result"   // a JSON-RPC response without result or error
	KindWrongShape = "wrong_shape" // a result whose fields have the wrong types or values
)

// Client calls one node's RPC over the GET URI form (/status,
// /validators?height=…). It is safe for concurrent use.
type Client struct {
	base    *url.URL
	name    string
	secrets []string
	http    *http.Client
	timeout time.Duration
	max     int64
	bad     func(method, kind string)
}

// NewClient returns a client of the RPC at base (http or https, with any
// path prefix, user information or query, e.g. an API key, which it keeps
// out of every error it returns).
func NewClient(base string, o ClientOptions) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("RPC endpoint %s: give an http:// or https:// URL with a host", Redact(base))
	}
	c := &Client{base: u, name: u.Host, secrets: Secrets(base), http: o.HTTP, timeout: o.Timeout, max: o.MaxResponse, bad: o.Malformed}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.max <= 0 {
		c.max = DefaultMaxResponse
	}
	return c, nil
}

// malformed counts an answer that could not be read.
func (c *Client) malformed(method, kind string) {
	if c.bad != nil {
		c.bad(method, kind)
	}
}

// Name is the endpoint's host:port, fit for logs.
func (c *Client) Name() string { return c.name }

// Redact returns a URL fit for logs: scheme, host and path only (user
// information and query, where API keys live, removed).
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return "<unparseable-url>"
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return u.String()
}

// AddQuery appends params to a URL's raw query, which it keeps byte for
// byte: an API key in it (with "=", "+", ";" or escapes) reaches the node
// as the operator wrote it, not re-encoded.
func AddQuery(raw string, params url.Values) string {
	switch {
	case len(params) == 0:
		return raw
	case raw == "":
		return params.Encode()
	}
	return raw + "&" + params.Encode()
}

// Secrets are the parts of a URL that may be credentials (safe.URLSecrets).
func Secrets(raw string) []string { return safe.URLSecrets(raw) }

// Scrub replaces secrets in an error's text, keeping errors.Is/As
// (safe.Scrub).
func Scrub(err error, secrets []string) error { return safe.Scrub(err, secrets) }

// HTTPStatusError is an answer that was neither a JSON-RPC result nor a
// JSON-RPC error.
type HTTPStatusError struct {
	Status int
	Body   string // the start of the body, made safe
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

// HeightNotAvailableError is a height the node has pruned (or never had):
// "height H is not available, lowest height is L".
type HeightNotAvailableError struct {
	Height, Lowest int64
	Err            *RPCError
}

func (e *HeightNotAvailableError) Error() string {
	return fmt.Sprintf("height %d is not available on this node (lowest height is %d): use another endpoint or start later", e.Height, e.Lowest)
}

func (e *HeightNotAvailableError) Unwrap() error { return e.Err }

// ErrHeightInFuture is a height above the node's latest ("must be less
// than or equal to the current blockchain height"): retry later.
var ErrHeightInFuture = errors.New("height is above the node's latest height")

var (
	notAvailableRE = regexp.MustCompile(`height (\d+) is not available, lowest height is (\d+)`)
	futureRE       = regexp.MustCompile(`must be less than or equal to the current blockchain height`)
)

// classify turns a JSON-RPC error into a typed one where it is recognisable.
func classify(e *RPCError) error {
	text := e.Message + " " + e.Data
	if m := notAvailableRE.FindStringSubmatch(text); m != nil {
		h, _ := strconv.ParseInt(m[1], 10, 64)
		l, _ := strconv.ParseInt(m[2], 10, 64)
		return &HeightNotAvailableError{Height: h, Lowest: l, Err: e}
	}
	if futureRE.MatchString(text) {
		return fmt.Errorf("%w: %w", ErrHeightInFuture, e)
	}
	return e
}

// call GETs base/path?params and returns the JSON-RPC result.
func (c *Client) call(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = AddQuery(u.RawQuery, params)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s from %s: %w", path, c.name, Scrub(err, c.secrets))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL, API key included
		}
		return nil, fmt.Errorf("GET %s from %s: %w", path, c.name, Scrub(err, c.secrets))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s from %s: read body: %w", path, c.name, Scrub(err, c.secrets))
	}
	method := strings.TrimPrefix(path, "/")
	if int64(len(body)) > c.max {
		c.malformed(method, KindOversize)
		return nil, fmt.Errorf("GET %s from %s: response over %d bytes: raise the response limit if this node is honest", path, c.name, c.max)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	jerr := json.Unmarshal(body, &env)
	if jerr == nil && env.Error != nil {
		return nil, fmt.Errorf("GET %s from %s: %w", path, c.name, classify(env.Error))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s from %s: %w", path, c.name, &HTTPStatusError{Status: resp.StatusCode, Body: safe.String(string(body), 200)})
	}
	if jerr != nil {
		c.malformed(method, KindNotJSON)
		return nil, fmt.Errorf("GET %s from %s: not a JSON-RPC response: %w", path, c.name, jerr)
	}
	if len(env.Result) == 0 || string(env.Result) == "null" {
		c.malformed(method, KindNoResult)
		return nil, fmt.Errorf("GET %s from %s: JSON-RPC response without a result", path, c.name)
	}
	return env.Result, nil
}

// Status calls /status.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	r, err := c.call(ctx, "/status", nil)
	if err != nil {
		return nil, err
	}
	s, err := DecodeStatus(r)
	if err != nil {
		c.malformed("status", KindWrongShape)
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return s, nil
}

// ValidatorsPage calls /validators?height=&page=&per_page= (height 0: the
// node's latest).
func (c *Client) ValidatorsPage(ctx context.Context, height int64, page, perPage int) (*ValidatorsPage, error) {
	p := url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(perPage)}}
	if height > 0 {
		p.Set("height", strconv.FormatInt(height, 10))
	}
	r, err := c.call(ctx, "/validators", p)
	if err != nil {
		return nil, err
	}
	v, err := DecodeValidators(r)
	if err != nil {
		c.malformed("validators", KindWrongShape)
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return v, nil
}

// ValidatorSet reads every page of /validators?height=H (per_page 100,
// until total; no cap) and returns the set's height and members in the
// node's order. Every page must be of the same height and total.
func (c *Client) ValidatorSet(ctx context.Context, height int64) (int64, []events.Validator, error) {
	var (
		out    []events.Validator
		setH   int64
		total  = -1
		seen   = map[string]bool{}
		maxPgs = events.MaxValidators/maxPerPage + 1
	)
	for page := 1; total < 0 || len(out) < total; page++ {
		if page > maxPgs {
			return 0, nil, fmt.Errorf("/validators from %s: more than %d pages", c.name, maxPgs)
		}
		p, err := c.ValidatorsPage(ctx, height, page, maxPerPage)
		if err != nil {
			return 0, nil, fmt.Errorf("validator set page %d: %w", page, err)
		}
		if total < 0 {
			total, setH = p.Total, p.BlockHeight
		} else if p.Total != total || p.BlockHeight != setH {
			return 0, nil, fmt.Errorf("/validators from %s: page %d is of height %d with total %d, page 1 of height %d with total %d: retry", c.name, page, p.BlockHeight, p.Total, setH, total)
		}
		if height > 0 && p.BlockHeight != height {
			return 0, nil, fmt.Errorf("/validators from %s: asked for height %d, got %d", c.name, height, p.BlockHeight)
		}
		if len(p.Validators) == 0 && len(out) < total {
			return 0, nil, fmt.Errorf("/validators from %s: page %d is empty with %d of %d validators read", c.name, page, len(out), total)
		}
		for _, v := range p.Validators {
			if seen[v.Address] {
				return 0, nil, fmt.Errorf("/validators from %s: validator %s on two pages: the set changed between pages, retry", c.name, v.Address)
			}
			seen[v.Address] = true
			out = append(out, v)
		}
	}
	if len(out) > total {
		return 0, nil, fmt.Errorf("/validators from %s: %d validators for a total of %d", c.name, len(out), total)
	}
	return setH, out, nil
}

// Commit calls /commit?height=H.
func (c *Client) Commit(ctx context.Context, height int64) (*Commit, error) {
	r, err := c.call(ctx, "/commit", url.Values{"height": {strconv.FormatInt(height, 10)}})
	if err != nil {
		return nil, err
	}
	cm, err := DecodeCommit(r)
	if err != nil {
		c.malformed("commit", KindWrongShape)
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	if cm.Block.Height != height {
		c.malformed("commit", KindWrongShape)
		return nil, fmt.Errorf("/commit from %s: asked for height %d, got %d", c.name, height, cm.Block.Height)
	}
	return cm, nil
}

// Block calls /block?height=H.
func (c *Client) Block(ctx context.Context, height int64) (*NewBlock, error) {
	r, err := c.call(ctx, "/block", url.Values{"height": {strconv.FormatInt(height, 10)}})
	if err != nil {
		return nil, err
	}
	b, err := DecodeBlock(r)
	if err != nil {
		c.malformed("block", KindWrongShape)
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	return b, nil
}
