package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// request is the common start of the handlers: the parsed query, a context
// bounded by the query timeout (cancel is never nil) and the resolved
// chain.
func (h *handlers) request(r *http.Request) (api.Query, context.Context, context.CancelFunc, string, error) {
	ctx, cancel := h.rt.QueryContext(r)
	q, err := api.ParseQuery(r)
	if err != nil {
		return q, ctx, cancel, "", err
	}
	chain, err := h.nets.Resolve(ctx, r)
	return q, ctx, cancel, chain, err
}

// requestAddress is request plus the {address} path value.
func (h *handlers) requestAddress(r *http.Request) (api.Query, context.Context, context.CancelFunc, string, string, error) {
	q, ctx, cancel, chain, err := h.request(r)
	if err != nil {
		return q, ctx, cancel, chain, "", err
	}
	a, err := h.address(ctx, chain, r.PathValue("address"))
	return q, ctx, cancel, chain, a, err
}

func ok(w http.ResponseWriter, r *http.Request, v any) error {
	return api.WriteJSON(w, r, http.StatusOK, v)
}

// decimals are the chain's token decimals, -1 when no chain record has
// arrived.
func (h *handlers) decimals(ctx context.Context, chain string) (int, error) {
	c, err := h.st.Chain(ctx, chain)
	if err != nil {
		return 0, fmt.Errorf("chain record of %s: %w", chain, err)
	}
	if c == nil {
		return -1, nil
	}
	return c.Decimals, nil
}

type candidateList int

const (
	candidatesAll candidateList = iota
	candidatesValid
	candidatesInvalid
	candidatesByRank
)

// handleCandidates serves the candidate lists: by score total, highest
// first (the valid and invalid ones too), or by rank.
func (h *handlers) handleCandidates(which candidateList) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
		_, ctx, cancel, chain, err := h.request(r)
		defer cancel()
		if err != nil {
			return err
		}
		var f state.CandidateFilter
		switch which {
		case candidatesValid:
			f.Status = program.Valid
		case candidatesInvalid:
			f.Status = program.Invalid
		}
		cs, err := h.st.Candidates(ctx, chain, f)
		if err != nil {
			return fmt.Errorf("candidates of %s: %w", chain, err)
		}
		if which == candidatesByRank {
			state.SortByRank(cs)
		} else {
			state.SortByTotal(cs)
		}
		dec, err := h.decimals(ctx, chain)
		if err != nil {
			return err
		}
		out := make([]candidateView, len(cs))
		for i, c := range cs {
			out[i] = newCandidateView(c, dec)
		}
		return ok(w, r, out)
	}
}

func (h *handlers) handleCandidate(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, addr, err := h.requestAddress(r)
	defer cancel()
	if err != nil {
		return err
	}
	c, err := h.st.Candidate(ctx, chain, addr)
	if err != nil {
		return fmt.Errorf("candidate %s of %s: %w", addr, chain, err)
	}
	if c == nil {
		return api.NotFound("address", "no candidate with this stash on %s; GET …/candidates lists them", chain)
	}
	dec, err := h.decimals(ctx, chain)
	if err != nil {
		return err
	}
	return ok(w, r, newCandidateView(*c, dec))
}

// nominatorView is 1KV's Nominator row, from the program file's
// nominators as the runner recorded them, valtrack's nominations, its
// latest round, its proxy announcements and the chain's record of the
// account. 1KV's address is the controller; valtrack nominates from the
// bonded account, its own controller, so address and stash are the same.
type nominatorView struct {
	Address           string             `json:"address"`
	Stash             string             `json:"stash"`
	Proxy             string             `json:"proxy"`      // the proxy's account, "" none known
	ProxyDelay        *uint64            `json:"proxyDelay"` // blocks, null: not configured and no announcement known
	Bonded            *float64           `json:"bonded"`     // tokens, null unknown
	AvgStake          *float64           `json:"avgStake"`   // tokens of bond per target, null unknown
	NominateAmount    int                `json:"nominateAmount"`
	RewardDestination string             `json:"rewardDestination"`
	Current           []currentTarget    `json:"current"`
	LastNomination    int64              `json:"lastNomination"` // unix ms, 0 none yet
	CreatedAt         int64              `json:"createdAt"`
	IsProxy           bool               `json:"isProxy"`
	Configured        bool               `json:"configured"`   // in the program file now
	ConfiguredAt      *int64             `json:"configuredAt"` // first recorded from the file, null never
	RemovedAt         *int64             `json:"removedAt"`    // dropped from the file, null while configured
	LastEra           uint32             `json:"lastNominatedEra"`
	Latest            *state.Nomination  `json:"latest"` // null before its first nomination
	ProxyTxs          []state.ProxyTx    `json:"proxyTxs"`
	NominationEra     *uint32            `json:"nominationEra"`
	Chain             *chainAccountFacts `json:"chain,omitempty"`
	// NewBondedAmount is 1KV's pending bond change: valtrack has no source.
	NewBondedAmount noSource `json:"newBondedAmount"`
}

