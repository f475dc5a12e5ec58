package state

import (
	"context"
	"fmt"

	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/store"
)

// ensureMeta creates the chain's meta row when missing.
func (t *Tx) ensureMeta(chain string) error {
	_, err := t.exec("add polkadot meta", t.q().SQL("INSERT INTO polkadot_meta (chain) VALUES (").Arg(chain).SQL(") ON CONFLICT (chain) DO NOTHING"))
	return err
}

// StartRound stores r as the chain's next round: its id is the meta's last
// round id plus one, both written in one transaction, and returned.
func (s *Store) StartRound(ctx context.Context, r Round) (int64, error) {
	assignments, err := encode("round assignments", nonNil(r.Assignments))
	if err != nil {
		return 0, err
	}
	outcome, err := encode("round outcome", nonNilMap(r.Outcome))
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.InTx(ctx, "start a polkadot round on "+r.Chain, func(t *Tx) error {
		if err := t.ensureMeta(r.Chain); err != nil {
			return err
		}
		if _, err := t.row("read last round id", t.q().SQL("SELECT last_round_id FROM polkadot_meta WHERE chain = ").Arg(r.Chain), &id); err != nil {
			return err
		}
		id++
		q := t.q().SQL("INSERT INTO polkadot_rounds (chain, id, era, started, dry_run, assignments, status, outcome, updated) VALUES ").
			Row(r.Chain, id, int64(r.Era), r.Started, r.DryRun, assignments, r.Status, outcome, r.Started)
		if _, err := t.exec("store round", q); err != nil {
			return err
		}
		_, err := t.exec("advance last round id", t.q().SQL("UPDATE polkadot_meta SET last_round_id = ").Arg(id).
			SQL(", updated = ").Arg(r.Started).SQL(" WHERE chain = ").Arg(r.Chain))
		return err
	})
	return id, err
}

// UpdateRound sets a round's status and outcome; found false when there
// is no such round.
func (s *Store) UpdateRound(ctx context.Context, chain string, id int64, status string, outcome map[string]map[string]string, at int64) (bool, error) {
	enc, err := encode("round outcome", nonNilMap(outcome))
	if err != nil {
		return false, err
	}
	var found bool
	err = s.InTx(ctx, fmt.Sprintf("update polkadot round %d of %s", id, chain), func(t *Tx) error {
		var err error
		found, err = t.changed("update round", t.q().SQL("UPDATE polkadot_rounds SET status = ").Arg(status).SQL(", outcome = ").Arg(enc).
			SQL(", updated = ").Arg(at).SQL(" WHERE chain = ").Arg(chain).SQL(" AND id = ").Arg(id))
		return err
	})
	return found, err
}

// SaveRound writes a round's progress: status, outcome, failed send
// attempts and reason, at r.Updated; found false when there is no such
// round.
func (s *Store) SaveRound(ctx context.Context, r Round) (bool, error) {
	outcome, err := encode("round outcome", nonNilMap(r.Outcome))
	if err != nil {
		return false, err
	}
	attempts, err := encode("round attempts", nonNilMap(r.Attempts))
	if err != nil {
		return false, err
	}
	var found bool
	err = s.InTx(ctx, fmt.Sprintf("save polkadot round %d of %s", r.ID, r.Chain), func(t *Tx) error {
		found, err = t.writeRound(r, outcome, attempts, false)
		return err
	})
	return found, err
}

// OpenRoundSave is what a pass writes of a round it found started.
type OpenRoundSave struct {
	Round
	// Holder is the send lease holder the pass ran as; "" for a pass that
	// holds none (a dry run).
	Holder string
	// Sent are the nominators the pass nominated or announced (or found
	// so): their outcome and attempts are written whoever holds the lease
	// now — the record of a send must not be lost.
	Sent []string
	// Others are the nominators whose outcome the pass decided otherwise
	// (a failed send, a cancel, a note why not sent): written, with the
	// round's status, only while Holder still holds the lease (its reason
	// also when the holder's is "").
	Others []string
}

// The results of SaveOpenRound.
const (
	RoundNotSaved   = iota // no such round, or no longer started: nothing written
	RoundSendsSaved        // another process holds the lease: only the Sent entries written
	RoundSaved             // all of it written
)

