package program

import (
	"fmt"
	"math"
	"math/big"
	"sort"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// NominatorInput is one nominator of a round and how many targets it can
// back (TargetCount).
type NominatorInput struct {
	Account string
	Count   int
}

// The lowest elected stakes TargetCount skips (1KV: a nominator is not
// sized against the thinnest validators, which are unrepresentative).
const skipLowestStakes = 5

// TargetCount is how many targets a nominator with balance (free +
// reserved, planck) can usefully back, 1KV's autoNumNominations: keep a
// buffer of max(0.2 %, 20 tokens); over the elected validators' totals in
// ascending order, the 5 lowest skipped, find the largest count whose
// totals sum below the buffered balance; then ceil(count × 1.05), capped at
// maxTargets (≤ 0: no cap), at least 1. Computed in planck, exactly.
func TargetCount(balance events.Amount, electedStakes []events.Amount, maxTargets, decimals int) int {
	bal := balance.Big()
	reserve := new(big.Int).Div(new(big.Int).Mul(bal, big.NewInt(2)), big.NewInt(1000))
	floor := new(big.Int).Mul(big.NewInt(20), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(decimals, 0))), nil))
	if reserve.Cmp(floor) < 0 {
		reserve = floor
	}
	buffered := new(big.Int).Sub(bal, reserve)

	totals := make([]*big.Int, len(electedStakes))
	for i, s := range electedStakes {
		totals[i] = s.Big()
	}
	sort.Slice(totals, func(a, b int) bool { return totals[a].Cmp(totals[b]) < 0 })
	amount := 0
	sum := new(big.Int)
	for i := skipLowestStakes; i < len(totals); i++ {
		sum.Add(sum, totals[i])
		if sum.Cmp(buffered) >= 0 {
			break
		}
		amount = i - skipLowestStakes + 1
	}
	n := (amount*105 + 99) / 100 // ceil(amount × 1.05)
	if maxTargets > 0 && n > maxTargets {
		n = maxTargets
	}
	return max(n, 1)
}

// Assign cuts the ranked valid list into consecutive, non-overlapping
// slices: nominator i gets the Count candidates after those of the
// nominators before it. A nominator the list runs out for gets what is
// left (or nothing), said in its Note.
func Assign(ranked []Score, nominators []NominatorInput) []Assignment {
	out := make([]Assignment, 0, len(nominators))
	next := 0
	for _, n := range nominators {
		a := Assignment{Nominator: n.Account, Count: n.Count, Targets: []string{}}
		switch {
		case n.Count <= 0:
			a.Note = "no targets: its balance backs none"
		case next >= len(ranked):
			a.Note = fmt.Sprintf("no targets left: the %d ranked candidates went to the nominators before it", len(ranked))
		default:
			end := min(next+n.Count, len(ranked))
			for _, s := range ranked[next:end] {
				a.Targets = append(a.Targets, s.Stash)
			}
			if got := end - next; got < n.Count {
				a.Note = fmt.Sprintf("only %d of %d targets left in the ranked list", got, n.Count)
			}
			next = end
		}
		out = append(out, a)
	}
	return out
}

// IsRoundDue: a nomination round is due when the program has not
// nominated yet, or `period` eras (0 counts as 1) have passed since the
// last round's era (1KV: lastNominatedEra ≤ activeEra − eraBuffer).
func IsRoundDue(lastNominatedEra, activeEra, period uint32, haveNominated bool) bool {
	if !haveNominated {
		return true
	}
	if period == 0 {
		period = 1
	}
	return uint64(lastNominatedEra)+uint64(period) <= uint64(activeEra)
}

// NextRoundEra is the era the next round is due in: the active era when
// the program has not nominated yet, else `period` eras (0 counts as 1)
// after the last round's era.
func NextRoundEra(lastNominatedEra, activeEra, period uint32, haveNominated bool) uint32 {
	if !haveNominated {
		return activeEra
	}
	if period == 0 {
		period = 1
	}
	return uint32(min(uint64(lastNominatedEra)+uint64(period), math.MaxUint32))
}

// EstimateEraStart is the unix ms era `era` is expected to start: the
// active era's start plus whole eras of eraMs; now when it is the active
// era or earlier (the round is due); 0 when the start or the era length
// is unknown.
func EstimateEraStart(era, activeEra uint32, activeEraStart, eraMs, now int64) int64 {
	if era <= activeEra {
		return now
	}
	if activeEraStart <= 0 || eraMs <= 0 {
		return 0
	}
	return activeEraStart + int64(era-activeEra)*eraMs
}
