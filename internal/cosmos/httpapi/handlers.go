package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/valtrack/valtrack/internal/api"
)

// chainRequest is the common start of the /api/v1/cosmos/{chain} handlers:
// the parsed query, a context bounded by the query timeout (cancel is never
// nil) and the resolved chain.
func (h *handlers) chainRequest(r *http.Request) (api.Query, context.Context, context.CancelFunc, string, error) {
	ctx, cancel := h.rt.QueryContext(r)
	q, err := api.ParseQuery(r)
	if err != nil {
		return q, ctx, cancel, "", err
	}
	// api.Networks resolves the path value "network"; ours is "chain".
	r.SetPathValue("network", r.PathValue("chain"))
	chain, err := h.nets.Resolve(ctx, r)
	if ae, ok := api.AsError(err); ok && ae.Status == http.StatusNotFound {
		return q, ctx, cancel, "", api.NotFound("chain", "unknown chain; GET /api/v1/cosmos/chains lists the known ones")
	}
	return q, ctx, cancel, chain, err
}

// cached serves the body compute makes, shared by the requests for key
// within the cache's TTL.
func (h *handlers) cached(w http.ResponseWriter, r *http.Request, ctx context.Context, key string, compute func(ctx context.Context) (any, error)) error {
	return h.cachedFor(w, r, ctx, key, time.Hour, compute)
}

// liveTTL is how long the live views (consensus) are shared: a block is a
// second on the devnet, and `valtrack top` polls every second.
const liveTTL = 250 * time.Millisecond

// cachedFor is cached with a lifetime of at most ttl (and the server's TTL).
func (h *handlers) cachedFor(w http.ResponseWriter, r *http.Request, ctx context.Context, key string, ttl time.Duration, compute func(ctx context.Context) (any, error)) error {
	body, err := h.rt.Cache().GetFresh(ctx, "cosmos|"+key, ttl, func() ([]byte, error) {
		ctx, cancel := h.rt.DetachedContext(r)
		defer cancel()
		v, err := compute(ctx)
		if err != nil {
			return nil, err
		}
		return api.MarshalJSON(v)
	})
	if err != nil {
		return err
	}
	api.WriteBody(w, r, http.StatusOK, "application/json", body)
	return nil
}

func (h *handlers) handleChains(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	ctx, cancel := h.rt.QueryContext(r)
	defer cancel()
	return h.cached(w, r, ctx, "chains", func(ctx context.Context) (any, error) {
		stored, err := h.q.chains(ctx)
		if err != nil {
			return nil, err
		}
		configured := map[string]bool{}
		var names []string
		for _, c := range h.configured() {
			if !configured[c] && len(names) < maxChains {
				configured[c] = true
				names = append(names, c)
			}
		}
		for _, c := range stored {
			if !configured[c] && len(names) < maxChains {
				names = append(names, c)
			}
		}
		out := make([]chainView, 0, len(names))
		for _, c := range names {
			v := chainView{Chain: c, Configured: configured[c]}
			b, ok, err := h.q.latestBlock(ctx, c)
			if err != nil {
				return nil, err
			}
			if ok {
				v.LatestHeight, v.LatestTime = b.Height, msTime(b.Time)
			}
			if v.AnalyzedHeight, err = h.q.analyzedHeight(ctx, c); err != nil {
				return nil, err
			}
			set, err := h.q.latestSet(ctx, c, v.LatestHeight)
			if err != nil {
				return nil, err
			}
			if set != nil {
				v.Validators, v.TotalPower = len(set.Members), set.power()
			}
			eps, err := h.q.endpoints(ctx, c)
			if err != nil {
				return nil, err
			}
			v.EndpointsHealthy, v.EndpointsTotal, v.EndpointsHealthyAt = eps.Healthy, eps.Total, msTime(eps.HealthyAt)
			if v.SkippedRuns, v.SkippedHeights, err = h.q.skippedTotals(ctx, c); err != nil {
				return nil, err
			}
			if v.SkippedRuns > 0 {
				last, err := h.q.lastSkipped(ctx, c, 1)
				if err != nil {
					return nil, err
				}
				if len(last) > 0 {
					v.LastSkipped = &last[0]
				}
			}
			out = append(out, v)
		}
		return struct {
			Chains []chainView `json:"chains"`
		}{out}, nil
	})
}

