package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Listing limits.
const (
	defaultPageLimit    = 100
	maxPageLimit        = 1000
	defaultHistoryLimit = 100
	maxHistoryLimit     = 10000
)

// peerSelect joins a peer with its IP metadata and estimate; scanPeer reads
// its columns in this order.
const peerSelect = `SELECT p.network, p.peer_id, p.node_id, p.enr, p.multiaddr, p.ip, p.port, p.direction,
 p.fork_digest, p.head_slot, p.last_epoch, p.seq, p.attnets, p.syncnets, p.cgc, p.subscribed_subnets,
 p.subscribed_syncnets, p.client_version, p.client_name, p.client_version_num, p.same_network, p.handshaken,
 p.first_seen, p.last_seen,
 g.ip, g.country, g.country_code, g.region, g.city, g.latitude, g.longitude, g.asn, g.as_org, g.class, g.updated_at,
 e.peer_id, e.validators, e.low, e.high, e.confidence, e.method, e.heuristic, e.epochs, e.updated_at
FROM peers p
LEFT JOIN ip_info g ON g.ip = p.ip
LEFT JOIN estimates e ON e.network = p.network AND e.peer_id = p.peer_id`

func scanPeer(sc interface{ Scan(...any) error }) (Peer, error) {
	var (
		p                  Peer
		subnets, syncnets  string
		gIP, gCountry, gCC sql.NullString
		gRegion, gCity     sql.NullString
		gOrg, gClass       sql.NullString
		gLat, gLon         sql.NullFloat64
		gASN               sql.NullInt64
		gAt                time.Time
		ePeer, eMethod     sql.NullString
		eVal, eLow, eHigh  sql.NullInt64
		eHeur, eEpochs     sql.NullInt64
		eConf              sql.NullFloat64
		eAt                time.Time
	)
	err := sc.Scan(&p.Network, &p.PeerID, &p.NodeID, &p.ENR, &p.Multiaddr, &p.IP, &p.Port, &p.Direction,
		&p.ForkDigest, u64Col{&p.HeadSlot}, u64Col{&p.LastEpoch}, u64Col{&p.Seq}, &p.Attnets, &p.Syncnets,
		optU64Col{&p.CGC}, &subnets, &syncnets, &p.ClientVersion, &p.ClientName, &p.ClientVersionNum,
		&p.SameNetwork, &p.Handshaken, timeCol{&p.FirstSeen}, timeCol{&p.LastSeen},
		&gIP, &gCountry, &gCC, &gRegion, &gCity, &gLat, &gLon, &gASN, &gOrg, &gClass, timeCol{&gAt},
		&ePeer, &eVal, &eLow, &eHigh, &eConf, &eMethod, &eHeur, &eEpochs, timeCol{&eAt})
	if err != nil {
		return Peer{}, err
	}
	p.SubscribedSubnets = parseSubnets(subnets)
	p.SubscribedSyncnets = parseSubnets(syncnets)
	if gIP.Valid {
		p.Geo = IPInfo{IP: gIP.String, Country: gCountry.String, CountryCode: gCC.String, Region: gRegion.String,
			City: gCity.String, Latitude: gLat.Float64, Longitude: gLon.Float64, ASN: uint32(gASN.Int64),
			ASOrganization: gOrg.String, Class: gClass.String, UpdatedAt: gAt}
	}
	if ePeer.Valid {
		p.Estimate = &Estimate{Network: p.Network, PeerID: p.PeerID, Validators: int(eVal.Int64),
			Low: int(eLow.Int64), High: int(eHigh.Int64), Confidence: eConf.Float64, Method: eMethod.String,
			Heuristic: int(eHeur.Int64), Epochs: int(eEpochs.Int64), UpdatedAt: eAt}
	}
	return p, nil
}

// queryPeers runs a peerSelect query and scans every row.
func (s *sqlStore) queryPeers(ctx context.Context, q *query, op string) ([]Peer, error) {
	rows, err := s.r.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", op, s.where, s.scrub(err))
	}
	defer rows.Close()
	var out []Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			return nil, fmt.Errorf("%s in %s: read row: %w", op, s.where, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s in %s: %w", op, s.where, s.scrub(err))
	}
	return out, nil
}

