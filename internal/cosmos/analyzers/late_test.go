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
