package analyzers_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

var start = time.UnixMilli(genesisMs + 1000*blockMs)

func only(ms []miss, address string) []miss {
	var out []miss
	for _, m := range ms {
		if m.Address == address {
			out = append(out, m)
		}
	}
	return out
}

// Validator 3 stops voting at height 10: from there it misses its prevote,
// precommit and signature (cause no_vote), its consecutive misses grow
// across passes, and nobody else misses anything.
func TestValidatorStopsVoting(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 9, heightOpts{})
		s.heights(10, 12, heightOpts{who: map[int]behaviour{3: offline}})
		sk := newSink(t, db)
		apply(t, sk, s.take(), 50)
		a := newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, &clock{start})
		run(t, a)
		if got := readStats(t, db)[addr(3)].Consecutive; got != 3 {
			t.Errorf("consecutive misses after height 12: %d, want 3", got)
		}
		s.heights(13, 20, heightOpts{who: map[int]behaviour{3: offline}})
		apply(t, sk, s.take(), 50)
		run(t, a)
		if c := cursor(t, db); c != 20 {
			t.Fatalf("analysed up to %d, want 20", c)
		}
		ms := readMisses(t, db)
		if len(ms) != 11 || len(only(ms, addr(3))) != 11 {
			t.Fatalf("misses %+v, want 11 rows of validator 3 only", ms)
		}
		for _, m := range ms {
			if !m.MissedPrevote || !m.MissedPrecommit || !m.MissedSig || m.Cause != analyzers.CauseNoVote ||
				m.Prevote != state.VoteAbsent || m.Precommit != state.VoteAbsent || m.Flag != state.FlagAbsent || m.Index != 3 {
				t.Errorf("height %d: %+v, want every kind missed, cause no_vote", m.Height, m)
			}
			if !m.Solo || m.Incident {
				t.Errorf("height %d: solo %v incident %v, want a solo miss (30 of 40 signed)", m.Height, m.Solo, m.Incident)
			}
		}
		st := readStats(t, db)
		v3 := st[addr(3)]
		if v3.Missed != 11 || v3.Signed != 9 || v3.MissedPrevote != 11 || v3.MissedPrecommit != 11 || v3.Consecutive != 11 ||
			v3.SoloMissed != 11 || v3.LastSigned != 9 || v3.LastHeight != 20 {
			t.Errorf("validator 3: %+v", v3)
		}
		var proposed int64
		for i := 0; i < 3; i++ {
			v := st[addr(i)]
			if v.Missed != 0 || v.MissedPrevote != 0 || v.MissedPrecommit != 0 || v.Signed != 20 || v.Consecutive != 0 || v.LastSigned != 20 {
				t.Errorf("validator %d: %+v, want 20 signed and nothing missed", i, v)
			}
			proposed += v.Proposed
		}
		if proposed+v3.Proposed != 20 {
			t.Errorf("proposed blocks add up to %d, want 20", proposed+v3.Proposed)
		}
		if n := count(t, db, "cosmos_heights"); n != 20 {
			t.Errorf("%d analysed heights, want 20", n)
		}
	})
}

