package sink

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

var (
	voteCols   = []string{"chain", "height", "round", "type", "validator_address", "validator_index", "block_hash", "timestamp", "signature", "endpoint", "seen_at", "stored_seq"}
	roundCols  = []string{"chain", "height", "round", "proposer_address", "proposer_index", "endpoint", "seen_at"}
	stepCols   = []string{"chain", "height", "round", "step", "endpoint", "seen_at"}
	blockCols  = []string{"chain", "height", "time", "hash", "proposer_address", "num_txs", "validators_hash", "votes_observed", "source", "endpoint", "seen_at"}
	commitCols = []string{"chain", "height", "round", "block_hash", "flags", "source", "endpoint", "seen_at"}
	infoCols   = []string{"chain", "address", "moniker", "moniker_source", "operator_address", "jailed", "updated_at"}
	endCols    = []string{"chain", "endpoint", "sentry_id", "healthy", "reason", "height", "latest_block_time", "catching_up", "node_version", "moniker", "updated_at", "healthy_at"}
	paramCols  = []string{"chain", "signed_blocks_window", "min_signed_per_window", "source", "updated_at"}
	prunedCols = []string{"chain", "what", "from_height", "to_height", "lowest_available", "endpoints", "validators_hash", "endpoint", "sentry_id", "seen_at"}
)

// Observations: the first observer wins.
var (
	insVotes   = store.Insert{Table: "cosmos_votes", Cols: voteCols, Suffix: "ON CONFLICT (chain, height, round, type, validator_address) DO NOTHING"}
	insRounds  = store.Insert{Table: "cosmos_rounds", Cols: roundCols, Suffix: "ON CONFLICT (chain, height, round) DO NOTHING"}
	insSteps   = store.Insert{Table: "cosmos_steps", Cols: stepCols, Suffix: "ON CONFLICT (chain, height, round, step) DO NOTHING"}
	insCommits = store.Insert{Table: "cosmos_commits", Cols: commitCols, Suffix: "ON CONFLICT (chain, height) DO NOTHING"}
	// A block keeps its first copy, but its votes count as observed if any
	// observer watched the height (a live copy after a backfilled one).
	insBlocks = store.Insert{Table: "cosmos_blocks", Cols: blockCols,
		Suffix: "ON CONFLICT (chain, height) DO UPDATE SET votes_observed = (cosmos_blocks.votes_observed OR excluded.votes_observed)"}

	// A staking moniker ("lcd", "grpc" or "abci": x/staking read from an
	// LCD, over gRPC or over abci_query, the same data) is the operator's registered name; a
	// node's /status moniker is only a hint and never replaces it. Jailing
	// is known only from the staking module.
	insInfos = store.Insert{Table: "cosmos_validators", Cols: infoCols, Suffix: "ON CONFLICT (chain, address) DO UPDATE SET " +
		"moniker = CASE WHEN " + keepName + " THEN cosmos_validators.moniker ELSE excluded.moniker END, " +
		"moniker_source = CASE WHEN " + keepName + " THEN cosmos_validators.moniker_source ELSE excluded.moniker_source END, " +
		"operator_address = CASE WHEN excluded.operator_address = '' THEN cosmos_validators.operator_address ELSE excluded.operator_address END, " +
		"jailed = CASE WHEN " + stakingSQL("excluded") + " THEN excluded.jailed ELSE cosmos_validators.jailed END"}

	// Parameters: the latest observation wins (a redelivered older one
	// changes nothing).
	insParams = store.Insert{Table: "cosmos_params", Cols: paramCols, Suffix: "ON CONFLICT (chain) DO UPDATE SET " +
		"signed_blocks_window = excluded.signed_blocks_window, min_signed_per_window = excluded.min_signed_per_window, " +
		"source = excluded.source, updated_at = excluded.updated_at WHERE excluded.updated_at >= cosmos_params.updated_at"}
)

// keepName: the stored name stays (the new one is empty, or only a hint
// while the stored one is the staking module's). mergeInfo is its Go twin.
var keepName = "excluded.moniker = '' OR (" + stakingSQL("cosmos_validators") + " AND NOT " + stakingSQL("excluded") + ")"

// stakingSQL is events.FromStaking of a row's moniker_source.
func stakingSQL(table string) string {
	return "(" + table + ".moniker_source IN ('" + events.NameFromLCD + "', '" + events.NameFromGRPC + "', '" + events.NameFromABCI + "'))"
}

// Pruned ranges: the first report of a range of blocks, or of sets, is
// kept (ranges of several sentries may overlap; the analyzer reads them as
// a union).
var insPruned = store.Insert{Table: "cosmos_pruned_heights", Cols: prunedCols, Suffix: "ON CONFLICT (chain, what, from_height, to_height) DO NOTHING"}

