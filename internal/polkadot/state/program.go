package state

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/store"
)

// PutCandidates stores the candidates' latest evaluations (upsert by
// stash). Their validity checks are what the next evaluation reads as Prev.
func (s *Store) PutCandidates(ctx context.Context, chain string, cs []CandidateState) error {
	rows := make([][]any, 0, len(cs))
	for _, c := range cs {
		entry, err := encode("candidate entry", c.Entry)
		if err != nil {
			return err
		}
		c.Validity.Checks = nonNil(c.Validity.Checks)
		validity, err := encode("candidate validity", c.Validity)
		if err != nil {
			return err
		}
		match, err := encode("candidate telemetry match", c.TelemetryMatch)
		if err != nil {
			return err
		}
		status := string(c.Validity.Status)
		if status == "" {
			status = string(program.Unknown)
		}
		rows = append(rows, []any{chain, c.Entry.Stash, c.Entry.Name, entry, status, validity, c.TelemetryMatch.Node, match,
			int64(c.Rank), int64(c.Faults), c.Inclusion, c.SpanInclusion, int64(c.NominatedAt), c.Updated})
	}
	cols := []string{"chain", "stash", "name", "entry", "status", "validity", "match_node", "telemetry_match", "rank", "faults",
		"inclusion", "span_inclusion", "nominated_at", "updated"}
	return s.db.InTx(ctx, "store polkadot candidates of "+chain, func(tx *txSQL) error {
		return s.db.InsertRows(ctx, tx, store.Insert{Table: "polkadot_candidates", Cols: cols, Suffix: store.UpsertAll([]string{"chain", "stash"}, cols)}, rows)
	})
}

// RemoveCandidates deletes the candidates of chain whose stash is not in
// keep (the candidates file dropped them); it returns how many.
func (s *Store) RemoveCandidates(ctx context.Context, chain string, keep []string) (int64, error) {
	var n int64
	err := s.InTx(ctx, "remove polkadot candidates of "+chain, func(t *Tx) error {
		q := t.q().SQL("DELETE FROM polkadot_candidates WHERE chain = ").Arg(chain)
		var err error
		n, err = t.affected("remove polkadot candidates", notIn(q, "stash", keep))
		return err
	})
	return n, err
}

// CandidateFilter selects candidates.
type CandidateFilter struct {
	Stash  string         // one stash ("" any)
	Status program.Status // "" any
}

const candidateCols = `c.entry, c.validity, c.telemetry_match, c.rank, c.faults, c.inclusion, c.span_inclusion, c.nominated_at, c.updated,
	v.data, t.data, s.snapshot_id, s.total, s.aggregate, s.randomness, s.components, sn.era, sn.session, sn.at`

