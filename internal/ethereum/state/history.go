package state

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/store"
)

// queryObservations reads rows of observationCols; withID: preceded by id.
func (s *sqlStore) queryObservations(ctx context.Context, q *store.Query, withID ...bool) ([]Observation, error) {
	rows, err := s.r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("query observations in %s: %w", s.where, s.db.Scrub(err))
	}
	defer rows.Close()
	var out []Observation
	for rows.Next() {
		var o Observation
		var subnets, syncnets string
		dest := []any{&o.MsgID}
		if len(withID) > 0 && withID[0] {
			dest = []any{&o.RowID, &o.MsgID}
		}
		if err := rows.Scan(append(dest, &o.Network, &o.PeerID, &o.NodeID, &o.ENR, &o.Multiaddr, &o.IP, &o.Port,
			&o.Direction, store.U64Into(&o.Epoch), store.U64Into(&o.HeadSlot), &o.ForkDigest, store.U64Into(&o.Seq), &o.Attnets,
			&o.Syncnets, store.OptU64Into(&o.CGC), &subnets, &syncnets, &o.ClientVersion, &o.ClientName,
			&o.ClientVersionNum, &o.SentryID, store.TimeInto(&o.Time))...); err != nil {
			return nil, fmt.Errorf("read observation: %w", err)
		}
		o.SubscribedSubnets = parseSubnets(subnets)
		o.SubscribedSyncnets = parseSubnets(syncnets)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query observations in %s: %w", s.where, s.db.Scrub(err))
	}
	return out, nil
}

// querySubscriptions reads rows of subscriptionCols; withID: preceded by id.
func (s *sqlStore) querySubscriptions(ctx context.Context, q *store.Query, withID ...bool) ([]SubscriptionChange, error) {
	rows, err := s.r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("query subscription changes in %s: %w", s.where, s.db.Scrub(err))
	}
	defer rows.Close()
	var out []SubscriptionChange
	for rows.Next() {
		var c SubscriptionChange
		dest := []any{&c.MsgID}
		if len(withID) > 0 && withID[0] {
			dest = []any{&c.RowID, &c.MsgID}
		}
		if err := rows.Scan(append(dest, &c.Network, &c.PeerID, &c.Kind, &c.Subnet, &c.Subscribed,
			store.U64Into(&c.Epoch), &c.SentryID, store.TimeInto(&c.Time))...); err != nil {
			return nil, fmt.Errorf("read subscription change: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query subscription changes in %s: %w", s.where, s.db.Scrub(err))
	}
	return out, nil
}

// Histories returns, per handshaken peer of the network seen since `since`,
// its observations and subscription changes since then, oldest first,
// ordered by peer id. A zero since means everything.
func (s *sqlStore) Histories(ctx context.Context, network string, since time.Time) ([]History, error) {
	q := s.db.Query()
	q.SQL("SELECT peer_id, node_id FROM " + tPeers + " WHERE network = ").Arg(network).SQL(" AND handshaken = TRUE")
	if !since.IsZero() {
		q.SQL(" AND last_seen >= ").Arg(s.d.TimeArg(since))
	}
	rows, err := s.r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("read histories of %s in %s: %w", network, s.where, s.db.Scrub(err))
	}
	byPeer := map[string]*History{}
	for rows.Next() {
		h := &History{}
		if err := rows.Scan(&h.PeerID, &h.NodeID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read histories of %s: %w", network, err)
		}
		byPeer[h.PeerID] = h
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("read histories of %s in %s: %w", network, s.where, s.db.Scrub(err))
	}

	where := func(table string, cols []string) *store.Query {
		q := s.db.Query()
		q.SQL("SELECT ", strings.Join(cols, ", "), " FROM ", table, " WHERE network = ").Arg(network)
		if !since.IsZero() {
			q.SQL(" AND time >= ").Arg(s.d.TimeArg(since))
		}
		return q.SQL(" ORDER BY time, id")
	}
	obs, err := s.queryObservations(ctx, where(tObservations, observationCols))
	if err != nil {
		return nil, fmt.Errorf("read histories of %s: %w", network, err)
	}
	for _, o := range obs {
		if h := byPeer[o.PeerID]; h != nil {
			h.Observations = append(h.Observations, o)
		}
	}
	subs, err := s.querySubscriptions(ctx, where(tSubscriptions, subscriptionCols))
	if err != nil {
		return nil, fmt.Errorf("read histories of %s: %w", network, err)
	}
	for _, c := range subs {
		if h := byPeer[c.PeerID]; h != nil {
			h.Subscriptions = append(h.Subscriptions, c)
		}
	}
	out := make([]History, 0, len(byPeer))
	for _, h := range byPeer {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PeerID < out[j].PeerID })
	return out, nil
}