// A precommit for the block seen but absent from the commit (it reached
// the next proposer too late) is precommit_not_included; a nil vote is
// nil_vote and a nil signature is not a missed signature (x/slashing).
func TestLatePrecommitAndNilVote(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 4, heightOpts{})
		s.height(5, heightOpts{who: map[int]behaviour{2: {"block", "block", 'A'}, 1: {"nil", "nil", 'N'}}})
		s.height(6, heightOpts{who: map[int]behaviour{1: {"block", "nil", 'N'}, 0: {"block", "", 'A'}, 2: {"", "block", 'C'}}})
		apply(t, newSink(t, db), s.take(), 64)
		run(t, newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, &clock{start}))
		ms := readMisses(t, db)
		want := []miss{
			{Height: 5, Address: addr(1), Index: 1, Prevote: state.VoteNil, Precommit: state.VoteNil, Flag: state.FlagNil,
				MissedPrevote: true, MissedPrecommit: true, Cause: analyzers.CauseNilVote},
			{Height: 5, Address: addr(2), Index: 2, Prevote: state.VoteBlock, Precommit: state.VoteBlock, Flag: state.FlagAbsent,
				MissedSig: true, Cause: analyzers.CausePrecommitNotIncluded, Solo: true},
			{Height: 6, Address: addr(0), Index: 0, Prevote: state.VoteBlock, Precommit: state.VoteAbsent, Flag: state.FlagAbsent,
				MissedPrecommit: true, MissedSig: true, Cause: analyzers.CausePrevoteOnly, Solo: true},
			{Height: 6, Address: addr(1), Index: 1, Prevote: state.VoteBlock, Precommit: state.VoteNil, Flag: state.FlagNil,
				MissedPrecommit: true, Cause: analyzers.CauseNilVote},
			{Height: 6, Address: addr(2), Index: 2, Prevote: state.VoteAbsent, Precommit: state.VoteBlock, Flag: state.FlagCommit,
				MissedPrevote: true, Cause: analyzers.CausePrevoteNotSeen},
		}
		if len(ms) != len(want) {
			t.Fatalf("misses %+v, want %+v", ms, want)
		}
		for i := range want {
			if ms[i] != want[i] {
				t.Errorf("row %d: %+v, want %+v", i, ms[i], want[i])
			}
		}
		st := readStats(t, db)
		if v := st[addr(1)]; v.Missed != 0 || v.Signed != 6 || v.MissedPrecommit != 2 || v.MissedPrevote != 1 {
			t.Errorf("nil voter: %+v, want 6 signed (nil counts as signed), 2 missed precommits, 1 missed prevote", v)
		}
		if v := st[addr(2)]; v.Missed != 1 || v.MissedPrecommit != 0 || v.MissedPrevote != 1 {
			t.Errorf("late precommitter: %+v, want 1 missed signature, its precommit seen", v)
		}
	})
}

// A backfilled height (votes not observed) never shows a missed vote: only
// absent signatures, with cause observer_gap, and votes coded unknown.
func TestObserverGap(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 4, heightOpts{})
		s.heights(5, 7, heightOpts{unobserved: true, who: map[int]behaviour{2: offline}})
		s.heights(8, 9, heightOpts{})
		apply(t, newSink(t, db), s.take(), 64)
		run(t, newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, &clock{start}))
		ms := readMisses(t, db)
		if len(ms) != 3 {
			t.Fatalf("misses %+v, want validator 2 at heights 5..7", ms)
		}
		for _, m := range ms {
			if m.Address != addr(2) || m.MissedPrevote || m.MissedPrecommit || !m.MissedSig || m.Cause != analyzers.CauseObserverGap ||
				m.Prevote != state.VoteUnknown || m.Precommit != state.VoteUnknown {
				t.Errorf("%+v, want only an absent signature, cause observer_gap, votes unknown", m)
			}
		}
		for i := 0; i < 4; i++ {
			if v := readStats(t, db)[addr(i)]; v.MissedPrevote != 0 || v.MissedPrecommit != 0 {
				t.Errorf("validator %d: %d missed prevotes, %d precommits, want none (votes not watched)", i, v.MissedPrevote, v.MissedPrecommit)
			}
		}
	})
}

