package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

// queries reads the cosmos_* tables (internal/cosmos/state's schema) for the
// routes. Every statement is dialect-neutral and every list it returns is
// bounded. Times stay unix milliseconds here; views.go turns them into
// time.Time.
type queries struct{ db *store.DB }

func (q queries) query(ctx context.Context, b *store.Query) (*sql.Rows, error) {
	return q.db.Reader().QueryContext(ctx, b.String(), b.Args()...)
}

func (q queries) row(ctx context.Context, b *store.Query) *sql.Row {
	return q.db.Reader().QueryRowContext(ctx, b.String(), b.Args()...)
}

// chains lists the chains the store has data of: those of the small
// per-chain tables, and those with a validator set (read by skipping from
// one chain to the next on the primary key, so a long set history costs one
// index probe per chain, not a scan).
func (q queries) chains(ctx context.Context) ([]string, error) {
	b := q.db.Query().SQL(`WITH RECURSIVE s(chain) AS (
			SELECT MIN(chain) FROM cosmos_validator_sets
			UNION ALL
			SELECT (SELECT MIN(v.chain) FROM cosmos_validator_sets v WHERE v.chain > s.chain) FROM s WHERE s.chain IS NOT NULL)
		SELECT chain FROM s WHERE chain IS NOT NULL
		UNION SELECT chain FROM cosmos_chains
		UNION SELECT chain FROM cosmos_endpoints
		ORDER BY 1 LIMIT `).Arg(maxChains)
	rows, err := q.query(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("list cosmos chains: %w", err)
	}
	return store.ScanStrings(rows, "list cosmos chains")
}

// block is a cosmos_blocks row.
type block struct {
	Height, Time     int64
	Hash, Proposer   string
	NumTxs           int64
	VotesObserved    bool
	Source, Endpoint string
}

// latestBlock is the chain's highest block; ok false when it has none.
func (q queries) latestBlock(ctx context.Context, chain string) (block, bool, error) {
	return q.blockWhere(ctx, q.db.Query().SQL(blockSelect+` WHERE chain = `).Arg(chain).SQL(` ORDER BY height DESC LIMIT 1`))
}

func (q queries) blockAt(ctx context.Context, chain string, height int64) (block, bool, error) {
	return q.blockWhere(ctx, q.db.Query().SQL(blockSelect+` WHERE chain = `).Arg(chain).SQL(` AND height = `).Arg(height))
}

const blockSelect = `SELECT height, time, hash, proposer_address, num_txs, votes_observed, source, endpoint FROM cosmos_blocks`

func (q queries) blockWhere(ctx context.Context, b *store.Query) (block, bool, error) {
	var bl block
	err := q.row(ctx, b).Scan(&bl.Height, &bl.Time, &bl.Hash, &bl.Proposer, &bl.NumTxs, &bl.VotesObserved, &bl.Source, &bl.Endpoint)
	if errors.Is(err, sql.ErrNoRows) {
		return bl, false, nil
	}
	if err != nil {
		return bl, false, fmt.Errorf("read cosmos block: %w", err)
	}
	return bl, true, nil
}

// analyzedHeight is the missed-vote analyzer's progress on the chain; 0
// when it has not run.
func (q queries) analyzedHeight(ctx context.Context, chain string) (int64, error) {
	var h int64
	err := q.row(ctx, q.db.Query().SQL(`SELECT analyzed_height FROM cosmos_chains WHERE chain = `).Arg(chain)).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read analysed height of %s: %w", chain, err)
	}
	return h, nil
}

// latestAnalysed is the highest analysed height: the analyzer's progress,
// else the highest cosmos_heights row; 0 when nothing is analysed.
func (q queries) latestAnalysed(ctx context.Context, chain string) (int64, error) {
	h, err := q.analyzedHeight(ctx, chain)
	if err != nil || h > 0 {
		return h, err
	}
	err = q.row(ctx, q.db.Query().SQL(`SELECT height FROM cosmos_heights WHERE chain = `).Arg(chain).
		SQL(` ORDER BY height DESC LIMIT 1`)).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read latest analysed height of %s: %w", chain, err)
	}
	return h, nil
}