func (h *handlers) handleValidators(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.chainRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	all, err := q.Bool("all")
	if err != nil {
		return err
	}
	return h.cached(w, r, ctx, "validators|"+chain+"|"+strconv.FormatBool(all), func(ctx context.Context) (any, error) {
		return h.validators(ctx, chain, all)
	})
}

// validators is the set in effect at the latest block with each member's
// figures; all adds the chain's other known validators (in_set false).
func (h *handlers) validators(ctx context.Context, chain string, all bool) (*validatorsResponse, error) {
	resp := &validatorsResponse{Chain: chain, Validators: []validatorView{}}
	b, _, err := h.q.latestBlock(ctx, chain)
	if err != nil {
		return nil, err
	}
	resp.Height = b.Height
	set, err := h.q.latestSet(ctx, chain, b.Height)
	if err != nil {
		return nil, err
	}
	st, err := h.q.allStats(ctx, chain)
	if err != nil {
		return nil, err
	}
	p, err := h.q.params(ctx, chain)
	if err != nil {
		return nil, err
	}
	known, err := h.q.validators(ctx, chain)
	if err != nil {
		return nil, err
	}
	jailed := map[string]bool{}
	for _, v := range known {
		jailed[v.Address] = v.Jailed
	}
	if set != nil {
		resp.SetHeight, resp.TotalPower, resp.InSet = set.Height, set.power(), len(set.Members)
		for _, m := range set.Members {
			var s *stats
			if x, ok := st[m.Address]; ok {
				s = &x
			}
			resp.Validators = append(resp.Validators, newValidatorView(m.Address, m.Moniker, m.Index, m.Power, resp.TotalPower, true, jailed[m.Address], s, p))
		}
	}
	if all {
		for _, v := range known {
			if _, in := set.member(v.Address); in {
				continue
			}
			var s *stats
			if x, ok := st[v.Address]; ok {
				s = &x
			}
			resp.Validators = append(resp.Validators, newValidatorView(v.Address, v.Moniker, -1, v.Power, resp.TotalPower, false, v.Jailed, s, p))
		}
	}
	return resp, nil
}

func (h *handlers) handleValidator(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, err := h.chainRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	addr, err := parseAddress(r.PathValue("address"))
	if err != nil {
		return err
	}
	return h.cached(w, r, ctx, "validator|"+chain+"|"+addr, func(ctx context.Context) (any, error) {
		return h.validator(ctx, chain, addr)
	})
}

func (h *handlers) validator(ctx context.Context, chain, addr string) (*validatorDetail, error) {
	info, known, err := h.q.validatorInfo(ctx, chain, addr)
	if err != nil {
		return nil, err
	}
	b, _, err := h.q.latestBlock(ctx, chain)
	if err != nil {
		return nil, err
	}
	set, err := h.q.latestSet(ctx, chain, b.Height)
	if err != nil {
		return nil, err
	}
	m, inSet := set.member(addr)
	if !known && !inSet {
		return nil, api.NotFound("address", "no validator with this address was ever in a set of this chain; GET /api/v1/cosmos/{chain}/validators?all=true lists them")
	}
	st, err := h.q.statsOf(ctx, chain, addr)
	if err != nil {
		return nil, err
	}
	p, err := h.q.params(ctx, chain)
	if err != nil {
		return nil, err
	}
	d := &validatorDetail{Chain: chain, Height: b.Height, OperatorAddress: info.OperatorAddress, PubKeyType: info.PubKeyType,
		PubKey: info.PubKey, FirstHeight: info.FirstHeight, Status: "not in the set"}
	if inSet {
		d.Status = "in the set"
		moniker := m.Moniker
		if moniker == "" {
			moniker = info.Moniker
		}
		d.validatorView = newValidatorView(addr, moniker, m.Index, m.Power, set.power(), true, info.Jailed, st, p)
	} else {
		var total int64
		if set != nil {
			total = set.power()
		}
		d.validatorView = newValidatorView(addr, info.Moniker, -1, info.Power, total, false, info.Jailed, st, p)
	}
	ms, err := h.q.misses(ctx, chain, missFilter{From: 1, To: maxHeight, Addresses: []string{addr}, Limit: recentMisses})
	if err != nil {
		return nil, err
	}
	d.RecentMisses = missViews(ms)
	cs, err := h.q.changes(ctx, chain, addr)
	if err != nil {
		return nil, err
	}
	d.Changes = make([]changeView, 0, len(cs))
	for _, c := range cs {
		d.Changes = append(d.Changes, changeView(c))
	}
	return d, nil
}