// A round-1 commit whose round-0 proposer made no block: that proposer has
// a missed proposal, the height is an incident, and the nil votes of round
// 0 are not misses. A 40 s block is a stall.
func TestMissedProposalAndIncidents(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 4, heightOpts{})
		s.height(5, heightOpts{round: 1, who: map[int]behaviour{3: offline}})
		s.height(6, heightOpts{})
		s.height(7, heightOpts{interval: 40_000, who: map[int]behaviour{3: offline}})
		apply(t, newSink(t, db), s.take(), 64)
		run(t, newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, &clock{start}))
		ms := readMisses(t, db)
		// Round 0 of height 5 was proposed by validator 5 mod 4 = 1.
		want := []miss{
			{Height: 5, Address: addr(1), Index: 1, Prevote: state.VoteBlock, Precommit: state.VoteBlock, Flag: state.FlagCommit,
				MissedProposals: 1, Cause: analyzers.CauseMissedProposal, Incident: true},
			{Height: 5, Address: addr(3), Index: 3, Prevote: state.VoteAbsent, Precommit: state.VoteAbsent, Flag: state.FlagAbsent,
				MissedPrevote: true, MissedPrecommit: true, MissedSig: true, Cause: analyzers.CauseNoVote, Solo: true, Incident: true},
			{Height: 7, Address: addr(3), Index: 3, Prevote: state.VoteAbsent, Precommit: state.VoteAbsent, Flag: state.FlagAbsent,
				MissedPrevote: true, MissedPrecommit: true, MissedSig: true, Cause: analyzers.CauseNoVote, Solo: true, Incident: true},
		}
		if len(ms) != len(want) {
			t.Fatalf("misses %+v, want %+v", ms, want)
		}
		for i := range want {
			if ms[i] != want[i] {
				t.Errorf("row %d: %+v, want %+v", i, ms[i], want[i])
			}
		}
		if v := readStats(t, db)[addr(1)]; v.MissedProposals != 1 {
			t.Errorf("validator 1: %d missed proposals, want 1", v.MissedProposals)
		}
		rows, err := db.Reader().Query("SELECT height, round, incident, interval_ms FROM cosmos_heights ORDER BY height")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		wantInc := map[int64]string{5: analyzers.IncidentRound, 7: analyzers.IncidentStall}
		for rows.Next() {
			var h, iv int64
			var r int
			var inc string
			if err := rows.Scan(&h, &r, &inc, &iv); err != nil {
				t.Fatal(err)
			}
			if inc != wantInc[h] {
				t.Errorf("height %d (round %d, interval %d ms): incident %q, want %q", h, r, iv, inc, wantInc[h])
			}
		}
	})
}

// Solo is weighted by voting power: the only absent validator is solo when
// the others signed ≥ 2/3 of the power; two absent ones are not, nor is a
// lone absent validator holding more than a third.
func TestSoloByPower(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 70)
		s.set(1)
		s.height(1, heightOpts{})
		s.height(2, heightOpts{who: map[int]behaviour{0: offline}})
		s.height(3, heightOpts{who: map[int]behaviour{0: offline, 1: offline}})
		s.height(4, heightOpts{who: map[int]behaviour{3: offline}})
		s.height(5, heightOpts{})
		apply(t, newSink(t, db), s.take(), 64)
		run(t, newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, &clock{start}))
		solo := map[int64]map[string]bool{}
		for _, m := range readMisses(t, db) {
			if solo[m.Height] == nil {
				solo[m.Height] = map[string]bool{}
			}
			solo[m.Height][m.Address] = m.Solo
		}
		if !solo[2][addr(0)] {
			t.Error("height 2: validator 0 alone absent with 90 of 100 signed is not solo")
		}
		if solo[3][addr(0)] || solo[3][addr(1)] {
			t.Error("height 3: two absent validators counted solo")
		}
		if _, ok := solo[4][addr(3)]; !ok || solo[4][addr(3)] {
			t.Error("height 4: validator 3 absent with 70 of 100 power counted solo (only 30 signed)")
		}
		if v := readStats(t, db)[addr(0)]; v.SoloMissed != 1 || v.Missed != 2 {
			t.Errorf("validator 0: %d solo of %d missed, want 1 of 2", v.SoloMissed, v.Missed)
		}
	})
}

