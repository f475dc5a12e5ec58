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
type sender struct {
	urls []string
	log  *slog.Logger
	wait time.Duration

	mu   sync.Mutex
	c    *tx.Client
	keys map[string]*tx.Signer
}

var _ runner.Sender = (*sender)(nil)

func newSender(urls []string, log *slog.Logger) *sender {
	return &sender{urls: urls, log: log, wait: 5 * time.Minute, keys: map[string]*tx.Signer{}}
}

// client dials the first URL that answers (and reloads the runtime's
// metadata after an upgrade).
func (s *sender) client(ctx context.Context) (*tx.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		if err := s.c.Refresh(ctx); err == nil {
			return s.c, nil
		}
		s.c.Close()
		s.c = nil
	}
	var errs []error
	for _, u := range s.urls {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := tx.Dial(dctx, u)
		cancel()
		if err == nil {
			s.c = c
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", chain.SafeURL(u), scrubURL(err, u)))
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
	start, err := headNumber(ctx, c)
	if err != nil {
		return runner.Sent{}, err
	}
	h, err := tx.Submit(ctx, c, k, call)
	if err != nil {
		return runner.Sent{}, err
	}
	hashes := [][32]byte{h}
	s.log.Info("transaction submitted", "call", call.String(), "from", k.String(), "tx", "0x"+hex.EncodeToString(h[:]))
	deadline := time.Now().Add(s.wait)
	next, since := start+1, start // since: the head when the latest hash was submitted
	scan := func() (runner.Sent, bool, error) {
		head, err := headNumber(ctx, c)
		if err != nil {
			return runner.Sent{}, false, nil // transient: the next look retries
		}
		for ; next <= head; next++ {
			var bh string
			if err := c.RPC().CallContext(ctx, &bh, "chain_getBlockHash", next); err != nil {
				return runner.Sent{}, false, nil
			}
			b, err := hex.DecodeString(strings.TrimPrefix(bh, "0x"))
			if err != nil || len(b) != 32 {
				return runner.Sent{}, false, fmt.Errorf("block %d hash %q", next, bh)
			}
			var bhash [32]byte
			copy(bhash[:], b)
			for _, x := range hashes {
				ok, failed := c.Included(ctx, bhash, x)
				sent := runner.Sent{TxHash: "0x" + hex.EncodeToString(x[:]), BlockHash: bh, Block: next}
				if failed != nil {
					return sent, true, fmt.Errorf("%s included in block %d but failed: %w", call, next, failed)
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
			if h, err = tx.Submit(ctx, c, k, call); err != nil {
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
	if err := c.RPC().CallContext(ctx, &xts, "author_pendingExtrinsics"); err != nil {
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
