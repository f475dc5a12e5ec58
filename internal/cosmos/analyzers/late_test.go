package analyzers_test

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

// voteKey names one vote of the sim.
type voteKey struct {
	height int64
	val    int
	typ    string
}

// holdBack splits evs into the rest and the votes named in late.
func holdBack(evs []events.Event, late ...voteKey) (rest, held []events.Event) {
	for _, e := range evs {
		v, ok := e.(*events.Vote)
		isLate := false
		for _, k := range late {
			isLate = isLate || ok && v.Height == k.height && v.ValidatorAddress == addr(k.val) && v.Type == k.typ
		}
		if isLate {
			held = append(held, e)
		} else {
			rest = append(rest, e)
		}
	}
	return rest, held
}

// Votes stored after their height was analysed (a precommit of H after
// NewBlock(H), a slower endpoint, a late consumer batch) still count for
// that height: the next pass corrects its miss rows and the validators'
// totals, while it analyses the new heights; a vote later than LateVotes
// is not counted.
func TestVoteStoredAfterAnalysis(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 4, heightOpts{})
		s.height(5, heightOpts{who: map[int]behaviour{
			2: {"block", "block", 'A'}, // its precommit late, and left out of the commit
			1: {"block", "block", 'C'}, // its precommit late, in the commit
			0: {"block", "nil", 'N'},   // its prevote late
		}})
		s.height(6, heightOpts{who: map[int]behaviour{3: {"block", "block", 'A'}}})
		rest, late5 := holdBack(s.take(), voteKey{5, 2, events.Precommit}, voteKey{5, 1, events.Precommit}, voteKey{5, 0, events.Prevote})
		rest, late6 := holdBack(rest, voteKey{6, 3, events.Precommit})
		sk := newSink(t, db)
		apply(t, sk, rest, 64)
		c := &clock{start}
		a := newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, c)
		run(t, a)
		before := []miss{
			{Height: 5, Address: addr(0), Index: 0, Prevote: state.VoteAbsent, Precommit: state.VoteNil, Flag: state.FlagNil,
				MissedPrevote: true, MissedPrecommit: true, Cause: analyzers.CauseNilVote},
			{Height: 5, Address: addr(1), Index: 1, Prevote: state.VoteBlock, Precommit: state.VoteAbsent, Flag: state.FlagCommit,
				MissedPrecommit: true, Cause: analyzers.CausePrevoteOnly},
			{Height: 5, Address: addr(2), Index: 2, Prevote: state.VoteBlock, Precommit: state.VoteAbsent, Flag: state.FlagAbsent,
				MissedPrecommit: true, MissedSig: true, Cause: analyzers.CausePrevoteOnly, Solo: true},
			{Height: 6, Address: addr(3), Index: 3, Prevote: state.VoteBlock, Precommit: state.VoteAbsent, Flag: state.FlagAbsent,
				MissedPrecommit: true, MissedSig: true, Cause: analyzers.CausePrevoteOnly, Solo: true},
		}
		checkMisses(t, db, "before the late votes", before)

		// The late votes of 5 arrive with two new heights.
		c.now = c.now.Add(time.Minute)
		s.heights(7, 8, heightOpts{})
		apply(t, sk, append(late5, s.take()...), 64)
		run(t, a)
		if h := cursor(t, db); h != 8 {
			t.Fatalf("analysed up to %d, want 8", h)
		}
		after := []miss{
			{Height: 5, Address: addr(0), Index: 0, Prevote: state.VoteBlock, Precommit: state.VoteNil, Flag: state.FlagNil,
				MissedPrecommit: true, Cause: analyzers.CauseNilVote},
			{Height: 5, Address: addr(2), Index: 2, Prevote: state.VoteBlock, Precommit: state.VoteBlock, Flag: state.FlagAbsent,
				MissedSig: true, Cause: analyzers.CausePrecommitNotIncluded, Solo: true},
			before[3],
		}
		checkMisses(t, db, "after the late votes", after)
		st := readStats(t, db)
		want := map[int]stats{
			0: {MissedPrevote: 0, MissedPrecommit: 1},
			1: {MissedPrevote: 0, MissedPrecommit: 0},
			2: {Missed: 1, MissedPrecommit: 0, WindowMissed: 1},
			3: {Missed: 1, MissedPrecommit: 1, WindowMissed: 1},
		}
		for i, w := range want {
			v := st[addr(i)]
			if v.Missed != w.Missed || v.MissedPrevote != w.MissedPrevote || v.MissedPrecommit != w.MissedPrecommit || v.WindowMissed != w.WindowMissed ||
				v.WindowSize != 8 || v.Signed != 8-w.Missed {
				t.Errorf("validator %d: %+v, want missed %d, missed prevotes %d, precommits %d, window 8 with %d missed",
					i, v, w.Missed, w.MissedPrevote, w.MissedPrecommit, w.WindowMissed)
			}
		}

		// A pass without news changes nothing (each vote is counted once).
		run(t, a)
		checkMisses(t, db, "after a pass without news", after)
		if again := readStats(t, db); !maps.Equal(again, st) {
			t.Errorf("stats changed by a pass without news: %+v, were %+v", again, st)
		}

		// Past LateVotes, a late vote is kept but no longer counted.
		c.now = c.now.Add(analyzers.DefaultLateVotes + time.Second)
		apply(t, sk, late6, 64)
		run(t, a)
		checkMisses(t, db, "after a vote later than LateVotes", after)

		// A restarted analyzer starts from the corrected totals.
		run(t, newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, nil, c))
		if again := readStats(t, db); !maps.Equal(again, st) {
			t.Errorf("stats after a restart: %+v, want %+v", again, st)
		}
	})
}