// With signed_blocks_window 10 and min_signed 0.5, x/slashing jails after
// 6 misses in the window: blocks_to_jail counts 6 … 0, stays 0, and climbs
// again as the misses leave the window; the window holds at most 10.
func TestJailWindow(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		sk := newSink(t, db)
		a := newAnalyzer(t, db, analyzers.Chain{Window: 10, MinSigned: 0.5}, nil, &clock{start})
		type want struct{ size, missed, toJail int64 }
		wants := map[int64]want{1: {1, 0, 6}, 10: {10, 0, 6}, 11: {10, 1, 5}, 15: {10, 5, 1}, 16: {10, 6, 0}, 18: {10, 8, 0},
			20: {10, 8, 0}, 21: {10, 7, 0}, 22: {10, 6, 0}, 23: {10, 5, 1}, 28: {10, 0, 6}}
		for h := int64(1); h <= 28; h++ {
			o := heightOpts{}
			if h >= 11 && h <= 18 {
				o.who = map[int]behaviour{3: offline}
			}
			s.height(h, o)
			apply(t, sk, s.take(), 64)
			run(t, a)
			w, ok := wants[h]
			if !ok {
				continue
			}
			v := readStats(t, db)[addr(3)]
			if v.WindowSize != w.size || v.WindowMissed != w.missed || v.BlocksToJail != w.toJail {
				t.Errorf("height %d: window %d, missed in window %d, blocks to jail %d; want %d, %d, %d",
					h, v.WindowSize, v.WindowMissed, v.BlocksToJail, w.size, w.missed, w.toJail)
			}
			// Ten intervals (eleven heights) before the blocks become time.
			if h > 10 && v.TimeToJailMs != v.BlocksToJail*blockMs {
				t.Errorf("height %d: time to jail %d ms, want %d blocks × %d ms", h, v.TimeToJailMs, v.BlocksToJail, blockMs)
			}
			if h <= 10 && v.TimeToJailMs != state.JailTimeUnknown {
				t.Errorf("height %d: time to jail %d ms, want unknown (%d) with %d block intervals", h, v.TimeToJailMs, state.JailTimeUnknown, h-1)
			}
		}
	})
}

// The window and threshold come from cosmos_params when not configured.
func TestParamsFromChain(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.evs = append(s.evs, &events.Params{V: 1, Chain: chainName, SignedBlocksWindow: 20, MinSignedPerWindow: 0.05, Source: "lcd", Observer: obs(genesisMs)})
		s.heights(1, 3, heightOpts{who: map[int]behaviour{3: offline}})
		apply(t, newSink(t, db), s.take(), 64)
		run(t, newAnalyzer(t, db, analyzers.Chain{}, nil, &clock{start}))
		// maxMissed = 20 - round(0.05×20) = 19; 3 missed → 17 to go.
		if v := readStats(t, db)[addr(3)]; v.BlocksToJail != 17 {
			t.Errorf("blocks to jail %d, want 17 (window 20, min signed 0.05, 3 missed)", v.BlocksToJail)
		}
	})
}

// A batch applied twice and an analyzer run twice count nothing twice; a
// new analyzer instance continues from the stored cursor, and the result
// equals that of one run over everything.
func TestIdempotentAndRestart(t *testing.T) {
	dialectsOpen(t, func(t *testing.T, open func() *store.DB) {
		s := newSim(t, 10, 20, 30, 40)
		s.set(1)
		s.heights(1, 12, heightOpts{})
		s.heights(13, 25, heightOpts{who: map[int]behaviour{0: offline}})
		s.height(26, heightOpts{round: 2, who: map[int]behaviour{2: {"nil", "nil", 'N'}}})
		first := s.take()
		s.heights(27, 40, heightOpts{who: map[int]behaviour{1: {"block", "", 'A'}}})
		second := s.take()
		cfg := analyzers.Chain{Window: 10, MinSigned: 0.5}

		once := open()
		apply(t, newSink(t, once), append(append([]events.Event(nil), first...), second...), 2000)
		run(t, newAnalyzer(t, once, cfg, nil, &clock{start}))

		db := open()
		sk := newSink(t, db)
		apply(t, sk, first, 37)
		apply(t, sk, first, 1000) // redelivered, in other batch boundaries
		a := newAnalyzer(t, db, cfg, nil, &clock{start})
		run(t, a)
		run(t, a)
		apply(t, sk, second, 50)
		b := newAnalyzer(t, db, cfg, nil, &clock{start}) // a restart
		run(t, b)
		run(t, a) // the old instance finds the cursor moved and reloads
		run(t, b)
		apply(t, sk, second, 50)
		run(t, b)

		for _, table := range []string{"cosmos_votes", "cosmos_blocks", "cosmos_commits", "cosmos_rounds", "cosmos_heights", "cosmos_misses"} {
			if n, m := count(t, db, table), count(t, once, table); n != m {
				t.Errorf("%s: %d rows, %d in a single run", table, n, m)
			}
		}
		got, want := readStats(t, db), readStats(t, once)
		if len(got) != 4 {
			t.Fatalf("stats of %d validators, want 4", len(got))
		}
		for a, w := range want {
			if got[a] != w {
				t.Errorf("validator %s: %+v, single run %+v", a, got[a], w)
			}
		}
		gm, wm := readMisses(t, db), readMisses(t, once)
		for i := range wm {
			if i >= len(gm) || gm[i] != wm[i] {
				t.Fatalf("misses differ from a single run at row %d", i)
			}
		}
		if c := cursor(t, db); c != 40 {
			t.Errorf("cursor %d, want 40", c)
		}
	})
}