// SaveOpenRound writes a pass's progress of a round it found started,
// in one transaction (the row locked on PostgreSQL). Nothing is written
// once the stored round is no longer started, so that a process that lost
// the send lease mid-round cannot reopen a round the lease's new holder
// has finished since (done or failed). Of the outcome and attempts only
// the entries of the nominators the pass dealt with are written into the
// stored ones, the others kept as stored: two processes may each have
// dealt with some nominators since they read the round — the one that
// lost the lease sent one before it stopped, the new holder the rest —
// and neither may erase what the other recorded. And a process that has
// lost the lease to another writes only its sends (and its reason where
// the round has none): the new holder's view of the rest — a send it made
// where the old one failed — and the round's status stand.
func (s *Store) SaveOpenRound(ctx context.Context, w OpenRoundSave) (int, error) {
	r := w.Round
	result := RoundNotSaved
	err := s.InTx(ctx, fmt.Sprintf("save polkadot round %d of %s", r.ID, r.Chain), func(t *Tx) error {
		result = RoundNotSaved // InTx may run this again
		q := t.q().SQL("SELECT status, reason, outcome, attempts FROM polkadot_rounds WHERE chain = ").Arg(r.Chain).SQL(" AND id = ").Arg(r.ID)
		if t.s.db.Dialect().Postgres() {
			q.SQL(" FOR UPDATE")
		}
		var status, reason, outcomeText, attemptsText string
		ok, err := t.row("read the round", q, &status, &reason, &outcomeText, &attemptsText)
		if err != nil || !ok || status != "started" {
			return err
		}
		own := true
		if w.Holder != "" {
			var holder string
			found, err := t.row("read the send lease", t.q().SQL("SELECT holder FROM polkadot_send_leases WHERE chain = ").Arg(r.Chain), &holder)
			if err != nil {
				return err
			}
			own = !found || holder == w.Holder
		}
		outcome := map[string]map[string]string{}
		attempts := map[string]SendAttempts{}
		if err := decode("polkadot_rounds.outcome", outcomeText, &outcome); err != nil {
			return err
		}
		if err := decode("polkadot_rounds.attempts", attemptsText, &attempts); err != nil {
			return err
		}
		outcome, attempts = nonNilMap(outcome), nonNilMap(attempts)
		merge := func(nominators []string) {
			for _, n := range nominators {
				if o, ok := r.Outcome[n]; ok {
					outcome[n] = o
				} else {
					delete(outcome, n)
				}
				if a, ok := r.Attempts[n]; ok {
					attempts[n] = a
				} else {
					delete(attempts, n)
				}
			}
		}
		merge(w.Sent)
		if own {
			merge(w.Others)
		} else {
			// The status is the holder's; so is a reason it gave, else this
			// pass's (why its sends stopped, naming the holder).
			r.Status = status
			if reason != "" {
				r.Reason = reason
			}
		}
		oe, err := encode("round outcome", outcome)
		if err != nil {
			return err
		}
		ae, err := encode("round attempts", attempts)
		if err != nil {
			return err
		}
		saved, err := t.writeRound(r, oe, ae, true)
		switch {
		case err != nil || !saved:
		case own:
			result = RoundSaved
		default:
			result = RoundSendsSaved
		}
		return err
	})
	return result, err
}

// writeRound writes r's status, reason and update time with the encoded
// outcome and attempts; open: only while the stored round is started.
func (t *Tx) writeRound(r Round, outcome, attempts string, open bool) (bool, error) {
	q := t.q().SQL("UPDATE polkadot_rounds SET status = ").Arg(r.Status).SQL(", outcome = ").Arg(outcome).
		SQL(", attempts = ").Arg(attempts).SQL(", reason = ").Arg(r.Reason).SQL(", updated = ").Arg(r.Updated).
		SQL(" WHERE chain = ").Arg(r.Chain).SQL(" AND id = ").Arg(r.ID)
	if open {
		q = q.SQL(" AND status = ").Arg("started")
	}
	return t.changed("save round", q)
}