func checkMisses(t *testing.T, db *store.DB, when string, want []miss) {
	t.Helper()
	ms := readMisses(t, db)
	if len(ms) != len(want) {
		t.Fatalf("%s: misses %+v, want %+v", when, ms, want)
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("%s: row %d: %+v, want %+v", when, i, ms[i], want[i])
		}
	}
}

// A late vote for a height many batches below the cursor (a catch-up
// analyses several batches within LateVotes) is corrected like one for the
// height just below it, and leaves the rows and every total exactly as an
// analysis that had the vote in time; one stored after LateVotes is not.
func TestLateVoteBatchesBehind(t *testing.T) {
	const batch, top = 5, 30
	dialectsOpen(t, func(t *testing.T, open func() *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 2, heightOpts{})
		s.height(3, heightOpts{who: map[int]behaviour{
			0: {"block", "nil", 'N'},   // its prevote late
			1: {"block", "block", 'C'}, // its precommit late, in the commit
			2: {"block", "block", 'A'}, // its precommit late, left out of the commit
		}})
		s.height(4, heightOpts{who: map[int]behaviour{3: {"block", "block", 'A'}}})
		s.heights(5, top, heightOpts{})
		rest, late3 := holdBack(s.take(), voteKey{3, 0, events.Prevote}, voteKey{3, 1, events.Precommit}, voteKey{3, 2, events.Precommit})
		rest, late4 := holdBack(rest, voteKey{4, 3, events.Precommit})
		ch := analyzers.Chain{Window: 100, MinSigned: 0.5}

		// What an analysis that had the votes of 3 in time says.
		ref := open()
		apply(t, newSink(t, ref), append(append([]events.Event(nil), rest...), late3...), 64)
		rc := &clock{start}
		ra := newAnalyzerCfg(t, ch, rc, analyzers.Config{DB: ref, Batch: batch})
		for range top / batch {
			run(t, ra)
		}

		db := open()
		sk := newSink(t, db)
		apply(t, sk, rest, 64)
		c := &clock{start}
		a := newAnalyzerCfg(t, ch, c, analyzers.Config{DB: db, Batch: batch})
		for range top / batch {
			c.now = c.now.Add(time.Second)
			run(t, a)
		}
		if h := cursor(t, db); h != top {
			t.Fatalf("analysed up to %d, want %d", h, top)
		}
		if got := readMisses(t, db); len(got) != 4 || got[0].Height != 3 || got[0].Prevote != state.VoteAbsent {
			t.Fatalf("misses before the late votes: %+v, want 3 at height 3 (validator 0's prevote absent) and 1 at 4", got)
		}

		// The votes of 3, six batches below the cursor, arrive a minute
		// after its analysis.
		c.now = c.now.Add(time.Minute)
		apply(t, sk, late3, 64)
		run(t, a)
		want := readMisses(t, ref)
		checkMisses(t, db, "after the late votes of height 3", want)
		wantStats := readStats(t, ref)
		if got := readStats(t, db); !maps.Equal(got, wantStats) {
			t.Errorf("stats after the late votes: %+v, want those of an analysis that had them in time: %+v", got, wantStats)
		}
		if got := want[0]; got.Height != 3 || got.Prevote != state.VoteBlock || got.Cause != analyzers.CauseNilVote {
			t.Errorf("validator 0 at 3: %+v, want its prevote for the block and cause nil_vote", got)
		}

		// The precommit of 4, stored after LateVotes, is kept but not counted.
		c.now = c.now.Add(analyzers.DefaultLateVotes)
		apply(t, sk, late4, 64)
		run(t, a)
		checkMisses(t, db, "after a vote later than LateVotes", want)
		if got := readStats(t, db); !maps.Equal(got, wantStats) {
			t.Errorf("stats changed by a vote later than LateVotes: %+v, want %+v", got, wantStats)
		}
	})
}