// A set change at height 10 (validator 3 leaves, 4 joins, 0 doubles its
// power) is recorded as changes; from 10 on, commit index 3 is validator 4,
// and validator 3 has one not_in_set row and is no longer counted.
func TestValidatorSetChange(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 9, heightOpts{})
		s.set(5) // identical: not stored
		s.vals[0].VotingPower = 20
		s.vals[3] = events.Validator{Address: addr(4), VotingPower: 10}
		s.set(10)
		s.heights(10, 15, heightOpts{who: map[int]behaviour{3: offline}})
		apply(t, newSink(t, db), s.take(), 64)
		run(t, newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, &clock{start}))

		if n := count(t, db, "cosmos_validator_sets"); n != 2 {
			t.Errorf("%d stored sets, want 2 (1 and 10; 5 was identical)", n)
		}
		rows, err := db.Reader().Query("SELECT height, address, change, old_power, new_power FROM cosmos_validator_changes ORDER BY address")
		if err != nil {
			t.Fatal(err)
		}
		type change struct {
			h        int64
			a, c     string
			old, new int64
		}
		var got []change
		for rows.Next() {
			var c change
			if err := rows.Scan(&c.h, &c.a, &c.c, &c.old, &c.new); err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		rows.Close()
		want := []change{{10, addr(0), "power", 10, 20}, {10, addr(3), "removed", 10, 0}, {10, addr(4), "added", 0, 10}}
		if len(got) != len(want) {
			t.Fatalf("changes %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("change %+v, want %+v", got[i], want[i])
			}
		}
		ms := readMisses(t, db)
		left := only(ms, addr(3))
		if len(left) != 1 || left[0].Height != 10 || left[0].Cause != analyzers.CauseNotInSet || left[0].MissedSig || left[0].MissedPrevote {
			t.Errorf("validator 3: %+v, want one not_in_set row at 10 with nothing missed", left)
		}
		joined := only(ms, addr(4))
		if len(joined) != 6 || joined[0].Height != 10 || joined[0].Index != 3 || joined[0].Cause != analyzers.CauseNoVote {
			t.Errorf("validator 4: %+v, want no_vote at 10..15 at index 3", joined)
		}
		st := readStats(t, db)
		if v := st[addr(3)]; v.Missed != 0 || v.Signed != 9 || v.BlocksToJail != -1 || v.LastHeight != 9 {
			t.Errorf("validator 3: %+v, want 9 signed, nothing missed, out of the set", v)
		}
		if v := st[addr(4)]; v.Missed != 6 || v.Signed != 0 || v.BlocksToJail < 0 {
			t.Errorf("validator 4: %+v, want 6 missed, in the set", v)
		}
		var in3, in4 bool
		var p0, first4 int64
		if err := db.Reader().QueryRow("SELECT in_set FROM cosmos_validators WHERE address = '" + addr(3) + "'").Scan(&in3); err != nil {
			t.Fatal(err)
		}
		if err := db.Reader().QueryRow("SELECT in_set, first_height FROM cosmos_validators WHERE address = '"+addr(4)+"'").Scan(&in4, &first4); err != nil {
			t.Fatal(err)
		}
		if err := db.Reader().QueryRow("SELECT voting_power FROM cosmos_validators WHERE address = '" + addr(0) + "'").Scan(&p0); err != nil {
			t.Fatal(err)
		}
		if in3 || !in4 || first4 != 10 || p0 != 20 {
			t.Errorf("validators: 3 in set %v, 4 in set %v from %d, 0's power %d; want false, true from 10, 20", in3, in4, first4, p0)
		}
	})
}