// member is a validator of a stored set, with its name.
type member struct {
	Index   int
	Address string
	Power   int64
	Moniker string
}

// valSet is a stored validator set: the set of every height from Height up
// to the next stored set.
type valSet struct {
	Height     int64
	Size       int
	TotalPower int64
	Members    []member
	byAddr     map[string]int // address → position in Members
}

func (s *valSet) member(addr string) (member, bool) {
	if s == nil {
		return member{}, false
	}
	i, ok := s.byAddr[addr]
	if !ok {
		return member{}, false
	}
	return s.Members[i], true
}

// power is the set's total power, or the sum of its members' when the
// stored total is missing.
func (s *valSet) power() int64 {
	if s.TotalPower > 0 {
		return s.TotalPower
	}
	var p int64
	for _, m := range s.Members {
		p += m.Power
	}
	return p
}

// setAt returns the set in effect at height (the stored set with the
// greatest height <= height); nil when none is stored.
func (q queries) setAt(ctx context.Context, chain string, height int64) (*valSet, error) {
	var s valSet
	err := q.row(ctx, q.db.Query().SQL(`SELECT height, size, total_power FROM cosmos_validator_sets WHERE chain = `).Arg(chain).
		SQL(` AND height <= `).Arg(height).SQL(` ORDER BY height DESC LIMIT 1`)).Scan(&s.Height, &s.Size, &s.TotalPower)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read validator set of %s at %d: %w", chain, height, err)
	}
	sets := []*valSet{&s}
	if err := q.fillMembers(ctx, chain, sets); err != nil {
		return nil, err
	}
	return &s, nil
}

// latestSet is the set in effect at the latest block, or the latest stored
// set when the chain has no block (or only sets ahead of its blocks).
func (q queries) latestSet(ctx context.Context, chain string, latestHeight int64) (*valSet, error) {
	if latestHeight > 0 {
		s, err := q.setAt(ctx, chain, latestHeight)
		if err != nil || s != nil {
			return s, err
		}
	}
	return q.setAt(ctx, chain, math.MaxInt64)
}