// Candidates lists candidates with their chain record, telemetry node and
// latest score (from the latest snapshot that scored them), by stash.
func (s *Store) Candidates(ctx context.Context, chain string, f CandidateFilter) ([]Candidate, error) {
	const op = "read polkadot candidates"
	q := s.db.Query().SQL("SELECT ", candidateCols, ` FROM polkadot_candidates c
	LEFT JOIN polkadot_validators v ON v.chain = c.chain AND v.stash = c.stash
	LEFT JOIN polkadot_telemetry t ON t.chain = c.chain AND t.name = c.match_node AND c.match_node <> ''
	LEFT JOIN polkadot_scores s ON s.chain = c.chain AND s.stash = c.stash
		AND s.snapshot_id = (SELECT MAX(snapshot_id) FROM polkadot_scores x WHERE x.chain = c.chain AND x.stash = c.stash)
	LEFT JOIN polkadot_score_snapshots sn ON sn.chain = s.chain AND sn.id = s.snapshot_id
	WHERE c.chain = `).Arg(chain)
	if f.Stash != "" {
		q.SQL(" AND c.stash = ").Arg(f.Stash)
	}
	if f.Status != "" {
		q.SQL(" AND c.status = ").Arg(string(f.Status))
	}
	rows, err := s.query(ctx, op, q.SQL(" ORDER BY c.stash"))
	if err != nil {
		return nil, err
	}
	out := []Candidate{}
	err = each(rows, op, func() error {
		var (
			c                            Candidate
			entry, validity, match       string
			rank, faults, nominatedAt    int64
			vdata, tdata, comps          *string
			snap, era, session, at       *int64
			total, aggregate, randomness *float64
		)
		if err := rows.Scan(&entry, &validity, &match, &rank, &faults, &c.Inclusion, &c.SpanInclusion, &nominatedAt, &c.Updated,
			&vdata, &tdata, &snap, &total, &aggregate, &randomness, &comps, &era, &session, &at); err != nil {
			return err
		}
		c.Chain, c.Rank, c.Faults, c.NominatedAt = chain, int(rank), int(faults), uint32(nominatedAt)
		if err := decode("polkadot_candidates.entry", entry, &c.Entry); err != nil {
			return err
		}
		if err := decode("polkadot_candidates.validity", validity, &c.Validity); err != nil {
			return err
		}
		c.Validity.Checks = nonNil(c.Validity.Checks)
		if err := decode("polkadot_candidates.telemetry_match", match, &c.TelemetryMatch); err != nil {
			return err
		}
		if vdata != nil {
			c.Validator = new(eventsValidator)
			if err := decode("polkadot_validators.data", *vdata, c.Validator); err != nil {
				return err
			}
		}
		if tdata != nil {
			c.Telemetry = new(eventsTelemetry)
			if err := decode("polkadot_telemetry.data", *tdata, c.Telemetry); err != nil {
				return err
			}
		}
		if snap != nil {
			r := &ScoreRecord{SnapshotID: *snap}
			r.Stash, r.Name = c.Entry.Stash, c.Entry.Name
			r.Total, r.Aggregate, r.Randomness = deref(total), deref(aggregate), deref(randomness)
			if era != nil {
				r.Era, r.Session, r.At = uint32(*era), uint32(deref(session)), deref(at)
			}
			if comps != nil {
				if err := decode("polkadot_scores.components", *comps, &r.Components); err != nil {
					return err
				}
			}
			r.Components = nonNil(r.Components)
			c.Score = r
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

// Candidate is one candidate, nil when the stash is none of chain's.
func (s *Store) Candidate(ctx context.Context, chain, stash string) (*Candidate, error) {
	cs, err := s.Candidates(ctx, chain, CandidateFilter{Stash: stash})
	if err != nil || len(cs) == 0 {
		return nil, err
	}
	return &cs[0], nil
}

// SortByTotal orders candidates by score total, highest first (unscored
// last), then by name: the 1KV gateway's /candidates order.
func SortByTotal(cs []Candidate) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].Score, cs[j].Score
		switch {
		case a != nil && b == nil:
			return true
		case a == nil && b != nil:
			return false
		case a != nil && a.Total != b.Total:
			return a.Total > b.Total
		}
		return strings.ToLower(cs[i].Entry.Name) < strings.ToLower(cs[j].Entry.Name)
	})
}

// SortByRank orders candidates by rank, highest first, then by name.
func SortByRank(cs []Candidate) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Rank != cs[j].Rank {
			return cs[i].Rank > cs[j].Rank
		}
		return strings.ToLower(cs[i].Entry.Name) < strings.ToLower(cs[j].Entry.Name)
	})
}

