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

// Inserts of the hot path, compiled once on SQLite (store.DB.Prepare).
func (s *sqlStore) applyInserts() []store.Insert {
	return []store.Insert{
		{Table: tDiscoveries, Cols: discoveryCols, Suffix: doNothing},
		{Table: tObservations, Cols: observationCols, Suffix: doNothing},
		{Table: tSubscriptions, Cols: subscriptionCols, Suffix: doNothing},
		{Table: tPeers, Cols: discPeerCols, Suffix: s.discoveryUpsert()},
		{Table: tPeers, Cols: obsPeerCols, Suffix: s.observationUpsert()},
	}
}

var (
	discoveryCols = []string{"msg_id", "network", "peer_id", "enr_seq", "sentry_id", "time"}

	observationCols = []string{"msg_id", "network", "peer_id", "node_id", "enr", "multiaddr", "ip", "port",
		"direction", "epoch", "head_slot", "fork_digest", "seq", "attnets", "syncnets", "cgc",
		"subscribed_subnets", "subscribed_syncnets", "client_version", "client_name", "client_version_num",
		"sentry_id", "time"}

	subscriptionCols = []string{"msg_id", "network", "peer_id", "kind", "subnet", "subscribed", "epoch", "sentry_id", "time"}

	// Peer columns written from an observation; the state columns among
	// them move only forward in time (see observationUpsert).
	obsPeerCols = []string{"network", "peer_id", "node_id", "enr", "multiaddr", "ip", "port", "direction",
		"fork_digest", "head_slot", "last_epoch", "seq", "attnets", "syncnets", "cgc", "subscribed_subnets",
		"subscribed_syncnets", "subnet_mask", "client_version", "client_name", "client_version_num",
		"same_network", "handshaken", "first_seen", "last_seen", "last_observation_at"}
	obsStateCols = []string{"multiaddr", "ip", "port", "direction", "fork_digest", "head_slot", "last_epoch",
		"seq", "attnets", "syncnets", "cgc", "subscribed_subnets", "subscribed_syncnets", "subnet_mask",
		"client_version", "client_name", "client_version_num", "last_observation_at"}

	discPeerCols = []string{"network", "peer_id", "node_id", "enr", "enr_seq", "ip", "port", "fork_digest",
		"attnets", "syncnets", "subnet_mask", "same_network", "handshaken", "first_seen", "last_seen"}
	// Address and ENR bitfields from discovery describe a peer only until a
	// handshake tells better.
	discAddrCols = []string{"ip", "port", "fork_digest", "attnets", "syncnets", "subnet_mask"}
)

const doNothing = "ON CONFLICT (msg_id) DO NOTHING"

// observationUpsert: an observation replaces the peer's state only if it is
// at least as new as the one that set it, so redelivered or late events
// never move a peer back in time.
func (s *sqlStore) observationUpsert() string {
	newer := "(ethereum_peers.last_observation_at IS NULL OR excluded.last_observation_at >= ethereum_peers.last_observation_at)"
	set := []string{
		"node_id = CASE WHEN excluded.node_id <> '' AND (ethereum_peers.node_id = '' OR " + newer + ") THEN excluded.node_id ELSE ethereum_peers.node_id END",
		"enr = CASE WHEN ethereum_peers.enr = '' THEN excluded.enr ELSE ethereum_peers.enr END",
		"same_network = TRUE",
		"handshaken = TRUE",
		"first_seen = " + s.d.Least() + "(ethereum_peers.first_seen, excluded.first_seen)",
		"last_seen = " + s.d.Greatest() + "(ethereum_peers.last_seen, excluded.last_seen)",
	}
	for _, c := range obsStateCols {
		set = append(set, c+" = CASE WHEN "+newer+" THEN excluded."+c+" ELSE ethereum_peers."+c+" END")
	}
	return "ON CONFLICT (network, peer_id) DO UPDATE SET " + strings.Join(set, ", ")
}

