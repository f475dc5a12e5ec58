package analyzers

import (
	"context"
	"fmt"
	"sort"

	"github.com/valtrack/valtrack/internal/store"
)

// valSet is a stored validator set; member i is signature i of the commit
// of every height the set is in effect for.
type valSet struct {
	height int64
	hash   string // validators_hash it was fetched for; "" unknown (stored before hashes were kept)
	addrs  []string
	power  []int64
	total  int64
	index  map[string]int
}

// sets are the stored sets covering a range of heights, ascending.
type sets []*valSet

// at is the set in effect at h (greatest stored height ≤ h), or nil.
func (ss sets) at(h int64) *valSet {
	i := sort.Search(len(ss), func(i int) bool { return ss[i].height > h })
	if i == 0 {
		return nil
	}
	return ss[i-1]
}

type block struct {
	time     int64
	hash     string
	vhash    string // the header's validators_hash
	proposer string
	observed bool
}

type commit struct {
	round int32
	hash  string
	flags string
}

// seen is what was observed of a validator's votes in the commit round.
type seen struct {
	prevote, precommit       string
	hasPrevote, hasPrecommit bool
}

// setOf is the set a height is analysed against: the one in effect at h,
// provided it is the set h's block names (same validators_hash). nil when
// it is not — the height's own set is not stored yet (a set change that a
// backfill or the indexer delivers after the commit), and reading the
// commit's flags against the old members would blame the wrong validators.
// A set or block without a hash (stored before hashes were kept) is taken
// as it is.
func (d *heights) setOf(h int64) (set *valSet, mismatch bool) {
	set = d.sets.at(h)
	b, ok := d.blocks[h]
	if set != nil && ok && set.hash != "" && b.vhash != "" && set.hash != b.vhash {
		return nil, true
	}
	return set, false
}

// heights is what a pass reads for a range of heights.
type heights struct {
	sets    sets
	blocks  map[int64]block  // from-1 .. to
	commits map[int64]commit // from .. to
	votes   map[int64][]seen // by validator index of the height's set
	// proposers of the rounds before the commit round, per height.
	failedRounds map[int64][]string
}