// hotInserts are compiled once on SQLite.
var hotInserts = []store.Insert{insVotes, insRounds, insSteps, insBlocks, insCommits}

// insEndpoints: the latest status wins, but healthy_at only moves forward.
func insEndpoints(d store.Dialect) store.Insert {
	newer := "excluded.updated_at >= cosmos_endpoints.updated_at"
	var set []string
	for _, c := range endCols[2:] {
		switch c {
		case "healthy_at":
			set = append(set, "healthy_at = "+d.Greatest()+"(cosmos_endpoints.healthy_at, excluded.healthy_at)")
		default:
			set = append(set, c+" = CASE WHEN "+newer+" THEN excluded."+c+" ELSE cosmos_endpoints."+c+" END")
		}
	}
	return store.Insert{Table: "cosmos_endpoints", Cols: endCols, Suffix: "ON CONFLICT (chain, endpoint) DO UPDATE SET " + strings.Join(set, ", ")}
}

// batch is a consumer batch sorted into tables. Rows that PostgreSQL's
// ON CONFLICT DO UPDATE would see twice in one statement are merged here.
type batch struct {
	votes, rounds, steps, commits [][]any
	blocks                        [][]any
	sets                          []*events.ValidatorSet
	infos                         [][]any
	endpoints                     [][]any
	params                        [][]any
	pruned                        [][]any
}

type chainKey struct{ chain, key string }

type heightKey struct {
	chain  string
	height int64
}

func sortBatch(evs []consumer.Event) (*batch, error) {
	b := &batch{}
	blocks := map[heightKey]*events.Block{}
	var blockOrder []heightKey
	infos := map[chainKey]*events.ValidatorInfo{}
	var infoOrder []chainKey
	type endpoint struct {
		last      *events.EndpointStatus
		healthyAt int64
	}
	ends := map[chainKey]*endpoint{}
	params := map[string]*events.Params{}
	for _, ev := range evs {
		switch e := ev.Value.(type) {
		case *events.Vote:
			typ := state.TypePrevote
			if e.Type == events.Precommit {
				typ = state.TypePrecommit
			}
			b.votes = append(b.votes, []any{e.Chain, e.Height, e.Round, typ, e.ValidatorAddress, e.ValidatorIndex, e.BlockHash, e.Timestamp, e.Signature, e.Endpoint, e.SeenAt,
				int64(0)}) // stored_seq, taken when the votes are inserted
		case *events.NewRound:
			b.rounds = append(b.rounds, []any{e.Chain, e.Height, e.Round, e.ProposerAddress, e.ProposerIndex, e.Endpoint, e.SeenAt})
		case *events.NewRoundStep:
			b.steps = append(b.steps, []any{e.Chain, e.Height, e.Round, e.Step, e.Endpoint, e.SeenAt})
		case *events.Block:
			k := heightKey{e.Chain, e.Height}
			if cur, ok := blocks[k]; ok {
				if e.VotesObserved && !cur.VotesObserved {
					c := *cur
					c.VotesObserved = true
					blocks[k] = &c
				}
				continue
			}
			blocks[k] = e
			blockOrder = append(blockOrder, k)
		case *events.Commit:
			b.commits = append(b.commits, []any{e.Chain, e.Height, e.Round, e.BlockHash, Flags(e.Signatures), e.Source, e.Endpoint, e.SeenAt})
		case *events.ValidatorSet:
			b.sets = append(b.sets, e)
		case *events.ValidatorInfo:
			k := chainKey{e.Chain, e.Address}
			cur, ok := infos[k]
			if !ok {
				infos[k] = e
				infoOrder = append(infoOrder, k)
				continue
			}
			infos[k] = mergeInfo(cur, e)
		case *events.EndpointStatus:
			k := chainKey{e.Chain, e.Endpoint}
			cur := ends[k]
			if cur == nil {
				cur = &endpoint{}
				ends[k] = cur
			}
			if cur.last == nil || e.SeenAt >= cur.last.SeenAt {
				cur.last = e
			}
			if e.Healthy {
				cur.healthyAt = max(cur.healthyAt, e.SeenAt)
			}
		case *events.Params:
			if cur := params[e.Chain]; cur == nil || e.SeenAt >= cur.SeenAt {
				params[e.Chain] = e
			}
		case *events.PrunedHeights:
			b.pruned = append(b.pruned, []any{e.Chain, e.Pruned(), e.From, e.To, e.LowestAvailable, e.Endpoints, e.ValidatorsHash, e.Endpoint, e.SentryID, e.SeenAt})
		default:
			return nil, rejected("not a cosmos event: %T (kind %s)", ev.Value, ev.Kind)
		}
	}
	for _, k := range blockOrder {
		e := blocks[k]
		b.blocks = append(b.blocks, []any{e.Chain, e.Height, e.Time, e.Hash, e.ProposerAddress, e.NumTxs, e.ValidatorsHash, e.VotesObserved, e.Source, e.Endpoint, e.SeenAt})
	}
	for _, k := range infoOrder {
		e := infos[k]
		b.infos = append(b.infos, []any{e.Chain, e.Address, e.Moniker, e.Source, e.OperatorAddress, e.Jailed, e.SeenAt})
	}
	for k, ep := range ends {
		e := ep.last
		b.endpoints = append(b.endpoints, []any{k.chain, k.key, e.SentryID, e.Healthy, e.Reason, e.Height, e.LatestBlockTime, e.CatchingUp, e.NodeVersion, e.Moniker, e.SeenAt, ep.healthyAt})
	}
	for _, e := range params {
		b.params = append(b.params, []any{e.Chain, e.SignedBlocksWindow, e.MinSignedPerWindow, e.Source, e.SeenAt})
	}
	// Sets apply in height order: each is compared with the one in effect
	// before it. The other upserts are sorted by key so that concurrent
	// consumers lock rows in one order (fewer PostgreSQL deadlocks).
	slices.SortStableFunc(b.sets, func(x, y *events.ValidatorSet) int {
		return cmp.Or(cmp.Compare(x.Chain, y.Chain), cmp.Compare(x.Height, y.Height))
	})
	for _, rows := range [][][]any{b.blocks, b.infos, b.endpoints, b.params} {
		sortRows(rows)
	}
	return b, nil
}

