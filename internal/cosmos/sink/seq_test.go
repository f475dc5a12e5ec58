package sink_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

// storedSeqs maps the stored votes (of one height and round) to their
// stored_seq, by "type/validator index".
func storedSeqs(t *testing.T, db *store.DB) map[string]int64 {
	t.Helper()
	rows, err := db.Reader().Query("SELECT type, validator_index, stored_seq FROM cosmos_votes")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var typ, idx int
		var seq int64
		if err := rows.Scan(&typ, &idx, &seq); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%d/%d", typ, idx)] = seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Each stored vote takes a stored_seq above those of every earlier batch
// (what the analyzer's late-vote re-check reads the new votes by), a
// redelivered vote keeps the value of its first copy, and state.VoteSeq is
// the highest value handed out.
func TestVotesTakeStoredSeq(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sk := newSink(t, db, nil)
		if seq, err := state.VoteSeq(ctx, db); err != nil || seq != 0 {
			t.Fatalf("vote sequence of an empty store: %d, %v; want 0", seq, err)
		}
		mustApply(t, sk, batch(vote(5, events.Prevote, 0, "AA", "a", 1), vote(5, events.Prevote, 1, "AA", "a", 1)))
		first := storedSeqs(t, db)
		mustApply(t, sk, batch(vote(5, events.Precommit, 0, "AA", "a", 2), vote(5, events.Prevote, 0, "AA", "b", 2),
			vote(5, events.Precommit, 1, "AA", "a", 2)))
		second := storedSeqs(t, db)
		if len(first) != 2 || len(second) != 4 {
			t.Fatalf("votes stored %v then %v, want 2 then 4", first, second)
		}
		if first["1/0"] < 1 || first["1/1"] < 1 || first["1/0"] == first["1/1"] {
			t.Errorf("first batch's stored_seq %v, want two distinct values above 0", first)
		}
		if second["1/0"] != first["1/0"] || second["1/1"] != first["1/1"] {
			t.Errorf("a redelivered vote changed the stored_seq of its first copy: %v, were %v", second, first)
		}
		top := max(first["1/0"], first["1/1"])
		if second["2/0"] <= top || second["2/1"] <= top || second["2/0"] == second["2/1"] {
			t.Errorf("second batch's precommits have stored_seq %d and %d, want distinct values above the first batch's %d", second["2/0"], second["2/1"], top)
		}
		seq, err := state.VoteSeq(ctx, db)
		if err != nil || seq < max(second["2/0"], second["2/1"]) {
			t.Errorf("vote sequence %d (%v), want at least the highest stored_seq %v", seq, err, second)
		}
	})
}
