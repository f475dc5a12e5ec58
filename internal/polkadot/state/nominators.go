package state

import (
	"context"

	"github.com/valtrack/valtrack/internal/store"
)

// Nominator is a nominator account of the program file, as the runner
// last recorded it (polkadot_nominators).
type Nominator struct {
	Chain   string `json:"chain"`
	Account string `json:"account"` // the bonded account, in the chain's prefix
	// Proxy: it signs through a staking proxy; ProxyDelay is that proxy's
	// announcement delay in blocks (0: a plain proxy, or none).
	Proxy      bool   `json:"proxy"`
	ProxyDelay uint32 `json:"proxy_delay"`
	// Delegate is the proxy's account, "" when unknown (it is read from
	// the key, which only a sending runner loads) or when there is none.
	Delegate string `json:"delegate"`
	Added    int64  `json:"added"`   // unix ms first recorded
	Updated  int64  `json:"updated"` // unix ms last changed
	Removed  int64  `json:"removed"` // unix ms the file dropped it, 0 while configured
}

const nominatorCols = "account, proxy, proxy_delay, delegate, added, updated, removed"

// SyncNominators records the program file's nominators of chain: a new
// or changed one is written (and no longer removed), an unchanged one is
// left as it is, and a recorded one that ns does not list is marked
// removed at at — kept, since its nominations still name it. It returns
// how many rows changed.
func (s *Store) SyncNominators(ctx context.Context, chain string, ns []Nominator, at int64) (int64, error) {
	var changed int64
	err := s.InTx(ctx, "record polkadot nominators of "+chain, func(t *Tx) error {
		changed = 0
		for _, n := range ns {
			q := t.q().SQL("INSERT INTO polkadot_nominators (chain, ", nominatorCols, ") VALUES ").
				Row(chain, n.Account, n.Proxy, int64(n.ProxyDelay), n.Delegate, at, at, int64(0)).
				SQL(" ON CONFLICT (chain, account) DO UPDATE SET proxy = excluded.proxy, proxy_delay = excluded.proxy_delay,",
					" delegate = excluded.delegate, updated = excluded.updated, removed = 0",
					" WHERE polkadot_nominators.proxy <> excluded.proxy OR polkadot_nominators.proxy_delay <> excluded.proxy_delay",
					" OR polkadot_nominators.delegate <> excluded.delegate OR polkadot_nominators.removed <> 0")
			n, err := t.affected("record nominator "+n.Account, q)
			if err != nil {
				return err
			}
			changed += n
		}
		accounts := make([]string, len(ns))
		for i, n := range ns {
			accounts[i] = n.Account
		}
		q := t.q().SQL("UPDATE polkadot_nominators SET removed = ").Arg(at).SQL(", updated = ").Arg(at).
			SQL(" WHERE chain = ").Arg(chain).SQL(" AND removed = 0")
		n, err := t.affected("mark removed nominators", notIn(q, "account", accounts))
		changed += n
		return err
	})
	return changed, err
}

// Nominators lists the recorded nominators of chain, removed ones
// included, by account.
func (s *Store) Nominators(ctx context.Context, chain string) ([]Nominator, error) {
	const op = "read polkadot nominators"
	rows, err := s.query(ctx, op, s.db.Query().SQL("SELECT ", nominatorCols, " FROM polkadot_nominators WHERE chain = ").Arg(chain).SQL(" ORDER BY account"))
	if err != nil {
		return nil, err
	}
	out := []Nominator{}
	err = each(rows, op, func() error {
		n := Nominator{Chain: chain}
		var delay int64
		if err := rows.Scan(&n.Account, &n.Proxy, &delay, &n.Delegate, &n.Added, &n.Updated, &n.Removed); err != nil {
			return err
		}
		n.ProxyDelay = uint32(delay)
		out = append(out, n)
		return nil
	})
	return out, err
}

// notIn appends " AND col NOT IN (values…)" to q; nothing when values is
// empty (no row is kept).
func notIn(q *store.Query, col string, values []string) *store.Query {
	if len(values) == 0 {
		return q
	}
	q.SQL(" AND ", col, " NOT IN (")
	for i, v := range values {
		if i > 0 {
			q.SQL(", ")
		}
		q.Arg(v)
	}
	return q.SQL(")")
}

// affected runs q and returns how many rows it changed.
func (t *Tx) affected(op string, q *store.Query) (int64, error) {
	r, err := t.exec(op, q)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