func (h *handlers) handleMissed(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.chainRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	p, err := parseMissed(q)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("missed|%s|%d|%d|%d|%s", chain, p.From, p.To, p.Limit, p.Validator)
	return h.cached(w, r, ctx, key, func(ctx context.Context) (any, error) {
		return h.missed(ctx, chain, p)
	})
}

func (h *handlers) missed(ctx context.Context, chain string, p missedParams) (*missedResponse, error) {
	latest, err := h.q.latestAnalysed(ctx, chain)
	if err != nil {
		return nil, err
	}
	from, to := p.span(latest)
	resp := &missedResponse{Chain: chain, Validator: p.Validator, From: from, To: to, Limit: p.Limit, Misses: []missView{}}
	f := missFilter{From: from, To: to, Limit: p.Limit + 1}
	if p.Validator != "" {
		addrs, err := h.q.resolveValidator(ctx, chain, p.Validator)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, api.NotFound("validator", "no validator of this chain has this address or moniker; GET /api/v1/cosmos/{chain}/validators?all=true lists them")
		}
		f.Addresses, resp.Addresses = addrs, addrs
	}
	if to < from {
		return resp, nil
	}
	ms, err := h.q.misses(ctx, chain, f)
	if err != nil {
		return nil, err
	}
	if len(ms) > p.Limit {
		ms, resp.Truncated = ms[:p.Limit], true
	}
	resp.Misses = missViews(ms)
	return resp, nil
}

func (h *handlers) handleAlerts(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.chainRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	all, err := q.Bool("all")
	if err != nil {
		return err
	}
	return h.cached(w, r, ctx, "alerts|"+chain+"|"+strconv.FormatBool(all), func(ctx context.Context) (any, error) {
		resp := alertsResponse{Chain: chain, All: all, Alerts: []any{}}
		if h.alerts == nil {
			return resp, nil
		}
		list, err := h.alerts.List(ctx, chain, all)
		if err != nil {
			return nil, fmt.Errorf("list alerts of %s: %w", chain, err)
		}
		if list != nil {
			resp.Alerts = list
		}
		return resp, nil
	})
}

func (h *handlers) handleGrid(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, chain, err := h.chainRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	n, err := q.IntRange("blocks", defaultGridBlocks, 1, maxGridBlocks)
	if err != nil {
		return err
	}
	return h.cached(w, r, ctx, "grid|"+chain+"|"+strconv.Itoa(n), func(ctx context.Context) (any, error) {
		return h.grid(ctx, chain, n)
	})
}

