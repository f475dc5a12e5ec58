package analyzers

import (
	"slices"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos/state"
)

// Every cause the analyzer can write is in Causes (the API's enum), and
// every member of Causes is one it writes: cause() over all its inputs,
// plus not_in_set, which analyse writes directly.
func TestCausesAreWhatTheAnalyzerWrites(t *testing.T) {
	got := map[string]bool{CauseNotInSet: true}
	codes := []int{state.VoteUnknown, state.VoteAbsent, state.VoteBlock, state.VoteNil}
	for _, observed := range []bool{false, true} {
		for _, pv := range codes {
			for _, pc := range codes {
				for _, sig := range []bool{false, true} {
					for _, vote := range []bool{false, true} {
						c := cause(observed, pv, pc, sig, vote)
						if !slices.Contains(Causes, c) {
							t.Errorf("cause(%v, %d, %d, %v, %v) = %q, not in Causes %v", observed, pv, pc, sig, vote, c, Causes)
						}
						got[c] = true
					}
				}
			}
		}
	}
	for _, c := range Causes {
		if !got[c] {
			t.Errorf("Causes lists %q, which the analyzer never writes", c)
		}
	}
}
