package state

import (
	"context"
	"database/sql"
	"time"
)

// HoldSendLease takes chain's send lease for holder until now+ttl, or
// renews it when holder holds it already: true when holder holds it
// afterwards. When another process holds an unexpired lease it is left
// alone, and other names that process. One conditional UPDATE decides, so
// two processes racing for a lapsed lease cannot both win.
func (s *Store) HoldSendLease(ctx context.Context, chain, holder string, now time.Time, ttl time.Duration) (held bool, other string, err error) {
	at := now.UnixMilli()
	err = s.InTx(ctx, "hold the polkadot send lease of "+chain, func(t *Tx) error {
		held, other = false, "" // InTx may run this again
		if _, err := t.exec("add the send lease", t.q().SQL("INSERT INTO polkadot_send_leases (chain, holder, expires, updated) VALUES (").
			Arg(chain).SQL(", '', 0, ").Arg(at).SQL(") ON CONFLICT (chain) DO NOTHING")); err != nil {
			return err
		}
		r, err := t.exec("take the send lease", t.q().SQL("UPDATE polkadot_send_leases SET holder = ").Arg(holder).
			SQL(", expires = ").Arg(now.Add(ttl).UnixMilli()).SQL(", updated = ").Arg(at).
			SQL(" WHERE chain = ").Arg(chain).SQL(" AND (holder = ").Arg(holder).SQL(" OR expires < ").Arg(at).SQL(")"))
		if err != nil {
			return err
		}
		held, other, err = t.leaseOutcome(r, chain)
		return err
	})
	return held, other, err
}

// RenewSendLease extends holder's send lease of chain to now+ttl, only
// while holder still holds it: unlike HoldSendLease it never takes a
// lease another process holds, even a lapsed one. It is asked before each
// send and by the renewing goroutine of a pass: a process that lost the
// lease mid-pass must not take it back and go on sending from its
// in-memory view of a round the other may have sent since; it stops, and
// takes the lease again only at the start of a pass, which re-reads the
// round from the store. false, with the holder's name, when holder has
// lost the lease ("" none).
func (s *Store) RenewSendLease(ctx context.Context, chain, holder string, now time.Time, ttl time.Duration) (held bool, other string, err error) {
	at := now.UnixMilli()
	err = s.InTx(ctx, "renew the polkadot send lease of "+chain, func(t *Tx) error {
		held, other = false, "" // InTx may run this again
		r, err := t.exec("renew the send lease", t.q().SQL("UPDATE polkadot_send_leases SET expires = ").Arg(now.Add(ttl).UnixMilli()).
			SQL(", updated = ").Arg(at).SQL(" WHERE chain = ").Arg(chain).SQL(" AND holder = ").Arg(holder).SQL(" AND expires > 0"))
		if err != nil {
			return err
		}
		held, other, err = t.leaseOutcome(r, chain)
		return err
	})
	return held, other, err
}

// ReleaseSendLease gives up holder's send lease of chain (a clean stop),
// so that another process can take it at once; nothing when holder does
// not hold it.
func (s *Store) ReleaseSendLease(ctx context.Context, chain, holder string, now time.Time) error {
	return s.InTx(ctx, "release the polkadot send lease of "+chain, func(t *Tx) error {
		_, err := t.exec("release the send lease", t.q().SQL("UPDATE polkadot_send_leases SET expires = 0, updated = ").Arg(now.UnixMilli()).
			SQL(" WHERE chain = ").Arg(chain).SQL(" AND holder = ").Arg(holder))
		return err
	})
}

// leaseOutcome reads a lease UPDATE's result: held when it changed the
// row, else the name of the lease's holder.
func (t *Tx) leaseOutcome(r sql.Result, chain string) (held bool, other string, err error) {
	n, err := r.RowsAffected()
	if err != nil || n > 0 {
		return n > 0, "", err
	}
	_, err = t.row("read the send lease", t.q().SQL("SELECT holder FROM polkadot_send_leases WHERE chain = ").Arg(chain), &other)
	return false, other, err
}

// SendLeaseHolder names the process holding chain's send lease at now
// ("" when none does, or it lapsed): a dry-run process asks it, without
// taking the lease, to leave the rounds to a sending process that shares
// its store.
func (s *Store) SendLeaseHolder(ctx context.Context, chain string, now time.Time) (string, error) {
	var holder string
	var expires int64
	found, err := s.one(ctx, "read the polkadot send lease of "+chain,
		s.db.Query().SQL("SELECT holder, expires FROM polkadot_send_leases WHERE chain = ").Arg(chain), &holder, &expires)
	if err != nil || !found || expires < now.UnixMilli() {
		return "", err
	}
	return holder, nil
}