// Rounds lists the latest rounds, latest first.
func (s *Store) Rounds(ctx context.Context, chain string, lim int) ([]Round, error) {
	const op = "read polkadot rounds"
	rows, err := s.query(ctx, op, s.db.Query().SQL("SELECT id, era, started, dry_run, assignments, status, outcome, attempts, reason, updated FROM polkadot_rounds WHERE chain = ").
		Arg(chain).SQL(" ORDER BY id DESC LIMIT ").Arg(limit(lim)))
	if err != nil {
		return nil, err
	}
	out := []Round{}
	err = each(rows, op, func() error {
		r := Round{Chain: chain}
		var (
			era                            int64
			assignments, outcome, attempts string
		)
		if err := rows.Scan(&r.ID, &era, &r.Started, &r.DryRun, &assignments, &r.Status, &outcome, &attempts, &r.Reason, &r.Updated); err != nil {
			return err
		}
		r.Era = uint32(era)
		if err := decode("polkadot_rounds.assignments", assignments, &r.Assignments); err != nil {
			return err
		}
		if err := decode("polkadot_rounds.outcome", outcome, &r.Outcome); err != nil {
			return err
		}
		if err := decode("polkadot_rounds.attempts", attempts, &r.Attempts); err != nil {
			return err
		}
		r.Assignments, r.Outcome, r.Attempts = nonNil(r.Assignments), nonNilMap(r.Outcome), nonNilMap(r.Attempts)
		out = append(out, r)
		return nil
	})
	return out, err
}

// RoundEra is the era of round id; found is false when there is no such
// round.
func (s *Store) RoundEra(ctx context.Context, chain string, id int64) (era uint32, found bool, err error) {
	var e int64
	found, err = s.one(ctx, "read the era of polkadot round", s.db.Query().SQL("SELECT era FROM polkadot_rounds WHERE chain = ").Arg(chain).
		SQL(" AND id = ").Arg(id), &e)
	return uint32(e), found, err
}

// LastRound is the chain's latest round, nil when none.
func (s *Store) LastRound(ctx context.Context, chain string) (*Round, error) {
	rs, err := s.Rounds(ctx, chain, 1)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return &rs[0], nil
}

// AddNomination records a nomination once (a second one with the same id
// is ignored) and, unless it is a dry run, advances the chain's last
// nominated era to its era.
func (s *Store) AddNomination(ctx context.Context, n Nomination) error {
	targets, err := encode("nomination targets", nonNil(n.Targets))
	if err != nil {
		return err
	}
	return s.InTx(ctx, "store polkadot nomination "+n.ID, func(t *Tx) error {
		q := t.q().SQL("INSERT INTO polkadot_nominations (chain, id, round_id, nominator, era, targets, at, block_hash, tx_hash, dry_run) VALUES ").
			Row(n.Chain, n.ID, n.RoundID, n.Nominator, int64(n.Era), targets, n.At, n.BlockHash, n.TxHash, n.DryRun).
			SQL(" ON CONFLICT (chain, id) DO NOTHING")
		if _, err := t.exec("store nomination", q); err != nil {
			return err
		}
		if n.DryRun {
			return nil
		}
		if err := t.ensureMeta(n.Chain); err != nil {
			return err
		}
		_, err := t.exec("advance last nominated era", t.q().SQL("UPDATE polkadot_meta SET last_nominated_era = ").Arg(int64(n.Era)).
			SQL(", updated = ").Arg(n.At).SQL(" WHERE chain = ").Arg(n.Chain).SQL(" AND last_nominated_era < ").Arg(int64(n.Era)))
		return err
	})
}

const nominationCols = "id, round_id, nominator, era, targets, at, block_hash, tx_hash, dry_run"

// Nominations lists nominations, latest first (nominator "": every
// nominator's).
func (s *Store) Nominations(ctx context.Context, chain, nominator string, lim int) ([]Nomination, error) {
	q := s.db.Query().SQL("SELECT ", nominationCols, " FROM polkadot_nominations WHERE chain = ").Arg(chain)
	if nominator != "" {
		q.SQL(" AND nominator = ").Arg(nominator)
	}
	return s.nominations(ctx, chain, q.SQL(" ORDER BY at DESC, id DESC LIMIT ").Arg(limit(lim)))
}

// LatestNominations is each nominator's latest nomination, by nominator.
func (s *Store) LatestNominations(ctx context.Context, chain string) ([]Nomination, error) {
	q := s.db.Query().SQL("SELECT ", nominationCols, " FROM polkadot_nominations n WHERE chain = ").Arg(chain).
		SQL(" AND id = (SELECT x.id FROM polkadot_nominations x WHERE x.chain = n.chain AND x.nominator = n.nominator ORDER BY x.at DESC, x.id DESC LIMIT 1) ORDER BY nominator")
	return s.nominations(ctx, chain, q)
}

