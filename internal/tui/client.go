package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Limits of one request.
const (
	// MaxBodyBytes bounds a response body: 10,000 validators take about
	// 2.5 MB of consensus JSON.
	MaxBodyBytes = 8 << 20
	// DefaultTimeout bounds one request, connection included.
	DefaultTimeout = 5 * time.Second
	// maxErrorText bounds the error message taken from a response.
	maxErrorText = 300
)

// APIKeyHeader carries the API key (internal/api reads the same header).
const APIKeyHeader = "X-API-KEY"

// Client reads a valtrack API.
type Client struct {
	Base    string // e.g. http://127.0.0.1:8080, no trailing slash needed
	APIKey  string // sent in X-API-KEY when set
	Timeout time.Duration
	HTTP    *http.Client // nil: a client of its own
}

// NewClient returns a client of base with its own HTTP client.
func NewClient(base, apiKey string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{
		Base: strings.TrimRight(base, "/"), APIKey: apiKey, Timeout: timeout,
		HTTP: &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		}},
	}
}

// StatusError is an answer with an HTTP error status.
type StatusError struct {
	URL        string
	Status     int
	Message    string        // the "error" of the JSON body, if any
	RetryAfter time.Duration // of a 429 or 503, from Retry-After in seconds
}

// maxRetryAfter bounds how long a Retry-After can pause the polls.
const maxRetryAfter = time.Minute

func (e *StatusError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	switch e.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Sprintf("the API refused the key (%d: %s): check --api-key or VALTRACK_API_KEY", e.Status, msg)
	case http.StatusTooManyRequests:
		return fmt.Sprintf("rate limited by the API (%s): raise --refresh, or give an --api-key", msg)
	}
	return fmt.Sprintf("GET %s: %d %s", e.URL, e.Status, msg)
}

// Consensus fetches the consensus view of chain. An unknown chain is told
// with the chains the API knows.
func (c *Client) Consensus(ctx context.Context, chain string) (*Consensus, error) {
	body, err := c.get(ctx, "/api/v1/cosmos/"+url.PathEscape(chain)+"/consensus")
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusNotFound {
		return nil, c.unknownChain(ctx, chain, se)
	}
	if err != nil {
		return nil, err
	}
	cs, err := DecodeConsensus(body)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s: is it a valtrack API?)", err, c.Base)
	}
	return cs, nil
}

// Chains lists the chains the API knows.
func (c *Client) Chains(ctx context.Context) ([]string, error) {
	body, err := c.get(ctx, "/api/v1/cosmos/chains")
	if err != nil {
		return nil, err
	}
	return DecodeChains(body)
}

func (c *Client) unknownChain(ctx context.Context, chain string, notFound *StatusError) error {
	chains, err := c.Chains(ctx)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			return fmt.Errorf("%s has no cosmos API (404 for the chain and for the list of chains): start valtrack with --cosmos %s=RPC", c.Base, chain)
		}
		return fmt.Errorf("%w (listing the known chains failed too: %v)", notFound, err)
	}
	if len(chains) == 0 {
		return fmt.Errorf("unknown chain %s; valtrack at %s follows no cosmos chain: start it with --cosmos %s=RPC", chain, c.Base, chain)
	}
	return fmt.Errorf("unknown chain %s; known: %s", chain, strings.Join(chains, ", "))
}

// get performs one bounded GET of path and returns the body of a 2xx.
func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := strings.TrimRight(c.Base, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("bad --api URL %q: %w", c.Base, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		req.Header.Set(APIKeyHeader, c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err, timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s: %w", u, c.transportError(ctx, err, timeout))
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("the answer of %s is larger than %d MiB: is --api a valtrack API?", u, MaxBodyBytes>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{URL: u, Status: resp.StatusCode, Message: errorMessage(body)}
		if secs, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && secs > 0 {
			se.RetryAfter = min(time.Duration(secs)*time.Second, maxRetryAfter)
		}
		return nil, se
	}
	return body, nil
}

// errorMessage is the "error" of an API error body ({"error": "...",
// "parameter": "..."}), or "" when the body is not one.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	msg := printable(e.Error)
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText] + "…"
	}
	return msg
}

// transportError says why the API could not be read, and what to do.
func (c *Client) transportError(ctx context.Context, err error, timeout time.Duration) error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach valtrack at %s: is `valtrack run` running?", c.Base)
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("valtrack at %s did not answer within %s: is it overloaded, or is --api the right address?", c.Base, timeout)
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("cannot reach valtrack at %s: %v", c.Base, err)
}
