package state

import (
	"context"
	"fmt"
	"sort"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/store"
)

// PutChain stores c unless the stored record is of a later block.
func (t *Tx) PutChain(c *events.Chain) error {
	data, err := encode("polkadot chain", c)
	if err != nil {
		return err
	}
	q := t.q().SQL("INSERT INTO polkadot_chains (chain, block, block_hash, active_era, current_era, session, data, seen_at) VALUES ").
		Row(c.Chain, store.U64(c.Block), c.BlockHash, int64(c.ActiveEra), int64(c.CurrentEra), int64(c.Session), data, c.SeenAt).
		SQL(` ON CONFLICT (chain) DO UPDATE SET block = excluded.block, block_hash = excluded.block_hash, active_era = excluded.active_era,
		current_era = excluded.current_era, session = excluded.session, data = excluded.data, seen_at = excluded.seen_at
		WHERE excluded.block >= polkadot_chains.block`)
	_, err = t.exec("store polkadot chain "+c.Chain, q)
	return err
}

// MergeValidator is next over prev: every fact merged with prev's
// (events.Fact.Merge), so a read that failed keeps the last known value
// with the error. prev nil: next as it is.
func MergeValidator(prev, next *events.Validator) *events.Validator {
	m := *next
	if prev == nil {
		return &m
	}
	m.Intention = next.Intention.Merge(prev.Intention)
	m.Commission = next.Commission.Merge(prev.Commission)
	m.Blocked = next.Blocked.Merge(prev.Blocked)
	m.Active = next.Active.Merge(prev.Active)
	m.Controller = next.Controller.Merge(prev.Controller)
	m.SelfStake = next.SelfStake.Merge(prev.SelfStake)
	m.Payee = next.Payee.Merge(prev.Payee)
	m.Balance = next.Balance.Merge(prev.Balance)
	m.Identity = next.Identity.Merge(prev.Identity)
	m.NextKeys = next.NextKeys.Merge(prev.NextKeys)
	m.UnclaimedEras = next.UnclaimedEras.Merge(prev.UnclaimedEras)
	m.ActiveNominators = next.ActiveNominators.Merge(prev.ActiveNominators)
	m.InactiveNominators = next.InactiveNominators.Merge(prev.InactiveNominators)
	m.NominationTargets = next.NominationTargets.Merge(prev.NominationTargets)
	m.NominationEra = next.NominationEra.Merge(prev.NominationEra)
	return &m
}