// setsCovering returns, oldest first, the sets in effect at some height of
// [from, to].
func (q queries) setsCovering(ctx context.Context, chain string, from, to int64) ([]*valSet, error) {
	first, err := q.setAt(ctx, chain, from)
	if err != nil {
		return nil, err
	}
	var sets []*valSet
	if first != nil {
		sets = append(sets, first)
	}
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT height, size, total_power FROM cosmos_validator_sets WHERE chain = `).Arg(chain).
		SQL(` AND height > `).Arg(from).SQL(` AND height <= `).Arg(to).SQL(` ORDER BY height LIMIT `).Arg(maxGridBlocks))
	if err != nil {
		return nil, fmt.Errorf("list validator sets of %s in %d..%d: %w", chain, from, to, err)
	}
	defer rows.Close()
	var later []*valSet
	for rows.Next() {
		var s valSet
		if err := rows.Scan(&s.Height, &s.Size, &s.TotalPower); err != nil {
			return nil, fmt.Errorf("list validator sets of %s: %w", chain, err)
		}
		later = append(later, &s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list validator sets of %s: %w", chain, err)
	}
	rows.Close()
	if err := q.fillMembers(ctx, chain, later); err != nil {
		return nil, err
	}
	return append(sets, later...), nil
}

// fillMembers reads the members of the sets, with their monikers.
func (q queries) fillMembers(ctx context.Context, chain string, sets []*valSet) error {
	if len(sets) == 0 {
		return nil
	}
	byHeight := make(map[int64]*valSet, len(sets))
	b := q.db.Query().SQL(`SELECT m.height, m.idx, m.address, m.voting_power, COALESCE(v.moniker, '')
		FROM cosmos_set_members m LEFT JOIN cosmos_validators v ON v.chain = m.chain AND v.address = m.address
		WHERE m.chain = `).Arg(chain).SQL(` AND m.height IN (`)
	for i, s := range sets {
		if i > 0 {
			b.SQL(", ")
		}
		b.Arg(s.Height)
		byHeight[s.Height] = s
		s.byAddr = map[string]int{}
	}
	b.SQL(`) ORDER BY m.height, m.idx LIMIT `).Arg(maxSetMembers * len(sets))
	rows, err := q.query(ctx, b)
	if err != nil {
		return fmt.Errorf("read validator set members of %s: %w", chain, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h int64
		var m member
		if err := rows.Scan(&h, &m.Index, &m.Address, &m.Power, &m.Moniker); err != nil {
			return fmt.Errorf("read validator set members of %s: %w", chain, err)
		}
		s := byHeight[h]
		if s == nil || len(s.Members) >= maxSetMembers {
			continue
		}
		s.byAddr[m.Address] = len(s.Members)
		s.Members = append(s.Members, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read validator set members of %s: %w", chain, err)
	}
	return nil
}

// validator is a cosmos_validators row.
type validator struct {
	Address, PubKeyType, PubKey, Moniker, OperatorAddress string
	Jailed, InSet                                         bool
	Power, FirstHeight                                    int64
}

// validatorInfo reads one validator; ok false when the chain never had it.
func (q queries) validatorInfo(ctx context.Context, chain, address string) (validator, bool, error) {
	v := validator{Address: address}
	err := q.row(ctx, q.db.Query().SQL(`SELECT pub_key_type, pub_key, moniker, operator_address, jailed, in_set, voting_power, first_height
		FROM cosmos_validators WHERE chain = `).Arg(chain).SQL(` AND address = `).Arg(address)).
		Scan(&v.PubKeyType, &v.PubKey, &v.Moniker, &v.OperatorAddress, &v.Jailed, &v.InSet, &v.Power, &v.FirstHeight)
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("read validator %s of %s: %w", address, chain, err)
	}
	return v, true, nil
}

// validators lists the chain's known validators, by address.
func (q queries) validators(ctx context.Context, chain string) ([]validator, error) {
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT address, pub_key_type, pub_key, moniker, operator_address, jailed, in_set, voting_power, first_height
		FROM cosmos_validators WHERE chain = `).Arg(chain).SQL(` ORDER BY address LIMIT `).Arg(maxSetMembers))
	if err != nil {
		return nil, fmt.Errorf("list validators of %s: %w", chain, err)
	}
	defer rows.Close()
	var out []validator
	for rows.Next() {
		var v validator
		if err := rows.Scan(&v.Address, &v.PubKeyType, &v.PubKey, &v.Moniker, &v.OperatorAddress, &v.Jailed, &v.InSet, &v.Power, &v.FirstHeight); err != nil {
			return nil, fmt.Errorf("list validators of %s: %w", chain, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list validators of %s: %w", chain, err)
	}
	return out, nil
}

// resolveValidator returns the addresses a /missed validator parameter
// names: the validator with that address (any case), or those with that
// moniker.
func (q queries) resolveValidator(ctx context.Context, chain, v string) ([]string, error) {
	b := q.db.Query().SQL(`SELECT address FROM cosmos_validators WHERE chain = `).Arg(chain).SQL(` AND (moniker = `).Arg(v)
	if addressRE.MatchString(v) {
		b.SQL(` OR address = `).Arg(strings.ToUpper(v))
	}
	b.SQL(`) ORDER BY address LIMIT `).Arg(maxValidatorMatch)
	rows, err := q.query(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("resolve validator of %s: %w", chain, err)
	}
	return store.ScanStrings(rows, "resolve validator of "+chain)
}

// monikers maps the chain's validator addresses to their names.
func (q queries) monikers(ctx context.Context, chain string) (map[string]string, error) {
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT address, moniker FROM cosmos_validators WHERE chain = `).Arg(chain).
		SQL(` LIMIT `).Arg(maxSetMembers))
	if err != nil {
		return nil, fmt.Errorf("read monikers of %s: %w", chain, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var a, m string
		if err := rows.Scan(&a, &m); err != nil {
			return nil, fmt.Errorf("read monikers of %s: %w", chain, err)
		}
		out[a] = m
	}
	return out, rows.Err()
}

// stats is a cosmos_validator_stats row.
type stats struct {
	Signed, Missed, MissedPrevote, MissedPrecommit, SoloMissed int64
	Proposed, MissedProposals, ConsecutiveMissed               int64
	WindowSize, WindowMissed, BlocksToJail, TimeToJailMs       int64
	LastHeight, LastSignedHeight, UpdatedAt                    int64
}

const statsCols = `address, signed, missed, missed_prevote, missed_precommit, solo_missed, proposed, missed_proposals,
	consecutive_missed, window_size, window_missed, blocks_to_jail, time_to_jail_ms, last_height, last_signed_height, updated_at`

func scanStats(rows interface{ Scan(...any) error }) (string, stats, error) {
	var a string
	var s stats
	err := rows.Scan(&a, &s.Signed, &s.Missed, &s.MissedPrevote, &s.MissedPrecommit, &s.SoloMissed, &s.Proposed, &s.MissedProposals,
		&s.ConsecutiveMissed, &s.WindowSize, &s.WindowMissed, &s.BlocksToJail, &s.TimeToJailMs, &s.LastHeight, &s.LastSignedHeight, &s.UpdatedAt)
	return a, s, err
}

// allStats maps the chain's validators to the analyzer's figures.
func (q queries) allStats(ctx context.Context, chain string) (map[string]stats, error) {
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT `+statsCols+` FROM cosmos_validator_stats WHERE chain = `).Arg(chain).
		SQL(` LIMIT `).Arg(maxSetMembers))
	if err != nil {
		return nil, fmt.Errorf("read validator stats of %s: %w", chain, err)
	}
	defer rows.Close()
	out := map[string]stats{}
	for rows.Next() {
		a, s, err := scanStats(rows)
		if err != nil {
			return nil, fmt.Errorf("read validator stats of %s: %w", chain, err)
		}
		out[a] = s
	}
	return out, rows.Err()
}