// A height whose commit never comes is waited for while later commits
// exist, then skipped after SkipAfter; without later commits it is waited
// for however long.
func TestSkipsMissingCommit(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 4, heightOpts{})
		s.height(5, heightOpts{noCommit: true})
		sk := newSink(t, db)
		apply(t, sk, s.take(), 64)
		c := &clock{start}
		reg := prometheus.NewRegistry()
		a := newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, reg, c)
		skipped := func() float64 {
			v, _ := gauge(t, reg, "valtrack_cosmos_skipped_heights_total", map[string]string{"chain": chainName, "reason": analyzers.SkipCommitMissing})
			return v
		}
		run(t, a)
		c.now = c.now.Add(time.Hour)
		run(t, a)
		if got := cursor(t, db); got != 4 {
			t.Fatalf("cursor %d, want 4: height 5 is the chain's tip, its commit is still to come", got)
		}
		s.heights(6, 8, heightOpts{})
		apply(t, sk, s.take(), 64)
		run(t, a)
		c.now = c.now.Add(time.Minute)
		run(t, a)
		if got := cursor(t, db); got != 4 {
			t.Fatalf("cursor %d after 1 minute, want 4 (waiting for the backfill)", got)
		}
		if n := skipped(); n != 0 {
			t.Errorf("%v heights counted as skipped while waiting, want 0", n)
		}
		c.now = c.now.Add(analyzers.DefaultSkipAfter)
		run(t, a)
		if got := cursor(t, db); got != 8 {
			t.Fatalf("cursor %d, want 8 (height 5 skipped)", got)
		}
		run(t, a)
		if n := skipped(); n != 1 {
			t.Errorf("skipped heights (commit_missing) %v, want 1", n)
		}
		var n int
		if err := db.Reader().QueryRow("SELECT count(*) FROM cosmos_heights WHERE height = 5").Scan(&n); err != nil || n != 0 {
			t.Errorf("height 5 has %d rows (%v), want none", n, err)
		}
		if v := readStats(t, db)[addr(0)]; v.Signed != 7 {
			t.Errorf("validator 0 signed %d, want 7 (heights 1..8 but 5)", v.Signed)
		}
	})
}