// PutValidator merges v into the stored record of its stash. A record of an
// older block than the stored one changes nothing; one of the same block is
// merged again, which is idempotent (Merge of a fact over its own merge
// gives the same).
func (t *Tx) PutValidator(v *events.Validator) error {
	op := "store polkadot validator " + v.Stash
	var (
		block uint64
		data  string
	)
	found, err := t.row(op, t.q().SQL("SELECT block, data FROM polkadot_validators WHERE chain = ").Arg(v.Chain).
		SQL(" AND stash = ").Arg(v.Stash), store.U64Into(&block), &data)
	if err != nil {
		return err
	}
	var prev *events.Validator
	if found {
		if v.Block < block {
			return nil
		}
		prev = new(events.Validator)
		if err := decode("polkadot_validators.data", data, prev); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	m := MergeValidator(prev, v)
	if data, err = encode("polkadot validator", m); err != nil {
		return err
	}
	q := t.q().SQL("INSERT INTO polkadot_validators (chain, stash, block, active, data, seen_at) VALUES ").
		Row(m.Chain, m.Stash, store.U64(m.Block), m.Active.Known && m.Active.Value, data, m.SeenAt).
		SQL(" ON CONFLICT (chain, stash) DO UPDATE SET block = excluded.block, active = excluded.active, data = excluded.data, seen_at = excluded.seen_at")
	_, err = t.exec(op, q)
	return err
}

// PutEra stores an era record: a complete record replaces an incomplete
// one, never the reverse; between two of the same completeness the later
// block wins (an equal one replaces, which is idempotent). The per-stash
// points follow the stored record.
func (t *Tx) PutEra(e *events.Era) error {
	op := fmt.Sprintf("store polkadot era %d of %s", e.Era, e.Chain)
	var (
		complete bool
		block    uint64
	)
	found, err := t.row(op, t.q().SQL("SELECT complete, block FROM polkadot_eras WHERE chain = ").Arg(e.Chain).
		SQL(" AND era = ").Arg(int64(e.Era)), &complete, store.U64Into(&block))
	if err != nil {
		return err
	}
	if found && (complete && !e.Complete || complete == e.Complete && e.Block < block) {
		return nil
	}
	vals, err := encode("polkadot era validators", nonNil(e.Validators))
	if err != nil {
		return err
	}
	q := t.q().SQL("INSERT INTO polkadot_eras (chain, era, validators, total, complete, block, seen_at) VALUES ").
		Row(e.Chain, int64(e.Era), vals, int64(e.Total), e.Complete, store.U64(e.Block), e.SeenAt).
		SQL(` ON CONFLICT (chain, era) DO UPDATE SET validators = excluded.validators, total = excluded.total,
		complete = excluded.complete, block = excluded.block, seen_at = excluded.seen_at`)
	if _, err := t.exec(op, q); err != nil {
		return err
	}
	if _, err := t.exec(op, t.q().SQL("DELETE FROM polkadot_era_points WHERE chain = ").Arg(e.Chain).SQL(" AND era = ").Arg(int64(e.Era))); err != nil {
		return err
	}
	// Every stash of the set gets a row (0 points too), so that a stash's
	// history tells "active without points" from "not active".
	points := make(map[string]uint32, len(e.Validators)+len(e.Points))
	for _, v := range e.Validators {
		points[v] = 0
	}
	for v, p := range e.Points {
		points[v] = p
	}
	stashes := make([]string, 0, len(points))
	for v := range points {
		stashes = append(stashes, v)
	}
	sort.Strings(stashes)
	rows := make([][]any, len(stashes))
	for i, v := range stashes {
		rows[i] = []any{e.Chain, int64(e.Era), v, int64(points[v])}
	}
	return t.s.db.InsertRows(t.ctx, t.tx, store.Insert{Table: "polkadot_era_points", Cols: []string{"chain", "era", "stash", "points"},
		Suffix: "ON CONFLICT (chain, stash, era) DO NOTHING"}, rows)
}

// AddFault records a fault once: a republished one (same id) is ignored.
func (t *Tx) AddFault(f *events.Fault) error {
	q := t.q().SQL("INSERT INTO polkadot_faults (chain, id, stash, kind, reason, era, session, block, at) VALUES ").
		Row(f.Chain, f.ID, f.Stash, f.Kind, f.Reason, int64(f.Era), int64(f.Session), store.U64(f.Block), f.At).
		SQL(" ON CONFLICT (chain, id) DO NOTHING")
	_, err := t.exec("store polkadot fault "+f.ID, q)
	return err
}

// PutTelemetry stores a node's latest state under its name. An older record
// (At before the stored one) changes nothing. Several nodes may report one
// name: when both records carry a network id and they differ, an offline
// node does not replace an online one (the name's validator is running);
// otherwise the latest record wins. The IP is never stored.
func (t *Tx) PutTelemetry(n *events.Telemetry) error {
	op := "store polkadot telemetry node " + n.Name
	var (
		at     int64
		online bool
		data   string
	)
	found, err := t.row(op, t.q().SQL("SELECT at, online, data FROM polkadot_telemetry WHERE chain = ").Arg(n.Chain).
		SQL(" AND name = ").Arg(n.Name), &at, &online, &data)
	if err != nil {
		return err
	}
	c := *n
	if found {
		if n.At < at {
			return nil
		}
		var prev events.Telemetry
		if err := decode("polkadot_telemetry.data", data, &prev); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if online && !n.Online && prev.NetworkID != "" && n.NetworkID != "" && prev.NetworkID != n.NetworkID {
			return nil
		}
		// The first sighting is the earliest any sentry run made: a sentry
		// restart (which starts a new tracker) must not reset the
		// connection time (CONNECTION_TIME).
		if prev.DiscoveredAt > 0 && (c.DiscoveredAt == 0 || prev.DiscoveredAt < c.DiscoveredAt) {
			c.DiscoveredAt = prev.DiscoveredAt
		}
	}
	c.IP = ""
	if data, err = encode("polkadot telemetry", &c); err != nil {
		return err
	}
	q := t.q().SQL("INSERT INTO polkadot_telemetry (chain, name, online, at, data) VALUES ").Row(c.Chain, c.Name, c.Online, c.At, data).
		SQL(" ON CONFLICT (chain, name) DO UPDATE SET online = excluded.online, at = excluded.at, data = excluded.data")
	_, err = t.exec(op, q)
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Chain is the latest chain record, nil when none.
func (s *Store) Chain(ctx context.Context, chain string) (*events.Chain, error) {
	var data string
	found, err := s.one(ctx, "read polkadot chain "+chain, s.db.Query().SQL("SELECT data FROM polkadot_chains WHERE chain = ").Arg(chain), &data)
	if err != nil || !found {
		return nil, err
	}
	c := new(events.Chain)
	return c, decode("polkadot_chains.data", data, c)
}

// Validator is the merged record of a stash, nil when none.
func (s *Store) Validator(ctx context.Context, chain, stash string) (*events.Validator, error) {
	vs, err := s.validators(ctx, s.db.Query().SQL("SELECT data FROM polkadot_validators WHERE chain = ").Arg(chain).SQL(" AND stash = ").Arg(stash))
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	return vs[0], nil
}

// Validators lists the merged records of a chain by stash; activeOnly
// keeps those in the session's validator set.
func (s *Store) Validators(ctx context.Context, chain string, activeOnly bool) ([]*events.Validator, error) {
	q := s.db.Query().SQL("SELECT data FROM polkadot_validators WHERE chain = ").Arg(chain)
	if activeOnly {
		q.SQL(" AND active = ").Arg(true)
	}
	return s.validators(ctx, q.SQL(" ORDER BY stash"))
}

func (s *Store) validators(ctx context.Context, q *store.Query) ([]*events.Validator, error) {
	const op = "read polkadot validators"
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	out := []*events.Validator{}
	err = each(rows, op, func() error {
		var data string
		if err := rows.Scan(&data); err != nil {
			return err
		}
		v := new(events.Validator)
		if err := decode("polkadot_validators.data", data, v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// Eras lists the stored eras from..to (to 0: no bound), by era.
func (s *Store) Eras(ctx context.Context, chain string, from, to uint32) ([]EraRecord, error) {
	const op = "read polkadot eras"
	q := s.db.Query().SQL("SELECT era, validators, total, complete, block FROM polkadot_eras WHERE chain = ").Arg(chain).
		SQL(" AND era >= ").Arg(int64(from))
	if to > 0 {
		q.SQL(" AND era <= ").Arg(int64(to))
	}
	rows, err := s.query(ctx, op, q.SQL(" ORDER BY era"))
	if err != nil {
		return nil, err
	}
	out := []EraRecord{}
	err = each(rows, op, func() error {
		var (
			e    EraRecord
			era  int64
			tot  int64
			vals string
		)
		if err := rows.Scan(&era, &vals, &tot, &e.Complete, store.U64Into(&e.Block)); err != nil {
			return err
		}
		e.Era, e.Total = uint32(era), uint32(tot)
		if err := decode("polkadot_eras.validators", vals, &e.Validators); err != nil {
			return err
		}
		e.Validators = nonNil(e.Validators)
		out = append(out, e)
		return nil
	})
	return out, err
}

// LastEra is the highest stored era (found false when none).
func (s *Store) LastEra(ctx context.Context, chain string) (uint32, bool, error) {
	var era *int64
	_, err := s.one(ctx, "read the last polkadot era", s.db.Query().SQL("SELECT MAX(era) FROM polkadot_eras WHERE chain = ").Arg(chain), &era)
	if err != nil || era == nil {
		return 0, false, err
	}
	return uint32(*era), true, nil
}

// EraPoints are a stash's points in each of the last InclusionEras stored
// eras (those up to the highest stored one), by era; an era the stash was
// not in has 0 points and Active false.
func (s *Store) EraPoints(ctx context.Context, chain, stash string) ([]EraPoint, error) {
	last, ok, err := s.LastEra(ctx, chain)
	if err != nil || !ok {
		return []EraPoint{}, err
	}
	from := int64(last) - InclusionEras + 1
	const op = "read polkadot era points"
	q := s.db.Query().SQL("SELECT e.era, p.points FROM polkadot_eras e LEFT JOIN polkadot_era_points p ON p.chain = e.chain AND p.era = e.era AND p.stash = ").Arg(stash).
		SQL(" WHERE e.chain = ").Arg(chain).SQL(" AND e.era >= ").Arg(from).SQL(" ORDER BY e.era")
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	out := []EraPoint{}
	err = each(rows, op, func() error {
		var (
			era    int64
			points *int64
		)
		if err := rows.Scan(&era, &points); err != nil {
			return err
		}
		p := EraPoint{Era: uint32(era)}
		if points != nil {
			p.Points, p.Active = uint32(*points), true
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// Faults lists a stash's faults, latest first (stash "": every stash's).
func (s *Store) Faults(ctx context.Context, chain, stash string, lim int) ([]events.Fault, error) {
	const op = "read polkadot faults"
	q := s.db.Query().SQL("SELECT id, stash, kind, reason, era, session, block, at FROM polkadot_faults WHERE chain = ").Arg(chain)
	if stash != "" {
		q.SQL(" AND stash = ").Arg(stash)
	}
	rows, err := s.query(ctx, op, q.SQL(" ORDER BY at DESC, id LIMIT ").Arg(limit(lim)))
	if err != nil {
		return nil, err
	}
	out := []events.Fault{}
	err = each(rows, op, func() error {
		f := events.Fault{V: events.SchemaVersion, Chain: chain}
		var era, session int64
		if err := rows.Scan(&f.ID, &f.Stash, &f.Kind, &f.Reason, &era, &session, store.U64Into(&f.Block), &f.At); err != nil {
			return err
		}
		f.Era, f.Session = uint32(era), uint32(session)
		out = append(out, f)
		return nil
	})
	return out, err
}

// FaultCounts are the number of faults per stash of a chain.
func (s *Store) FaultCounts(ctx context.Context, chain string) (map[string]int, error) {
	const op = "count polkadot faults"
	rows, err := s.query(ctx, op, s.db.Query().SQL("SELECT stash, COUNT(*) FROM polkadot_faults WHERE chain = ").Arg(chain).SQL(" GROUP BY stash"))
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	err = each(rows, op, func() error {
		var (
			st string
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		out[st] = n
		return nil
	})
	return out, err
}

// TelemetryNodes lists a chain's telemetry nodes by name.
func (s *Store) TelemetryNodes(ctx context.Context, chain string) ([]*events.Telemetry, error) {
	const op = "read polkadot telemetry"
	rows, err := s.query(ctx, op, s.db.Query().SQL("SELECT data FROM polkadot_telemetry WHERE chain = ").Arg(chain).SQL(" ORDER BY name"))
	if err != nil {
		return nil, err
	}
	out := []*events.Telemetry{}
	err = each(rows, op, func() error {
		var data string
		if err := rows.Scan(&data); err != nil {
			return err
		}
		n := new(events.Telemetry)
		if err := decode("polkadot_telemetry.data", data, n); err != nil {
			return err
		}
		out = append(out, n)
		return nil
	})
	return out, err
}

// ErasFull are the eras from..to (to 0: all after from) as events.Era,
// with their points: what the rank log, inclusion and derived faults are
// recomputed from.
func (s *Store) ErasFull(ctx context.Context, chain string, from, to uint32) ([]events.Era, error) {
	recs, err := s.Eras(ctx, chain, from, to)
	if err != nil || len(recs) == 0 {
		return []events.Era{}, err
	}
	const op = "read polkadot era points"
	q := s.db.Query().SQL("SELECT era, stash, points FROM polkadot_era_points WHERE chain = ").Arg(chain).
		SQL(" AND era >= ").Arg(int64(recs[0].Era)).SQL(" AND era <= ").Arg(int64(recs[len(recs)-1].Era))
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	points := map[uint32]map[string]uint32{}
	err = each(rows, op, func() error {
		var (
			era, p int64
			stash  string
		)
		if err := rows.Scan(&era, &stash, &p); err != nil {
			return err
		}
		m := points[uint32(era)]
		if m == nil {
			m = map[string]uint32{}
			points[uint32(era)] = m
		}
		if p > 0 {
			m[stash] = uint32(p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]events.Era, 0, len(recs))
	for _, r := range recs {
		pts := points[r.Era]
		if pts == nil {
			pts = map[string]uint32{}
		}
		out = append(out, events.Era{V: events.SchemaVersion, Chain: chain, Era: r.Era, Validators: r.Validators, Points: pts,
			Total: r.Total, Complete: r.Complete, Block: r.Block})
	}
	return out, nil
}
