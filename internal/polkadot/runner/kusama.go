package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

// KUSAMA_RANK reads the Kusama instance's whole candidate list in one
// bounded request (GET …/{chain}/candidates) and answers every candidate
// of a pass from it, instead of one request per candidate: 1,000
// candidates at a slow instance used to run a pass into the analyzer's
// timeout. The list is cached; a failed or late read is an error for
// every candidate (their checks unknown, the last verdicts kept), and is
// not retried before kusamaRetry so a dead instance does not slow each
// pass.
const (
	kusamaTTL      = 10 * time.Minute
	kusamaRetry    = 2 * time.Minute
	kusamaDeadline = 20 * time.Second
	// maxKusamaBody bounds the list: ~1,000 candidates of a few KiB each.
	maxKusamaBody = 32 << 20
)

// kusamaClient has no timeout of its own: the batch deadline bounds it.
var kusamaClient = &http.Client{}

// kusamaRanks caches one Kusama instance's answers by stash key.
type kusamaRanks struct {
	mu       sync.Mutex
	key      string // api and chain the answers are from
	at       time.Time
	by       map[string]*program.KusamaRank // nil: none read
	failedAt time.Time
	err      string
	// ttl, retry and deadline default to kusamaTTL, kusamaRetry and
	// kusamaDeadline (tests shorten them). after starts the deadline's
	// timer (time.After by default): a test fires it itself, so that the
	// late path is taken when the test says, not when a busy machine lets
	// a wall-clock timer run out.
	ttl, retry, deadline time.Duration
	after                func(time.Duration) <-chan time.Time
}

// rank is the Kusama instance's answer on stash as of now, read at most
// once per ttl (a failure at most once per retry).
func (k *kusamaRanks) rank(ctx context.Context, api, chain, stash string, now time.Time) *program.KusamaRank {
	if chain == "" {
		chain = "kusama"
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if key := api + "\x00" + chain; k.key != key {
		k.key, k.by, k.err = key, nil, ""
	}
	fresh := k.by != nil && now.Sub(k.at) < orDefault(k.ttl, kusamaTTL)
	failing := k.err != "" && now.Sub(k.failedAt) < orDefault(k.retry, kusamaRetry)
	if !fresh && !failing {
		after := k.after
		if after == nil {
			after = time.After
		}
		by, err := fetchKusamaRanks(ctx, api, chain, orDefault(k.deadline, kusamaDeadline), after)
		if err != nil {
			k.err, k.failedAt = fmt.Sprintf("kusama candidates from %s: %v", redactURL(api), err), now
		} else {
			k.by, k.at, k.err = by, now, ""
		}
	}
	if k.err != "" {
		return &program.KusamaRank{Err: k.err}
	}
	if r, ok := k.by[stashKey(stash)]; ok {
		return r
	}
	return &program.KusamaRank{Found: false}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// stashKey is the public key of an SS58 address (the two instances may
// write it with different prefixes), else the text itself.
func stashKey(s string) string {
	if key, _, err := ss58.Decode(strings.TrimSpace(s)); err == nil {
		return fmt.Sprintf("%x", key)
	}
	return s
}

// kusamaCandidate is the part of the Kusama instance's candidate view
// KUSAMA_RANK reads. valid alone is 1KV's field, false for an unknown
// verdict too; the status valtrack adds tells the two apart.
type kusamaCandidate struct {
	Stash             string `json:"stash"`
	Rank              int    `json:"rank"`
	Valid             bool   `json:"valid"`
	Status            string `json:"status"`
	InvalidityReasons string `json:"invalidityReasons"`
	Validity          []struct {
		Type   string `json:"type"`
		Status string `json:"status"`
		Known  bool   `json:"known"`
		Error  string `json:"error"`
	} `json:"validity"`
}

func (d *kusamaCandidate) answer() *program.KusamaRank {
	k := &program.KusamaRank{Found: true, Rank: d.Rank, Valid: d.Valid}
	if d.InvalidityReasons != "" {
		k.Reasons = []string{clipText(d.InvalidityReasons, 1000)}
	}
	if d.Status == string(program.Unknown) {
		k.Valid, k.Unknown = false, true
		for _, c := range d.Validity {
			// The checks that make it unknown: never known, so no
			// verdict to keep.
			if c.Status == string(program.Unknown) && !c.Known && len(k.Unknowns) < 8 {
				k.Unknowns = append(k.Unknowns, clipText(c.Type+": "+c.Error, 300))
			}
		}
	}
	return k
}

// errKusamaLate is the cause of a read cancelled at its deadline.
var errKusamaLate = errors.New("the Kusama instance's deadline passed")

// fetchKusamaRanks reads the instance's candidate list within deadline
// (its timer started by after), indexed by stash key.
func fetchKusamaRanks(ctx context.Context, api, chain string, deadline time.Duration, after func(time.Duration) <-chan time.Time) (map[string]*program.KusamaRank, error) {
	u := strings.TrimRight(api, "/") + "/api/v1/polkadot/" + url.PathEscape(chain) + "/candidates"
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	late, done := after(deadline), make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-late:
			cancel(errKusamaLate)
		case <-done:
		}
	}()
	var list []kusamaCandidate
	err := fetchJSON(ctx, kusamaClient, u, 0, maxKusamaBody, &list)
	var nf *notFound
	switch {
	case asNotFound(err, &nf):
		return nil, fmt.Errorf("the instance does not serve chain %q (rules.kusama_chain)", chain)
	case err != nil && errors.Is(context.Cause(ctx), errKusamaLate):
		return nil, fmt.Errorf("no complete answer within %s", deadline)
	case err != nil:
		return nil, err
	case len(list) == 0:
		// Every candidate would be "not listed", so invalid, on an answer
		// that shows no evaluation at all (an instance still starting, a
		// broken proxy in front of it): unknown until it lists some.
		return nil, errors.New("the instance lists no candidates at all: taken as no answer (is it running its program on Kusama yet?)")
	}
	by := make(map[string]*program.KusamaRank, len(list))
	for i := range list {
		by[stashKey(list[i].Stash)] = list[i].answer()
	}
	return by, nil
}