// grid is the last n heights of chain the analyzer got past — analysed,
// or skipped (cell cellSkipped for everyone, the reason in Skipped) — with
// one cell per validator and height: the members of every set in effect
// in that range, those of the newest analysed height's set first (by
// index), then the others by address.
func (h *handlers) grid(ctx context.Context, chain string, n int) (*gridView, error) {
	g := &gridView{Chain: chain, Heights: []int64{}, Validators: []gridRow{}}
	analysedHs, err := h.q.lastAnalysed(ctx, chain, n)
	if err != nil {
		return nil, err
	}
	runs, err := h.q.lastSkipped(ctx, chain, n)
	if err != nil {
		return nil, err
	}
	cols := gridColumns(analysedHs, runs, n)
	if len(cols) == 0 {
		return g, nil
	}
	var hs []analysed // the analysed heights among the columns
	for _, c := range cols {
		if c.a != nil {
			hs = append(hs, *c.a)
		}
	}
	from, to := cols[0].height, cols[len(cols)-1].height
	sets, err := h.q.setsCovering(ctx, chain, from, to)
	if err != nil {
		return nil, err
	}
	largest := 1
	for _, s := range sets {
		largest = max(largest, len(s.Members))
	}
	ms, err := h.q.misses(ctx, chain, missFilter{From: from, To: to, Limit: min(len(hs), maxGridBlocks) * largest})
	if err != nil {
		return nil, err
	}
	type key struct {
		height int64
		addr   string
	}
	missAt := make(map[key]*miss, len(ms))
	for i := range ms {
		missAt[key{ms[i].Height, ms[i].Address}] = &ms[i]
	}
	// The set of each column: sets are oldest first, as are the columns.
	setOf := make([]*valSet, len(cols))
	si := -1
	var newest *valSet // of the newest analysed height, else of the newest column
	for i, c := range cols {
		for si+1 < len(sets) && sets[si+1].Height <= c.height {
			si++
		}
		if si >= 0 {
			setOf[i] = sets[si]
		}
		if c.a != nil || newest == nil && i == len(cols)-1 {
			newest = setOf[i]
		}
	}
	rows := map[string]*gridRow{}
	var order []string
	addRow := func(m member, inNewest bool) {
		if r, ok := rows[m.Address]; ok {
			if r.Moniker == "" {
				r.Moniker = m.Moniker
			}
			return
		}
		r := &gridRow{Address: m.Address, Moniker: m.Moniker, Index: -1, VotingPower: m.Power, InSet: inNewest}
		if inNewest {
			r.Index = m.Index
		}
		rows[m.Address] = r
		order = append(order, m.Address)
	}
	if newest != nil {
		for _, m := range newest.Members {
			addRow(m, true)
		}
	}
	var others []member
	for i := len(sets) - 1; i >= 0; i-- { // newest first: the latest power wins
		for _, m := range sets[i].Members {
			if _, ok := rows[m.Address]; !ok {
				others = append(others, m)
			}
		}
	}
	sort.SliceStable(others, func(i, j int) bool { return others[i].Address < others[j].Address })
	for _, m := range others {
		addRow(m, false)
	}
	for _, addr := range order {
		r := rows[addr]
		cells := make([]byte, len(cols))
		for i, c := range cols {
			if c.a == nil {
				cells[i] = cellSkipped // not analysed: nobody signed or missed there
				continue
			}
			if _, in := setOf[i].member(addr); !in {
				cells[i] = cellNotInSet
				continue
			}
			m := missAt[key{c.height, addr}]
			cells[i] = cell(m, c.a.Proposer == addr)
			if m != nil && m.Cause != "" {
				if r.Causes == nil {
					r.Causes = map[string]string{}
				}
				r.Causes[strconv.FormatInt(c.height, 10)] = m.Cause
			}
		}
		r.Cells = string(cells)
		g.Validators = append(g.Validators, *r)
	}
	for _, c := range cols {
		g.Heights = append(g.Heights, c.height)
		hk := strconv.FormatInt(c.height, 10)
		switch {
		case c.a == nil:
			if g.Skipped == nil {
				g.Skipped = map[string]string{}
			}
			g.Skipped[hk] = c.skipped
		case c.a.Incident != "":
			if g.Incidents == nil {
				g.Incidents = map[string]string{}
			}
			g.Incidents[hk] = c.a.Incident
		}
	}
	return g, nil
}

