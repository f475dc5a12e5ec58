package polkadot

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/valtrack/valtrack/internal/polkadot/chain"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/runner"
	"github.com/valtrack/valtrack/internal/polkadot/tx"
)

// sender sends the program's nominations (runner.Sender) through
// internal/polkadot/tx: each call signed with its nominator's key file,
// submitted, and waited for until a block includes it — with its result:
// a call that failed inside a proxy is an error, not a success.
//
// Every RPC call has its own timeout (callTimeout): an endpoint that
// accepts a connection and never answers would otherwise hold a send for
// the whole pass (the analyzer's timeout) while the send lease is renewed
// all along. A call that fails or times out drops the endpoint, and the
// next call dials the next URL (failover).
type sender struct {
	urls        []string
	log         *slog.Logger
	wait        time.Duration
	callTimeout time.Duration

	mu sync.Mutex
	c  *tx.Client
	// cur is the index in urls of c; next the URL to dial first when c is
	// dropped (the one after a failed endpoint).
	cur, next int
	keys      map[string]*tx.Signer
}

var _ runner.Sender = (*sender)(nil)

// senderConfig configures a sender; zero values take the defaults.
type senderConfig struct {
	URLs []string
	Log  *slog.Logger
	// Wait bounds the wait for a block to include a transaction (5
	// minutes); CallTimeout each RPC call (30 s).
	Wait, CallTimeout time.Duration
}

func newSender(cfg senderConfig) *sender {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 5 * time.Minute
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	return &sender{urls: cfg.URLs, log: cfg.Log, wait: cfg.Wait, callTimeout: cfg.CallTimeout, keys: map[string]*tx.Signer{}}
}

// timed runs one RPC call of c under the per-call timeout; when it fails
// for any reason but the caller's own context, c is dropped so that the
// next call fails over to the next URL.
func (s *sender) timed(ctx context.Context, c *tx.Client, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
	defer cancel()
	err := f(cctx)
	if err == nil || ctx.Err() != nil {
		return err
	}
	u := s.drop(c, err)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s did not answer within %s (the sender's per-call timeout; the next call tries the next URL): %w", u, s.callTimeout, err)
	}
	return err
}

// drop closes c after a failed call, if it is still the current client,
// and names its endpoint (host and port only).
func (s *sender) drop(c *tx.Client, err error) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != c || c == nil {
		return "the RPC endpoint"
	}
	u := chain.SafeURL(s.urls[s.cur])
	s.log.Warn("RPC endpoint failed a call; the next one goes to the next URL", "url", u, "err", scrubURL(err, s.urls[s.cur]))
	s.c.Close()
	s.c, s.next = nil, (s.cur+1)%len(s.urls)
	return u
}