func (q queries) statsOf(ctx context.Context, chain, address string) (*stats, error) {
	_, s, err := scanStats(q.row(ctx, q.db.Query().SQL(`SELECT `+statsCols+` FROM cosmos_validator_stats WHERE chain = `).Arg(chain).
		SQL(` AND address = `).Arg(address)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read stats of %s on %s: %w", address, chain, err)
	}
	return &s, nil
}

// params are the slashing parameters the analyzer uses for chain.
func (q queries) params(ctx context.Context, chain string) (state.Params, error) {
	return state.ParamsInForce(ctx, q.db, chain)
}

// endpointCounts are the chain's RPC endpoints by their latest status.
type endpointCounts struct {
	Healthy, Total int
	// HealthyAt is the latest healthy status of any of them (unix ms; 0
	// none ever was): with none healthy now, when the chain was last seen
	// through one.
	HealthyAt int64
}

// endpoints counts the chain's RPC endpoints, and the healthy ones.
func (q queries) endpoints(ctx context.Context, chain string) (endpointCounts, error) {
	var out endpointCounts
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT healthy, healthy_at FROM cosmos_endpoints WHERE chain = `).Arg(chain).SQL(` LIMIT `).Arg(maxChains))
	if err != nil {
		return out, fmt.Errorf("read endpoints of %s: %w", chain, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h bool
		var at int64
		if err := rows.Scan(&h, &at); err != nil {
			return endpointCounts{}, fmt.Errorf("read endpoints of %s: %w", chain, err)
		}
		out.Total++
		if h {
			out.Healthy++
		}
		out.HealthyAt = max(out.HealthyAt, at)
	}
	return out, rows.Err()
}

// analysed is a cosmos_heights row.
type analysed struct {
	Height, Time            int64
	Round                   int
	Proposer                string
	VotesObserved           bool
	Validators              int
	TotalPower, SignedPower int64
	Missed                  int
	IntervalMs              int64
	Incident                string
}

const heightCols = `height, time, round, proposer_address, votes_observed, validators, total_power, signed_power, missed, interval_ms, incident`

func scanHeight(r interface{ Scan(...any) error }) (analysed, error) {
	var a analysed
	err := r.Scan(&a.Height, &a.Time, &a.Round, &a.Proposer, &a.VotesObserved, &a.Validators, &a.TotalPower, &a.SignedPower, &a.Missed, &a.IntervalMs, &a.Incident)
	return a, err
}

// lastAnalysed returns the last n analysed heights, oldest first.
func (q queries) lastAnalysed(ctx context.Context, chain string, n int) ([]analysed, error) {
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT `+heightCols+` FROM cosmos_heights WHERE chain = `).Arg(chain).
		SQL(` ORDER BY height DESC LIMIT `).Arg(n))
	if err != nil {
		return nil, fmt.Errorf("list analysed heights of %s: %w", chain, err)
	}
	defer rows.Close()
	var out []analysed
	for rows.Next() {
		a, err := scanHeight(rows)
		if err != nil {
			return nil, fmt.Errorf("list analysed heights of %s: %w", chain, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list analysed heights of %s: %w", chain, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Height < out[j].Height })
	return out, nil
}

func (q queries) analysedAt(ctx context.Context, chain string, height int64) (*analysed, error) {
	a, err := scanHeight(q.row(ctx, q.db.Query().SQL(`SELECT `+heightCols+` FROM cosmos_heights WHERE chain = `).Arg(chain).
		SQL(` AND height = `).Arg(height)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read analysed height %d of %s: %w", height, chain, err)
	}
	return &a, nil
}

// skippedAt is why the analyzer skipped height ("" if it did not): the
// run at or below it (runs are disjoint, one index probe).
func (q queries) skippedAt(ctx context.Context, chain string, height int64) (string, error) {
	var to int64
	var reason string
	err := q.row(ctx, q.db.Query().SQL(`SELECT to_height, reason FROM cosmos_skipped_heights WHERE chain = `).Arg(chain).
		SQL(` AND from_height <= `).Arg(height).SQL(` ORDER BY from_height DESC LIMIT 1`)).Scan(&to, &reason)
	switch {
	case errors.Is(err, sql.ErrNoRows) || err == nil && to < height:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read whether height %d of %s was skipped: %w", height, chain, err)
	}
	return reason, nil
}

// skippedRun is a cosmos_skipped_heights row: heights From..To the
// analyzer passed without analysing them, and why.
type skippedRun struct {
	From      int64  `json:"from"`
	To        int64  `json:"to"`
	Reason    string `json:"reason"`
	SkippedAt int64  `json:"-"`
}

// lastSkipped returns the newest n skipped runs of chain, newest first.
func (q queries) lastSkipped(ctx context.Context, chain string, n int) ([]skippedRun, error) {
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT from_height, to_height, reason, skipped_at FROM cosmos_skipped_heights WHERE chain = `).
		Arg(chain).SQL(` ORDER BY from_height DESC LIMIT `).Arg(n))
	if err != nil {
		return nil, fmt.Errorf("list skipped heights of %s: %w", chain, err)
	}
	defer rows.Close()
	var out []skippedRun
	for rows.Next() {
		var r skippedRun
		if err := rows.Scan(&r.From, &r.To, &r.Reason, &r.SkippedAt); err != nil {
			return nil, fmt.Errorf("list skipped heights of %s: %w", chain, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list skipped heights of %s: %w", chain, err)
	}
	return out, nil
}

// skippedTotals are how many runs and heights of chain the analyzer
// skipped (a row per run and reason per pass: few).
func (q queries) skippedTotals(ctx context.Context, chain string) (runs, heights int64, err error) {
	err = q.row(ctx, q.db.Query().SQL(`SELECT COUNT(*), COALESCE(SUM(to_height - from_height + 1), 0) FROM cosmos_skipped_heights WHERE chain = `).
		Arg(chain)).Scan(&runs, &heights)
	if err != nil {
		return 0, 0, fmt.Errorf("count skipped heights of %s: %w", chain, err)
	}
	return runs, heights, nil
}

// miss is a cosmos_misses row, with the height's time (0 when the height
// has no cosmos_heights row) and the validator's moniker.
type miss struct {
	Height                                          int64
	Time                                            int64
	Address, Moniker                                string
	Index                                           int
	Power                                           int64
	Prevote, Precommit, CommitFlag                  int
	MissedPrevote, MissedPrecommit, MissedSignature bool
	MissedProposals                                 int
	Cause                                           string
	Solo, Incident                                  bool
}

// missFilter selects misses: a height range (inclusive) and, optionally,
// validators.
type missFilter struct {
	From, To  int64
	Addresses []string // nil: every validator
	Limit     int
}

// misses lists misses newest first (then by address), at most Limit.
func (q queries) misses(ctx context.Context, chain string, f missFilter) ([]miss, error) {
	b := q.db.Query().SQL(`SELECT m.height, COALESCE(h.time, 0), m.validator_address, COALESCE(v.moniker, ''), m.validator_index, m.voting_power,
		m.prevote, m.precommit, m.commit_flag, m.missed_prevote, m.missed_precommit, m.missed_signature, m.missed_proposals,
		m.cause, m.solo, m.incident
		FROM cosmos_misses m
		LEFT JOIN cosmos_heights h ON h.chain = m.chain AND h.height = m.height
		LEFT JOIN cosmos_validators v ON v.chain = m.chain AND v.address = m.validator_address
		WHERE m.chain = `).Arg(chain).SQL(` AND m.height >= `).Arg(f.From).SQL(` AND m.height <= `).Arg(f.To)
	if f.Addresses != nil {
		b.SQL(` AND m.validator_address IN (`)
		for i, a := range f.Addresses {
			if i > 0 {
				b.SQL(", ")
			}
			b.Arg(a)
		}
		b.SQL(`)`)
	}
	b.SQL(` ORDER BY m.height DESC, m.validator_address LIMIT `).Arg(f.Limit)
	rows, err := q.query(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("list misses of %s in %d..%d: %w", chain, f.From, f.To, err)
	}
	defer rows.Close()
	var out []miss
	for rows.Next() {
		var m miss
		if err := rows.Scan(&m.Height, &m.Time, &m.Address, &m.Moniker, &m.Index, &m.Power, &m.Prevote, &m.Precommit, &m.CommitFlag,
			&m.MissedPrevote, &m.MissedPrecommit, &m.MissedSignature, &m.MissedProposals, &m.Cause, &m.Solo, &m.Incident); err != nil {
			return nil, fmt.Errorf("list misses of %s: %w", chain, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list misses of %s: %w", chain, err)
	}
	return out, nil
}

// commit is a cosmos_commits row.
type commit struct {
	Round     int
	BlockHash string
	Flags     string
}

func (q queries) commitAt(ctx context.Context, chain string, height int64) (*commit, error) {
	var c commit
	err := q.row(ctx, q.db.Query().SQL(`SELECT round, block_hash, flags FROM cosmos_commits WHERE chain = `).Arg(chain).
		SQL(` AND height = `).Arg(height)).Scan(&c.Round, &c.BlockHash, &c.Flags)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read commit %d of %s: %w", height, chain, err)
	}
	return &c, nil
}

// roundRow is a cosmos_rounds row.
type roundRow struct {
	Round         int
	Proposer      string
	ProposerIndex int
	Endpoint      string
	SeenAt        int64
}

func (q queries) rounds(ctx context.Context, chain string, height int64) ([]roundRow, error) {
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT round, proposer_address, proposer_index, endpoint, seen_at FROM cosmos_rounds WHERE chain = `).
		Arg(chain).SQL(` AND height = `).Arg(height).SQL(` ORDER BY round LIMIT `).Arg(maxHeightVotes))
	if err != nil {
		return nil, fmt.Errorf("list rounds of %s at %d: %w", chain, height, err)
	}
	defer rows.Close()
	var out []roundRow
	for rows.Next() {
		var r roundRow
		if err := rows.Scan(&r.Round, &r.Proposer, &r.ProposerIndex, &r.Endpoint, &r.SeenAt); err != nil {
			return nil, fmt.Errorf("list rounds of %s: %w", chain, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// vote is a cosmos_votes row.
type vote struct {
	Round     int
	Type      int
	Address   string
	Index     int
	BlockHash string
	Timestamp int64
	Endpoint  string
	SeenAt    int64
}

// votes lists a height's votes (of one round when round >= 0), by round,
// type and validator index; at most limit.
func (q queries) votes(ctx context.Context, chain string, height int64, round, limit int) ([]vote, error) {
	b := q.db.Query().SQL(`SELECT round, type, validator_address, validator_index, block_hash, timestamp, endpoint, seen_at
		FROM cosmos_votes WHERE chain = `).Arg(chain).SQL(` AND height = `).Arg(height)
	if round >= 0 {
		b.SQL(` AND round = `).Arg(round)
	}
	b.SQL(` ORDER BY round, type, validator_index, validator_address LIMIT `).Arg(limit)
	rows, err := q.query(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("list votes of %s at %d: %w", chain, height, err)
	}
	defer rows.Close()
	var out []vote
	for rows.Next() {
		var v vote
		if err := rows.Scan(&v.Round, &v.Type, &v.Address, &v.Index, &v.BlockHash, &v.Timestamp, &v.Endpoint, &v.SeenAt); err != nil {
			return nil, fmt.Errorf("list votes of %s: %w", chain, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// step is a cosmos_steps row.
type step struct {
	Height int64
	Round  int
	Step   string
	SeenAt int64
}

// latestStep is the chain's most advanced consensus step: highest height,
// then round, then the latest seen.
func (q queries) latestStep(ctx context.Context, chain string) (*step, error) {
	var s step
	err := q.row(ctx, q.db.Query().SQL(`SELECT height, round, step, seen_at FROM cosmos_steps WHERE chain = `).Arg(chain).
		SQL(` ORDER BY height DESC, round DESC, seen_at DESC LIMIT 1`)).Scan(&s.Height, &s.Round, &s.Step, &s.SeenAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read latest step of %s: %w", chain, err)
	}
	return &s, nil
}

func (q queries) roundAt(ctx context.Context, chain string, height int64, round int) (*roundRow, error) {
	r := roundRow{Round: round}
	err := q.row(ctx, q.db.Query().SQL(`SELECT proposer_address, proposer_index, endpoint, seen_at FROM cosmos_rounds WHERE chain = `).Arg(chain).
		SQL(` AND height = `).Arg(height).SQL(` AND round = `).Arg(round)).Scan(&r.Proposer, &r.ProposerIndex, &r.Endpoint, &r.SeenAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read round %d/%d of %s: %w", height, round, chain, err)
	}
	return &r, nil
}

// change is a cosmos_validator_changes row.
type change struct {
	Height             int64
	Change             string
	OldPower, NewPower int64
}

func (q queries) changes(ctx context.Context, chain, address string) ([]change, error) {
	rows, err := q.query(ctx, q.db.Query().SQL(`SELECT height, change, old_power, new_power FROM cosmos_validator_changes WHERE chain = `).Arg(chain).
		SQL(` AND address = `).Arg(address).SQL(` ORDER BY height DESC LIMIT `).Arg(maxChanges))
	if err != nil {
		return nil, fmt.Errorf("list set changes of %s on %s: %w", address, chain, err)
	}
	defer rows.Close()
	var out []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.Height, &c.Change, &c.OldPower, &c.NewPower); err != nil {
			return nil, fmt.Errorf("list set changes of %s: %w", chain, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