// SaveSnapshot stores a scoring with its scores under the next snapshot
// id of the chain, and returns the id.
func (s *Store) SaveSnapshot(ctx context.Context, snap *program.Snapshot) (int64, error) {
	weights, err := encode("score weights", nonNilMap(snap.Weights))
	if err != nil {
		return 0, err
	}
	stats, err := encode("score stats", nonNilMap(snap.Stats))
	if err != nil {
		return 0, err
	}
	rows := make([][]any, 0, len(snap.Scores))
	for _, sc := range snap.Scores {
		comps, err := encode("score components of "+sc.Stash, nonNil(sc.Components))
		if err != nil {
			return 0, err
		}
		rows = append(rows, []any{snap.Chain, nil, sc.Stash, sc.Name, sc.Total, sc.Aggregate, sc.Randomness, comps})
	}
	var id int64
	err = s.InTx(ctx, "store polkadot score snapshot of "+snap.Chain, func(t *Tx) error {
		var last *int64
		if _, err := t.row("next snapshot id", t.q().SQL("SELECT MAX(id) FROM polkadot_score_snapshots WHERE chain = ").Arg(snap.Chain), &last); err != nil {
			return err
		}
		id = deref(last) + 1
		q := t.q().SQL("INSERT INTO polkadot_score_snapshots (chain, id, era, session, at, seed, weights, stats) VALUES ").
			Row(snap.Chain, id, int64(snap.Era), int64(snap.Session), snap.At, snap.Seed, weights, stats)
		if _, err := t.exec("store score snapshot", q); err != nil {
			return err
		}
		for _, r := range rows {
			r[1] = id
		}
		return t.s.db.InsertRows(ctx, t.tx, store.Insert{Table: "polkadot_scores",
			Cols: []string{"chain", "snapshot_id", "stash", "name", "total", "aggregate", "randomness", "components"}}, rows)
	})
	return id, err
}

func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// LatestSnapshot is the chain's latest snapshot without its scores, nil
// when none.
func (s *Store) LatestSnapshot(ctx context.Context, chain string) (*SnapshotMeta, error) {
	return s.snapshot(ctx, chain, 0)
}

// snapshot reads snapshot id (0: the latest).
func (s *Store) snapshot(ctx context.Context, chain string, id int64) (*SnapshotMeta, error) {
	q := s.db.Query().SQL("SELECT id, era, session, at, seed, weights, stats FROM polkadot_score_snapshots WHERE chain = ").Arg(chain)
	if id > 0 {
		q.SQL(" AND id = ").Arg(id)
	}
	q.SQL(" ORDER BY id DESC LIMIT 1")
	m := &SnapshotMeta{Chain: chain}
	var (
		era, session   int64
		weights, stats string
	)
	found, err := s.one(ctx, "read polkadot score snapshot", q, &m.ID, &era, &session, &m.At, &m.Seed, &weights, &stats)
	if err != nil || !found {
		return nil, err
	}
	m.Era, m.Session = uint32(era), uint32(session)
	if err := decode("polkadot_score_snapshots.weights", weights, &m.Weights); err != nil {
		return nil, err
	}
	if err := decode("polkadot_score_snapshots.stats", stats, &m.Stats); err != nil {
		return nil, err
	}
	m.Weights, m.Stats = nonNilMap(m.Weights), nonNilMap(m.Stats)
	return m, nil
}

// Score is a stash's latest score, nil when it was never scored.
func (s *Store) Score(ctx context.Context, chain, stash string) (*ScoreRecord, error) {
	q := s.db.Query().SQL(`SELECT s.snapshot_id, s.name, s.total, s.aggregate, s.randomness, s.components, sn.era, sn.session, sn.at
	FROM polkadot_scores s JOIN polkadot_score_snapshots sn ON sn.chain = s.chain AND sn.id = s.snapshot_id
	WHERE s.chain = `).Arg(chain).SQL(" AND s.stash = ").Arg(stash).SQL(" ORDER BY s.snapshot_id DESC LIMIT 1")
	r := &ScoreRecord{}
	var (
		comps        string
		era, session int64
	)
	found, err := s.one(ctx, "read polkadot score of "+stash, q, &r.SnapshotID, &r.Name, &r.Total, &r.Aggregate, &r.Randomness, &comps, &era, &session, &r.At)
	if err != nil || !found {
		return nil, err
	}
	r.Stash, r.Era, r.Session = stash, uint32(era), uint32(session)
	if err := decode("polkadot_scores.components", comps, &r.Components); err != nil {
		return nil, err
	}
	r.Components = nonNil(r.Components)
	return r, nil
}

