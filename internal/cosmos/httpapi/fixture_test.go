package httpapi

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// The fixture chain: five validators ever, four in the set from height 5
// (echo was removed there); charlie (validator 3) was offline at heights
// 10–12 and so missed its proposer turn in round 0 of height 11; bravo
// missed a prevote at 12, alpha precommitted nil at 7. Heights 1–20 are
// analysed, the votes of 10–12 (and of the running height 21) observed.
const (
	testChain  = "testchain"
	emptyChain = "emptychain" // configured, no data
)

// t0 is the fixture's reference time (unix ms); block h is at t0 + 6 s·h.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()

func addr(c byte) string { return strings.Repeat(string(c), 40) }

var (
	vAlpha   = addr('A')
	vBravo   = addr('B')
	vCharlie = addr('C')
	vDelta   = addr('D')
	vEcho    = addr('E')
	monikers = map[string]string{vAlpha: "alpha", vBravo: "bravo", vCharlie: "charlie", vDelta: "delta", vEcho: "echo"}
	powers   = map[string]int64{vAlpha: 10, vBravo: 20, vCharlie: 30, vDelta: 40, vEcho: 5}
	set4     = []string{vAlpha, vBravo, vCharlie, vDelta}
)

// proposerOf is the proposer of the committed block of height h.
func proposerOf(h int64) string {
	if h == 10 {
		return vAlpha
	}
	return set4[h%4]
}

func blockTime(h int64) int64  { return t0 + 6000*h }
func blockHash(h int64) string { return fmt.Sprintf("%064X", h) }

type fixture struct {
	t      *testing.T
	db     *store.DB
	srv    *httptest.Server
	alerts *stubAlerts
}

// stubAlerts is a fixed AlertLister that records what it was asked.
type stubAlerts struct {
	gotChain string
	gotAll   bool
}

func (s *stubAlerts) List(_ context.Context, chain string, all bool) (any, error) {
	s.gotChain, s.gotAll = chain, all
	out := []map[string]any{{"validator": vCharlie, "moniker": "charlie", "message": "missed 3 blocks in a row"}}
	if all {
		out = append(out, map[string]any{"validator": vBravo, "message": "resolved: late prevotes"})
	}
	return out, nil
}

type fixtureOptions struct {
	alerts   bool
	cacheTTL time.Duration
	skipped  bool // heights 21–23 skipped (see fillSkipped), 24 analysed
}

// dialects runs fn against a fixture on SQLite and, with
// VALTRACK_TEST_POSTGRES, on PostgreSQL.
// sqliteOpen opens the fixture on SQLite only (tests of what no store shapes).
var sqliteOpen = storetest.SQLite

func dialects(t *testing.T, o fixtureOptions, fn func(t *testing.T, f *fixture)) {
	for _, d := range []struct {
		name string
		open func(testing.TB, ...store.Option) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			fn(t, newFixture(t, d.open, o))
		})
	}
}