type currentTarget struct {
	Name     string `json:"name"`
	Stash    string `json:"stash"`
	Identity string `json:"identity"`
}

type chainAccountFacts struct {
	BalancePlanck string `json:"balancePlanck"`
	Error         string `json:"error,omitempty"`
}

// nominatorFacts are the chain-wide reads the nominator views share.
type nominatorFacts struct {
	names   map[string]state.Candidate
	dec     int
	txs     []state.ProxyTx // newest first
	first   map[string]int64
	amounts map[string]int // targets per nominator in the latest round
}

func (h *handlers) readNominatorFacts(ctx context.Context, chain string) (*nominatorFacts, error) {
	f := &nominatorFacts{names: map[string]state.Candidate{}, amounts: map[string]int{}}
	cs, err := h.st.Candidates(ctx, chain, state.CandidateFilter{})
	if err != nil {
		return nil, fmt.Errorf("candidates of %s: %w", chain, err)
	}
	for _, c := range cs {
		f.names[c.Entry.Stash] = c
	}
	if f.dec, err = h.decimals(ctx, chain); err != nil {
		return nil, err
	}
	if f.txs, err = h.st.ProxyTxs(ctx, chain, false, state.MaxLimit); err != nil {
		return nil, fmt.Errorf("proxy txs of %s: %w", chain, err)
	}
	if f.first, err = h.st.FirstNominations(ctx, chain); err != nil {
		return nil, fmt.Errorf("nominations of %s: %w", chain, err)
	}
	last, err := h.st.LastRound(ctx, chain)
	if err != nil {
		return nil, fmt.Errorf("last round of %s: %w", chain, err)
	}
	if last != nil {
		for _, a := range last.Assignments {
			f.amounts[a.Nominator] = a.Count
		}
	}
	return f, nil
}

