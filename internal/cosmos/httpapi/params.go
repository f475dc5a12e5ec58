package httpapi

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/valtrack/valtrack/internal/api"
)

// Limits on the Cosmos routes' parameters and answers. Everything in a path
// or query string comes from an anonymous client, so every value is bounded
// before it reaches the store, and so is every list an answer holds.
const (
	maxHeight = math.MaxInt64
	// /missed: the default span (heights before the latest analysed one),
	// the widest span asked for explicitly, and page sizes.
	defaultMissedSpan = 1000
	maxMissedSpan     = 100_000
	defaultMissed     = 100
	maxMissed         = 1000
	maxValidatorLen   = 128 // an address (hex) or a moniker
	maxValidatorMatch = 16  // addresses one moniker may stand for
	// /grid.
	defaultGridBlocks = 50
	maxGridBlocks     = 500
	// /consensus: recent is this many analysed heights.
	recentHeights = 20
	// /validators/{address}.
	recentMisses = 50
	maxChanges   = 100
	// /heights/{height}: votes listed at most (rounds × validators × 2 in a
	// long stall can be large).
	maxHeightVotes = 20_000
	// Lists read from the store whole (members of a set, monikers of a
	// chain, chains) stop here rather than grow without bound.
	maxSetMembers = 10_000
	maxChains     = 1000
)

// addressRE bounds {address}: a CometBFT consensus address is 40 hex
// characters; the events allow up to 128. Case is normalised to upper.
var addressRE = regexp.MustCompile(`^[0-9A-Fa-f]{1,128}$`)

// parseAddress checks an {address} path value and returns it upper-case.
func parseAddress(s string) (string, error) {
	if !addressRE.MatchString(s) {
		return "", api.BadParam("address", "address must be a validator's consensus address in hex (40 hex characters, e.g. 6A2F…), at most 128 characters")
	}
	return strings.ToUpper(s), nil
}

// parseHeight reads a block height (path value or query parameter) from 1
// to maxHeight.
func parseHeight(name, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 1 {
		return 0, api.BadParam(name, "%s must be a block height, an integer from 1 to %d", name, int64(maxHeight))
	}
	return n, nil
}

// missedParams are /missed's parameters as given; From and To are 0 when
// absent.
type missedParams struct {
	Validator string
	From, To  int64
	Limit     int
}

func parseMissed(q api.Query) (missedParams, error) {
	var p missedParams
	var err error
	if p.Validator, err = q.Str("validator", maxValidatorLen); err != nil {
		return p, err
	}
	for _, h := range []struct {
		name string
		dst  *int64
	}{{"from", &p.From}, {"to", &p.To}} {
		if s := q.Get(h.name); s != "" {
			if *h.dst, err = parseHeight(h.name, s); err != nil {
				return p, err
			}
		}
	}
	if p.From != 0 && p.To != 0 {
		if p.From > p.To {
			return p, api.BadParam("from", "from (%d) must not be above to (%d)", p.From, p.To)
		}
		if p.To-p.From >= maxMissedSpan {
			return p, api.BadParam("from", "from..to spans more than %d heights; ask for a narrower range", maxMissedSpan)
		}
	}
	if p.Limit, err = q.IntRange("limit", defaultMissed, 1, maxMissed); err != nil {
		return p, err
	}
	return p, nil
}

// span resolves the heights /missed covers, inclusive, given the latest
// analysed height: to defaults to latest, from to the defaultMissedSpan
// heights ending at to; a from alone covers at most maxMissedSpan heights.
// Checked parameters always give 1 <= from and to-from < maxMissedSpan; to
// may be below from when from is beyond the latest height (nothing to list).
func (p missedParams) span(latest int64) (from, to int64) {
	from, to = p.From, p.To
	switch {
	case from == 0 && to == 0:
		to = max(latest, 1)
		from = max(1, to-defaultMissedSpan+1)
	case from == 0:
		from = max(1, to-defaultMissedSpan+1)
	case to == 0:
		to = latest
		if from <= maxHeight-maxMissedSpan+1 {
			to = min(to, from+maxMissedSpan-1)
		}
	}
	return from, to
}