// gridColumn is a height of /grid: analysed (a), or skipped for a reason.
type gridColumn struct {
	height  int64
	a       *analysed
	skipped string
}

// gridColumns are the newest n heights, oldest first, of the analysed ones
// and of the skipped runs (newest first, disjoint; at most n heights of
// them are walked); a height in both is taken as analysed.
func gridColumns(hs []analysed, runs []skippedRun, n int) []gridColumn {
	out := make([]gridColumn, 0, len(hs)+n)
	analysedAt := make(map[int64]bool, len(hs))
	for i := range hs {
		analysedAt[hs[i].Height] = true
		out = append(out, gridColumn{height: hs[i].Height, a: &hs[i]})
	}
	walked := 0
	for _, r := range runs {
		for h := r.To; h >= r.From && walked < n; h-- {
			walked++
			if !analysedAt[h] {
				out = append(out, gridColumn{height: h, skipped: r.Reason})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].height < out[j].height })
	return out[max(0, len(out)-n):]
}

func (h *handlers) handleConsensus(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, err := h.chainRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	return h.cachedFor(w, r, ctx, "consensus|"+chain, liveTTL, func(ctx context.Context) (any, error) {
		return h.consensus(ctx, chain)
	})
}

// consensus is the live view of `valtrack top`: the latest step, the votes
// of its height and round, and each validator's recent signing.
func (h *handlers) consensus(ctx context.Context, chain string) (*consensusView, error) {
	c := &consensusView{Chain: chain, Validators: []consensusValidator{}}
	// The endpoints come first: with all of them down the votes below are
	// the last seen, and top says so.
	eps, err := h.q.endpoints(ctx, chain)
	if err != nil {
		return nil, err
	}
	c.EndpointsHealthy, c.EndpointsTotal, c.EndpointsHealthyAt = eps.Healthy, eps.Total, msTime(eps.HealthyAt)
	st, err := h.q.latestStep(ctx, chain)
	if err != nil {
		return nil, err
	}
	if st != nil {
		c.Height, c.Round, c.Step, c.StepAt = st.Height, st.Round, st.Step, msTime(st.SeenAt)
	} else {
		b, _, err := h.q.latestBlock(ctx, chain)
		if err != nil {
			return nil, err
		}
		c.Height = b.Height
	}
	set, err := h.q.latestSet(ctx, chain, c.Height)
	if err != nil {
		return nil, err
	}
	if set == nil {
		return c, nil
	}
	c.TotalPower = set.power()
	votes, err := h.q.votes(ctx, chain, c.Height, c.Round, 2*maxSetMembers)
	if err != nil {
		return nil, err
	}
	type choice struct{ prevote, precommit string }
	voted := map[string]*choice{}
	for _, v := range votes {
		ch := voted[v.Address]
		if ch == nil {
			ch = &choice{"none", "none"}
			voted[v.Address] = ch
		}
		what := "nil"
		if v.BlockHash != "" {
			what = "block"
		}
		switch v.Type {
		case typePrevote:
			ch.prevote = what
		case typePrecommit:
			ch.precommit = what
		}
	}
	if rd, err := h.q.roundAt(ctx, chain, c.Height, c.Round); err != nil {
		return nil, err
	} else if rd != nil {
		ref := validatorRef{Address: rd.Proposer}
		if m, ok := set.member(rd.Proposer); ok {
			ref.Moniker = m.Moniker
		} else if names, err := h.q.monikers(ctx, chain); err == nil {
			ref.Moniker = names[rd.Proposer]
		} else {
			return nil, err
		}
		c.Proposer = &ref
	}
	g, err := h.grid(ctx, chain, recentHeights)
	if err != nil {
		return nil, err
	}
	recent := map[string]string{}
	for _, r := range g.Validators {
		recent[r.Address] = r.Cells
	}
	var pv, pc, pvb, pcb int64
	for _, m := range set.Members {
		v := consensusValidator{Address: m.Address, Moniker: m.Moniker, Index: m.Index, VotingPower: m.Power, Prevote: "none", Precommit: "none"}
		if ch := voted[m.Address]; ch != nil {
			v.Prevote, v.Precommit = ch.prevote, ch.precommit
		}
		if v.Prevote != "none" {
			pv += m.Power
			if v.Prevote == "block" {
				pvb += m.Power
			}
		}
		if v.Precommit != "none" {
			pc += m.Power
			if v.Precommit == "block" {
				pcb += m.Power
			}
		}
		v.Recent, v.RecentMissed = recentOf(recent[m.Address])
		c.Validators = append(c.Validators, v)
	}
	c.PrevoteShare, c.PrecommitShare = share(pv, c.TotalPower), share(pc, c.TotalPower)
	c.PrevoteBlockShare, c.PrecommitBlockShare = share(pvb, c.TotalPower), share(pcb, c.TotalPower)
	return c, nil
}