// FirstNominations is, per nominator, the time (unix ms) of its first
// recorded nomination: when valtrack first nominated with the account.
func (s *Store) FirstNominations(ctx context.Context, chain string) (map[string]int64, error) {
	const op = "read polkadot first nominations"
	rows, err := s.query(ctx, op, s.db.Query().SQL("SELECT nominator, MIN(at) FROM polkadot_nominations WHERE chain = ").Arg(chain).SQL(" GROUP BY nominator"))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	err = each(rows, op, func() error {
		var (
			who string
			at  int64
		)
		if err := rows.Scan(&who, &at); err != nil {
			return err
		}
		out[who] = at
		return nil
	})
	return out, err
}

// LastNomination is the chain's latest nomination, nil when none.
func (s *Store) LastNomination(ctx context.Context, chain string) (*Nomination, error) {
	ns, err := s.Nominations(ctx, chain, "", 1)
	if err != nil || len(ns) == 0 {
		return nil, err
	}
	return &ns[0], nil
}

func (s *Store) nominations(ctx context.Context, chain string, q *store.Query) ([]Nomination, error) {
	const op = "read polkadot nominations"
	rows, err := s.query(ctx, op, q)
	if err != nil {
		return nil, err
	}
	out := []Nomination{}
	err = each(rows, op, func() error {
		n := Nomination{Chain: chain}
		var (
			era     int64
			targets string
		)
		if err := rows.Scan(&n.ID, &n.RoundID, &n.Nominator, &era, &targets, &n.At, &n.BlockHash, &n.TxHash, &n.DryRun); err != nil {
			return err
		}
		n.Era = uint32(era)
		if err := decode("polkadot_nominations.targets", targets, &n.Targets); err != nil {
			return err
		}
		n.Targets = nonNil(n.Targets)
		out = append(out, n)
		return nil
	})
	return out, err
}

// AddProxyTx records an announcement once (a second one with the same id
// is ignored, whatever its state): its state starts as given, normally
// ProxyAnnounced.
func (s *Store) AddProxyTx(ctx context.Context, p ProxyTx) error {
	if p.State == "" {
		p.State = ProxyAnnounced
	}
	if !validProxyState(p.State) {
		return fmt.Errorf("store polkadot proxy tx %s: state %q is none of announced, executed, cancelled, failed, orphaned", p.ID, p.State)
	}
	targets, err := encode("proxy targets", nonNil(p.Targets))
	if err != nil {
		return err
	}
	hashes, err := encode("proxy tx hashes", nonNil(p.TxHashes))
	if err != nil {
		return err
	}
	attempts, err := encode("proxy tx attempts", p.Attempts)
	if err != nil {
		return err
	}
	return s.InTx(ctx, "store polkadot proxy tx "+p.ID, func(t *Tx) error {
		q := t.q().SQL(`INSERT INTO polkadot_proxy_txs (chain, id, round_id, nominator, delegate, call_hash, targets, announced_block,
		execute_after, state, reason, tx_hashes, created, updated, attempts) VALUES `).
			Row(p.Chain, p.ID, p.RoundID, p.Nominator, p.Delegate, p.CallHash, targets, store.U64(p.AnnouncedBlock), store.U64(p.ExecuteAfter),
				p.State, p.Reason, hashes, p.Created, max(p.Updated, p.Created), attempts).
			SQL(" ON CONFLICT (chain, id) DO NOTHING")
		_, err := t.exec("store proxy tx", q)
		return err
	})
}

func validProxyState(s string) bool {
	return s == ProxyAnnounced || s == ProxyExecuted || s == ProxyCancelled || s == ProxyFailed || s == ProxyOrphaned
}

// FinishProxyTx moves an announced proxy tx to executed, cancelled,
// failed or orphaned, appending txHash (when not "") to its hashes. The UPDATE is
// conditional on the state being announced: changed is false when it was
// already finished (or does not exist), and then nothing is written — the
// runner must not send its call again, which is what prevents a double
// nomination after a restart.
func (s *Store) FinishProxyTx(ctx context.Context, chain, id, to, reason, txHash string, at int64) (changed bool, err error) {
	if to != ProxyExecuted && to != ProxyCancelled && to != ProxyFailed && to != ProxyOrphaned {
		return false, fmt.Errorf("finish polkadot proxy tx %s: state %q is none of executed, cancelled, failed, orphaned", id, to)
	}
	err = s.InTx(ctx, "finish polkadot proxy tx "+id, func(t *Tx) error {
		changed = false
		var hashes string
		found, err := t.row("read proxy tx", t.q().SQL("SELECT tx_hashes FROM polkadot_proxy_txs WHERE chain = ").Arg(chain).
			SQL(" AND id = ").Arg(id).SQL(" AND state = ").Arg(ProxyAnnounced), &hashes)
		if err != nil || !found {
			return err
		}
		var list []string
		if err := decode("polkadot_proxy_txs.tx_hashes", hashes, &list); err != nil {
			return err
		}
		if txHash != "" {
			list = append(list, txHash)
		}
		if hashes, err = encode("proxy tx hashes", nonNil(list)); err != nil {
			return err
		}
		changed, err = t.changed("finish proxy tx", t.q().SQL("UPDATE polkadot_proxy_txs SET state = ").Arg(to).SQL(", reason = ").Arg(reason).
			SQL(", tx_hashes = ").Arg(hashes).SQL(", updated = ").Arg(at).
			SQL(" WHERE chain = ").Arg(chain).SQL(" AND id = ").Arg(id).SQL(" AND state = ").Arg(ProxyAnnounced))
		return err
	})
	return changed, err
}