// discoveryUpsert: the ENR moves forward by sequence number; address and
// bitfields from the ENR apply only to peers never handshaken.
func (s *sqlStore) discoveryUpsert() string {
	newer := "excluded.enr_seq >= ethereum_peers.enr_seq"
	set := []string{
		"node_id = CASE WHEN ethereum_peers.node_id = '' THEN excluded.node_id ELSE ethereum_peers.node_id END",
		"enr = CASE WHEN " + newer + " AND excluded.enr <> '' THEN excluded.enr ELSE ethereum_peers.enr END",
		"enr_seq = CASE WHEN " + newer + " THEN excluded.enr_seq ELSE ethereum_peers.enr_seq END",
		"same_network = CASE WHEN ethereum_peers.handshaken THEN ethereum_peers.same_network WHEN " + newer + " THEN excluded.same_network ELSE ethereum_peers.same_network END",
		"first_seen = " + s.d.Least() + "(ethereum_peers.first_seen, excluded.first_seen)",
		"last_seen = " + s.d.Greatest() + "(ethereum_peers.last_seen, excluded.last_seen)",
	}
	for _, c := range discAddrCols {
		set = append(set, c+" = CASE WHEN ethereum_peers.last_observation_at IS NULL AND "+newer+" THEN excluded."+c+" ELSE ethereum_peers."+c+" END")
	}
	return "ON CONFLICT (network, peer_id) DO UPDATE SET " + strings.Join(set, ", ")
}

type peerKey struct{ network, peerID string }

func lessKey(a, b peerKey) bool {
	if a.network != b.network {
		return a.network < b.network
	}
	return a.peerID < b.peerID
}

// span is the time range of a peer's events in one batch.
type span struct{ first, last time.Time }

func (sp *span) add(t time.Time) {
	if sp.first.IsZero() || t.Before(sp.first) {
		sp.first = t
	}
	if t.After(sp.last) {
		sp.last = t
	}
}

