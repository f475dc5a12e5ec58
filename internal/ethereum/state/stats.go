package state

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// unknownKey groups peers whose attribute is not known.
const unknownKey = "unknown"

// Stats summarises the handshaken peers of a network whose last_seen is at
// or after since (zero: all). Groups are ordered by nodes, then key.
func (s *sqlStore) Stats(ctx context.Context, network string, since time.Time) (*Stats, error) {
	q := s.db.Query()
	q.SQL(`SELECT p.client_name, g.country_code, g.as_org, g.class, p.subnet_mask, e.validators
FROM ` + tPeers + ` p
LEFT JOIN ` + tIPInfo + ` g ON g.ip = p.ip
LEFT JOIN ` + tEstimates + ` e ON e.network = p.network AND e.peer_id = p.peer_id
WHERE p.network = `).Arg(network).SQL(" AND p.handshaken = TRUE")
	if !since.IsZero() {
		q.SQL(" AND p.last_seen >= ").Arg(s.d.TimeArg(since))
	}
	rows, err := s.r.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("stats of %s in %s: %w", network, s.where, s.db.Scrub(err))
	}
	defer rows.Close()
	st := &Stats{Network: network, SubnetCoverage: make([]int, attSubnets)}
	client, country, org, class := groups{}, groups{}, groups{}, groups{}
	for rows.Next() {
		var (
			name                 string
			cc, asOrg, hostClass sql.NullString
			mask                 int64
			validators           sql.NullInt64
		)
		if err := rows.Scan(&name, &cc, &asOrg, &hostClass, &mask, &validators); err != nil {
			return nil, fmt.Errorf("stats of %s: read row: %w", network, err)
		}
		v := int(validators.Int64)
		st.Nodes++
		st.EstimatedValidators += v
		client.add(name, v)
		country.add(cc.String, v)
		org.add(asOrg.String, v)
		class.add(hostClass.String, v)
		for i := range attSubnets {
			if uint64(mask)&(1<<uint(i)) != 0 {
				st.SubnetCoverage[i]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats of %s in %s: %w", network, s.where, s.db.Scrub(err))
	}
	st.ByClient, st.ByCountry, st.ByASOrganization, st.ByHostingClass = client.list(), country.list(), org.list(), class.list()
	return st, nil
}

type groups map[string]*Group

func (g groups) add(key string, validators int) {
	if key == "" {
		key = unknownKey
	}
	e := g[key]
	if e == nil {
		e = &Group{Key: key}
		g[key] = e
	}
	e.Nodes++
	e.Validators += validators
}

func (g groups) list() []Group {
	out := make([]Group, 0, len(g))
	for _, e := range g {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Nodes != out[j].Nodes {
			return out[i].Nodes > out[j].Nodes
		}
		return out[i].Key < out[j].Key
	})
	return out
}