// ProxyTxs lists proxy txs, latest first; pendingOnly keeps the announced
// ones.
func (s *Store) ProxyTxs(ctx context.Context, chain string, pendingOnly bool, lim int) ([]ProxyTx, error) {
	if pendingOnly {
		return s.ProxyTxsIn(ctx, chain, ProxyAnnounced, lim)
	}
	return s.ProxyTxsIn(ctx, chain, "", lim)
}

// ProxyTxsIn is ProxyTxs of the proxy txs in one state ("" any), newest
// first.
func (s *Store) ProxyTxsIn(ctx context.Context, chain, state string, lim int) ([]ProxyTx, error) {
	const op = "read polkadot proxy txs"
	q := s.db.Query().SQL(`SELECT id, round_id, nominator, delegate, call_hash, targets, announced_block, execute_after, state, reason,
	tx_hashes, created, updated, attempts FROM polkadot_proxy_txs WHERE chain = `).Arg(chain)
	if state != "" {
		q.SQL(" AND state = ").Arg(state)
	}
	rows, err := s.query(ctx, op, q.SQL(" ORDER BY created DESC, id DESC LIMIT ").Arg(limit(lim)))
	if err != nil {
		return nil, err
	}
	out := []ProxyTx{}
	err = each(rows, op, func() error {
		p := ProxyTx{Chain: chain}
		var targets, hashes, attempts string
		if err := rows.Scan(&p.ID, &p.RoundID, &p.Nominator, &p.Delegate, &p.CallHash, &targets, store.U64Into(&p.AnnouncedBlock),
			store.U64Into(&p.ExecuteAfter), &p.State, &p.Reason, &hashes, &p.Created, &p.Updated, &attempts); err != nil {
			return err
		}
		if err := decode("polkadot_proxy_txs.attempts", attempts, &p.Attempts); err != nil {
			return err
		}
		if err := decode("polkadot_proxy_txs.targets", targets, &p.Targets); err != nil {
			return err
		}
		if err := decode("polkadot_proxy_txs.tx_hashes", hashes, &p.TxHashes); err != nil {
			return err
		}
		p.Targets, p.TxHashes = nonNil(p.Targets), nonNil(p.TxHashes)
		out = append(out, p)
		return nil
	})
	return out, err
}

// ReviveProxyTx moves an orphaned proxy tx back to announced (its
// nominator is in the program file again, with the same delegate), so
// that it is executed or withdrawn like any other; reason notes why.
// false when it is not orphaned (or does not exist).
func (s *Store) ReviveProxyTx(ctx context.Context, chain, id, reason string, at int64) (bool, error) {
	changed := false
	err := s.InTx(ctx, "revive polkadot proxy tx "+id, func(t *Tx) error {
		var err error
		changed, err = t.changed("revive the proxy tx", t.q().SQL("UPDATE polkadot_proxy_txs SET state = ").Arg(ProxyAnnounced).
			SQL(", reason = ").Arg(reason).SQL(", updated = ").Arg(at).
			SQL(" WHERE chain = ").Arg(chain).SQL(" AND id = ").Arg(id).SQL(" AND state = ").Arg(ProxyOrphaned))
		return err
	})
	return changed, err
}