// Apply writes a batch in one transaction. Rows without network, peer id,
// message id or time cannot be keyed and are skipped (logged), so that one
// malformed event cannot block the batches behind it.
func (s *sqlStore) Apply(ctx context.Context, b Batch) error {
	skipped := 0
	valid := func(network, peerID, msgID string, t time.Time) bool {
		if network == "" || peerID == "" || msgID == "" || t.IsZero() {
			skipped++
			return false
		}
		return true
	}

	var discRows, obsRows, subRows [][]any
	discLatest := map[peerKey]*Discovery{}
	discSpan := map[peerKey]*span{}
	for i := range b.Discoveries {
		d := &b.Discoveries[i]
		if !valid(d.Network, d.PeerID, d.MsgID, d.Time) {
			continue
		}
		discRows = append(discRows, []any{d.MsgID, d.Network, d.PeerID, store.U64(d.ENRSeq), d.SentryID, s.d.TimeArg(d.Time)})
		k := peerKey{d.Network, d.PeerID}
		if cur := discLatest[k]; cur == nil || newerDiscovery(d, cur) {
			discLatest[k] = d
		}
		if discSpan[k] == nil {
			discSpan[k] = &span{}
		}
		discSpan[k].add(d.Time)
	}
	obsLatest := map[peerKey]*Observation{}
	obsSpan := map[peerKey]*span{}
	for i := range b.Observations {
		o := &b.Observations[i]
		if !valid(o.Network, o.PeerID, o.MsgID, o.Time) {
			continue
		}
		obsRows = append(obsRows, []any{o.MsgID, o.Network, o.PeerID, o.NodeID, o.ENR, o.Multiaddr, o.IP, o.Port,
			o.Direction, store.U64(o.Epoch), store.U64(o.HeadSlot), o.ForkDigest, store.U64(o.Seq), o.Attnets, o.Syncnets, store.OptU64(o.CGC),
			subnetsJSON(o.SubscribedSubnets), subnetsJSON(o.SubscribedSyncnets), o.ClientVersion, o.ClientName,
			o.ClientVersionNum, o.SentryID, s.d.TimeArg(o.Time)})
		k := peerKey{o.Network, o.PeerID}
		if cur := obsLatest[k]; cur == nil || o.Time.After(cur.Time) || (o.Time.Equal(cur.Time) && o.MsgID > cur.MsgID) {
			obsLatest[k] = o
		}
		if obsSpan[k] == nil {
			obsSpan[k] = &span{}
		}
		obsSpan[k].add(o.Time)
	}
	for i := range b.Subscriptions {
		c := &b.Subscriptions[i]
		if !valid(c.Network, c.PeerID, c.MsgID, c.Time) {
			continue
		}
		subRows = append(subRows, []any{c.MsgID, c.Network, c.PeerID, c.Kind, c.Subnet, c.Subscribed, store.U64(c.Epoch), c.SentryID, s.d.TimeArg(c.Time)})
	}
	if skipped > 0 {
		s.log.Warn("skipped unkeyable rows in batch (missing network, peer id, message id or time)", "rows", skipped)
	}

	// A fixed order (msg id, peer key) makes concurrent transactions lock
	// rows in the same order, which keeps PostgreSQL deadlocks rare.
	byMsgID := func(rows [][]any) {
		sort.Slice(rows, func(i, j int) bool { return rows[i][0].(string) < rows[j][0].(string) })
	}
	byMsgID(discRows)
	byMsgID(obsRows)
	byMsgID(subRows)
	discPeers := s.discoveryPeerRows(discLatest, discSpan)
	obsPeers := s.observationPeerRows(obsLatest, obsSpan)
	var lockRows [][]any
	if s.d.Postgres() {
		lockRows = s.lockPeerRows(discSpan, obsSpan)
	}

	s.db.Prepare(ctx, s.applyInserts()...)
	return s.db.InTx(ctx, "apply batch", func(tx *sql.Tx) error {
		if err := s.db.InsertRows(ctx, tx, store.Insert{Table: tDiscoveries, Cols: discoveryCols, Suffix: doNothing}, discRows); err != nil {
			return err
		}
		if err := s.db.InsertRows(ctx, tx, store.Insert{Table: tObservations, Cols: observationCols, Suffix: doNothing}, obsRows); err != nil {
			return err
		}
		if err := s.db.InsertRows(ctx, tx, store.Insert{Table: tSubscriptions, Cols: subscriptionCols, Suffix: doNothing}, subRows); err != nil {
			return err
		}
		if s.d.Postgres() {
			// Lock every peer row of the batch in one statement, in key
			// order, before the two upserts below touch them: two batches
			// then never wait on each other in opposite orders (deadlock).
			if err := s.db.InsertRows(ctx, tx, store.Insert{Table: tPeers, Cols: lockPeerCols, Suffix: lockPeersUpsert}, lockRows); err != nil {
				return err
			}
		}
		if err := s.db.InsertRows(ctx, tx, store.Insert{Table: tPeers, Cols: discPeerCols, Suffix: s.discoveryUpsert()}, discPeers); err != nil {
			return err
		}
		return s.db.InsertRows(ctx, tx, store.Insert{Table: tPeers, Cols: obsPeerCols, Suffix: s.observationUpsert()}, obsPeers)
	})
}

var lockPeerCols = []string{"network", "peer_id", "first_seen", "last_seen"}

// lockPeersUpsert changes nothing an update below would not: it exists to
// take the row locks (a DO NOTHING would not lock existing rows).
const lockPeersUpsert = "ON CONFLICT (network, peer_id) DO UPDATE SET first_seen = LEAST(ethereum_peers.first_seen, excluded.first_seen)"