// Explain is a stash's latest score with its snapshot and the statistics
// its components were scaled with; nil when it was never scored.
func (s *Store) Explain(ctx context.Context, chain, stash string) (*Explanation, error) {
	sc, err := s.Score(ctx, chain, stash)
	if err != nil || sc == nil {
		return nil, err
	}
	snap, err := s.snapshot(ctx, chain, sc.SnapshotID)
	if err != nil {
		return nil, err
	}
	if snap == nil {
		return nil, fmt.Errorf("read polkadot score snapshot %d of %s: it is gone", sc.SnapshotID, chain)
	}
	e := &Explanation{Score: *sc, Snapshot: *snap, Stats: map[string]program.Stats{}}
	for _, c := range sc.Components {
		if st, ok := snap.Stats[c.Stats]; c.Stats != "" && ok {
			e.Stats[c.Stats] = st
		}
	}
	e.Snapshot.Stats = nil // the relevant ones are in Stats
	return e, nil
}

// PutRankPeriod appends a rank log row (see PutRankPeriods).
func (s *Store) PutRankPeriod(ctx context.Context, chain string, p RankPeriod) error {
	return s.PutRankPeriods(ctx, chain, []RankPeriod{p})
}

// PutRankPeriods appends rank periods in one transaction. The log is
// append-only: a period already stored is kept as it is (a second write of
// it changes nothing), so a rank, once logged, is never rewritten.
func (s *Store) PutRankPeriods(ctx context.Context, chain string, ps []RankPeriod) error {
	if len(ps) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(ps))
	for _, p := range ps {
		eras, err := encode("rank period eras", nonNil(p.Eras))
		if err != nil {
			return err
		}
		rows = append(rows, []any{chain, p.Stash, int64(p.Period), eras, p.Active, int64(p.Rank), p.At})
	}
	cols := []string{"chain", "stash", "period", "eras", "active", "rank", "at"}
	return s.db.InTx(ctx, "append polkadot rank periods of "+chain, func(tx *txSQL) error {
		return s.db.InsertRows(ctx, tx, store.Insert{Table: "polkadot_rank_log", Cols: cols, Suffix: "ON CONFLICT (chain, stash, period) DO NOTHING"}, rows)
	})
}

// RankHeads are where each stash's rank log ends: its latest period and
// the rank there.
func (s *Store) RankHeads(ctx context.Context, chain string) (map[string]RankPeriod, error) {
	const op = "read polkadot rank log heads"
	q := s.db.Query().SQL("SELECT r.stash, r.period, r.rank FROM polkadot_rank_log r WHERE r.chain = ").Arg(chain).
		SQL(" AND r.period = (SELECT MAX(m.period) FROM polkadot_rank_log m WHERE m.chain = r.chain AND m.stash = r.stash)")
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	out := map[string]RankPeriod{}
	err = each(rows, op, func() error {
		var (
			p            RankPeriod
			period, rank int64
		)
		if err := rows.Scan(&p.Stash, &period, &rank); err != nil {
			return err
		}
		p.Period, p.Rank = uint32(period), int(rank)
		out[p.Stash] = p
		return nil
	})
	return out, err
}

// RankLog lists a stash's rank periods (stash "": every stash's), by
// period.
func (s *Store) RankLog(ctx context.Context, chain, stash string) ([]RankPeriod, error) {
	const op = "read polkadot rank log"
	q := s.db.Query().SQL("SELECT stash, period, eras, active, rank, at FROM polkadot_rank_log WHERE chain = ").Arg(chain)
	if stash != "" {
		q.SQL(" AND stash = ").Arg(stash)
	}
	rows, err := s.query(ctx, op, q.SQL(" ORDER BY period, stash"))
	if err != nil {
		return nil, err
	}
	out := []RankPeriod{}
	err = each(rows, op, func() error {
		var (
			p            RankPeriod
			period, rank int64
			eras         string
		)
		if err := rows.Scan(&p.Stash, &period, &eras, &p.Active, &rank, &p.At); err != nil {
			return err
		}
		p.Period, p.Rank = uint32(period), int(rank)
		if err := decode("polkadot_rank_log.eras", eras, &p.Eras); err != nil {
			return err
		}
		p.Eras = nonNil(p.Eras)
		out = append(out, p)
		return nil
	})
	return out, err
}
