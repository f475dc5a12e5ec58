package program

import (
	"fmt"
	"sort"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// RankEvent is one candidate's entry for one era period in the rank log.
// The log is append-only and recomputable: Ranks rebuilds it from the eras
// alone, so a period the runner missed is backfilled the next time the
// eras are there, and anyone can check a rank against chain history.
type RankEvent struct {
	Stash string `json:"stash"`
	// Period is the first era of the period (a multiple of the period
	// length).
	Period uint32 `json:"period"`
	// Eras are the eras of the period in which an address of the
	// candidate's identity was in the validator set (empty: inactive).
	Eras   []uint32 `json:"eras"`
	Active bool     `json:"active"`
	// Rank is the number of active periods up to and including this one.
	Rank int `json:"rank"`
}

// Ranks is the rank log of the candidates over the given eras: a period of
// `period` eras (1 on Polkadot, 4 on Kusama) counts once when any address
// of the candidate's identity (ids maps a stash to its identity root;
// a stash absent from ids is its own root) was in the validator set of any
// era of the period. Eras may come in any order and with duplicates (the
// last given wins, a complete one over an incomplete one); gaps are
// simply periods without data. The events come by period, then stash.
func Ranks(eras []events.Era, period uint32, ids map[string]string, candidates []Entry) []RankEvent {
	if period == 0 {
		period = 1
	}
	list := dedupeEras(eras)
	root := func(stash string) string {
		if r, ok := ids[stash]; ok && r != "" {
			return r
		}
		return stash
	}
	stashes := make([]string, 0, len(candidates))
	for _, c := range candidates {
		stashes = append(stashes, c.Stash)
	}
	sort.Strings(stashes)
	stashes = compact(stashes)

	// periodEras[root] = the period's eras in which some address of that
	// identity root validated.
	type periodEras = map[string][]uint32
	var periods []uint32
	byPeriod := map[uint32]periodEras{}
	for _, e := range list {
		p := e.Era - e.Era%period
		pe, ok := byPeriod[p]
		if !ok {
			pe = periodEras{}
			byPeriod[p] = pe
			periods = append(periods, p)
		}
		seen := map[string]bool{}
		for _, v := range e.Validators {
			r := root(v)
			if !seen[r] {
				seen[r] = true
				pe[r] = append(pe[r], e.Era)
			}
		}
		// The parent account validating counts for its subs too: absent
		// from ids, it is its own root, the root its subs map to.
	}
	sort.Slice(periods, func(a, b int) bool { return periods[a] < periods[b] })

	rank := map[string]int{}
	out := make([]RankEvent, 0, len(periods)*len(stashes))
	for _, p := range periods {
		pe := byPeriod[p]
		for _, s := range stashes {
			in := pe[root(s)]
			ev := RankEvent{Stash: s, Period: p, Eras: append([]uint32{}, in...), Active: len(in) > 0}
			if ev.Active {
				rank[s]++
			}
			ev.Rank = rank[s]
			out = append(out, ev)
		}
	}
	return out
}

// CurrentRanks is each stash's latest rank in a log.
func CurrentRanks(log []RankEvent) map[string]int {
	out := map[string]int{}
	for _, e := range log {
		out[e.Stash] = e.Rank
	}
	return out
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// dedupeEras is the eras in ascending order, one per era number.
func dedupeEras(eras []events.Era) []events.Era {
	by := make(map[uint32]int, len(eras))
	out := make([]events.Era, 0, len(eras))
	for _, e := range eras {
		if i, ok := by[e.Era]; ok {
			if e.Complete || !out[i].Complete {
				out[i] = e
			}
			continue
		}
		by[e.Era] = len(out)
		out = append(out, e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Era < out[b].Era })
	return out
}

// ZeroPointFaults are the faults of validators active in a complete era
// that earned no era points, by era then stash. An era with no points at
// all is skipped: that is a reward-points read that did not happen, not
// every validator failing.
func ZeroPointFaults(eras []events.Era) []events.Fault {
	var out []events.Fault
	for _, e := range dedupeEras(eras) {
		if !e.Complete || (len(e.Points) == 0 && e.Total == 0) {
			continue
		}
		vals := append([]string(nil), e.Validators...)
		sort.Strings(vals)
		vals = compact(vals)
		for _, v := range vals {
			if e.Points[v] > 0 {
				continue
			}
			out = append(out, events.Fault{
				V:      events.SchemaVersion,
				Chain:  e.Chain,
				ID:     fmt.Sprintf("%s/%s/%d/%s", e.Chain, events.FaultZeroPoints, e.Era, v),
				Stash:  v,
				Kind:   events.FaultZeroPoints,
				Reason: fmt.Sprintf("%s was active in era %d and earned no era points", v, e.Era),
				Era:    e.Era,
				Block:  e.Block,
				At:     e.SeenAt,
			})
		}
	}
	return out
}

// The inclusion windows (1KV's InclusionJob).
const (
	InclusionEras     = 84
	SpanInclusionEras = 28
)

// Inclusion is the share of the last 84 and 28 eras in which the stash
// earned era points, over a fixed 84 / 28 (as 1KV: eras not stored count
// as not included), the windows ending at the latest complete era (the
// latest era when none is complete); nominatedAt is the last era, complete
// or not, in which it earned points (0: none).
func Inclusion(eras []events.Era, stash string) (inclusion84, span28 float64, nominatedAt uint32) {
	list := dedupeEras(eras)
	if len(list) == 0 {
		return 0, 0, 0
	}
	end := list[len(list)-1].Era
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Complete {
			end = list[i].Era
			break
		}
	}
	var n84, n28 int
	for _, e := range list {
		if e.Points[stash] == 0 {
			continue
		}
		nominatedAt = max(nominatedAt, e.Era)
		if e.Era > end {
			continue
		}
		if end-e.Era < InclusionEras {
			n84++
		}
		if end-e.Era < SpanInclusionEras {
			n28++
		}
	}
	return float64(n84) / InclusionEras, float64(n28) / SpanInclusionEras, nominatedAt
}

// RankHead is where a stash's stored rank log ends: its last period and
// the rank there. Has is false for a stash with no row yet.
type RankHead struct {
	Period uint32
	Rank   int
	Has    bool
}

// AppendRanks are the rank log rows that follow each candidate's head:
// the log is append-only (a row, once written, is final) and grows over
// the whole history, rank being the count of active periods since the
// first stored era — not capped by any window.
//
// A period is final when every one of its eras is either among eras (the
// stored ones, read from the earliest period still to append) or lost:
// older than lostBefore, the first era the chain still keeps (active era −
// history depth), so it can never be backfilled. Rows are appended in
// period order; a period wholly lost gets no row and is passed over; the
// first period that is not final (an era not stored yet but still
// readable — the sentry backfills it — or not begun) stops the stash's
// appends, so a missed period is filled before any later one is counted.
// A stash without a head starts at the first stored era's period, or at
// lostBefore's when that is earlier (the sentry has not backfilled the
// window yet: the stash waits for it).
func AppendRanks(eras []events.Era, period uint32, ids map[string]string, candidates []Entry, heads map[string]RankHead, lostBefore uint32) []RankEvent {
	if period == 0 {
		period = 1
	}
	list := dedupeEras(eras)
	if len(list) == 0 {
		return nil
	}
	root := func(stash string) string {
		if r, ok := ids[stash]; ok && r != "" {
			return r
		}
		return stash
	}
	stored := make(map[uint32]map[string]bool, len(list)) // era → identity roots in its set
	for _, e := range list {
		m := make(map[string]bool, len(e.Validators))
		for _, v := range e.Validators {
			m[root(v)] = true
		}
		stored[e.Era] = m
	}
	first, last := list[0].Era, list[len(list)-1].Era
	stashes := make([]string, 0, len(candidates))
	for _, c := range candidates {
		stashes = append(stashes, c.Stash)
	}
	sort.Strings(stashes)
	stashes = compact(stashes)

	var out []RankEvent
	for _, s := range stashes {
		h := heads[s]
		start := first
		if lostBefore > 0 && lostBefore < start {
			start = lostBefore
		}
		p := start - start%period
		if h.Has {
			p = h.Period + period
		}
		rank := h.Rank
		r := root(s)
		for ; p <= last; p += period {
			var in []uint32
			final, seen := true, false
			for e := p; e < p+period; e++ {
				set, ok := stored[e]
				switch {
				case ok:
					seen = true
					if set[r] {
						in = append(in, e)
					}
				case e < lostBefore:
					// gone from the chain: a gap for good
				default:
					final = false
				}
			}
			if !final {
				break
			}
			if !seen {
				continue
			}
			ev := RankEvent{Stash: s, Period: p, Eras: nonNilEras(in), Active: len(in) > 0}
			if ev.Active {
				rank++
			}
			ev.Rank = rank
			out = append(out, ev)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Period != out[b].Period {
			return out[a].Period < out[b].Period
		}
		return out[a].Stash < out[b].Stash
	})
	return out
}

func nonNilEras(e []uint32) []uint32 {
	if e == nil {
		return []uint32{}
	}
	return e
}
