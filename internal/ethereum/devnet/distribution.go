package devnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// maxDistributionSpec bounds the --validators text; it is typed by a person.
const maxDistributionSpec = 1 << 16

type bucket struct {
	lo, hi int
	share  float64
}

// parseValidators turns a --validators spec into per-node validator counts.
// The spec is either an explicit list "64,0,3" (repeated over the nodes) or
// buckets "0:40%,1-4:30%,8-32:20%,64-200:10%" whose shares are of nodes;
// nodes get bucket counts in proportion (largest remainders) and a count
// drawn uniformly in the bucket's range, then are shuffled by the seed.
func parseValidators(spec string, nodes int, rng *rand.Rand) ([]int, error) {
	spec = strings.TrimSpace(spec)
	if len(spec) > maxDistributionSpec {
		return nil, fmt.Errorf("validators spec is longer than %d bytes", maxDistributionSpec)
	}
	if spec == "" {
		return nil, fmt.Errorf("validators spec is empty; give e.g. %q or a list like 64,0,3", DefaultValidators)
	}
	parts := strings.Split(spec, ",")
	if !strings.Contains(spec, ":") {
		list := make([]int, 0, len(parts))
		for _, p := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 0 || n > maxValidators {
				return nil, fmt.Errorf("validators list item %q is not a count between 0 and %d", p, maxValidators)
			}
			list = append(list, n)
		}
		out := make([]int, nodes)
		for i := range out {
			out[i] = list[i%len(list)]
		}
		return out, checkTotal(out)
	}
	var bs []bucket
	var total float64
	for _, p := range parts {
		rangeText, shareText, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok {
			return nil, fmt.Errorf("validators bucket %q is not COUNT:SHARE%% or LO-HI:SHARE%%", p)
		}
		var b bucket
		loText, hiText, isRange := strings.Cut(rangeText, "-")
		lo, err1 := strconv.Atoi(strings.TrimSpace(loText))
		hi := lo
		var err2 error
		if isRange {
			hi, err2 = strconv.Atoi(strings.TrimSpace(hiText))
		}
		if err1 != nil || err2 != nil || lo < 0 || hi < lo || hi > maxValidators {
			return nil, fmt.Errorf("validators bucket %q: range must be COUNT or LO-HI with 0 <= LO <= HI <= %d", p, maxValidators)
		}
		b.lo, b.hi = lo, hi
		share, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(shareText), "%"), 64)
		if err != nil || share < 0 || math.IsNaN(share) || math.IsInf(share, 0) {
			return nil, fmt.Errorf("validators bucket %q: share must be a non-negative percentage", p)
		}
		b.share = share
		total += share
		bs = append(bs, b)
	}
	if total <= 0 {
		return nil, fmt.Errorf("validators spec %q: shares add up to 0", spec)
	}
	// Largest-remainder apportionment, so small devnets still get every
	// bucket its fair number of nodes.
	counts := make([]int, len(bs))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(bs))
	assigned := 0
	for i, b := range bs {
		exact := float64(nodes) * b.share / total
		counts[i] = int(exact)
		assigned += counts[i]
		rems[i] = rem{i, exact - float64(counts[i])}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; assigned < nodes; k++ {
		counts[rems[k%len(rems)].i]++
		assigned++
	}
	out := make([]int, 0, nodes)
	for i, b := range bs {
		for j := 0; j < counts[i]; j++ {
			out = append(out, b.lo+rng.IntN(b.hi-b.lo+1))
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, checkTotal(out)
}

func checkTotal(counts []int) error {
	sum := 0
	for _, c := range counts {
		sum += c
		if sum > maxValidators {
			return fmt.Errorf("validators add up to more than %d; use smaller counts", maxValidators)
		}
	}
	return nil
}