// client is the current endpoint's client, its runtime refreshed (the
// metadata reloaded after an upgrade); when that fails, or there is none,
// it dials the URLs from the one after the endpoint that failed.
func (s *sender) client(ctx context.Context) (*tx.Client, error) {
	s.mu.Lock()
	c := s.c
	s.mu.Unlock()
	if c != nil {
		if err := s.timed(ctx, c, c.Refresh); err == nil {
			return c, nil
		} else if ctx.Err() != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		return s.c, nil
	}
	var errs []error
	for i := range s.urls {
		j := (s.next + i) % len(s.urls)
		u := s.urls[j]
		dctx, cancel := context.WithTimeout(ctx, s.callTimeout)
		c, err := tx.Dial(dctx, u)
		cancel()
		if err == nil {
			s.c, s.cur = c, j
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", chain.SafeURL(u), scrubURL(err, u)))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("no RPC endpoint to send through: %w", errors.Join(errs...))
}

// scrubURL keeps the URL (its query may carry a key) out of an error.
func scrubURL(err error, u string) error {
	if msg := err.Error(); strings.Contains(msg, u) {
		return errors.New(strings.ReplaceAll(msg, u, chain.SafeURL(u)))
	}
	return err
}

func (s *sender) signer(n program.NominatorConfig) (*tx.Signer, error) {
	if n.Key == "" {
		return nil, fmt.Errorf("nominator %s has no key file: set key in the program file to send", n.Account)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.keys[n.Key]; k != nil {
		return k, nil
	}
	k, err := tx.LoadKey(n.Key)
	if err != nil {
		return nil, fmt.Errorf("nominator %s: %w", n.Account, err)
	}
	s.keys[n.Key] = k
	return k, nil
}

// Delegate is the account of n's key.
func (s *sender) Delegate(n program.NominatorConfig) (string, error) {
	k, err := s.signer(n)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := s.client(ctx)
	if err != nil {
		return "", err
	}
	return k.Account().SS58(c.SS58Prefix()), nil
}

func accounts(ss []string) ([]tx.AccountID, error) {
	out := make([]tx.AccountID, 0, len(ss))
	for _, a := range ss {
		id, err := tx.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", a, err)
		}
		out = append(out, id)
	}
	return out, nil
}

func (s *sender) nominate(ctx context.Context, targets []string) (*tx.Client, tx.Call, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, tx.Call{}, err
	}
	ts, err := accounts(targets)
	if err != nil {
		return nil, tx.Call{}, err
	}
	call, err := c.Calls().Nominate(ts)
	return c, call, err
}

// CallHash is blake2_256 of nominate(targets), 0x hex.
func (s *sender) CallHash(ctx context.Context, targets []string) (string, error) {
	_, call, err := s.nominate(ctx, targets)
	if err != nil {
		return "", err
	}
	h := call.Hash()
	return "0x" + hex.EncodeToString(h[:]), nil
}

// Nominate sends nominate(targets) from the account, or through its
// (delay-free) proxy.
func (s *sender) Nominate(ctx context.Context, n program.NominatorConfig, targets []string) (runner.Sent, error) {
	c, call, err := s.nominate(ctx, targets)
	if err != nil {
		return runner.Sent{}, err
	}
	if n.Proxy {
		real, err := tx.ParseAddress(n.Account)
		if err != nil {
			return runner.Sent{}, err
		}
		if call, err = c.Calls().Proxy(real, call); err != nil {
			return runner.Sent{}, err
		}
	}
	return s.send(ctx, c, n, call)
}

// Announce announces nominate(targets) through the time-delay proxy.
func (s *sender) Announce(ctx context.Context, n program.NominatorConfig, targets []string) (runner.Sent, error) {
	c, inner, err := s.nominate(ctx, targets)
	if err != nil {
		return runner.Sent{}, err
	}
	real, err := tx.ParseAddress(n.Account)
	if err != nil {
		return runner.Sent{}, err
	}
	call, err := c.Calls().Announce(real, inner)
	if err != nil {
		return runner.Sent{}, err
	}
	return s.send(ctx, c, n, call)
}

// ExecuteAnnounced sends proxy_announced(nominate(targets)).
func (s *sender) ExecuteAnnounced(ctx context.Context, n program.NominatorConfig, targets []string) (runner.Sent, error) {
	c, inner, err := s.nominate(ctx, targets)
	if err != nil {
		return runner.Sent{}, err
	}
	k, err := s.signer(n)
	if err != nil {
		return runner.Sent{}, err
	}
	real, err := tx.ParseAddress(n.Account)
	if err != nil {
		return runner.Sent{}, err
	}
	call, err := c.Calls().ProxyAnnounced(k.Account(), real, inner)
	if err != nil {
		return runner.Sent{}, err
	}
	return s.send(ctx, c, n, call)
}

// RemoveAnnouncement withdraws an announcement (its call hash, 0x hex).
func (s *sender) RemoveAnnouncement(ctx context.Context, n program.NominatorConfig, callHash string) (runner.Sent, error) {
	c, err := s.client(ctx)
	if err != nil {
		return runner.Sent{}, err
	}
	b, err := hex.DecodeString(strings.TrimPrefix(callHash, "0x"))
	if err != nil || len(b) != 32 {
		return runner.Sent{}, fmt.Errorf("call hash %q is not 32 bytes of hex", callHash)
	}
	var h [32]byte
	copy(h[:], b)
	real, err := tx.ParseAddress(n.Account)
	if err != nil {
		return runner.Sent{}, err
	}
	call, err := c.Calls().RemoveAnnouncement(real, h)
	if err != nil {
		return runner.Sent{}, err
	}
	return s.send(ctx, c, n, call)
}

// send submits call signed by n's key and waits until a block includes
// it, then says whether it succeeded. A transaction the pool dropped
// without any block including it (a block builder refuses one it cannot
// apply, e.g. when the block is full) is submitted again, at most
// maxResubmits times, but only after dropAfter blocks were scanned
// without it — the pool lets go of a transaction while a block including
// it is still being built — and every hash submitted is looked for, so a
// call is never applied twice for want of recognising its inclusion.
func (s *sender) send(ctx context.Context, c *tx.Client, n program.NominatorConfig, call tx.Call) (runner.Sent, error) {
	const maxResubmits, dropAfter = 10, 3
	k, err := s.signer(n)
	if err != nil {
		return runner.Sent{}, err
	}
	var start uint64
	if err := s.timed(ctx, c, func(ctx context.Context) (err error) { start, err = headNumber(ctx, c); return err }); err != nil {
		return runner.Sent{}, err
	}
	var h [32]byte
	if err := s.timed(ctx, c, func(ctx context.Context) (err error) { h, err = tx.Submit(ctx, c, k, call); return err }); err != nil {
		return runner.Sent{}, err
	}
	hashes := [][32]byte{h}
	s.log.Info("transaction submitted", "call", call.String(), "from", k.String(), "tx", "0x"+hex.EncodeToString(h[:]))
	deadline := time.Now().Add(s.wait)
	next, since := start+1, start // since: the head when the latest hash was submitted
	// failed: a call of the scan failed (c dropped by timed); the next
	// look goes through the next endpoint.
	failed := func() {
		if nc, err := s.client(ctx); err == nil {
			c = nc
		}
	}
	scan := func() (runner.Sent, bool, error) {
		var head uint64
		if err := s.timed(ctx, c, func(ctx context.Context) (err error) { head, err = headNumber(ctx, c); return err }); err != nil {
			failed()
			return runner.Sent{}, false, nil // transient: the next look retries
		}
		for ; next <= head; next++ {
			var bh string
			if err := s.timed(ctx, c, func(ctx context.Context) error { return c.RPC().CallContext(ctx, &bh, "chain_getBlockHash", next) }); err != nil {
				failed()
				return runner.Sent{}, false, nil
			}
			b, err := hex.DecodeString(strings.TrimPrefix(bh, "0x"))
			if err != nil || len(b) != 32 {
				return runner.Sent{}, false, fmt.Errorf("block %d hash %q", next, bh)
			}
			var bhash [32]byte
			copy(bhash[:], b)
			for _, x := range hashes {
				var ok bool
				var bad error
				cctx, cancel := context.WithTimeout(ctx, s.callTimeout)
				ok, bad = c.Included(cctx, bhash, x)
				cancel()
				sent := runner.Sent{TxHash: "0x" + hex.EncodeToString(x[:]), BlockHash: bh, Block: next}
				var txFailed *tx.Failed
				if bad != nil && !errors.As(bad, &txFailed) {
					// The block or its events could not be read: not a
					// verdict on the transaction; looked at again.
					s.drop(c, bad)
					failed()
					return runner.Sent{}, false, nil
				}
				if bad != nil {
					return sent, true, fmt.Errorf("%s included in block %d but failed: %w", call, next, bad)
				}
				if ok {
					return sent, true, nil
				}
			}
		}
		return runner.Sent{}, false, nil
	}
	for time.Now().Before(deadline) {
		if sent, done, err := scan(); done || err != nil {
			return sent, err
		}
		last := "0x" + hex.EncodeToString(hashes[len(hashes)-1][:])
		if next > since+dropAfter && !s.pending(ctx, c, last) {
			if len(hashes) > maxResubmits {
				return runner.Sent{TxHash: last}, fmt.Errorf("%s (tx %s): dropped by the pool %d times without a block including it", call, last, len(hashes))
			}
			if err := s.timed(ctx, c, func(ctx context.Context) (err error) { h, err = tx.Submit(ctx, c, k, call); return err }); err != nil {
				return runner.Sent{}, fmt.Errorf("%s: submit again after the pool dropped it: %w", call, err)
			}
			hashes, since = append(hashes, h), next-1
			s.log.Info("transaction dropped without inclusion; submitted again", "call", call.String(),
				"tx", "0x"+hex.EncodeToString(h[:]), "attempt", len(hashes))
		}
		select {
		case <-ctx.Done():
			return runner.Sent{TxHash: last}, fmt.Errorf("%s (tx %s): %w while waiting for a block to include it", call, last, ctx.Err())
		case <-time.After(time.Second):
		}
	}
	return runner.Sent{}, fmt.Errorf("%s: no block included it within %s", call, s.wait)
}

// pending reports whether the node's pool still holds the transaction
// (true when the pool cannot be read: then only inclusion is waited for).
func (s *sender) pending(ctx context.Context, c *tx.Client, txHash string) bool {
	var xts []string
	if err := s.timed(ctx, c, func(ctx context.Context) error { return c.RPC().CallContext(ctx, &xts, "author_pendingExtrinsics") }); err != nil {
		return true
	}
	for _, x := range xts {
		b, err := hex.DecodeString(strings.TrimPrefix(x, "0x"))
		if err != nil {
			continue
		}
		sum := blake2b.Sum256(b)
		if "0x"+hex.EncodeToString(sum[:]) == txHash {
			return true
		}
	}
	return false
}

func headNumber(ctx context.Context, c *tx.Client) (uint64, error) {
	var h struct {
		Number string `json:"number"`
	}
	if err := c.RPC().CallContext(ctx, &h, "chain_getHeader"); err != nil {
		return 0, fmt.Errorf("chain_getHeader: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(h.Number, "0x"), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("chain_getHeader: number %q: %w", h.Number, err)
	}
	return n, nil
}

func (s *sender) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}