// lockPeerRows lists every peer of the batch once, in key order.
func (s *sqlStore) lockPeerRows(spans ...map[peerKey]*span) [][]any {
	all := map[peerKey]*span{}
	for _, m := range spans {
		for k, sp := range m {
			if cur := all[k]; cur == nil {
				c := *sp
				all[k] = &c
			} else {
				cur.add(sp.first)
				cur.add(sp.last)
			}
		}
	}
	rows := make([][]any, 0, len(all))
	for _, k := range sortedKeys(all) {
		rows = append(rows, []any{k.network, k.peerID, s.d.TimeArg(all[k].first), s.d.TimeArg(all[k].last)})
	}
	return rows
}

// newerDiscovery orders discoveries of one peer: higher ENR sequence, then
// later time, then message id (so the choice is deterministic).
func newerDiscovery(a, b *Discovery) bool {
	if a.ENRSeq != b.ENRSeq {
		return a.ENRSeq > b.ENRSeq
	}
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.MsgID > b.MsgID
}

func sortedKeys[V any](m map[peerKey]V) []peerKey {
	keys := make([]peerKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
	return keys
}

func (s *sqlStore) discoveryPeerRows(latest map[peerKey]*Discovery, spans map[peerKey]*span) [][]any {
	rows := make([][]any, 0, len(latest))
	for _, k := range sortedKeys(latest) {
		d, sp := latest[k], spans[k]
		rows = append(rows, []any{d.Network, d.PeerID, d.NodeID, d.ENR, store.U64(d.ENRSeq), d.IP, d.Port, d.ForkDigest,
			d.Attnets, d.Syncnets, store.U64(subnetMask(d.Attnets, nil)), d.SameNetwork, false,
			s.d.TimeArg(sp.first), s.d.TimeArg(sp.last)})
	}
	return rows
}

func (s *sqlStore) observationPeerRows(latest map[peerKey]*Observation, spans map[peerKey]*span) [][]any {
	rows := make([][]any, 0, len(latest))
	for _, k := range sortedKeys(latest) {
		o, sp := latest[k], spans[k]
		rows = append(rows, []any{o.Network, o.PeerID, o.NodeID, o.ENR, o.Multiaddr, o.IP, o.Port, o.Direction,
			o.ForkDigest, store.U64(o.HeadSlot), store.U64(o.Epoch), store.U64(o.Seq), o.Attnets, o.Syncnets, store.OptU64(o.CGC),
			subnetsJSON(o.SubscribedSubnets), subnetsJSON(o.SubscribedSyncnets),
			store.U64(subnetMask(o.Attnets, o.SubscribedSubnets)), o.ClientVersion, o.ClientName, o.ClientVersionNum,
			true, true, s.d.TimeArg(sp.first), s.d.TimeArg(sp.last), s.d.TimeArg(o.Time)})
	}
	return rows
}

// appliedChunk bounds the ids looked up per statement by Applied.
const appliedChunk = 300

// Applied reports which message ids are already stored.
func (s *sqlStore) Applied(ctx context.Context, msgIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(msgIDs))
	for len(msgIDs) > 0 {
		n := min(appliedChunk, len(msgIDs))
		chunk := msgIDs[:n]
		msgIDs = msgIDs[n:]
		q := s.db.Query()
		for i, table := range historyTables {
			if i > 0 {
				q.SQL(" UNION ALL ")
			}
			q.SQL("SELECT msg_id FROM ", table, " WHERE msg_id IN ")
			vals := make([]any, len(chunk))
			for j, id := range chunk {
				vals[j] = id
			}
			q.Row(vals...)
		}
		rows, err := s.r.QueryContext(ctx, q.String(), q.Args()...)
		if err != nil {
			return nil, fmt.Errorf("check applied message ids in %s: %w", s.where, s.db.Scrub(err))
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("check applied message ids in %s: %w", s.where, err)
			}
			out[id] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("check applied message ids in %s: %w", s.where, s.db.Scrub(err))
		}
	}
	return out, nil
}
