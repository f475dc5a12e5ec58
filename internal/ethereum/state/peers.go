package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/store"
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
FROM ` + tPeers + ` p
LEFT JOIN ` + tIPInfo + ` g ON g.ip = p.ip
LEFT JOIN ` + tEstimates + ` e ON e.network = p.network AND e.peer_id = p.peer_id`

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
		&p.ForkDigest, store.U64Into(&p.HeadSlot), store.U64Into(&p.LastEpoch), store.U64Into(&p.Seq), &p.Attnets, &p.Syncnets,
		store.OptU64Into(&p.CGC), &subnets, &syncnets, &p.ClientVersion, &p.ClientName, &p.ClientVersionNum,
		&p.SameNetwork, &p.Handshaken, store.TimeInto(&p.FirstSeen), store.TimeInto(&p.LastSeen),
		&gIP, &gCountry, &gCC, &gRegion, &gCity, &gLat, &gLon, &gASN, &gOrg, &gClass, store.TimeInto(&gAt),
		&ePeer, &eVal, &eLow, &eHigh, &eConf, &eMethod, &eHeur, &eEpochs, store.TimeInto(&eAt))
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
func (s *sqlStore) queryPeers(ctx context.Context, q *store.Query, op string) ([]Peer, error) {
	rows, err := s.r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", op, s.where, s.db.Scrub(err))
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
		return nil, fmt.Errorf("%s in %s: %w", op, s.where, s.db.Scrub(err))
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
	q := s.db.Query()
	q.SQL(peerSelect, " WHERE p.network = ").Arg(f.Network)
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return PeerPage{}, err
		}
		q.SQL(" AND p.peer_id > ").Arg(after)
	}
	if f.Client != "" {
		q.SQL(" AND lower(p.client_name) = ").Arg(strings.ToLower(f.Client))
	}
	if f.CountryCode != "" {
		q.SQL(" AND upper(g.country_code) = ").Arg(strings.ToUpper(f.CountryCode))
	}
	if f.ASN != 0 {
		q.SQL(" AND g.asn = ").Arg(int64(f.ASN))
	}
	if f.Subnet != nil {
		if *f.Subnet < 0 || *f.Subnet >= attSubnets {
			return PeerPage{}, fmt.Errorf("%w: subnet %d is outside 0..%d", ErrInvalidFilter, *f.Subnet, attSubnets-1)
		}
		q.SQL(" AND ((p.subnet_mask >> ").Arg(*f.Subnet).SQL(") & 1) = 1")
	}
	if f.MinValidators > 0 {
		q.SQL(" AND e.validators >= ").Arg(f.MinValidators)
	}
	if !f.SeenFrom.IsZero() {
		q.SQL(" AND p.last_seen >= ").Arg(s.d.TimeArg(f.SeenFrom))
	}
	if !f.SeenTo.IsZero() {
		q.SQL(" AND p.last_seen <= ").Arg(s.d.TimeArg(f.SeenTo))
	}
	if f.OnlyHandshaken {
		q.SQL(" AND p.handshaken = TRUE")
	}
	// One extra row tells whether another page follows.
	q.SQL(" ORDER BY p.peer_id LIMIT ").Arg(limit + 1)
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
	q := s.db.Query()
	q.SQL(peerSelect, " WHERE p.network = ").Arg(network).SQL(" AND p.peer_id = ").Arg(peerID)
	p, err := scanPeer(s.r.QueryRowContext(ctx, q.String(), q.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get peer %s of %s: %w", peerID, network, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get peer %s of %s in %s: %w", peerID, network, s.where, s.db.Scrub(err))
	}
	d := &PeerDetail{Peer: p}
	q = s.db.Query()
	q.SQL("SELECT ", strings.Join(observationCols, ", "), " FROM "+tObservations+" WHERE network = ").Arg(network).
		SQL(" AND peer_id = ").Arg(peerID).SQL(" ORDER BY time DESC, id DESC LIMIT ").Arg(historyLimit)
	if d.History, err = s.queryObservations(ctx, q); err != nil {
		return nil, fmt.Errorf("get peer %s history: %w", peerID, err)
	}
	q = s.db.Query()
	q.SQL("SELECT ", strings.Join(subscriptionCols, ", "), " FROM "+tSubscriptions+" WHERE network = ").Arg(network).
		SQL(" AND peer_id = ").Arg(peerID).SQL(" ORDER BY time DESC, id DESC LIMIT ").Arg(historyLimit)
	if d.Subscriptions, err = s.querySubscriptions(ctx, q); err != nil {
		return nil, fmt.Errorf("get peer %s subscriptions: %w", peerID, err)
	}
	return d, nil
}

// ValidatorNodes returns handshaken peers of every network whose last_seen
// is within [from, to] (a zero bound is open) and whose estimate is above
// zero, ordered by network and peer id.
func (s *sqlStore) ValidatorNodes(ctx context.Context, from, to time.Time) ([]Peer, error) {
	q := s.db.Query()
	q.SQL(peerSelect, " WHERE p.handshaken = TRUE AND e.validators > 0")
	if !from.IsZero() {
		q.SQL(" AND p.last_seen >= ").Arg(s.d.TimeArg(from))
	}
	if !to.IsZero() {
		q.SQL(" AND p.last_seen <= ").Arg(s.d.TimeArg(to))
	}
	q.SQL(" ORDER BY p.network, p.peer_id")
	return s.queryPeers(ctx, q, "list validator nodes")
}

// Networks lists the networks that have peers.
func (s *sqlStore) Networks(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT DISTINCT network FROM "+tPeers+" ORDER BY network")
	if err != nil {
		return nil, fmt.Errorf("list networks in %s: %w", s.where, s.db.Scrub(err))
	}
	return store.ScanStrings(rows, "list networks")
}