// The gauges follow the stored totals, carry the moniker, and the series
// of a validator that left the set are deleted.
func TestMetrics(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.evs = append(s.evs, &events.ValidatorInfo{V: 1, Chain: chainName, Address: addr(3), Moniker: "three", Source: "lcd", Observer: obs(genesisMs)},
			&events.EndpointStatus{V: 1, Chain: chainName, Healthy: true, Height: 5, Observer: obs(start.UnixMilli())})
		s.heights(1, 5, heightOpts{who: map[int]behaviour{3: offline}})
		sk := newSink(t, db)
		apply(t, sk, s.take(), 64)
		reg := prometheus.NewRegistry()
		clk := &clock{start}
		a := newAnalyzer(t, db, analyzers.Chain{Window: 10, MinSigned: 0.5}, reg, clk)
		run(t, a)
		v3 := map[string]string{"chain": chainName, "address": addr(3), "moniker": "three"}
		for name, want := range map[string]float64{"missed_blocks": 5, "consecutive_missed_blocks": 5, "missed_blocks_window": 5,
			"signed_blocks_window": 5, "blocks_to_jail": 1, "signed_blocks": 0, "solo_missed_blocks": 5} {
			if got, ok := gauge(t, reg, "valtrack_cosmos_"+name, v3); !ok || got != want {
				t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
			}
		}
		// Four block intervals are too few for a time: no series, not 0.
		if got, ok := gauge(t, reg, "valtrack_cosmos_time_to_jail_seconds", v3); ok {
			t.Errorf("time_to_jail_seconds = %v after 4 block intervals, want no series (unknown)", got)
		}
		if got, _ := gauge(t, reg, "valtrack_cosmos_analyzed_height", map[string]string{"chain": chainName}); got != 5 {
			t.Errorf("analyzed height %v, want 5", got)
		}
		if got, _ := gauge(t, reg, "valtrack_cosmos_endpoint_healthy", map[string]string{"chain": chainName, "endpoint": "node-a:26657"}); got != 1 {
			t.Errorf("endpoint healthy %v, want 1", got)
		}
		// No status for over three minutes: its sentry is gone, the last
		// "healthy" is not believed any more.
		clk.now = start.Add(4 * time.Minute)
		run(t, a)
		if got, _ := gauge(t, reg, "valtrack_cosmos_endpoint_healthy", map[string]string{"chain": chainName, "endpoint": "node-a:26657"}); got != 0 {
			t.Errorf("endpoint healthy %v after 4 silent minutes, want 0", got)
		}
		s.vals = s.vals[:3]
		s.set(6)
		s.heights(6, 7, heightOpts{})
		apply(t, sk, s.take(), 64)
		run(t, a)
		if _, ok := gauge(t, reg, "valtrack_cosmos_missed_blocks", v3); ok {
			t.Error("validator 3 left the set at 6 but its series remain")
		}
		if got, ok := gauge(t, reg, "valtrack_cosmos_signed_blocks", map[string]string{"chain": chainName, "address": addr(0), "moniker": ""}); !ok || got != 7 {
			t.Errorf("validator 0 signed_blocks %v (present %v), want 7", got, ok)
		}
	})
}

func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// One validator is replaced by another of the same power (the set keeps
// its size and the newcomer takes the leaver's index), and the new set
// reaches the store after the commits of its heights. The analyzer waits
// at the first height of the new set, saying so in a gauge, rather than
// read the commit's flags against the old members; once the set is
// stored, the newcomer's absent signatures are its own, and the leaver is
// charged with nothing.
func TestSetChangeOfEqualSizeArrivingLate(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 5, heightOpts{})
		s.vals[2] = events.Validator{Address: addr(4), PubKeyType: "tendermint/PubKeyEd25519", PubKey: "key4", VotingPower: 10}
		late := s.setEvent(6)
		s.heights(6, 8, heightOpts{who: map[int]behaviour{2: offline}})
		sk := newSink(t, db)
		apply(t, sk, s.take(), 64)
		reg := prometheus.NewRegistry()
		a := newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, reg, &clock{start})
		run(t, a)
		if c := cursor(t, db); c != 5 {
			t.Fatalf("analysed up to %d, want 5: height 6's set is not stored yet", c)
		}
		if v, _ := gauge(t, reg, "valtrack_cosmos_waiting_for_validator_set", map[string]string{"chain": chainName}); v != 6 {
			t.Errorf("waiting_for_validator_set %v, want 6", v)
		}
		if ms := readMisses(t, db); len(ms) != 0 {
			t.Fatalf("misses before the set arrived: %+v, want none", ms)
		}

		apply(t, sk, []events.Event{late}, 64)
		run(t, a)
		if c := cursor(t, db); c != 8 {
			t.Fatalf("analysed up to %d, want 8 once the set is stored", c)
		}
		if v, _ := gauge(t, reg, "valtrack_cosmos_waiting_for_validator_set", map[string]string{"chain": chainName}); v != 0 {
			t.Errorf("waiting_for_validator_set %v after the set arrived, want 0", v)
		}
		ms := readMisses(t, db)
		joined := only(ms, addr(4))
		if len(joined) != 3 {
			t.Fatalf("newcomer's misses %+v, want heights 6..8", joined)
		}
		for i, m := range joined {
			if m.Height != int64(6+i) || m.Index != 2 || !m.MissedSig || m.Cause != analyzers.CauseNoVote {
				t.Errorf("newcomer at %d: %+v, want a missed signature at index 2, cause no_vote", m.Height, m)
			}
		}
		left := only(ms, addr(2))
		if len(left) != 1 || left[0].Height != 6 || left[0].Cause != analyzers.CauseNotInSet || left[0].MissedSig {
			t.Errorf("leaver's rows %+v, want one not_in_set row at 6 and no missed signature", left)
		}
		st := readStats(t, db)
		if v := st[addr(2)]; v.Missed != 0 || v.Signed != 5 {
			t.Errorf("leaver %+v, want 5 signed and nothing missed", v)
		}
		if v := st[addr(4)]; v.Missed != 3 || v.Consecutive != 3 {
			t.Errorf("newcomer %+v, want 3 missed in a row", v)
		}
	})
}