func query(ctx context.Context, db *store.DB, q *store.Query, op string, scan func(scan func(...any) error) error) error {
	rows, err := db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// loadSets returns the stored sets in effect over [from, to]: the one in
// effect at from and every one stored above it up to to. Sets are cached
// by height: a stored set never changes (a redundant one may be deleted,
// and its copy in the cache is then identical to the set before it).
func (a *missed) loadSets(ctx context.Context, from, to int64) (sets, error) {
	db := a.cfg.DB
	q := db.Query().SQL("SELECT height, validators_hash FROM cosmos_validator_sets WHERE chain = ").Arg(a.chain.Name).
		SQL(" AND height <= ").Arg(to).SQL(" AND height >= COALESCE((SELECT MAX(height) FROM cosmos_validator_sets WHERE chain = ").
		Arg(a.chain.Name).SQL(" AND height <= ").Arg(from).SQL("), 0) ORDER BY height")
	var hs []int64
	hashes := map[int64]string{}
	if err := query(ctx, db, q, "list validator sets", func(scan func(...any) error) error {
		var h int64
		var hash string
		err := scan(&h, &hash)
		hs = append(hs, h)
		hashes[h] = hash
		return err
	}); err != nil {
		return nil, err
	}
	out := make(sets, 0, len(hs))
	for _, h := range hs {
		s := a.setCache[h]
		if s != nil {
			s.hash = hashes[h] // learnt later by the sink, the members unchanged
		}
		if s == nil {
			s = &valSet{height: h, hash: hashes[h], index: map[string]int{}}
			q := db.Query().SQL("SELECT address, voting_power FROM cosmos_set_members WHERE chain = ").Arg(a.chain.Name).
				SQL(" AND height = ").Arg(h).SQL(" ORDER BY idx")
			if err := query(ctx, db, q, "read validator set", func(scan func(...any) error) error {
				var addr string
				var p int64
				if err := scan(&addr, &p); err != nil {
					return err
				}
				s.index[addr] = len(s.addrs)
				s.addrs = append(s.addrs, addr)
				s.power = append(s.power, p)
				s.total += p
				return nil
			}); err != nil {
				return nil, err
			}
			if len(s.addrs) == 0 {
				continue // deleted between the two reads
			}
			a.setCache[h] = s
		}
		out = append(out, s)
	}
	return out, nil
}

// read loads what the heights from..to need.
func (a *missed) read(ctx context.Context, from, to int64) (*heights, error) {
	db, chain := a.cfg.DB, a.chain.Name
	d := &heights{blocks: map[int64]block{}, commits: map[int64]commit{}, votes: map[int64][]seen{}, failedRounds: map[int64][]string{}}
	var err error
	if d.sets, err = a.loadSets(ctx, from-1, to); err != nil {
		return nil, err
	}
	q := db.Query().SQL("SELECT height, time, hash, validators_hash, proposer_address, votes_observed FROM cosmos_blocks WHERE chain = ").Arg(chain).
		SQL(" AND height >= ").Arg(from - 1).SQL(" AND height <= ").Arg(to)
	if err := query(ctx, db, q, "read blocks", func(scan func(...any) error) error {
		var h int64
		var b block
		err := scan(&h, &b.time, &b.hash, &b.vhash, &b.proposer, &b.observed)
		d.blocks[h] = b
		return err
	}); err != nil {
		return nil, err
	}
	q = db.Query().SQL("SELECT height, round, block_hash, flags FROM cosmos_commits WHERE chain = ").Arg(chain).
		SQL(" AND height >= ").Arg(from).SQL(" AND height <= ").Arg(to)
	if err := query(ctx, db, q, "read commits", func(scan func(...any) error) error {
		var h int64
		var c commit
		err := scan(&h, &c.round, &c.hash, &c.flags)
		d.commits[h] = c
		return err
	}); err != nil {
		return nil, err
	}
	// Only the votes of the commit round matter (x/slashing and CometBFT
	// judge the round that decided). They are filtered here rather than
	// joined in SQL: the votes are most of what a pass reads, and a join
	// costs a commit lookup per vote row (twice the time on SQLite).
	q = db.Query().SQL("SELECT height, round, type, validator_address, block_hash FROM cosmos_votes WHERE chain = ").
		Arg(chain).SQL(" AND height >= ").Arg(from).SQL(" AND height <= ").Arg(to)
	if err := query(ctx, db, q, "read votes", func(scan func(...any) error) error {
		var h int64
		var round int32
		var typ int
		var addr, hash string
		if err := scan(&h, &round, &typ, &addr, &hash); err != nil {
			return err
		}
		c, ok := d.commits[h]
		set, _ := d.setOf(h)
		if !ok || c.round != round || set == nil {
			return nil
		}
		i, ok := set.index[addr]
		if !ok {
			return nil // not in the set we know for h: cannot be placed
		}
		vs := d.votes[h]
		if vs == nil {
			vs = make([]seen, len(set.addrs))
			d.votes[h] = vs
		}
		if typ == typePrevote {
			vs[i].prevote, vs[i].hasPrevote = hash, true
		} else {
			vs[i].precommit, vs[i].hasPrecommit = hash, true
		}
		return nil
	}); err != nil {
		return nil, err
	}
	q = db.Query().SQL("SELECT r.height, r.proposer_address FROM cosmos_rounds r JOIN cosmos_commits c ON c.chain = r.chain AND c.height = r.height AND r.round < c.round WHERE r.chain = ").
		Arg(chain).SQL(" AND r.height >= ").Arg(from).SQL(" AND r.height <= ").Arg(to)
	if err := query(ctx, db, q, "read rounds", func(scan func(...any) error) error {
		var h int64
		var p string
		err := scan(&h, &p)
		d.failedRounds[h] = append(d.failedRounds[h], p)
		return err
	}); err != nil {
		return nil, err
	}
	return d, nil
}
