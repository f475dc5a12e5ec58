package sentry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/retry"
	"github.com/valtrack/valtrack/internal/safe"
)

// setQueue holds the validator sets to index, by height, until each is
// published (or its height is pruned everywhere). The merge loop adds to it
// without ever blocking or dropping; the indexer takes the lowest height
// that is due.
type setQueue struct {
	mu      sync.Mutex
	pending map[int64]*setTry
	wake    chan struct{} // capacity 1: something was added
}

type setTry struct {
	hash     string // the header's validators_hash of the height ("" unknown)
	attempts int
	due      time.Time
}

// Bounds of a failing set request's retry delay: retried forever, since a
// set that is never stored holds the analysis of its heights up.
const (
	setRetryMin = 500 * time.Millisecond
	setRetryMax = 30 * time.Second
)

func (q *setQueue) ask(h int64, hash string) {
	q.mu.Lock()
	if t, ok := q.pending[h]; ok {
		if t.hash == "" {
			t.hash = hash
		}
	} else {
		q.pending[h] = &setTry{hash: hash}
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next is the lowest due height, or how long until one is due (0: none).
func (q *setQueue) next(now time.Time) (h int64, t setTry, wait time.Duration, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for ph, pt := range q.pending {
		if !pt.due.After(now) {
			if !ok || ph < h {
				h, t, ok = ph, *pt, true
			}
		} else if d := pt.due.Sub(now); wait == 0 || d < wait {
			wait = d
		}
	}
	return h, t, wait, ok
}

func (q *setQueue) done(h int64) {
	q.mu.Lock()
	delete(q.pending, h)
	q.mu.Unlock()
}

// retry schedules h again after a failure and returns its attempts and delay.
func (q *setQueue) retry(h int64, now time.Time) (int, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.pending[h]
	if t == nil {
		return 0, 0
	}
	t.attempts++
	d := retry.Backoff(t.attempts-1, setRetryMin, setRetryMax)
	t.due = now.Add(d)
	return t.attempts, d
}

// Len is the number of sets waiting to be indexed.
func (q *setQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// indexValidators fetches and publishes the full set of each height the
// merger asks for (at start, and where validators_hash changed), retrying
// a failed one until it works; only a height pruned on every endpoint is
// given up, with a warning and a pruned_heights event (what
// validator_set), so that the analyzer skips its heights at once.
func (s *Sentry) indexValidators(ctx context.Context) {
	for {
		h, t, wait, ok := s.sets.next(time.Now())
		if !ok {
			if wait == 0 {
				wait = time.Hour // nothing pending: only wake matters
			}
			tm := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				tm.Stop()
				return
			case <-s.sets.wake:
			case <-tm.C:
			}
			tm.Stop()
			continue
		}
		pruned, err := s.indexSet(ctx, h, t.hash)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			s.sets.done(h)
		case pruned.endpoints > 0:
			s.sets.done(h)
			s.log.Warn("cosmos sentry: validator sets pruned on every endpoint; the analyzer skips the heights without their set, and the set of the lowest height held is indexed instead",
				"from", h, "to", pruned.lowest-1, "validators_hash", t.hash, "lowest_available", pruned.lowest, "err", err)
			// Every height below the lowest held has lost its set, not h
			// alone. Not published (the bus refused it): the analyzer
			// waits its bound for these heights, and skips them then.
			s.publish(ctx, &events.PrunedHeights{V: events.SchemaVersion, Chain: s.cfg.Chain, From: h, To: pruned.lowest - 1,
				LowestAvailable: pruned.lowest, Endpoints: pruned.endpoints, What: events.PrunedValidatorSet,
				ValidatorsHash: t.hash, Observer: s.observer(pruned.endpoint, pruned.at)})
			// The set of the lowest height held is the one in effect there
			// (maybe still h's): indexed without a hash (the indexer does
			// not know that height's header), so the heights from there
			// on are analysed against it rather than wait for h's.
			s.sets.ask(pruned.lowest, "")
		default:
			n, d := s.sets.retry(h, time.Now())
			s.log.Warn("cosmos sentry: validator set not read; retrying (the analysis of its heights waits for it)",
				"height", h, "attempt", n, "in", d, "waiting_sets", s.sets.Len(), "err", err)
		}
	}
}

// setPruned says that every endpoint asked for a set answered that it no
// longer holds the height (endpoints 0: not so).
type setPruned struct {
	endpoints int
	lowest    int64     // the lowest height any of them holds (above the set's)
	endpoint  string    // the one that holds the least
	at        time.Time // when it said so
}

// indexSet reads the set of h from the endpoints, healthy ones first, and
// publishes it. When every endpoint answers that it has pruned h, it says
// so in pruned (with the last error).
func (s *Sentry) indexSet(ctx context.Context, h int64, hash string) (pruned setPruned, _ error) {
	var lastErr error = errNoEndpoint
	eps := s.healthyFirst(h)
	for _, ep := range eps {
		setH, vals, err := ep.client.ValidatorSet(ctx, h)
		var na *rpc.HeightNotAvailableError
		if errors.As(err, &na) {
			if pruned.endpoints == 0 || na.Lowest < pruned.lowest {
				pruned.lowest, pruned.endpoint = na.Lowest, ep.name
			}
			pruned.endpoints++
			pruned.at = time.Now()
		}
		if err != nil {
			lastErr = err
			continue
		}
		if len(vals) == 0 {
			lastErr = fmt.Errorf("%s: empty validator set at height %d", ep.name, h)
			continue
		}
		ev := &events.ValidatorSet{V: events.SchemaVersion, Chain: s.cfg.Chain, Height: setH, Validators: vals,
			Observer: s.observer(ep.name, time.Now())}
		if setH == h {
			ev.ValidatorsHash = hash // the set of height h is the one its header names
		}
		if !s.publish(ctx, ev) {
			if ctx.Err() != nil {
				return setPruned{}, ctx.Err()
			}
			return setPruned{}, nil // refused: logged by publish; asking again would get the same answer
		}
		keys := make(map[string]string, len(vals))
		for _, v := range vals {
			keys[v.PubKey] = v.Address
		}
		s.setMu.Lock()
		s.setKey = keys
		s.setMu.Unlock()
		s.log.Info("cosmos sentry: validator set indexed", "height", setH, "validators", len(vals), "endpoint", ep.name)
		return setPruned{}, nil
	}
	if pruned.endpoints < len(eps) {
		return setPruned{}, lastErr // some endpoint may still have it: retried
	}
	pruned.lowest = max(pruned.lowest, h+1)
	return pruned, lastErr
}

// Bounds of a read of x/staking's validators, from the LCD, over gRPC or
// over abci_query alike.
const (
	maxLCDResponse  = 16 << 20
	maxStakingPages = 200 // pages of one read: 40,000 validators from the LCD or gRPC, 20,000 over abci_query
	lcdPageLimit    = 200
	// A gRPC page is bounded by rpc.MaxGRPCMessage (4 MiB): 200
	// validators at their longest are ~750 kB.
	grpcPageLimit = 200
	// Over abci_query a page is one value of at most 1 MiB (rpc's bound):
	// 100 validators with descriptions at their longest (~3.7 kB) fit.
	abciPageLimit = 100
)

// stakingValidator is a validator as x/staking describes it, from the
// LCD, over gRPC or over abci_query.
type stakingValidator struct {
	operator, moniker string
	key               string // base64 consensus key, as /validators writes pub_key.value
	address           string // consensus address when the reader knows it (ed25519 over abci_query), else ""
	jailed            bool
}

// names is one read of the chain's validator names.
type names struct {
	vals     []stakingValidator
	source   string // events.NameFromLCD | NameFromGRPC | NameFromABCI
	endpoint string // the LCD's, the gRPC endpoint's or the RPC endpoint's name
}

// readMonikers names the indexed set's validators every LCDEvery (first
// once a set is known) from x/staking: the LCD when one is configured and
// answers, else the gRPC endpoint when one is configured and answers,
// else abci_query on the healthy endpoints (every Cosmos SDK
// node answers /cosmos.staking.v1beta1.Query/Validators, so no LCD is
// needed). A chain that answers none (no x/staking, such as CometBFT's
// kvstore app) is said once in the log: its validators keep their addresses,
// or the /status moniker of a node that is one (poll). Errors are logged,
// never fatal.
func (s *Sentry) readMonikers(ctx context.Context, g *rpc.GRPCClient) {
	var lcd *lcdClient
	if s.cfg.LCD != "" {
		lcd = s.lcd()
	}
	published := map[string]string{} // address → what was published
	told, toldLCD := false, false    // said once until names are read again
	rr := readReports{what: "validator names"}
	for {
		s.setMu.Lock()
		keys := s.setKey
		s.setMu.Unlock()
		wait := s.cfg.LCDEvery
		if keys == nil {
			wait = time.Second // no set yet
		} else {
			got, err := s.fetchNames(ctx, lcd, g, &rr)
			switch {
			case ctx.Err() != nil:
				return
			case err == nil:
				told, toldLCD = false, false
			case got.vals != nil:
				s.log.Warn("cosmos sentry: validator names read in part; the rest keep their earlier name or address until the next read",
					"source", got.source, "endpoint", got.endpoint, "validators", len(got.vals), "next_read_in", wait, "err", err)
			case errors.Is(err, errNoEndpoint):
				wait = s.cfg.PollEvery // no healthy endpoint yet: ask again soon
				if lcd != nil && !toldLCD {
					s.log.Warn("cosmos sentry: LCD validators not read, and no healthy endpoint to ask over abci_query yet", "err", err)
					toldLCD = true
				}
			case notServed(err):
				// Every source answers without x/staking: the chain has none
				// (or the LCD or gRPC endpoint is another chain's); asking
				// again gets the same answer, so it is no warning.
				if !told {
					hint := ""
					if lcd == nil {
						hint = "; give --cosmos-lcd " + s.cfg.Chain + "=URL if an LCD names them"
					}
					s.log.Info("cosmos sentry: the chain answers no x/staking query ("+sourcesAsked(lcd != nil, g != nil)+"), so validators are shown by address (or a validator node's /status moniker)"+hint, "err", err)
					told = true
				}
			default:
				s.log.Warn("cosmos sentry: validator names not read; validators keep their earlier name or address", "err", err)
			}
			s.publishNames(ctx, got, keys, published)
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// sourcesAsked names the sources a read asks, for a log line.
func sourcesAsked(lcd, grpc bool) string {
	var s []string
	if lcd {
		s = append(s, "the LCD")
	}
	if grpc {
		s = append(s, "gRPC")
	}
	return strings.Join(append(s, "abci_query"), ", ")
}

// notServed: every failure in err is an application that does not serve
// the query (or no endpoint to ask) — what a chain without x/staking
// answers, said once rather than warned about at every read.
func notServed(err error) bool {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if !errors.Is(e, rpc.ErrNotAvailable) && !errors.Is(e, errNoEndpoint) {
			return false
		}
	}
	return true
}

// publishNames publishes the names of the set's validators that changed
// since published. A validator is matched by its consensus key, as the set
// writes it, else by its consensus address (a key the set writes in
// another form); one of neither is not in the set (unbonded).
func (s *Sentry) publishNames(ctx context.Context, got names, keys map[string]string, published map[string]string) {
	var inSet map[string]bool
	for _, v := range got.vals {
		addr, ok := keys[v.key]
		if !ok && v.address != "" {
			if inSet == nil {
				inSet = make(map[string]bool, len(keys))
				for _, a := range keys {
					inSet[a] = true
				}
			}
			addr, ok = v.address, inSet[v.address]
		}
		if !ok {
			continue
		}
		sig := v.moniker + "\x00" + v.operator + "\x00" + strconv.FormatBool(v.jailed)
		if published[addr] == sig {
			continue
		}
		ev := &events.ValidatorInfo{V: events.SchemaVersion, Chain: s.cfg.Chain, Address: addr, Moniker: v.moniker,
			OperatorAddress: v.operator, Jailed: v.jailed, Source: got.source, Observer: s.observer(got.endpoint, time.Now())}
		if s.publish(ctx, ev) {
			published[addr] = sig
		}
	}
}

// fetchNames reads x/staking's validators: from the LCD (if any), else
// over gRPC (if configured), else from
// each healthy endpoint with abci_query, until one answers in full.
// When none does, the largest partial read is returned (the LCD's first)
// with the errors. errNoEndpoint: no LCD answer and no healthy endpoint to
// ask. The LCD's and gRPC's failures are reported through rr.
func (s *Sentry) fetchNames(ctx context.Context, lcd *lcdClient, g *rpc.GRPCClient, rr *readReports) (names, error) {
	var errs []error
	var best names
	keep := func(n names) {
		if len(n.vals) > len(best.vals) {
			best = n
		}
	}
	lcdFailed := false // and a warning when another source answers
	if lcd != nil {
		vals, err := lcd.validators(ctx)
		n := names{vals: vals, source: events.NameFromLCD, endpoint: lcd.name()}
		if err == nil {
			rr.answered(sourceLCD)
			return n, nil
		}
		lcdFailed = !rr.notAvailable(s.log, sourceLCD, lcd.name(), err)
		keep(n)
		errs = append(errs, err)
	}
	if g != nil {
		vals, err := stakingPages(ctx, g, "gRPC", g.Addr(), grpcPageLimit)
		n := names{vals: vals, source: events.NameFromGRPC, endpoint: g.Addr()}
		if err == nil {
			rr.answered(sourceGRPC)
			if lcdFailed {
				s.log.Warn("cosmos sentry: LCD validators not read; names read over gRPC instead", "endpoint", g.Addr(), "err", errors.Join(errs...))
			}
			return n, nil
		}
		rr.grpcFailed(s.log, g.Addr(), err)
		keep(n)
		errs = append(errs, err)
	}
	eps := s.healthy()
	for _, ep := range eps {
		vals, err := stakingPages(ctx, ep.client, "abci_query", ep.name, abciPageLimit)
		n := names{vals: vals, source: events.NameFromABCI, endpoint: ep.name}
		if err == nil {
			// A gRPC failure alone was reported by rr, as often as
			// retry.Reports says; a failing LCD warns at every read.
			if lcdFailed {
				s.log.Warn("cosmos sentry: LCD validators not read; names read over abci_query instead", "endpoint", ep.name, "err", errors.Join(errs...))
			}
			return n, nil
		}
		keep(n)
		errs = append(errs, err)
	}
	if len(eps) == 0 {
		errs = append(errs, errNoEndpoint)
	}
	return best, errors.Join(errs...)
}

// stakingPager reads a page of x/staking's validators: rpc.Client over
// abci_query, rpc.GRPCClient over gRPC.
type stakingPager interface {
	StakingValidators(ctx context.Context, nextKey []byte, limit uint64) ([]rpc.StakingValidator, []byte, error)
}

// stakingPages reads every page of x/staking's validators from one
// endpoint (named name, asked via), following next_key, at most
// maxStakingPages pages of limit; on an error it returns the pages read
// so far.
func stakingPages(ctx context.Context, p stakingPager, via, name string, limit uint64) ([]stakingValidator, error) {
	var out []stakingValidator
	var key []byte
	for range maxStakingPages {
		vals, next, err := p.StakingValidators(ctx, key, limit)
		if err != nil {
			return out, err
		}
		for _, v := range vals {
			out = append(out, stakingValidator{operator: v.OperatorAddress, moniker: v.Moniker, key: v.PubKey, address: v.Address, jailed: v.Jailed})
		}
		if len(next) == 0 || bytes.Equal(next, key) {
			return out, nil
		}
		key = next
	}
	return out, fmt.Errorf("%s %s on %s: more than %d pages of %d validators", via, rpc.StakingValidatorsPath, name, maxStakingPages, limit)
}

// Sources of a read, as readReports names them.
const (
	sourceLCD  = "LCD"
	sourceGRPC = "gRPC"
)

// readReports reports the LCD's and the gRPC endpoint's failures of one
// read loop (names or parameters: what). A source that answers but does
// not serve the query (rpc.ErrNotAvailable: Unimplemented over gRPC, HTTP
// 501 from the LCD; a chain without the module) is said once at info, per
// source, until it answers again: asking again every LCDEvery gets the
// same answer, and a warning each time would bury real ones. The gRPC
// endpoint's other failures go through retry.Reports: it is asked every
// LCDEvery for as long as it is down, and each failure is a warning only
// on the first reads of an outage, on a new error and every
// retry.EveryWarning-th read (the rest at debug); abci_query is asked
// next either way. Not safe for concurrent use.
type readReports struct {
	what    string
	reports retry.Reports
	attempt int             // failed gRPC reads in a row
	told    map[string]bool // sources whose not-available was said
}

// answered: source answered in full.
func (r *readReports) answered(source string) {
	delete(r.told, source)
	if source == sourceGRPC {
		r.attempt = 0
	}
}

// notAvailable says whether err is the source not serving the query, and
// says so once at info (asking abci_query, or the next source, instead).
func (r *readReports) notAvailable(log *slog.Logger, source, endpoint string, err error) bool {
	if !errors.Is(err, rpc.ErrNotAvailable) {
		return false
	}
	if !r.told[source] {
		if r.told == nil {
			r.told = map[string]bool{}
		}
		r.told[source] = true
		log.Info("cosmos sentry: the "+source+" endpoint does not serve "+r.what+" (the chain has no such module?); the next source is asked instead, and this is said once",
			"endpoint", endpoint, "err", err)
	}
	return true
}

func (r *readReports) grpcFailed(log *slog.Logger, endpoint string, err error) {
	if r.notAvailable(log, sourceGRPC, endpoint, err) {
		r.attempt = 0 // the endpoint answers: no outage
		return
	}
	r.attempt++
	level := slog.LevelDebug
	if r.reports.Warn(r.attempt, err) {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, "cosmos sentry: "+r.what+" not read over gRPC; asking abci_query instead",
		"endpoint", endpoint, "attempt", r.attempt, "err", err)
}

func (s *Sentry) lcd() *lcdClient {
	return &lcdClient{base: s.cfg.LCD, secrets: rpc.Secrets(s.cfg.LCD), timeout: s.cfg.RequestTimeout, http: &http.Client{}}
}

// Sources of the slashing parameters (events.Params.Source).
const (
	ParamsFromLCD  = "lcd"
	ParamsFromGRPC = "grpc"
	ParamsFromABCI = "abci"
)

// readParams publishes the chain's x/slashing parameters when they change,
// read every LCDEvery: from the LCD when one is configured and answers,
// else from the gRPC endpoint when one is configured and answers, else
// with abci_query on a healthy endpoint. A chain that answers neither
// (no x/slashing, such as CometBFT's kvstore app) is said once in the log; the
// analyzer then reports the time to jail as unknown unless
// --cosmos-slashing gives the parameters.
func (s *Sentry) readParams(ctx context.Context, g *rpc.GRPCClient) {
	var lcd *lcdClient
	if s.cfg.LCD != "" {
		lcd = s.lcd()
	}
	var last events.Params
	told := false
	rr := readReports{what: "slashing parameters"}
	for {
		p, err := s.fetchParams(ctx, lcd, g, &rr)
		wait := s.cfg.LCDEvery
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errNoEndpoint):
			wait = s.cfg.PollEvery // no healthy endpoint yet: ask again soon
		case err != nil:
			if !told {
				s.log.Info("cosmos sentry: the chain's slashing parameters are not readable; give them with --cosmos-slashing "+s.cfg.Chain+"=WINDOW:MIN (or --cosmos-lcd)", "err", err)
				told = true
			}
		case p.SignedBlocksWindow != last.SignedBlocksWindow || p.MinSignedPerWindow != last.MinSignedPerWindow || p.Source != last.Source:
			p.V, p.Chain = events.SchemaVersion, s.cfg.Chain
			if s.publish(ctx, p) {
				last = *p
			}
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// fetchParams asks the LCD (if any), then the gRPC endpoint (if any; its
// failures, and the LCD's not serving them, reported through rr), then
// each healthy endpoint with abci_query. errNoEndpoint: no LCD or gRPC
// answer and no healthy endpoint to ask.
func (s *Sentry) fetchParams(ctx context.Context, lcd *lcdClient, g *rpc.GRPCClient, rr *readReports) (*events.Params, error) {
	var errs []error
	if lcd != nil {
		p, err := lcd.params(ctx)
		if err == nil {
			rr.answered(sourceLCD)
			p.Source, p.Observer = ParamsFromLCD, s.observer(lcd.name(), time.Now())
			return p, nil
		}
		rr.notAvailable(s.log, sourceLCD, lcd.name(), err)
		errs = append(errs, err)
	}
	if g != nil {
		sp, err := g.SlashingParams(ctx)
		if err == nil {
			rr.answered(sourceGRPC)
			return &events.Params{SignedBlocksWindow: sp.SignedBlocksWindow, MinSignedPerWindow: sp.MinSignedPerWindow,
				Source: ParamsFromGRPC, Observer: s.observer(g.Addr(), time.Now())}, nil
		}
		rr.grpcFailed(s.log, g.Addr(), err)
		errs = append(errs, err)
	}
	eps := s.healthy()
	for _, ep := range eps {
		sp, err := ep.client.SlashingParams(ctx)
		if err == nil {
			return &events.Params{SignedBlocksWindow: sp.SignedBlocksWindow, MinSignedPerWindow: sp.MinSignedPerWindow,
				Source: ParamsFromABCI, Observer: s.observer(ep.name, time.Now())}, nil
		}
		errs = append(errs, err)
	}
	if len(eps) == 0 {
		errs = append(errs, errNoEndpoint)
	}
	return nil, errors.Join(errs...)
}

type lcdClient struct {
	base    string
	secrets []string
	timeout time.Duration
	http    *http.Client
}

func (c *lcdClient) name() string {
	u, err := url.Parse(c.base)
	if err != nil {
		return "lcd"
	}
	return u.Host
}

func (c *lcdClient) get(ctx context.Context, path string, params url.Values) ([]byte, error) {
	u, err := url.Parse(c.base)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("LCD %s: not a URL with a host", rpc.Redact(c.base))
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = rpc.AddQuery(u.RawQuery, params)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s from the LCD: %w", path, rpc.Scrub(err, c.secrets))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s from the LCD %s: %w", path, u.Host, rpc.Scrub(err, c.secrets))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLCDResponse+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s from the LCD %s: %w", path, u.Host, rpc.Scrub(err, c.secrets))
	}
	if len(body) > maxLCDResponse {
		return nil, fmt.Errorf("GET %s from the LCD %s: response over %d bytes", path, u.Host, maxLCDResponse)
	}
	if resp.StatusCode == http.StatusNotImplemented {
		// grpc-gateway's answer for a query the node's gRPC server does
		// not have (Unimplemented): no such module on the chain.
		return nil, fmt.Errorf("GET %s from the LCD %s: HTTP 501: %s: %w", path, u.Host, safe.String(string(body), 200), rpc.ErrNotAvailable)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s from the LCD %s: HTTP %d: %s", path, u.Host, resp.StatusCode, safe.String(string(body), 200))
	}
	return body, nil
}

func (c *lcdClient) validators(ctx context.Context) ([]stakingValidator, error) {
	var out []stakingValidator
	key := ""
	for range maxStakingPages {
		p := url.Values{"pagination.limit": {strconv.Itoa(lcdPageLimit)}}
		if key != "" {
			p.Set("pagination.key", key)
		}
		body, err := c.get(ctx, "/cosmos/staking/v1beta1/validators", p)
		if err != nil {
			return out, err
		}
		vals, next, err := decodeLCDValidators(body)
		if err != nil {
			return out, err
		}
		out = append(out, vals...)
		if next == "" || next == key {
			return out, nil
		}
		key = next
	}
	return out, fmt.Errorf("LCD validators: more than %d pages of %d", maxStakingPages, lcdPageLimit)
}

// decodeLCDValidators decodes a page of /cosmos/staking/v1beta1/validators.
func decodeLCDValidators(body []byte) ([]stakingValidator, string, error) {
	var w struct {
		Validators []struct {
			OperatorAddress rpc.Text `json:"operator_address"`
			ConsensusPubkey struct {
				Key rpc.Text `json:"key"`
			} `json:"consensus_pubkey"`
			Jailed      rpc.Bool `json:"jailed"`
			Description struct {
				Moniker rpc.Text `json:"moniker"`
			} `json:"description"`
		} `json:"validators"`
		Pagination struct {
			NextKey rpc.Text `json:"next_key"`
		} `json:"pagination"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, "", fmt.Errorf("decode LCD validators: %w", err)
	}
	if len(w.Validators) > 10000 {
		return nil, "", fmt.Errorf("decode LCD validators: %d on one page", len(w.Validators))
	}
	out := make([]stakingValidator, 0, len(w.Validators))
	for _, v := range w.Validators {
		if v.ConsensusPubkey.Key == "" {
			continue
		}
		out = append(out, stakingValidator{operator: string(v.OperatorAddress), moniker: string(v.Description.Moniker),
			key: string(v.ConsensusPubkey.Key), jailed: bool(v.Jailed)})
	}
	return out, string(w.Pagination.NextKey), nil
}

func (c *lcdClient) params(ctx context.Context) (*events.Params, error) {
	body, err := c.get(ctx, "/cosmos/slashing/v1beta1/params", nil)
	if err != nil {
		return nil, err
	}
	return decodeLCDParams(body)
}

// decodeLCDParams decodes /cosmos/slashing/v1beta1/params:
// signed_blocks_window a string, min_signed_per_window a decimal string.
func decodeLCDParams(body []byte) (*events.Params, error) {
	var w struct {
		Params struct {
			SignedBlocksWindow rpc.Int64 `json:"signed_blocks_window"`
			MinSignedPerWindow rpc.Text  `json:"min_signed_per_window"`
		} `json:"params"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("decode LCD slashing params: %w", err)
	}
	f, err := strconv.ParseFloat(string(w.Params.MinSignedPerWindow), 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return nil, fmt.Errorf("decode LCD slashing params: min_signed_per_window %q is not a decimal in 0..1", w.Params.MinSignedPerWindow)
	}
	if w.Params.SignedBlocksWindow < 1 {
		return nil, fmt.Errorf("decode LCD slashing params: signed_blocks_window %d is not positive", w.Params.SignedBlocksWindow)
	}
	return &events.Params{SignedBlocksWindow: int64(w.Params.SignedBlocksWindow), MinSignedPerWindow: f}, nil
}