// Late votes stored while no analyzer runs, within LateVotes of their
// heights' analysis, are credited by the first pass of the next analyzer,
// which re-checks the whole window (it does not know which votes the last
// one read) — so is a vote stored before migration 0009 (stored_seq 0) —
// and later ones by its passes that read only the votes stored since; a
// vote is credited for the round it names only, and one stored after
// LateVotes is counted neither before a restart nor after. In the end the
// rows and the totals are those of an analysis that had in time every
// vote that counts.
func TestLateVotesAcrossRestart(t *testing.T) {
	const batch, top = 5, 30
	dialectsOpen(t, func(t *testing.T, open func() *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 2, heightOpts{})
		s.height(3, heightOpts{who: map[int]behaviour{1: {"block", "block", 'C'}}}) // 1's precommit late
		s.height(4, heightOpts{who: map[int]behaviour{2: {"block", "block", 'A'}}}) // 2's precommit after LateVotes
		s.height(5, heightOpts{who: map[int]behaviour{3: {"block", "nil", 'N'}}})   // 3's prevote stored before 0009
		s.height(6, heightOpts{round: 1})                                           // 0's precommits of rounds 0 and 1 late
		s.heights(7, top, heightOpts{})
		rest, late3 := holdBack(s.take(), voteKey{3, 1, events.Precommit})
		rest, late4 := holdBack(rest, voteKey{4, 2, events.Precommit})
		rest, late5 := holdBack(rest, voteKey{5, 3, events.Prevote})
		rest, late6 := holdBack(rest, voteKey{6, 0, events.Precommit})
		var round0, round1 []events.Event
		for _, e := range late6 {
			if e.(*events.Vote).Round == 0 {
				round0 = append(round0, e)
			} else {
				round1 = append(round1, e)
			}
		}
		if len(late3) != 1 || len(late4) != 1 || len(late5) != 1 || len(round0) != 1 || len(round1) != 1 {
			t.Fatalf("held back %d, %d, %d, %d+%d votes, want one each", len(late3), len(late4), len(late5), len(round0), len(round1))
		}
		ch := analyzers.Chain{Window: 100, MinSigned: 0.5}
		ctx := context.Background()

		// What an analysis that had every vote that counts in time says.
		ref := open()
		apply(t, newSink(t, ref), append(append([]events.Event(nil), rest...), slices.Concat(late3, late5, late6)...), 64)
		ra := newAnalyzerCfg(t, ch, &clock{start}, analyzers.Config{DB: ref, Batch: batch})
		for range top / batch {
			run(t, ra)
		}

		db := open()
		sk := newSink(t, db)
		apply(t, sk, rest, 64)
		c := &clock{start}
		a := newAnalyzerCfg(t, ch, c, analyzers.Config{DB: db, Batch: batch})
		for range top / batch {
			c.now = c.now.Add(time.Second)
			run(t, a)
		}
		if h := cursor(t, db); h != top {
			t.Fatalf("analysed up to %d, want %d", h, top)
		}

		// The analyzer stops; a minute later, votes arrive: 3's, 5's
		// (a row as migration 0009 leaves those stored before it) and
		// the round-0 precommit of 6, which names another round than the
		// commit's.
		c.now = c.now.Add(time.Minute)
		apply(t, sk, slices.Concat(late3, late5, round0), 64)
		if err := db.InTx(ctx, "unset stored_seq", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE cosmos_votes SET stored_seq = 0 WHERE height = 5 AND type = 1 AND validator_address = '"+addr(3)+"'")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		a = newAnalyzerCfg(t, ch, c, analyzers.Config{DB: db, Batch: batch})
		run(t, a)
		byKey := func(ms []miss, h int64, val int) (miss, bool) {
			for _, m := range ms {
				if m.Height == h && m.Address == addr(val) {
					return m, true
				}
			}
			return miss{}, false
		}
		got := readMisses(t, db)
		if m, ok := byKey(got, 3, 1); ok {
			t.Errorf("after the restart, 3's late precommit not credited: %+v", m)
		}
		if m, ok := byKey(got, 5, 3); !ok || m.Prevote != state.VoteBlock || !m.MissedPrecommit || m.MissedPrevote {
			t.Errorf("after the restart, 5's prevote stored before 0009 not credited: %+v (found %v)", m, ok)
		}
		if m, ok := byKey(got, 6, 0); !ok || m.Precommit != state.VoteAbsent || !m.MissedPrecommit {
			t.Errorf("6's precommit of round 0 credited to the commit's round 1: %+v (found %v), want the precommit absent", m, ok)
		}

		// The round-1 precommit of 6 arrives; the restarted analyzer
		// credits it in a pass that reads only the votes stored since.
		c.now = c.now.Add(10 * time.Second)
		apply(t, sk, round1, 64)
		run(t, a)
		if m, ok := byKey(readMisses(t, db), 6, 0); ok {
			t.Errorf("6's precommit of round 1 not credited: %+v", m)
		}

		// 4's precommit after LateVotes: kept, counted neither by the
		// running analyzer nor by a restarted one.
		c.now = c.now.Add(analyzers.DefaultLateVotes)
		apply(t, sk, late4, 64)
		run(t, a)
		run(t, newAnalyzerCfg(t, ch, c, analyzers.Config{DB: db, Batch: batch}))
		var n int
		if err := db.Reader().QueryRow("SELECT count(*) FROM cosmos_votes WHERE height = 4 AND type = 2 AND validator_address = '" + addr(2) + "'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("4's late precommit stored %d times (%v), want once", n, err)
		}
		checkMisses(t, db, "in the end", readMisses(t, ref))
		if got, want := readStats(t, db), readStats(t, ref); !maps.Equal(got, want) {
			t.Errorf("stats in the end: %+v, want those of an analysis that had the votes that count in time: %+v", got, want)
		}
	})
}