func (h *handlers) handleHeight(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, chain, err := h.chainRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	height, err := parseHeight("height", r.PathValue("height"))
	if err != nil {
		return err
	}
	return h.cached(w, r, ctx, "height|"+chain+"|"+strconv.FormatInt(height, 10), func(ctx context.Context) (any, error) {
		return h.height(ctx, chain, height)
	})
}

// height is who voted what at a height, and what the analyzer made of it.
func (h *handlers) height(ctx context.Context, chain string, height int64) (*heightView, error) {
	bl, hasBlock, err := h.q.blockAt(ctx, chain, height)
	if err != nil {
		return nil, err
	}
	an, err := h.q.analysedAt(ctx, chain, height)
	if err != nil {
		return nil, err
	}
	cm, err := h.q.commitAt(ctx, chain, height)
	if err != nil {
		return nil, err
	}
	rounds, err := h.q.rounds(ctx, chain, height)
	if err != nil {
		return nil, err
	}
	votes, err := h.q.votes(ctx, chain, height, -1, maxHeightVotes+1)
	if err != nil {
		return nil, err
	}
	skipped, err := h.q.skippedAt(ctx, chain, height)
	if err != nil {
		return nil, err
	}
	if !hasBlock && an == nil && cm == nil && len(rounds) == 0 && len(votes) == 0 && skipped == "" {
		return nil, api.NotFound("height", "nothing is known of this height on this chain; GET /api/v1/cosmos/chains gives the latest height")
	}
	names, err := h.q.monikers(ctx, chain)
	if err != nil {
		return nil, err
	}
	ref := func(addr string) *validatorRef {
		if addr == "" {
			return nil
		}
		return &validatorRef{Address: addr, Moniker: names[addr]}
	}
	v := &heightView{Chain: chain, Height: height, Analyzed: an != nil, Rounds: []roundView{}, Validators: []memberAtHeight{}}
	if skipped != "" {
		v.Skipped = &skipped
	}
	if len(votes) > maxHeightVotes {
		votes, v.VotesTruncated = votes[:maxHeightVotes], true
	}
	if hasBlock {
		v.Time, v.Proposer, v.BlockHash, v.NumTxs, v.Observed = msTime(bl.Time), ref(bl.Proposer), bl.Hash, bl.NumTxs, bl.VotesObserved
	}
	if an != nil {
		if v.Time == nil {
			v.Time = msTime(an.Time)
		}
		if v.Proposer == nil {
			v.Proposer = ref(an.Proposer)
		}
		v.Observed = v.Observed || an.VotesObserved
		v.Incident, v.TotalPower, v.SignedPower, v.MissedCount = an.Incident, an.TotalPower, an.SignedPower, an.Missed
		r := an.Round
		v.CommitRound = &r
	}
	if cm != nil {
		r := cm.Round
		v.CommitRound = &r
		if cm.BlockHash != "" {
			v.BlockHash = cm.BlockHash
		}
	}
	v.Observed = v.Observed || len(votes) > 0

	// Rounds: those with a proposer observed and those with votes.
	byRound := map[int]*roundView{}
	roundOf := func(n int) *roundView {
		if rv := byRound[n]; rv != nil {
			return rv
		}
		rv := &roundView{Round: n, Prevotes: []voteView{}, Precommits: []voteView{}}
		byRound[n] = rv
		return rv
	}
	for _, rd := range rounds {
		roundOf(rd.Round).Proposer = ref(rd.Proposer)
	}
	type key struct {
		round, typ int
		addr       string
	}
	voteOf := map[key]*vote{}
	for i := range votes {
		vt := &votes[i]
		voteOf[key{vt.Round, vt.Type, vt.Address}] = vt
		vv := voteView{Address: vt.Address, Moniker: names[vt.Address], Index: vt.Index, Timestamp: msTime(vt.Timestamp),
			Endpoint: vt.Endpoint, SeenAt: msTime(vt.SeenAt)}
		if vt.BlockHash != "" {
			hash := vt.BlockHash
			vv.BlockHash = &hash
		}
		rv := roundOf(vt.Round)
		switch vt.Type {
		case typePrevote:
			rv.Prevotes = append(rv.Prevotes, vv)
		case typePrecommit:
			rv.Precommits = append(rv.Precommits, vv)
		}
	}
	for _, rv := range byRound {
		v.Rounds = append(v.Rounds, *rv)
	}
	sort.Slice(v.Rounds, func(i, j int) bool { return v.Rounds[i].Round < v.Rounds[j].Round })

	set, err := h.q.setAt(ctx, chain, height)
	if err != nil || set == nil {
		return v, err
	}
	v.SetHeight = set.Height
	if v.TotalPower == 0 {
		v.TotalPower = set.power()
	}
	ms, err := h.q.misses(ctx, chain, missFilter{From: height, To: height, Limit: maxSetMembers})
	if err != nil {
		return nil, err
	}
	missOf := map[string]*miss{}
	for i := range ms {
		missOf[ms[i].Address] = &ms[i]
	}
	observedVote := func(round *int, typ int, addr string) string {
		if round == nil || !v.Observed {
			return ""
		}
		vt := voteOf[key{*round, typ, addr}]
		switch {
		case vt == nil:
			return "absent"
		case vt.BlockHash == "":
			return "nil"
		default:
			return "block"
		}
	}
	for _, m := range set.Members {
		row := memberAtHeight{Address: m.Address, Moniker: m.Moniker, Index: m.Index, VotingPower: m.Power,
			Prevote: "unknown", Precommit: "unknown", Commit: "unknown"}
		// The analyzer's verdict first, then what was observed, then what an
		// analysed height without a row means: it signed everything.
		if ms := missOf[m.Address]; ms != nil {
			row.Prevote, row.Precommit, row.Commit = voteName(ms.Prevote), voteName(ms.Precommit), flagName(ms.CommitFlag)
			row.MissedPrevote, row.MissedPrecommit, row.MissedSignature = ms.MissedPrevote, ms.MissedPrecommit, ms.MissedSignature
			row.MissedProposals, row.Cause, row.Solo, row.Incident = ms.MissedProposals, ms.Cause, ms.Solo, ms.Incident
		} else {
			if pv := observedVote(v.CommitRound, typePrevote, m.Address); pv != "" {
				row.Prevote, row.Precommit = pv, observedVote(v.CommitRound, typePrecommit, m.Address)
			} else if an != nil {
				row.Prevote, row.Precommit = "block", "block"
			}
			switch {
			case cm != nil && m.Index >= 0 && m.Index < len(cm.Flags):
				row.Commit = commitChar(cm.Flags[m.Index])
			case an != nil:
				row.Commit = "commit"
			}
		}
		v.Validators = append(v.Validators, row)
	}
	return v, nil
}