func newFixture(t *testing.T, open func(testing.TB, ...store.Option) *store.DB, o fixtureOptions) *fixture {
	t.Helper()
	db := open(t, store.WithMigrations(state.Migrations()))
	f := &fixture{t: t, db: db}
	f.fill()
	if o.skipped {
		f.fillSkipped()
	}
	var lister AlertLister
	if o.alerts {
		f.alerts = &stubAlerts{}
		lister = f.alerts
	}
	ttl := o.cacheTTL
	if ttl == 0 {
		ttl = -1 // every request reads the store, unless a test asks for the cache
	}
	s, err := api.New(api.Options{
		Log:      slog.New(slog.NewTextHandler(&apitest.SyncBuffer{}, nil)),
		Domains:  []api.Domain{New(db, func() []string { return []string{emptyChain, testChain} }, lister)},
		CacheTTL: ttl,
	})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	f.srv = httptest.NewServer(s.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// exec runs one INSERT of values into table's columns.
func (f *fixture) insert(tx *sql.Tx, table, cols string, rows ...[]any) {
	f.t.Helper()
	for _, r := range rows {
		q := f.db.Query().SQL("INSERT INTO " + table + " (" + cols + ") VALUES ").Row(r...)
		if _, err := tx.Exec(q.String(), q.Args()...); err != nil {
			f.t.Fatalf("insert into %s %v: %v", table, r, err)
		}
	}
}

func (f *fixture) exec(stmt string, args ...any) {
	f.t.Helper()
	err := f.db.InTx(context.Background(), "fixture", func(tx *sql.Tx) error {
		q := f.db.Query()
		parts := strings.Split(stmt, "?")
		for i, p := range parts {
			q.SQL(p)
			if i < len(args) {
				q.Arg(args[i])
			}
		}
		_, err := tx.Exec(q.String(), q.Args()...)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) fill() {
	t := f.t
	err := f.db.InTx(context.Background(), "fill fixture", func(tx *sql.Tx) error {
		c := testChain
		// Sets: five members at 1, four from 5.
		f.insert(tx, "cosmos_validator_sets", "chain, height, size, total_power", []any{c, 1, 5, 105}, []any{c, 5, 4, 100})
		for i, a := range append(append([]string{}, set4...), vEcho) {
			f.insert(tx, "cosmos_set_members", "chain, height, idx, address, voting_power, proposer_priority", []any{c, 1, i, a, powers[a], 0})
		}
		for i, a := range set4 {
			f.insert(tx, "cosmos_set_members", "chain, height, idx, address, voting_power, proposer_priority", []any{c, 5, i, a, powers[a], 0})
		}
		f.insert(tx, "cosmos_validator_changes", "chain, height, address, change, old_power, new_power", []any{c, 5, vEcho, "removed", 5, 0})
		for _, a := range append(append([]string{}, set4...), vEcho) {
			f.insert(tx, "cosmos_validators", "chain, address, pub_key_type, pub_key, moniker, operator_address, jailed, voting_power, in_set, first_height, updated_at",
				[]any{c, a, "tendermint/PubKeyEd25519", "pk-" + monikers[a], monikers[a], "cosmosvaloper1" + monikers[a], a == vEcho, powers[a], a != vEcho, 1, t0})
		}
		for h := int64(1); h <= 20; h++ {
			observed := h >= 10 && h <= 12
			round, incident, flags, members, total, missed, signed := 0, "", "CCCC", 4, int64(100), 0, int64(100)
			if h < 5 {
				flags, members, total, signed = "CCCCC", 5, 105, 105
			}
			if observed {
				flags, missed, signed = "CCAC", 1, 70
			}
			if h == 11 {
				round, incident = 1, "round"
			}
			f.insert(tx, "cosmos_blocks", "chain, height, time, hash, proposer_address, num_txs, validators_hash, votes_observed, source, endpoint, seen_at",
				[]any{c, h, blockTime(h), blockHash(h), proposerOf(h), h % 3, "VH", observed, "commit", "http://127.0.0.1:26657", blockTime(h) + 200})
			f.insert(tx, "cosmos_commits", "chain, height, round, block_hash, flags, source, endpoint, seen_at",
				[]any{c, h, round, blockHash(h), flags, "commit", "http://127.0.0.1:26657", blockTime(h) + 300})
			f.insert(tx, "cosmos_heights", "chain, height, time, round, proposer_address, votes_observed, validators, total_power, signed_power, missed, interval_ms, incident, analyzed_at",
				[]any{c, h, blockTime(h), round, proposerOf(h), observed, members, total, signed, missed, 6000, incident, blockTime(h) + 1000})
		}
		missCols := "chain, height, validator_address, validator_index, voting_power, prevote, precommit, commit_flag, missed_prevote, missed_precommit, missed_signature, missed_proposals, cause, solo, incident"
		for h := int64(10); h <= 12; h++ {
			f.insert(tx, "cosmos_misses", missCols, []any{c, h, vCharlie, 2, 30, 0, 0, 1, true, true, true, map[bool]int{true: 1}[h == 11], "no_vote", true, false})
		}
		f.insert(tx, "cosmos_misses", missCols, []any{c, 12, vBravo, 1, 20, 0, 1, 2, true, false, false, 0, "late_prevote", false, false})
		f.insert(tx, "cosmos_misses", missCols, []any{c, 7, vAlpha, 0, 10, -1, -1, 3, false, true, false, 0, "nil_precommit", false, false})

		statCols := "chain, address, signed, missed, missed_prevote, missed_precommit, solo_missed, proposed, missed_proposals, consecutive_missed, window_size, window_missed, blocks_to_jail, time_to_jail_ms, last_height, last_signed_height, updated_at"
		f.insert(tx, "cosmos_validator_stats", statCols,
			[]any{c, vAlpha, 20, 0, 0, 1, 0, 6, 0, 0, 20, 0, 50, 300000, 20, 20, t0},
			[]any{c, vBravo, 20, 0, 1, 0, 0, 5, 0, 0, 20, 0, 50, 300000, 20, 20, t0},
			[]any{c, vCharlie, 17, 3, 3, 3, 3, 4, 1, 0, 20, 3, 47, 282000, 20, 20, t0},
			[]any{c, vDelta, 20, 0, 0, 0, 0, 5, 0, 0, 20, 0, 50, 300000, 20, 20, t0},
			[]any{c, vEcho, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0, -1, 0, 4, 4, t0})
		f.insert(tx, "cosmos_params", "chain, signed_blocks_window, min_signed_per_window, source, updated_at", []any{c, 100, 0.5, "rest", t0})
		f.insert(tx, "cosmos_chains", "chain, analyzed_height, updated_at, signed_blocks_window, min_signed_per_window, params_source", []any{c, 20, t0, 100, 0.5, "lcd"})
		epCols := "chain, endpoint, sentry_id, healthy, reason, height, latest_block_time, catching_up, node_version, moniker, updated_at, healthy_at"
		f.insert(tx, "cosmos_endpoints", epCols,
			[]any{c, "http://127.0.0.1:26657", "s1", true, "", 20, blockTime(20), false, "0.38.0", "node-a", t0, t0},
			[]any{c, "http://127.0.0.1:26658", "s1", false, "connection refused", 15, blockTime(15), false, "0.38.0", "node-b", t0, 0})

		// Observed rounds and votes.
		f.insert(tx, "cosmos_rounds", "chain, height, round, proposer_address, proposer_index, endpoint, seen_at",
			[]any{c, 10, 0, vAlpha, 0, "http://127.0.0.1:26657", blockTime(10)}, []any{c, 11, 0, vCharlie, 2, "http://127.0.0.1:26657", blockTime(11)},
			[]any{c, 11, 1, vDelta, 3, "http://127.0.0.1:26658", blockTime(11) + 3000}, []any{c, 12, 0, vAlpha, 0, "http://127.0.0.1:26657", blockTime(12)},
			[]any{c, 21, 0, vBravo, 1, "http://127.0.0.1:26657", blockTime(21)})
		voteCols := "chain, height, round, type, validator_address, validator_index, block_hash, timestamp, signature, endpoint, seen_at"
		vote := func(h int64, round, typ int, a, hash string) []any {
			idx := map[string]int{vAlpha: 0, vBravo: 1, vCharlie: 2, vDelta: 3}[a]
			ts := blockTime(h) + int64(round)*3000 + int64(typ)*400 + int64(idx)*10
			return []any{c, h, round, typ, a, idx, hash, ts, "sig", "http://127.0.0.1:26657", ts + 5}
		}
		for _, a := range []string{vAlpha, vBravo, vDelta} {
			f.insert(tx, "cosmos_votes", voteCols,
				vote(10, 0, 1, a, blockHash(10)), vote(10, 0, 2, a, blockHash(10)),
				vote(11, 0, 1, a, ""), vote(11, 0, 2, a, ""),
				vote(11, 1, 1, a, blockHash(11)), vote(11, 1, 2, a, blockHash(11)),
				vote(12, 0, 2, a, blockHash(12)))
			if a != vBravo {
				f.insert(tx, "cosmos_votes", voteCols, vote(12, 0, 1, a, blockHash(12)))
			}
		}
		f.insert(tx, "cosmos_votes", voteCols, vote(21, 0, 1, vAlpha, blockHash(21)), vote(21, 0, 1, vBravo, blockHash(21)),
			vote(21, 0, 1, vDelta, ""), vote(21, 0, 2, vAlpha, blockHash(21)))
		stepCols := "chain, height, round, step, endpoint, seen_at"
		f.insert(tx, "cosmos_steps", stepCols, []any{c, 20, 0, "Commit", "http://127.0.0.1:26657", blockTime(20) + 5000},
			[]any{c, 21, 0, "Propose", "http://127.0.0.1:26657", blockTime(21)}, []any{c, 21, 0, "Prevote", "http://127.0.0.1:26657", blockTime(21) + 500})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fillSkipped: the analyzer skipped heights 21–22 (pruned) and 23 (its
// validator set pruned), then analysed 24, which everyone signed (alpha
// proposed).
func (f *fixture) fillSkipped() {
	err := f.db.InTx(context.Background(), "fill skipped heights", func(tx *sql.Tx) error {
		c := testChain
		f.insert(tx, "cosmos_skipped_heights", "chain, from_height, to_height, reason, skipped_at",
			[]any{c, 21, 22, "pruned", t0}, []any{c, 23, 23, "validator_set_pruned", t0})
		h := int64(24)
		f.insert(tx, "cosmos_blocks", "chain, height, time, hash, proposer_address, num_txs, validators_hash, votes_observed, source, endpoint, seen_at",
			[]any{c, h, blockTime(h), blockHash(h), vAlpha, 0, "VH", false, "backfill", "http://127.0.0.1:26657", blockTime(h) + 200})
		f.insert(tx, "cosmos_commits", "chain, height, round, block_hash, flags, source, endpoint, seen_at",
			[]any{c, h, 0, blockHash(h), "CCCC", "backfill", "http://127.0.0.1:26657", blockTime(h) + 300})
		f.insert(tx, "cosmos_heights", "chain, height, time, round, proposer_address, votes_observed, validators, total_power, signed_power, missed, interval_ms, incident, analyzed_at",
			[]any{c, h, blockTime(h), 0, vAlpha, false, 4, 100, 100, 0, 0, "", blockTime(h) + 1000})
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.exec("UPDATE cosmos_chains SET analyzed_height = ? WHERE chain = ?", 24, testChain)
}

func (f *fixture) getJSON(path string, v any) {
	f.t.Helper()
	apitest.GetJSON(f.t, f.srv, path, "", 200, v)
}

func (f *fixture) wantError(path string, status int, param string) apitest.ErrorBody {
	f.t.Helper()
	return apitest.WantError(f.t, f.srv, path, "", status, param)
}