// Bounds of HistoryAfter pages.
const (
	defaultHistoryPage = 10000
	maxHistoryPage     = 50000
)

// HistoryAfter returns the observations and subscription changes of a
// network stored after the cursor (by row id), whose time is at or after
// since (zero: any), in row id order, at most limit of each (default
// 10000, max 50000). An analyzer that keeps the cursor reads only what was
// stored since its previous run.
func (s *sqlStore) HistoryAfter(ctx context.Context, network string, since time.Time, after Cursor, limit int) (HistoryPage, error) {
	if limit <= 0 {
		limit = defaultHistoryPage
	}
	limit = min(limit, maxHistoryPage)
	page := HistoryPage{Next: after}
	// The read must walk the id range after the cursor. Given the choice,
	// SQLite takes the (network, time) index and sorts the whole window on
	// every page instead (EXPLAIN QUERY PLAN); a unary + on those columns
	// keeps it off that index. PostgreSQL picks the id range by itself, and
	// has no unary + for text.
	plus := ""
	if !s.d.Postgres() {
		plus = "+"
	}
	where := func(table string, cols []string, afterID int64) *store.Query {
		q := s.db.Query()
		q.SQL("SELECT id, ", strings.Join(cols, ", "), " FROM ", table, " WHERE ", plus, "network = ").Arg(network).SQL(" AND id > ").Arg(afterID)
		if !since.IsZero() {
			q.SQL(" AND ", plus, "time >= ").Arg(s.d.TimeArg(since))
		}
		return q.SQL(" ORDER BY id LIMIT ").Arg(limit)
	}
	var err error
	if page.Observations, err = s.queryObservations(ctx, where(tObservations, observationCols, after.Observation), true); err != nil {
		return page, fmt.Errorf("read history of %s: %w", network, err)
	}
	if page.Subscriptions, err = s.querySubscriptions(ctx, where(tSubscriptions, subscriptionCols, after.Subscription), true); err != nil {
		return page, fmt.Errorf("read history of %s: %w", network, err)
	}
	if n := len(page.Observations); n > 0 {
		page.Next.Observation = page.Observations[n-1].RowID
	}
	if n := len(page.Subscriptions); n > 0 {
		page.Next.Subscription = page.Subscriptions[n-1].RowID
	}
	page.More = len(page.Observations) == limit || len(page.Subscriptions) == limit
	return page, nil
}

// Prune deletes discovery, observation and subscription history older than
// before and returns how many rows went. Peers, IP metadata and estimates
// stay: they are current state, not history.
func (s *sqlStore) Prune(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, nil
	}
	var total int64
	err := s.db.InTx(ctx, "prune history", func(tx *sql.Tx) error {
		total = 0
		for _, table := range historyTables {
			q := s.db.Query()
			q.SQL("DELETE FROM ", table, " WHERE time < ").Arg(s.d.TimeArg(before))
			res, err := tx.ExecContext(ctx, q.String(), q.Args()...)
			if err != nil {
				return fmt.Errorf("delete from %s: %w", table, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("delete from %s: %w", table, err)
			}
			total += n
		}
		return nil
	})
	return total, err
}
