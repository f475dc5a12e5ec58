package tx

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	gsclient "github.com/centrifuge/go-substrate-rpc-client/v4/client"
	"github.com/centrifuge/go-substrate-rpc-client/v4/registry"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"
	"golang.org/x/crypto/blake2b"
)

// Client is a connection to one node with the runtime's metadata, version
// and genesis hash: what building and signing need.
type Client struct {
	rpc     gsclient.Client
	url     string
	genesis types.Hash
	prefix  uint16

	mu      sync.Mutex
	meta    *types.Metadata
	rv      types.RuntimeVersion
	builder *Builder
	events  registry.EventRegistry
}

// Dial connects to a node's JSON-RPC (ws:// or http://) and loads the
// runtime's metadata.
func Dial(ctx context.Context, url string) (*Client, error) {
	type res struct {
		c   gsclient.Client
		err error
	}
	ch := make(chan res, 1)
	// The library's dial takes no context (it has its own timeout): keep
	// ctx in charge all the same.
	go func() { c, err := gsclient.Connect(url); ch <- res{c, err} }()
	var rc gsclient.Client
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("connect to %s: %w", url, r.err)
		}
		rc = r.c
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, fmt.Errorf("connect to %s: %w", url, ctx.Err())
	}
	c := &Client{rpc: rc, url: url, prefix: 42}
	var gh string
	if err := rc.CallContext(ctx, &gh, "chain_getBlockHash", 0); err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s chain_getBlockHash(0): %w", url, err)
	}
	h, err := parseHash(gh)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s genesis hash: %w", url, err)
	}
	c.genesis = h
	var props struct {
		SS58Format *uint16 `json:"ss58Format"`
	}
	if err := rc.CallContext(ctx, &props, "system_properties"); err == nil && props.SS58Format != nil {
		c.prefix = *props.SS58Format
	}
	if err := c.Refresh(ctx); err != nil {
		rc.Close()
		return nil, err
	}
	return c, nil
}

// Refresh reloads the runtime version and, when it changed, the
// metadata (after a runtime upgrade, calls must be rebuilt).
func (c *Client) Refresh(ctx context.Context) error {
	var rv types.RuntimeVersion
	if err := c.rpc.CallContext(ctx, &rv, "state_getRuntimeVersion"); err != nil {
		return fmt.Errorf("%s state_getRuntimeVersion: %w", c.url, err)
	}
	c.mu.Lock()
	same := c.meta != nil && uint32(c.rv.SpecVersion) == uint32(rv.SpecVersion)
	c.mu.Unlock()
	if same {
		return nil
	}
	var mh string
	if err := c.rpc.CallContext(ctx, &mh, "state_getMetadata"); err != nil {
		return fmt.Errorf("%s state_getMetadata: %w", c.url, err)
	}
	var meta types.Metadata
	if err := codec.DecodeFromHex(mh, &meta); err != nil {
		return fmt.Errorf("%s metadata does not decode (valtrack reads v14): %w", c.url, err)
	}
	b, err := NewBuilder(&meta, uint32(rv.SpecVersion))
	if err != nil {
		return fmt.Errorf("%s: %w", c.url, err)
	}
	ev, err := registry.NewFactory().CreateEventRegistry(&meta)
	if err != nil {
		return fmt.Errorf("%s: event registry from metadata: %w", c.url, err)
	}
	c.mu.Lock()
	c.meta, c.rv, c.builder, c.events = &meta, rv, b, ev
	c.mu.Unlock()
	return nil
}

// Close closes the connection.
func (c *Client) Close() { c.rpc.Close() }

// Calls is the call builder for the current runtime.
func (c *Client) Calls() *Builder {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.builder
}

// Metadata is the current runtime's metadata.
func (c *Client) Metadata() *types.Metadata {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta
}

// Genesis is the genesis hash signatures commit to (0x4545…45 on a
// chopsticks chain started from a genesis spec).
func (c *Client) Genesis() [32]byte { return c.genesis }

// SS58Prefix is the chain's address prefix (system_properties).
func (c *Client) SS58Prefix() uint16 { return c.prefix }

// RPC is the underlying JSON-RPC client, for reads this package does not
// wrap.
func (c *Client) RPC() gsclient.Client { return c.rpc }

// Submit signs call with signer and submits it (author_submitExtrinsic):
// the account's next nonce (system_accountNextIndex), an immortal era, the
// genesis hash and the runtime's versions, no tip, and every other
// transaction extension the runtime's metadata lists (CheckMetadataHash
// on today's Polkadot and Kusama), in its order. It returns the
// extrinsic's hash; whether it was included and succeeded is Included's
// to say once a block holds it. (author_submitAndWatchExtrinsic is not
// used: chopsticks' status messages do not decode in the library.)
func Submit(ctx context.Context, c *Client, signer *Signer, call Call) ([32]byte, error) {
	var zero [32]byte
	if c == nil || signer == nil {
		return zero, errors.New("submit: client and signer are required")
	}
	c.mu.Lock()
	rv, b := c.rv, c.builder
	c.mu.Unlock()
	if b == nil {
		return zero, errNoBuilder
	}
	if call.spec != b.spec || len(call.Pallet) == 0 {
		return zero, fmt.Errorf("submit %s: built for runtime %d, the node runs %d: rebuild it", call, call.spec, b.spec)
	}
	var nonce uint64
	addr := signer.account.SS58(c.prefix)
	if err := c.rpc.CallContext(ctx, &nonce, "system_accountNextIndex", addr); err != nil {
		return zero, fmt.Errorf("submit %s from %s: nonce: %w", call, addr, err)
	}
	enc, err := b.signedExtrinsic(call, signer, signing{
		nonce:      nonce,
		spec:       uint32(rv.SpecVersion),
		txv:        uint32(rv.TransactionVersion),
		genesis:    c.genesis,
		immortalAt: c.genesis,
	})
	if err != nil {
		return zero, fmt.Errorf("submit %s from %s: %w", call, addr, err)
	}
	want := blake2b.Sum256(enc)
	var got string
	if err := c.rpc.CallContext(ctx, &got, "author_submitExtrinsic", "0x"+hex.EncodeToString(enc)); err != nil {
		return zero, fmt.Errorf("submit %s from %s (nonce %d): the node refused it: %w", call, addr, nonce, err)
	}
	if h, err := parseHash(got); err == nil && h != types.Hash(want) {
		return zero, fmt.Errorf("submit %s: the node answered hash %s, the extrinsic hashes to %x", call, got, want)
	}
	return want, nil
}

// redact keeps a secret URI out of an error a library built.
func redact(err error, s *Signer) string {
	m := err.Error()
	if s.pair.URI != "" {
		m = strings.ReplaceAll(m, s.pair.URI, "<secret>")
	}
	return m
}

func parseHash(s string) (types.Hash, error) {
	var h types.Hash
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("%q is not a 32-byte 0x hash", s)
	}
	copy(h[:], b)
	return h, nil
}
