package analyzers_test

import (
	"maps"
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