// replacedAt4 is a chain of four validators, heights 1..9, whose
// validator 2 is replaced at height 4 by a newcomer (addr 4) that is
// offline; only the set of 1 is among its events.
func replacedAt4(t *testing.T) *sim {
	s := newSim(t, 10, 10, 10, 10)
	s.set(1)
	s.heights(1, 3, heightOpts{})
	s.vals[2] = events.Validator{Address: addr(4), PubKeyType: "tendermint/PubKeyEd25519", PubKey: "key4", VotingPower: 10}
	s.heights(4, 9, heightOpts{who: map[int]behaviour{2: offline}})
	return s
}

// A set that never arrives holds its heights up for SkipAfter only; they
// are then skipped (never analysed against the old set), the later heights
// of the same set at once.
func TestMissingSetSkippedAfterBound(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := replacedAt4(t)
		apply(t, newSink(t, db), s.take(), 64)
		c := &clock{start}
		reg := prometheus.NewRegistry()
		a := newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, reg, c)
		run(t, a)
		if got := cursor(t, db); got != 3 {
			t.Fatalf("cursor %d, want 3 (waiting for the set of 4)", got)
		}
		defer func() {
			if v, _ := gauge(t, reg, "valtrack_cosmos_skipped_heights_total", map[string]string{"chain": chainName, "reason": analyzers.SkipSetNotStored}); v != 5 {
				t.Errorf("skipped heights (validator_set_not_stored) %v, want 5 (4..8)", v)
			}
		}()
		c.now = c.now.Add(analyzers.DefaultSkipAfter + time.Second)
		run(t, a)
		if got := cursor(t, db); got != 8 {
			t.Fatalf("cursor %d, want 8: 4..8 skipped after the bound (9 is the tip, it waits as any tip does)", got)
		}
		if ms := readMisses(t, db); len(ms) != 0 {
			t.Errorf("misses %+v: a height without its set must not be analysed", ms)
		}
		if n := count(t, db, "cosmos_heights"); n != 3 {
			t.Errorf("%d analysed heights, want 3", n)
		}
	})
}

// At a fresh start the first height has no block interval before it: the
// blocks to jail are projected at once but the time is unknown (not 0 ms,
// which the time_to_jail rule read as "jailed now"), until ten intervals
// have been seen; then it is blocks × the mean interval.
func TestTimeToJailUnknownAtStart(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		sk := newSink(t, db)
		a := newAnalyzer(t, db, analyzers.Chain{Window: 10000, MinSigned: 0.05}, nil, &clock{start})
		for h := int64(1); h <= 11; h++ {
			s.height(h, heightOpts{who: map[int]behaviour{3: offline}})
			apply(t, sk, s.take(), 64)
			run(t, a)
			v := readStats(t, db)[addr(3)]
			wantBlocks := 9500 - h + 1
			if v.BlocksToJail != wantBlocks {
				t.Fatalf("height %d: blocks to jail %d, want %d", h, v.BlocksToJail, wantBlocks)
			}
			switch {
			case h <= 10 && v.TimeToJailMs != state.JailTimeUnknown:
				t.Fatalf("height %d (%d intervals): time to jail %d ms, want unknown (%d)", h, h-1, v.TimeToJailMs, state.JailTimeUnknown)
			case h == 11 && v.TimeToJailMs != wantBlocks*blockMs:
				t.Fatalf("height 11 (10 intervals): time to jail %d ms, want %d", v.TimeToJailMs, wantBlocks*blockMs)
			}
		}
	})
}
