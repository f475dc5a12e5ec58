package state

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/valtrack/valtrack/internal/store"
)

var (
	ipInfoCols   = []string{"ip", "country", "country_code", "region", "city", "latitude", "longitude", "asn", "as_org", "class", "updated_at"}
	estimateCols = []string{"network", "peer_id", "validators", "low", "high", "confidence", "method", "heuristic", "epochs", "updated_at"}
)

// PutIPInfo upserts geolocation rows; the last row of an IP wins, rows
// without an IP are ignored.
func (s *sqlStore) PutIPInfo(ctx context.Context, infos []IPInfo) error {
	last := map[string]int{}
	for i, in := range infos {
		if in.IP != "" {
			last[in.IP] = i
		}
	}
	ips := make([]string, 0, len(last))
	for ip := range last {
		ips = append(ips, ip)
	}
	sort.Strings(ips)
	rows := make([][]any, 0, len(ips))
	for _, ip := range ips {
		in := infos[last[ip]]
		rows = append(rows, []any{in.IP, in.Country, in.CountryCode, in.Region, in.City, in.Latitude, in.Longitude,
			int64(in.ASN), in.ASOrganization, in.Class, s.d.TimeArg(store.NonZeroTime(in.UpdatedAt))})
	}
	if len(rows) == 0 {
		return nil
	}
	return s.db.InTx(ctx, "put ip info", func(tx *sql.Tx) error {
		return s.db.InsertRows(ctx, tx, store.Insert{Table: tIPInfo, Cols: ipInfoCols, Suffix: store.UpsertAll([]string{"ip"}, ipInfoCols)}, rows)
	})
}

// PutEstimates upserts estimates; the last one of a peer wins, rows without
// network or peer id are ignored.
func (s *sqlStore) PutEstimates(ctx context.Context, es []Estimate) error {
	last := map[peerKey]int{}
	for i, e := range es {
		if e.Network != "" && e.PeerID != "" {
			last[peerKey{e.Network, e.PeerID}] = i
		}
	}
	rows := make([][]any, 0, len(last))
	for _, k := range sortedKeys(last) {
		e := es[last[k]]
		rows = append(rows, []any{e.Network, e.PeerID, e.Validators, e.Low, e.High, e.Confidence, e.Method,
			e.Heuristic, e.Epochs, s.d.TimeArg(store.NonZeroTime(e.UpdatedAt))})
	}
	if len(rows) == 0 {
		return nil
	}
	return s.db.InTx(ctx, "put estimates", func(tx *sql.Tx) error {
		return s.db.InsertRows(ctx, tx, store.Insert{Table: tEstimates, Cols: estimateCols, Suffix: store.UpsertAll([]string{"network", "peer_id"}, estimateCols)}, rows)
	})
}

// IPsWithoutInfo returns distinct peer IPs of a network with no ip_info row,
// in IP order, at most limit (default and max 10000).
func (s *sqlStore) IPsWithoutInfo(ctx context.Context, network string, limit int) ([]string, error) {
	const maxIPs = 10000
	if limit <= 0 || limit > maxIPs {
		limit = maxIPs
	}
	q := s.db.Query()
	q.SQL("SELECT DISTINCT p.ip FROM " + tPeers + " p LEFT JOIN " + tIPInfo + " g ON g.ip = p.ip WHERE p.network = ").Arg(network).
		SQL(" AND p.ip <> '' AND g.ip IS NULL ORDER BY p.ip LIMIT ").Arg(limit)
	rows, err := s.r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list IPs without info in %s: %w", s.where, s.db.Scrub(err))
	}
	return store.ScanStrings(rows, "list IPs without info")
}
