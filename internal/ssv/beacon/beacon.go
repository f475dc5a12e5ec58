// Package beacon reads the beacon-chain state of SSV validators from a
// beacon node's REST API (the Ethereum Beacon API,
// ethereum/beacon-APIs: /eth/v1/beacon/states/{state_id}/validators):
// index, status, balance, activation and exit epochs. The registry knows a
// validator by its public key only; these are what the SSV node's
// /v1/validators answers with and filters by (indices).
//
// A beacon node is a remote peer: answers are bounded in size and time,
// decoded strictly (a malformed entry fails the batch, never a panic),
// and its URL's secrets stay out of errors.
package beacon

import (
	"bytes"
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

	"github.com/valtrack/valtrack/internal/safe"
)

// Validator is one validator as the beacon node reports it.
type Validator struct {
	PublicKey       string // 0x, lower-case, 48 bytes
	Index           uint64
	Status          string // pending_initialized … withdrawal_done
	Balance         uint64 // gwei
	Slashed         bool
	ActivationEpoch uint64 // FarFutureEpoch while not activated
	ExitEpoch       uint64 // FarFutureEpoch while not exiting
}

// FarFutureEpoch is the consensus spec's FAR_FUTURE_EPOCH (2**64 - 1).
const FarFutureEpoch = ^uint64(0)

// Limits.
const (
	// PostBatch is how many public keys one POST asks for; GetBatch for
	// the GET form, whose URL must stay short (a key is 98 characters).
	PostBatch = 500
	GetBatch  = 30
	// maxEntryBytes bounds the answer per key asked for (an entry is
	// about 450 bytes).
	maxEntryBytes = 2048
	maxErrorBody  = 4096
)

// Client asks one beacon node.
type Client struct {
	base    *url.URL
	name    string // host:port, for logs and errors
	secrets []string
	hc      *http.Client
	// noPost is set once the node refused the POST form (an older node):
	// later batches use GET.
	noPost bool
}

// New checks the URL (http:// or https://) of a beacon node's REST API.
// timeout bounds each request.
func New(raw string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("a beacon node URL must be http(s)://host:port of its REST API")
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Client{base: u, name: u.Host, secrets: safe.URLSecrets(raw), hc: &http.Client{Timeout: timeout}}, nil
}

// Name is the node's host:port.
func (c *Client) Name() string { return c.name }

// Validators asks for the head state's entries of the given public keys;
// keys the beacon chain does not know (no deposit processed yet) are
// absent from the answer.
func (c *Client) Validators(ctx context.Context, keys []string) ([]Validator, error) {
	var out []Validator
	for len(keys) > 0 {
		n := PostBatch
		if c.noPost {
			n = GetBatch
		}
		n = min(n, len(keys))
		vs, err := c.batch(ctx, keys[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		keys = keys[n:]
	}
	return out, nil
}

func (c *Client) batch(ctx context.Context, keys []string) ([]Validator, error) {
	path := c.base.JoinPath("eth/v1/beacon/states/head/validators")
	if !c.noPost {
		body, _ := json.Marshal(struct {
			IDs []string `json:"ids"`
		}{keys})
		vs, status, err := c.do(ctx, http.MethodPost, path.String(), body, len(keys))
		switch {
		case err == nil:
			return vs, nil
		case status == http.StatusMethodNotAllowed || status == http.StatusNotFound || status == http.StatusUnsupportedMediaType:
			// A node from before the POST form (Beacon API v2.4.2): GET,
			// in smaller batches.
			c.noPost = true
			return c.Validators(ctx, keys)
		default:
			return nil, err
		}
	}
	q := path.Query()
	q.Set("id", strings.Join(keys, ","))
	path.RawQuery = q.Encode()
	vs, _, err := c.do(ctx, http.MethodGet, path.String(), nil, len(keys))
	return vs, err
}

func (c *Client) do(ctx context.Context, method, u string, body []byte, asked int) ([]Validator, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, 0, c.scrub(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("beacon node %s: %w", c.name, c.scrub(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, resp.StatusCode, fmt.Errorf("beacon node %s: %s %s: HTTP %d: %s", c.name, method, "/eth/v1/beacon/states/head/validators", resp.StatusCode, safe.String(c.scrubText(string(msg)), 300))
	}
	limit := int64(asked)*maxEntryBytes + 1024
	vs, err := Decode(io.LimitReader(resp.Body, limit+1), limit)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("beacon node %s: %w", c.name, err)
	}
	if len(vs) > asked {
		return nil, resp.StatusCode, fmt.Errorf("beacon node %s: %d validators in the answer, %d were asked for", c.name, len(vs), asked)
	}
	return vs, resp.StatusCode, nil
}

func (c *Client) scrub(err error) error { return safe.Scrub(err, c.secrets) }

func (c *Client) scrubText(s string) string { return safe.Scrub(errors.New(s), c.secrets).Error() }

var (
	keyRE    = regexp.MustCompile(`^0x[0-9a-f]{96}$`)
	statusRE = regexp.MustCompile(`^[a-z_]{1,32}$`)
)

// Decode reads a validators answer of at most limit bytes:
// {"data":[{"index","balance","status","validator":{"pubkey","slashed",
// "activation_epoch","exit_epoch",…}}]}, integers as decimal strings.
func Decode(r io.Reader, limit int64) ([]Validator, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read the validators answer: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("the validators answer is over %d bytes", limit)
	}
	var doc struct {
		Data []struct {
			Index     string `json:"index"`
			Balance   string `json:"balance"`
			Status    string `json:"status"`
			Validator struct {
				Pubkey          string `json:"pubkey"`
				Slashed         bool   `json:"slashed"`
				ActivationEpoch string `json:"activation_epoch"`
				ExitEpoch       string `json:"exit_epoch"`
			} `json:"validator"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("the validators answer is not the Beacon API's JSON: %w", err)
	}
	out := make([]Validator, 0, len(doc.Data))
	for i, d := range doc.Data {
		v := Validator{PublicKey: strings.ToLower(d.Validator.Pubkey), Status: d.Status, Slashed: d.Validator.Slashed}
		if !keyRE.MatchString(v.PublicKey) {
			return nil, fmt.Errorf("validator %d of the answer: public key %q is not 0x and 48 bytes of hex", i, safe.String(d.Validator.Pubkey, 120))
		}
		if !statusRE.MatchString(v.Status) {
			return nil, fmt.Errorf("validator %s: status %q is not a validator state", v.PublicKey, safe.String(d.Status, 40))
		}
		for _, f := range []struct {
			name string
			s    string
			v    *uint64
		}{{"index", d.Index, &v.Index}, {"balance", d.Balance, &v.Balance},
			{"activation_epoch", d.Validator.ActivationEpoch, &v.ActivationEpoch}, {"exit_epoch", d.Validator.ExitEpoch, &v.ExitEpoch}} {
			n, err := strconv.ParseUint(f.s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("validator %s: %s %q is not a decimal uint64", v.PublicKey, f.name, safe.String(f.s, 40))
			}
			*f.v = n
		}
		out = append(out, v)
	}
	return out, nil
}