// ListPeers returns one page of a network's peers in peer id order. Seen
// bounds apply to the peer's last_seen. Filter mistakes wrap
// ErrInvalidFilter.
func (s *sqlStore) ListPeers(ctx context.Context, f PeerFilter) (PeerPage, error) {
	if f.Network == "" {
		return PeerPage{}, fmt.Errorf("%w: network is required", ErrInvalidFilter)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageLimit
	}
	limit = min(limit, maxPageLimit)
	q := &query{d: s.d}
	q.sql(peerSelect, " WHERE p.network = ").arg(f.Network)
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return PeerPage{}, err
		}
		q.sql(" AND p.peer_id > ").arg(after)
	}
	if f.Client != "" {
		q.sql(" AND lower(p.client_name) = ").arg(strings.ToLower(f.Client))
	}
	if f.CountryCode != "" {
		q.sql(" AND upper(g.country_code) = ").arg(strings.ToUpper(f.CountryCode))
	}
	if f.ASN != 0 {
		q.sql(" AND g.asn = ").arg(int64(f.ASN))
	}
	if f.Subnet != nil {
		if *f.Subnet < 0 || *f.Subnet >= attSubnets {
			return PeerPage{}, fmt.Errorf("%w: subnet %d is outside 0..%d", ErrInvalidFilter, *f.Subnet, attSubnets-1)
		}
		q.sql(" AND ((p.subnet_mask >> ").arg(*f.Subnet).sql(") & 1) = 1")
	}
	if f.MinValidators > 0 {
		q.sql(" AND e.validators >= ").arg(f.MinValidators)
	}
	if !f.SeenFrom.IsZero() {
		q.sql(" AND p.last_seen >= ").arg(s.d.timeArg(f.SeenFrom))
	}
	if !f.SeenTo.IsZero() {
		q.sql(" AND p.last_seen <= ").arg(s.d.timeArg(f.SeenTo))
	}
	if f.OnlyHandshaken {
		q.sql(" AND p.handshaken = TRUE")
	}
	// One extra row tells whether another page follows.
	q.sql(" ORDER BY p.peer_id LIMIT ").arg(limit + 1)
	peers, err := s.queryPeers(ctx, q, "list peers")
	if err != nil {
		return PeerPage{}, err
	}
	page := PeerPage{Peers: peers}
	if len(peers) > limit {
		page.Peers = peers[:limit]
		page.NextCursor = encodeCursor(page.Peers[limit-1].PeerID)
	}
	return page, nil
}

// GetPeer returns a peer with its newest observations and subscription
// changes (each at most historyLimit; default 100, max 10000).
func (s *sqlStore) GetPeer(ctx context.Context, network, peerID string, historyLimit int) (*PeerDetail, error) {
	if historyLimit <= 0 {
		historyLimit = defaultHistoryLimit
	}
	historyLimit = min(historyLimit, maxHistoryLimit)
	q := &query{d: s.d}
	q.sql(peerSelect, " WHERE p.network = ").arg(network).sql(" AND p.peer_id = ").arg(peerID)
	p, err := scanPeer(s.r.QueryRowContext(ctx, q.String(), q.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get peer %s of %s: %w", peerID, network, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get peer %s of %s in %s: %w", peerID, network, s.where, s.scrub(err))
	}
	d := &PeerDetail{Peer: p}
	q = &query{d: s.d}
	q.sql("SELECT ", strings.Join(observationCols, ", "), " FROM observations WHERE network = ").arg(network).
		sql(" AND peer_id = ").arg(peerID).sql(" ORDER BY time DESC, id DESC LIMIT ").arg(historyLimit)
	if d.History, err = s.queryObservations(ctx, q); err != nil {
		return nil, fmt.Errorf("get peer %s history: %w", peerID, err)
	}
	q = &query{d: s.d}
	q.sql("SELECT ", strings.Join(subscriptionCols, ", "), " FROM subscription_changes WHERE network = ").arg(network).
		sql(" AND peer_id = ").arg(peerID).sql(" ORDER BY time DESC, id DESC LIMIT ").arg(historyLimit)
	if d.Subscriptions, err = s.querySubscriptions(ctx, q); err != nil {
		return nil, fmt.Errorf("get peer %s subscriptions: %w", peerID, err)
	}
	return d, nil
}

// ValidatorNodes returns handshaken peers of every network whose last_seen
// is within [from, to] (a zero bound is open) and whose estimate is above
// zero, ordered by network and peer id.
func (s *sqlStore) ValidatorNodes(ctx context.Context, from, to time.Time) ([]Peer, error) {
	q := &query{d: s.d}
	q.sql(peerSelect, " WHERE p.handshaken = TRUE AND e.validators > 0")
	if !from.IsZero() {
		q.sql(" AND p.last_seen >= ").arg(s.d.timeArg(from))
	}
	if !to.IsZero() {
		q.sql(" AND p.last_seen <= ").arg(s.d.timeArg(to))
	}
	q.sql(" ORDER BY p.network, p.peer_id")
	return s.queryPeers(ctx, q, "list validator nodes")
}

// Networks lists the networks that have peers.
func (s *sqlStore) Networks(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT DISTINCT network FROM peers ORDER BY network")
	if err != nil {
		return nil, fmt.Errorf("list networks in %s: %w", s.where, s.scrub(err))
	}
	return scanStrings(rows, "list networks")
}

func scanStrings(rows *sql.Rows, op string) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}