// SetProxyTxHeight records an announcement's height as the chain holds
// it (and when its delay passes) while it is still announced; false when
// it is not.
func (s *Store) SetProxyTxHeight(ctx context.Context, chain, id string, announced, executeAfter uint64, at int64) (bool, error) {
	changed := false
	err := s.InTx(ctx, "record the height of polkadot proxy tx "+id, func(t *Tx) error {
		var err error
		changed, err = t.changed("record proxy tx height", t.q().SQL("UPDATE polkadot_proxy_txs SET announced_block = ").Arg(store.U64(announced)).
			SQL(", execute_after = ").Arg(store.U64(executeAfter)).SQL(", updated = ").Arg(at).
			SQL(" WHERE chain = ").Arg(chain).SQL(" AND id = ").Arg(id).SQL(" AND state = ").Arg(ProxyAnnounced))
		return err
	})
	return changed, err
}

// SetProxyTxAttempts records an announcement's failed executions while it
// is still announced; false when it is not (settled meanwhile).
func (s *Store) SetProxyTxAttempts(ctx context.Context, chain, id string, a SendAttempts, at int64) (bool, error) {
	enc, err := encode("proxy tx attempts", a)
	if err != nil {
		return false, err
	}
	changed := false
	err = s.InTx(ctx, "record attempts of polkadot proxy tx "+id, func(t *Tx) error {
		var err error
		changed, err = t.changed("record proxy tx attempts", t.q().SQL("UPDATE polkadot_proxy_txs SET attempts = ").Arg(enc).SQL(", updated = ").Arg(at).
			SQL(" WHERE chain = ").Arg(chain).SQL(" AND id = ").Arg(id).SQL(" AND state = ").Arg(ProxyAnnounced))
		return err
	})
	return changed, err
}

// Meta is the chain's program position; a chain without one reads as
// zero.
func (s *Store) Meta(ctx context.Context, chain string) (Meta, error) {
	m := Meta{Chain: chain}
	var (
		era, next int64
		release   string
	)
	_, err := s.one(ctx, "read polkadot meta of "+chain,
		s.db.Query().SQL("SELECT last_nominated_era, last_round_id, release, updated, next_nomination_era, next_nomination, round_wait FROM polkadot_meta WHERE chain = ").Arg(chain),
		&era, &m.LastRoundID, &release, &m.Updated, &next, &m.NextNomination, &m.RoundWait)
	if err != nil {
		return m, err
	}
	m.LastNominatedEra, m.NextNominationEra = uint32(era), uint32(next)
	if release != "" {
		m.Release = new(program.Release)
		if err := decode("polkadot_meta.release", release, m.Release); err != nil {
			return m, err
		}
	}
	return m, nil
}

// metaCol is a column of polkadot_meta and its new value.
type metaCol struct {
	name  string
	value any
}

// setMeta updates the chain's meta row (created when missing): cols, and
// updated = at.
func (s *Store) setMeta(ctx context.Context, chain, what string, at int64, cols ...metaCol) error {
	return s.InTx(ctx, "set polkadot "+what, func(t *Tx) error {
		if err := t.ensureMeta(chain); err != nil {
			return err
		}
		q := t.q().SQL("UPDATE polkadot_meta SET ")
		for _, c := range cols {
			q.SQL(c.name, " = ").Arg(c.value).SQL(", ")
		}
		_, err := t.exec("set "+what, q.SQL("updated = ").Arg(at).SQL(" WHERE chain = ").Arg(chain))
		return err
	})
}

// SetLastNominatedEra sets the chain's last nominated era (also advanced by
// AddNomination).
func (s *Store) SetLastNominatedEra(ctx context.Context, chain string, era uint32, at int64) error {
	return s.setMeta(ctx, chain, "last nominated era", at, metaCol{"last_nominated_era", int64(era)})
}

// SetNextNomination stores when the next round is due: its era and the
// estimated unix ms it starts (0 unknown).
func (s *Store) SetNextNomination(ctx context.Context, chain string, era uint32, start, at int64) error {
	return s.setMeta(ctx, chain, "next nomination", at, metaCol{"next_nomination_era", int64(era)}, metaCol{"next_nomination", start})
}

// SetRoundWait stores why the due round is not started ("" none waits).
func (s *Store) SetRoundWait(ctx context.Context, chain, why string, at int64) error {
	return s.setMeta(ctx, chain, "round wait", at, metaCol{"round_wait", why})
}

// SetRelease stores the latest client release the CLIENT_UPGRADE rule
// compares against.
func (s *Store) SetRelease(ctx context.Context, chain string, r program.Release, at int64) error {
	enc, err := encode("release", r)
	if err != nil {
		return err
	}
	return s.setMeta(ctx, chain, "release", at, metaCol{"release", enc})
}
