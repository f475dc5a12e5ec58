// Package sink is what the SSV domain gives the shared consumer: it decodes
// ssv.<network>.* events and applies them to the ssv_* tables
// (internal/ssv/state).
//
// A contract event waits in ssv_pending until its block's marker; the
// marker applies the block's events together, in log order, in the batch's
// transaction: to the registry tables, to the applied-event log
// (ssv_events) and to the processed blocks (ssv_blocks). A marker whose
// block has fewer (or more) pending events than it announces is held, not
// applied, and so is every marker after it (held.go): on one stream the
// events come before their marker, so a shortfall means an event was lost
// or refused, and applying the block incomplete — or the blocks after it,
// below which the missing event could never be applied — would silently
// diverge; the event that completes the first held block, when it comes
// in, applies it and the held blocks after it. A reorg deletes the processed blocks from its FromBlock on
// with their events and rebuilds the registry from the remaining log.
//
// Idempotency: pending events are keyed by (network, block hash, log
// index); a marker of a block already processed with the same hash, and a
// reorg already applied, change nothing; a status older than the stored one
// is ignored.
package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/store"
)

// DefaultKeepBlocks is how many recent blocks without events are kept in
// ssv_blocks (blocks with events are kept for good).
const DefaultKeepBlocks = 4096

// CheckFunc is the SSV node's stateless check of a ValidatorAdded (operator
// count, duplicates, key and shares lengths, the BLS signature over
// owner:nonce); an error is the reason the registration is invalid.
type CheckFunc func(owner common.Address, nonce uint64, publicKey []byte, operatorIDs []uint64, shares []byte) error

// Config configures the sink.
type Config struct {
	DB *store.DB
	// Check runs after the sink's own structural checks (operator count
	// and duplicates, 48-byte key, shares length); nil: no signature check.
	// It is called concurrently, ahead of the transaction, for the nonces
	// the registrations of a batch are expected to get (precheck.go).
	Check CheckFunc
	// KeepBlocks: recent blocks without events kept (0: DefaultKeepBlocks).
	KeepBlocks uint64
	Log        *slog.Logger
}

// Sink implements consumer.Sink for the SSV domain.
type Sink struct {
	db    *store.DB
	check CheckFunc
	keep  uint64
	log   *slog.Logger
}

var _ consumer.Sink = (*Sink)(nil)

// New checks the configuration.
func New(cfg Config) (*Sink, error) {
	if cfg.DB == nil {
		return nil, errors.New("ssv sink: a database is required")
	}
	s := &Sink{db: cfg.DB, check: cfg.Check, keep: cfg.KeepBlocks, log: cfg.Log}
	if s.keep == 0 {
		s.keep = DefaultKeepBlocks
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Decode parses an SSV event (internal/ssv/events.Decode).
func (s *Sink) Decode(kind string, data []byte) (any, error) { return events.Decode(kind, data) }

// Archive writes nothing: the applied-event log in the state tables is the
// SSV domain's record of its events.
func (s *Sink) Archive([]consumer.Event) error { return nil }

// Apply applies a batch in one transaction.
func (s *Sink) Apply(ctx context.Context, evs []consumer.Event) error {
	pre := s.precheck(ctx, evs)
	return s.db.InTx(ctx, "apply ssv batch", func(tx *sql.Tx) error {
		b := &batch{s: s, ctx: ctx, tx: tx, nets: map[string]*network{}, pre: pre}
		if err := b.run(evs); err != nil {
			return err
		}
		return b.finish()
	})
}

// rejected wraps an event that can never apply.
func rejected(format string, args ...any) error {
	return fmt.Errorf("%w: %s", consumer.ErrRejected, fmt.Sprintf(format, args...))
}
