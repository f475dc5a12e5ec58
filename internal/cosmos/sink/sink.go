// Package sink is what the Cosmos domain gives the shared consumer: it
// decodes cosmos.<chain>.* events, applies them to the cosmos_* tables
// (internal/cosmos/state) and writes the votes, rounds, steps, blocks and
// commits archive tables.
//
// Every observation table is keyed by what identifies the observation
// (chain, height, round, …), not by message id, because several sentries
// publish the same vote with the same id and the first copy stored wins;
// so a redelivered batch finds its rows in place and changes nothing.
package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/store"
)

// Config configures the sink.
type Config struct {
	DB      *store.DB
	Archive *archive.Writer // nil: no archive
}

// Sink implements consumer.Sink for the Cosmos domain.
type Sink struct {
	db      *store.DB
	votes   *archive.Table[VoteRow]
	rounds  *archive.Table[RoundRow]
	steps   *archive.Table[StepRow]
	blocks  *archive.Table[BlockRow]
	commits *archive.Table[CommitRow]
}

// New registers the archive tables (when there is an archive).
func New(cfg Config) (*Sink, error) {
	if cfg.DB == nil {
		return nil, errors.New("cosmos sink: a database is required")
	}
	s := &Sink{db: cfg.DB}
	if cfg.Archive != nil {
		if err := s.register(cfg.Archive); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Sink) register(w *archive.Writer) error {
	var err error
	if s.votes, err = archive.Register(w, events.Domain, TableVotes, archive.TableOptions{}, func(r *VoteRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.SeenAt, Size: r.approxSize(), MsgID: r.MsgID}
	}); err != nil {
		return err
	}
	if s.rounds, err = archive.Register(w, events.Domain, TableRounds, archive.TableOptions{}, func(r *RoundRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.SeenAt, Size: r.approxSize(), MsgID: r.MsgID}
	}); err != nil {
		return err
	}
	if s.steps, err = archive.Register(w, events.Domain, TableSteps, archive.TableOptions{}, func(r *StepRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.SeenAt, Size: r.approxSize(), MsgID: r.MsgID}
	}); err != nil {
		return err
	}
	if s.blocks, err = archive.Register(w, events.Domain, TableBlocks, archive.TableOptions{}, func(r *BlockRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.SeenAt, Size: r.approxSize(), MsgID: r.MsgID}
	}); err != nil {
		return err
	}
	s.commits, err = archive.Register(w, events.Domain, TableCommits, archive.TableOptions{}, func(r *CommitRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.SeenAt, Size: r.approxSize(), MsgID: r.MsgID}
	})
	return err
}

// Decode parses a Cosmos event; its strings come out made safe.
func (s *Sink) Decode(kind string, data []byte) (any, error) { return events.Decode(kind, data) }

// Apply writes the events to the state tables in one transaction.
func (s *Sink) Apply(ctx context.Context, evs []consumer.Event) error {
	b, err := sortBatch(evs)
	if err != nil {
		return err
	}
	s.db.Prepare(ctx, hotInserts...)
	return s.db.InTx(ctx, "apply cosmos batch", func(tx *sql.Tx) error { return s.apply(ctx, tx, b) })
}

// Archive appends the archive rows of the observation events; names,
// sets, endpoint health, parameters and pruned ranges (what the sentry
// could not observe) live in the state tables only.
func (s *Sink) Archive(evs []consumer.Event) error {
	if s.votes == nil {
		return nil
	}
	var (
		votes   []VoteRow
		rounds  []RoundRow
		steps   []StepRow
		blocks  []BlockRow
		commits []CommitRow
	)
	for _, ev := range evs {
		switch e := ev.Value.(type) {
		case *events.Vote:
			votes = append(votes, VoteRow{Network: e.Chain, Height: e.Height, Round: e.Round, Type: e.Type, BlockID: e.BlockHash,
				Timestamp: e.Timestamp, ValidatorAddress: e.ValidatorAddress, ValidatorIndex: e.ValidatorIndex,
				Signature: e.Signature, Endpoint: e.Endpoint, SeenAt: e.SeenAt, MsgID: ev.MsgID})
		case *events.NewRound:
			rounds = append(rounds, RoundRow{Network: e.Chain, Height: e.Height, Round: e.Round, ProposerAddress: e.ProposerAddress,
				ProposerIndex: e.ProposerIndex, Endpoint: e.Endpoint, SeenAt: e.SeenAt, MsgID: ev.MsgID})
		case *events.NewRoundStep:
			steps = append(steps, StepRow{Network: e.Chain, Height: e.Height, Round: e.Round, Step: e.Step,
				Endpoint: e.Endpoint, SeenAt: e.SeenAt, MsgID: ev.MsgID})
		case *events.Block:
			blocks = append(blocks, BlockRow{Network: e.Chain, Height: e.Height, Time: e.Time, Hash: e.Hash,
				ProposerAddress: e.ProposerAddress, NumTxs: int64(e.NumTxs), ValidatorsHash: e.ValidatorsHash,
				VotesObserved: e.VotesObserved, Source: e.Source, Endpoint: e.Endpoint, SeenAt: e.SeenAt, MsgID: ev.MsgID})
		case *events.Commit:
			commits = append(commits, CommitRow{Network: e.Chain, Height: e.Height, Round: e.Round, BlockID: e.BlockHash,
				Flags: Flags(e.Signatures), Source: e.Source, Endpoint: e.Endpoint, SeenAt: e.SeenAt, MsgID: ev.MsgID})
		}
	}
	return errors.Join(write(s.votes, votes), write(s.rounds, rounds), write(s.steps, steps),
		write(s.blocks, blocks), write(s.commits, commits))
}

func write[T any](t *archive.Table[T], rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return t.Write(rows)
}

// Flags is a commit's signatures as cosmos_commits.flags: one character per
// validator index, 'A' absent, 'C' commit, 'N' nil.
func Flags(sigs []events.Signature) string {
	b := make([]byte, len(sigs))
	for i, s := range sigs {
		switch s.Flag {
		case events.FlagCommit:
			b[i] = 'C'
		case events.FlagNil:
			b[i] = 'N'
		default:
			b[i] = 'A'
		}
	}
	return string(b)
}

// rejected wraps an event that can never apply.
func rejected(format string, args ...any) error {
	return fmt.Errorf("%w: %s", consumer.ErrRejected, fmt.Sprintf(format, args...))
}