// nominators are the views of every nominator the store knows, by
// account: each the program file lists or once listed (recorded by the
// runner, so before its first nomination too) and each with a nomination;
// only one account when only is set.
func (h *handlers) nominators(ctx context.Context, chain, only string) ([]nominatorView, error) {
	recorded, err := h.st.Nominators(ctx, chain)
	if err != nil {
		return nil, fmt.Errorf("nominators of %s: %w", chain, err)
	}
	latest, err := h.st.LatestNominations(ctx, chain)
	if err != nil {
		return nil, fmt.Errorf("nominations of %s: %w", chain, err)
	}
	f, err := h.readNominatorFacts(ctx, chain)
	if err != nil {
		return nil, err
	}
	conf := map[string]*state.Nominator{}
	last := map[string]*state.Nomination{}
	var accounts []string
	for i, n := range recorded {
		conf[n.Account] = &recorded[i]
		accounts = append(accounts, n.Account)
	}
	for i, n := range latest {
		if conf[n.Nominator] == nil {
			accounts = append(accounts, n.Nominator)
		}
		last[n.Nominator] = &latest[i]
	}
	slices.Sort(accounts)
	out := []nominatorView{}
	for _, a := range accounts {
		if only != "" && a != only {
			continue
		}
		v, err := h.nominatorView(ctx, chain, a, conf[a], last[a], f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// nominatorView is the view of account: c its record from the program
// file, n its latest nomination (each nil when there is none).
func (h *handlers) nominatorView(ctx context.Context, chain, account string, c *state.Nominator, n *state.Nomination, f *nominatorFacts) (nominatorView, error) {
	v := nominatorView{Address: account, Stash: account, CreatedAt: f.first[account], Latest: n, ProxyTxs: []state.ProxyTx{},
		NominateAmount: f.amounts[account], Current: []currentTarget{}}
	var targets []string
	if n != nil {
		v.LastNomination, v.LastEra, targets = n.At, n.Era, n.Targets
	}
	if c != nil {
		v.Configured, v.IsProxy, v.Proxy = c.Removed == 0, c.Proxy, c.Delegate
		d := uint64(c.ProxyDelay)
		v.ProxyDelay, v.ConfiguredAt = &d, &c.Added
		if c.Removed > 0 {
			v.RemovedAt = &c.Removed
		}
		if v.CreatedAt == 0 || c.Added < v.CreatedAt {
			v.CreatedAt = c.Added // known as a nominator since
		}
	}
	acct, err := h.st.Validator(ctx, chain, account)
	if err != nil {
		return v, fmt.Errorf("chain record of nominator %s: %w", account, err)
	}
	if acct != nil {
		if acct.NominationTargets.Known {
			targets = acct.NominationTargets.Value // what the chain says it nominates now
		}
		if acct.NominationEra.Known {
			e := acct.NominationEra.Value
			v.NominationEra = &e
		}
		if acct.SelfStake.Known && f.dec >= 0 {
			b := acct.SelfStake.Value.Tokens(f.dec)
			v.Bonded = &b
		}
		v.RewardDestination = acct.Payee.Value
		v.Chain = &chainAccountFacts{BalancePlanck: string(acct.Balance.Value), Error: acct.Balance.Err}
	}
	if v.NominateAmount == 0 {
		v.NominateAmount = len(targets)
	}
	if v.Bonded != nil && len(targets) > 0 {
		avg := *v.Bonded / float64(len(targets))
		v.AvgStake = &avg
	}
	for _, t := range targets {
		ct := currentTarget{Stash: t}
		if c, ok := f.names[t]; ok {
			ct.Name = c.Entry.Name
			if c.Validator != nil && c.Validator.Identity.Value != nil {
				ct.Identity = c.Validator.Identity.Value.Name()
			}
		}
		v.Current = append(v.Current, ct)
	}
	announced := false
	for _, p := range f.txs {
		if p.Nominator != account {
			continue
		}
		// The newest announcement names the proxy the file does not: a
		// nominator never recorded from the file, or a proxy whose account
		// its runner did not read (one that does not send loads no key).
		if !announced && p.ExecuteAfter >= p.AnnouncedBlock {
			announced = true
			switch {
			case c == nil:
				d := p.ExecuteAfter - p.AnnouncedBlock
				v.IsProxy, v.Proxy, v.ProxyDelay = true, p.Delegate, &d
			case c.Proxy && v.Proxy == "":
				v.Proxy = p.Delegate
			}
		}
		if p.State == state.ProxyAnnounced {
			v.ProxyTxs = append(v.ProxyTxs, p)
		}
	}
	return v, nil
}

func (h *handlers) handleNominators(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	ns, err := h.nominators(ctx, chain, "")
	if err != nil {
		return err
	}
	return ok(w, r, ns)
}

func (h *handlers) handleNominator(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, addr, err := h.requestAddress(r)
	defer cancel()
	if err != nil {
		return err
	}
	ns, err := h.nominators(ctx, chain, addr)
	if err != nil {
		return err
	}
	if len(ns) == 0 {
		return api.NotFound("address", "no nominator with this account on %s (not in the program file, no nomination); GET …/nominators lists them", chain)
	}
	return ok(w, r, ns[0])
}

// nominationView is 1KV's Nomination row {address, era, validators,
// timestamp, bonded, blockHash} plus valtrack's fields. bonded is the
// nominator's bond in tokens by the chain's latest read (valtrack does not
// keep the bond of each nomination), null when unknown.
type nominationView struct {
	Address    string   `json:"address"`
	Era        uint32   `json:"era"`
	Validators []string `json:"validators"`
	Timestamp  int64    `json:"timestamp"`
	Bonded     *float64 `json:"bonded"`
	BlockHash  string   `json:"blockHash"`
	TxHash     string   `json:"txHash"`
	DryRun     bool     `json:"dryRun"`
	RoundID    int64    `json:"roundId"`
	ID         string   `json:"id"`
}

func newNominationView(n state.Nomination, bonded *float64) nominationView {
	return nominationView{Address: n.Nominator, Era: n.Era, Validators: n.Targets, Timestamp: n.At, Bonded: bonded, BlockHash: n.BlockHash,
		TxHash: n.TxHash, DryRun: n.DryRun, RoundID: n.RoundID, ID: n.ID}
}

// bondOf reads accounts' bonds in tokens (nil unknown), each once.
type bondOf struct {
	h     *handlers
	chain string
	dec   int
	seen  map[string]*float64
}

func (h *handlers) bonds(ctx context.Context, chain string) (*bondOf, error) {
	dec, err := h.decimals(ctx, chain)
	return &bondOf{h: h, chain: chain, dec: dec, seen: map[string]*float64{}}, err
}

func (b *bondOf) of(ctx context.Context, who string) (*float64, error) {
	if v, ok := b.seen[who]; ok {
		return v, nil
	}
	acct, err := b.h.st.Validator(ctx, b.chain, who)
	if err != nil {
		return nil, fmt.Errorf("chain record of nominator %s: %w", who, err)
	}
	var v *float64
	if acct != nil && acct.SelfStake.Known && b.dec >= 0 {
		t := acct.SelfStake.Value.Tokens(b.dec)
		v = &t
	}
	b.seen[who] = v
	return v, nil
}

func (h *handlers) handleNominations(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	lim, err := listLimit(q)
	if err != nil {
		return err
	}
	ns, err := h.st.Nominations(ctx, chain, "", lim)
	if err != nil {
		return fmt.Errorf("nominations of %s: %w", chain, err)
	}
	bonds, err := h.bonds(ctx, chain)
	if err != nil {
		return err
	}
	out := make([]nominationView, len(ns))
	for i, n := range ns {
		b, err := bonds.of(ctx, n.Nominator)
		if err != nil {
			return err
		}
		out[i] = newNominationView(n, b)
	}
	return ok(w, r, out)
}

// handleLastNomination is 1KV's Era record {lastNominatedEraIndex (a
// string, as 1KV stores it), nextNomination, when} with the latest
// nomination and the program's round counter.
func (h *handlers) handleLastNomination(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	m, err := h.st.Meta(ctx, chain)
	if err != nil {
		return fmt.Errorf("program state of %s: %w", chain, err)
	}
	n, err := h.st.LastNomination(ctx, chain)
	if err != nil {
		return fmt.Errorf("last nomination of %s: %w", chain, err)
	}
	out := struct {
		LastNominatedEraIndex string  `json:"lastNominatedEraIndex"`
		NextNomination        *int64  `json:"nextNomination"` // unix ms, estimated; null unknown
		When                  int64   `json:"when"`
		LastNominatedEra      uint32  `json:"lastNominatedEra"`
		NextNominationEra     *uint32 `json:"nextNominationEra"`
		LastRoundID           int64   `json:"lastRoundId"`
		// RoundWaiting is why the due round is not started (an input it is
		// sized on unknown); null when none waits.
		RoundWaiting *string         `json:"roundWaiting"`
		Nomination   *nominationView `json:"nomination"`
	}{LastNominatedEraIndex: strconv.FormatUint(uint64(m.LastNominatedEra), 10), LastNominatedEra: m.LastNominatedEra, LastRoundID: m.LastRoundID}
	if m.NextNomination > 0 {
		out.NextNomination = &m.NextNomination
	}
	if m.RoundWait != "" {
		out.RoundWaiting = &m.RoundWait
	}
	if m.NextNominationEra > 0 || m.NextNomination > 0 {
		out.NextNominationEra = &m.NextNominationEra
	}
	if n != nil {
		bonds, err := h.bonds(ctx, chain)
		if err != nil {
			return err
		}
		b, err := bonds.of(ctx, n.Nominator)
		if err != nil {
			return err
		}
		v := newNominationView(*n, b)
		out.When, out.Nomination = n.At, &v
	}
	return ok(w, r, out)
}

// proxyTxView is 1KV's DelayedTx {number, controller, targets, callHash}
// with the rest of valtrack's record.
type proxyTxView struct {
	Number     uint64 `json:"number"`
	Controller string `json:"controller"`
	CallHash   string `json:"callHash"`
	state.ProxyTx
}

func (h *handlers) handleProxyTxs(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	lim, err := listLimit(q)
	if err != nil {
		return err
	}
	pending, err := q.Bool("pending")
	if err != nil {
		return err
	}
	ps, err := h.st.ProxyTxs(ctx, chain, pending, lim)
	if err != nil {
		return fmt.Errorf("proxy txs of %s: %w", chain, err)
	}
	out := make([]proxyTxView, len(ps))
	for i, p := range ps {
		out[i] = proxyTxView{Number: p.AnnouncedBlock, Controller: p.Nominator, CallHash: p.CallHash, ProxyTx: p}
	}
	return ok(w, r, out)
}

func (h *handlers) handleScore(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	return scored(h, w, r, "score", func(ctx context.Context, chain, stash string) (*scoreView, error) {
		sc, err := h.st.Score(ctx, chain, stash)
		return newScoreView(sc), err
	})
}

func (h *handlers) handleExplain(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	return scored(h, w, r, "score explanation", h.st.Explain)
}

// scored answers a stash's score record (the latest score, or its
// explanation), 404 for a stash never scored.
func scored[T any](h *handlers, w http.ResponseWriter, r *http.Request, what string,
	read func(ctx context.Context, chain, stash string) (*T, error)) error {
	_, ctx, cancel, chain, addr, err := h.requestAddress(r)
	defer cancel()
	if err != nil {
		return err
	}
	v, err := read(ctx, chain, addr)
	if err != nil {
		return fmt.Errorf("%s of %s on %s: %w", what, addr, chain, err)
	}
	if v == nil {
		return api.NotFound("address", "this stash has not been scored on %s (only valid candidates are)", chain)
	}
	return ok(w, r, v)
}

// handleScoreMetadata is the latest snapshot's weights and per-component
// statistics (1KV's score metadata), or 404 before the first scoring.
func (h *handlers) handleScoreMetadata(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	m, err := h.st.LatestSnapshot(ctx, chain)
	if err != nil {
		return fmt.Errorf("score metadata of %s: %w", chain, err)
	}
	if m == nil {
		return api.NotFound("", "no scoring has run on %s yet", chain)
	}
	return ok(w, r, scoreMetadataView{m})
}

func (h *handlers) handleEraPoints(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, addr, err := h.requestAddress(r)
	defer cancel()
	if err != nil {
		return err
	}
	ps, err := h.st.EraPoints(ctx, chain, addr)
	if err != nil {
		return fmt.Errorf("era points of %s on %s: %w", addr, chain, err)
	}
	type row struct {
		Era     uint32 `json:"era"`
		Address string `json:"address"`
		Points  uint32 `json:"eraPoints"`
		Active  bool   `json:"active"`
	}
	out := make([]row, len(ps))
	for i, p := range ps {
		out[i] = row{Era: p.Era, Address: addr, Points: p.Points, Active: p.Active}
	}
	return ok(w, r, out)
}

// handleValidators lists the chain's validator records: 1KV's {address,
// keys} with the rest of what the sentry read (merged facts).
func (h *handlers) handleValidators(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	active, err := q.Bool("active")
	if err != nil {
		return err
	}
	vs, err := h.st.Validators(ctx, chain, active)
	if err != nil {
		return fmt.Errorf("validators of %s: %w", chain, err)
	}
	type row struct {
		Address string            `json:"address"`
		Keys    map[string]string `json:"keys"`
		Record  any               `json:"record"`
	}
	out := make([]row, len(vs))
	for i, v := range vs {
		out[i] = row{Address: v.Stash, Keys: v.NextKeys.Value, Record: v}
	}
	return ok(w, r, out)
}

func (h *handlers) handleRounds(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	lim, err := listLimit(q)
	if err != nil {
		return err
	}
	rs, err := h.st.Rounds(ctx, chain, lim)
	if err != nil {
		return fmt.Errorf("rounds of %s: %w", chain, err)
	}
	return ok(w, r, rs)
}

func (h *handlers) handleFaults(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, addr, err := h.requestAddress(r)
	defer cancel()
	if err != nil {
		return err
	}
	lim, err := listLimit(q)
	if err != nil {
		return err
	}
	fs, err := h.st.Faults(ctx, chain, addr, lim)
	if err != nil {
		return fmt.Errorf("faults of %s on %s: %w", addr, chain, err)
	}
	// 1KV's fault event {when, reason} beside valtrack's record.
	type faultView struct {
		events.Fault
		When int64 `json:"when"`
	}
	out := make([]faultView, len(fs))
	for i, f := range fs {
		out[i] = faultView{Fault: f, When: f.At}
	}
	return ok(w, r, out)
}