// mergeInfo folds two names of one validator in a batch the way the upsert
// folds a name into the stored row.
func mergeInfo(cur, next *events.ValidatorInfo) *events.ValidatorInfo {
	m := *cur
	if next.Moniker != "" && !(events.FromStaking(cur.Source) && !events.FromStaking(next.Source)) {
		m.Moniker, m.Source = next.Moniker, next.Source
	}
	if next.OperatorAddress != "" {
		m.OperatorAddress = next.OperatorAddress
	}
	if events.FromStaking(next.Source) {
		m.Jailed = next.Jailed
	}
	m.SeenAt = max(cur.SeenAt, next.SeenAt)
	return &m
}

// sortRows orders rows by their first two columns (chain, then a key).
func sortRows(rows [][]any) {
	slices.SortFunc(rows, func(x, y []any) int {
		if c := cmp.Compare(x[0].(string), y[0].(string)); c != 0 {
			return c
		}
		switch a := x[1].(type) {
		case string:
			return cmp.Compare(a, y[1].(string))
		case int64:
			return cmp.Compare(a, y[1].(int64))
		}
		return 0
	})
}

func (s *Sink) apply(ctx context.Context, tx *sql.Tx, b *batch) error {
	for _, step := range []struct {
		ins  store.Insert
		rows [][]any
	}{
		{insRounds, b.rounds}, {insSteps, b.steps},
		{insBlocks, b.blocks}, {insCommits, b.commits}, {insPruned, b.pruned},
	} {
		if err := s.db.InsertRows(ctx, tx, step.ins, step.rows); err != nil {
			return err
		}
	}
	if err := s.applySets(ctx, tx, b.sets); err != nil {
		return err
	}
	// Names after sets, so a name can land on a row its set just created.
	if err := s.db.InsertRows(ctx, tx, insInfos, b.infos); err != nil {
		return err
	}
	if err := s.db.InsertRows(ctx, tx, insEndpoints(s.db.Dialect()), b.endpoints); err != nil {
		return err
	}
	if err := s.db.InsertRows(ctx, tx, insParams, b.params); err != nil {
		return err
	}
	return s.insertVotes(ctx, tx, b.votes)
}

// insertVotes stores the votes last: the stored_seq values they take lock
// the vote sequence's row until the commit, and the batches of concurrent
// consumers wait for it (see state.TakeVoteSeqs), so the less of the
// transaction is left after it, the shorter they wait.
func (s *Sink) insertVotes(ctx context.Context, tx *sql.Tx, votes [][]any) error {
	if len(votes) == 0 {
		return nil
	}
	first, err := state.TakeVoteSeqs(ctx, tx, len(votes))
	if err != nil {
		return err
	}
	for i, v := range votes { // again on a retried transaction: new values
		v[len(v)-1] = first + int64(i)
	}
	return s.db.InsertRows(ctx, tx, insVotes, votes)
}
