package chain

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/scale"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

// stashState collects one stash's reads before they become Facts.
type stashState struct {
	a          account
	controller *account
	ledger     scale.Value
	ledgerOk   bool
}

// completeIntentions refuses a listing of Staking.Validators' keys that
// cannot be the chain's whole set: fewer keys than
// Staking.CounterForValidators counts at the same block (a truncated
// answer), or none while the session has validators (a node answering []
// — 1KV's issue #2805 turned every candidate invalid on it). A chain
// whose validators all chilled would read as a failed read here: far
// likelier a broken endpoint, and unknown keeps the last verdicts.
func completeIntentions(ctx context.Context, sv *view, listed, sessionValidators int) error {
	if sv.has("Staking", "CounterForValidators") {
		if want, ok := optUint(sv.get(ctx, "Staking", "CounterForValidators")); ok && uint64(listed) < want {
			return fmt.Errorf("list Staking.Validators: the node listed %d validate intentions where Staking.CounterForValidators counts %d; "+
				"an incomplete answer is not the chain's state (retried next poll; check the endpoint)", listed, want)
		}
	}
	if listed == 0 && sessionValidators > 0 {
		return fmt.Errorf("list Staking.Validators: the node listed no validate intention while Session.Validators has %d validators; "+
			"an empty answer is taken as a failed read (retried next poll; check the endpoint)", sessionValidators)
	}
	return nil
}

// Validators reads one record per stash in staking.validators, in
// session.validators and in extra (SS58 addresses of candidates and
// nominator accounts), at at.BlockHash on the relay (the finalized head
// when empty). Each field is a Fact: a read that fails fails that field
// of every record, never the call; an invalid extra address is skipped
// and logged.
func (r *Reader) Validators(ctx context.Context, at events.Chain, extra []string) ([]events.Validator, error) {
	rv, err := openView(ctx, r.relay, at.BlockHash)
	if err != nil {
		return nil, err
	}
	sv, err := r.stakingView(ctx, rv)
	if err != nil {
		return nil, fmt.Errorf("staking chain: %w", err)
	}
	pv := rv
	if r.people != r.relay {
		if pv, err = openView(ctx, r.people, ""); err != nil {
			// Identity is one field: the records go out with it failed.
			pv = nil
			r.cfg.Log.Warn("people chain unavailable; identities not read", "err", trimErr(err))
		}
	}
	peopleErr := err
	p := r.props(ctx, rv)
	now := r.ms()
	addr := func(a account) string { return a.ss58(p.prefix) }

	// The stash set.
	set := map[account]bool{}
	var order []account
	add := func(a account) {
		if !set[a] {
			set[a] = true
			order = append(order, a)
		}
	}
	// The session's validators first: they tell an empty listing of the
	// intentions from an empty answer.
	session := map[account]bool{}
	sessVals, sessErr := sessionValidators(ctx, rv)
	intentions := map[account]bool{}
	intentErr := error(nil)
	if args, err := sv.keyArgs(ctx, "Staking", "Validators"); err != nil {
		intentErr = err
	} else if err := completeIntentions(ctx, sv, len(args), len(sessVals)); err != nil {
		// Taken as a failed read: every candidate's intention unknown (its
		// last known verdict kept), never "no validate intention".
		intentErr = err
	} else {
		for _, k := range args {
			if len(k) == 1 && len(k[0]) == 32 {
				var a account
				copy(a[:], k[0])
				intentions[a] = true
				add(a)
			}
		}
	}
	for _, a := range sessVals {
		session[a] = true
		add(a)
	}
	for _, s := range extra {
		pk, _, err := ss58.Decode(s)
		if err != nil {
			r.cfg.Log.Warn("polkadot account skipped", "account", s, "err", err)
			continue
		}
		add(account(pk))
	}
	sortAccounts(order)
	n := len(order)
	st := make([]stashState, n)
	one := make([][][]byte, n)
	for i, a := range order {
		st[i].a = a
		one[i] = [][]byte{a[:]}
	}
	recs := make([]events.Validator, n)
	for i, a := range order {
		recs[i] = events.Validator{V: events.SchemaVersion, Chain: r.cfg.Chain, Stash: addr(a), Block: rv.block, BlockHash: rv.at}
		if intentErr != nil {
			recs[i].Intention = events.Failed[bool](intentErr, now)
		} else {
			recs[i].Intention = events.Got(intentions[a], now)
		}
		if sessErr != nil {
			recs[i].Active = events.Failed[bool](sessErr, now)
		} else {
			recs[i].Active = events.Got(session[a], now)
		}
	}
	if n == 0 {
		return recs, nil
	}

	// Prefs.
	if slots, err := sv.many(ctx, "Staking", "Validators", one); err != nil {
		for i := range recs {
			recs[i].Commission, recs[i].Blocked = events.Failed[uint32](err, now), events.Failed[bool](err, now)
		}
	} else {
		for i, s := range slots {
			if s.Err != nil {
				recs[i].Commission, recs[i].Blocked = events.Failed[uint32](s.Err, now), events.Failed[bool](s.Err, now)
				continue
			}
			c, _ := s.Val.Field("commission").Uint64()
			b, _ := s.Val.Field("blocked").Bool()
			recs[i].Commission, recs[i].Blocked = events.Got(uint32(min(c, 1_000_000_000)), now), events.Got(b, now)
		}
	}

	// Controller, ledger (self stake, claimed eras), payee.
	bondedErr := error(nil)
	if slots, err := sv.many(ctx, "Staking", "Bonded", one); err != nil {
		bondedErr = err
	} else {
		for i, s := range slots {
			if s.Err != nil {
				recs[i].Controller = events.Failed[string](s.Err, now)
				continue
			}
			if c, ok := accountOf(s.Val); ok && s.Ok {
				st[i].controller = &c
				recs[i].Controller = events.Got(addr(c), now)
			} else {
				recs[i].Controller = events.Got("", now)
			}
		}
	}
	ledgerErr := bondedErr
	if bondedErr != nil {
		for i := range recs {
			recs[i].Controller = events.Failed[string](bondedErr, now)
			recs[i].SelfStake = events.Failed[events.Amount](bondedErr, now)
		}
	} else {
		var args [][][]byte
		var idx []int
		for i := range st {
			if st[i].controller != nil {
				args = append(args, [][]byte{st[i].controller[:]})
				idx = append(idx, i)
			} else {
				recs[i].SelfStake = events.Got[events.Amount]("0", now)
			}
		}
		if len(args) > 0 {
			slots, err := sv.many(ctx, "Staking", "Ledger", args)
			ledgerErr = err
			for k, i := range idx {
				switch {
				case err != nil:
					recs[i].SelfStake = events.Failed[events.Amount](err, now)
				case slots[k].Err != nil:
					recs[i].SelfStake = events.Failed[events.Amount](slots[k].Err, now)
				case !slots[k].Ok:
					recs[i].SelfStake = events.Got[events.Amount]("0", now)
				default:
					val := slots[k].Val
					if o, ok := val.Option(); ok {
						val = o
					}
					st[i].ledger, st[i].ledgerOk = val, true
					recs[i].SelfStake = events.Got(events.AmountOf(bigOr0(val.Field("active"))), now)
				}
			}
		}
	}
	if slots, err := sv.many(ctx, "Staking", "Payee", one); err != nil {
		for i := range recs {
			recs[i].Payee = events.Failed[string](err, now)
		}
	} else {
		for i, s := range slots {
			if s.Err != nil {
				recs[i].Payee = events.Failed[string](s.Err, now)
				continue
			}
			recs[i].Payee = events.Got(payee(s, addr), now)
		}
	}

	// Balance, where the stake is bonded (the staking chain's accounts
	// once staking has moved off the relay).
	if slots, err := sv.many(ctx, "System", "Account", one); err != nil {
		for i := range recs {
			recs[i].Balance = events.Failed[events.Amount](err, now)
		}
	} else {
		for i, s := range slots {
			if s.Err != nil {
				recs[i].Balance = events.Failed[events.Amount](s.Err, now)
				continue
			}
			d := s.Val.Field("data")
			sum := new(big.Int).Add(bigOr0(d.Field("free")), bigOr0(d.Field("reserved")))
			recs[i].Balance = events.Got(events.AmountOf(sum), now)
		}
	}

	// Identity.
	if pv == nil {
		for i := range recs {
			recs[i].Identity = events.Failed[*events.Identity](fmt.Errorf("people chain: %w", peopleErr), now)
		}
	} else {
		ids, err := readIdentities(ctx, pv, order, addr)
		for i := range recs {
			if err != nil {
				recs[i].Identity = events.Failed[*events.Identity](err, now)
			} else if ids[i].err != nil {
				recs[i].Identity = events.Failed[*events.Identity](ids[i].err, now)
			} else {
				recs[i].Identity = events.Got(ids[i].id, now)
			}
		}
	}

	// Next session keys, named by the SessionKeys type's fields.
	if slots, err := rv.many(ctx, "Session", "NextKeys", one); err != nil {
		for i := range recs {
			recs[i].NextKeys = events.Failed[map[string]string](err, now)
		}
	} else {
		for i, s := range slots {
			switch {
			case s.Err != nil:
				recs[i].NextKeys = events.Failed[map[string]string](s.Err, now)
			case !s.Ok:
				recs[i].NextKeys = events.Got[map[string]string](nil, now)
			default:
				keys := map[string]string{}
				for _, f := range s.Val.Fields {
					if b, ok := f.Value.AsBytes(); ok && f.Name != "" {
						keys[f.Name] = toHex(b)
					}
				}
				recs[i].NextKeys = events.Got(keys, now)
			}
		}
	}

	// Own nominations.
	if slots, err := sv.many(ctx, "Staking", "Nominators", one); err != nil {
		for i := range recs {
			recs[i].NominationTargets, recs[i].NominationEra = events.Failed[[]string](err, now), events.Failed[uint32](err, now)
		}
	} else {
		for i, s := range slots {
			switch {
			case s.Err != nil:
				recs[i].NominationTargets, recs[i].NominationEra = events.Failed[[]string](s.Err, now), events.Failed[uint32](s.Err, now)
			case !s.Ok:
				recs[i].NominationTargets, recs[i].NominationEra = events.Got[[]string](nil, now), events.Got[uint32](0, now)
			default:
				ts, _ := targets(s.Val)
				strs := make([]string, 0, len(ts))
				for _, t := range ts {
					strs = append(strs, addr(t))
				}
				e, _ := s.Val.Field("submitted_in").Uint64()
				recs[i].NominationTargets, recs[i].NominationEra = events.Got(strs, now), events.Got(uint32(e), now)
			}
		}
	}

	// Nominators: active from the active era's exposure, inactive from
	// the nominators naming the stash.
	r.nominators(ctx, sv, order, recs, addr, now)

	// Unclaimed eras.
	un, err := unclaimed(ctx, sv, st, ledgerErr, &r.past)
	for i := range recs {
		if err != nil {
			recs[i].UnclaimedEras = events.Failed[[]uint32](err, now)
		} else {
			recs[i].UnclaimedEras = events.Got(un[i], now)
		}
	}
	obs := r.observer(r.relay)
	for i := range recs {
		recs[i].Observer = obs
	}
	return recs, nil
}

func payee(s slot, addr func(account) string) string {
	if !s.Ok {
		return "None"
	}
	v := s.Val
	if o, ok := v.Option(); ok {
		v = o
	}
	if v.Kind != scale.KindVariant {
		return ""
	}
	if v.Name == "Account" {
		if a, ok := accountOf(v); ok {
			return "Account:" + addr(a)
		}
	}
	return v.Name
}

func targets(nom scale.Value) ([]account, bool) {
	items, ok := nom.Field("targets").List()
	if !ok {
		return nil, false
	}
	out := make([]account, 0, len(items))
	for _, it := range items {
		if a, ok := accountOf(it); ok {
			out = append(out, a)
		}
	}
	return out, true
}

func (r *Reader) nominators(ctx context.Context, sv *view, order []account, recs []events.Validator, addr func(account) string, now int64) {
	fail := func(err error) {
		for i := range recs {
			recs[i].ActiveNominators = events.Failed[[]events.Backer](err, now)
			recs[i].InactiveNominators = events.Failed[[]events.Backer](err, now)
		}
	}
	active, _, err := activeEra(ctx, sv)
	if err != nil {
		fail(fmt.Errorf("Staking.ActiveEra: %w", err))
		return
	}
	exps, err := eraExposures(ctx, sv, active, order, true, false)
	if err != nil {
		fail(err)
		return
	}
	want := map[account]bool{}
	for _, a := range order {
		want[a] = true
	}
	// Every nominator, once per call: which name our stashes.
	args, slots, err := sv.entries(ctx, "Staking", "Nominators")
	if err != nil {
		fail(err)
		return
	}
	naming := map[account][]account{}
	var noms []account
	seen := map[account]bool{}
	for i, s := range slots {
		if s.Err != nil || !s.Ok || len(args[i]) != 1 || len(args[i][0]) != 32 {
			continue
		}
		var who account
		copy(who[:], args[i][0])
		ts, _ := targets(s.Val)
		for _, t := range ts {
			if want[t] {
				naming[t] = append(naming[t], who)
				if !seen[who] {
					seen[who] = true
					noms = append(noms, who)
				}
			}
		}
	}
	bonds, err := activeBonds(ctx, sv, noms)
	for i, a := range order {
		var act []events.Backer
		exposed := map[account]bool{}
		if e := exps[a]; e != nil {
			for _, b := range e.others {
				act = append(act, events.Backer{Who: addr(b.who), Value: events.AmountOf(b.value)})
				exposed[b.who] = true
			}
		}
		recs[i].ActiveNominators = events.Got(act, now)
		if err != nil {
			recs[i].InactiveNominators = events.Failed[[]events.Backer](err, now)
			continue
		}
		var in []events.Backer
		for _, who := range naming[a] {
			if !exposed[who] {
				in = append(in, events.Backer{Who: addr(who), Value: events.AmountOf(bonds[who])})
			}
		}
		recs[i].InactiveNominators = events.Got(in, now)
	}
}

// activeBonds reads Bonded then Ledger.active of each account.
func activeBonds(ctx context.Context, sv *view, accts []account) (map[account]*big.Int, error) {
	out := map[account]*big.Int{}
	if len(accts) == 0 {
		return out, nil
	}
	args := make([][][]byte, len(accts))
	for i, a := range accts {
		args[i] = [][]byte{a[:]}
	}
	slots, err := sv.many(ctx, "Staking", "Bonded", args)
	if err != nil {
		return nil, err
	}
	var largs [][][]byte
	var owners []account
	for i, s := range slots {
		out[accts[i]] = new(big.Int)
		if c, ok := accountOf(s.Val); ok && s.Ok {
			largs = append(largs, [][]byte{c[:]})
			owners = append(owners, accts[i])
		}
	}
	if len(largs) == 0 {
		return out, nil
	}
	ls, err := sv.many(ctx, "Staking", "Ledger", largs)
	if err != nil {
		return nil, err
	}
	for i, s := range ls {
		if s.Ok {
			v := s.Val
			if o, ok := v.Option(); ok {
				v = o
			}
			out[owners[i]] = bigOr0(v.Field("active"))
		}
	}
	return out, nil
}

// unclaimed finds, per stash, the eras within the history depth before
// the active era in which it was exposed as a validator and its reward
// is not claimed. Legacy eras (ErasStakers) are claimed when the era is
// in the ledger's claimed_rewards (legacy_claimed_rewards after the
// paged migration); paged eras when ClaimedRewards(era, stash) lists as
// many pages as the overview's page_count.
func unclaimed(ctx context.Context, sv *view, st []stashState, ledgerErr error, past *pastEras) ([][]uint32, error) {
	active, _, err := activeEra(ctx, sv)
	if err != nil {
		return nil, fmt.Errorf("Staking.ActiveEra: %w", err)
	}
	depth, err := historyDepth(ctx, sv)
	if err != nil {
		return nil, err
	}
	if ledgerErr != nil {
		return nil, fmt.Errorf("ledger: %w", ledgerErr)
	}
	idx := map[account]int{}
	for i := range st {
		idx[st[i].a] = i
	}
	out := make([][]uint32, len(st))
	first := uint32(0)
	if active > depth {
		first = active - depth
	}
	type pending struct {
		i     int
		era   uint32
		pages int
	}
	var paged []pending
	for era := first; era < active; era++ {
		exps, err := past.exposed(ctx, sv, era)
		if err != nil {
			return nil, err
		}
		for a, e := range exps {
			i, ok := idx[a]
			if !ok {
				continue
			}
			if e.legacy {
				if !slices.Contains(legacyClaimed(st[i]), era) {
					out[i] = append(out[i], era)
				}
				continue
			}
			paged = append(paged, pending{i: i, era: era, pages: e.pages})
		}
	}
	past.keep(first)
	if len(paged) > 0 {
		args := make([][][]byte, len(paged))
		for k, p := range paged {
			args[k] = [][]byte{u32le(p.era), st[p.i].a[:]}
		}
		slots, err := sv.many(ctx, "Staking", "ClaimedRewards", args)
		if err != nil {
			return nil, err
		}
		for k, s := range slots {
			if s.Err != nil {
				return nil, s.Err
			}
			pages, _ := s.Val.List()
			p := paged[k]
			if len(pages) < max(p.pages, 1) && !slices.Contains(legacyClaimed(st[p.i]), p.era) {
				out[p.i] = append(out[p.i], p.era)
			}
		}
	}
	for i := range out {
		slices.Sort(out[i])
		if out[i] == nil {
			out[i] = []uint32{}
		}
	}
	return out, nil
}

// pastEras remembers who was exposed in each ended era, and on how many
// pages: fixed once the era is over, and otherwise read again for every
// era of the history depth (84 on Polkadot) on every pass. Claims change
// and are always read.
type pastEras struct {
	mu   sync.Mutex
	eras map[uint32]map[account]exposedIn
}

type exposedIn struct {
	legacy bool
	pages  int
}

// exposed is era's exposure set, from the cache or the chain. Only eras
// before the view's active era are asked for, so what is cached is final.
func (p *pastEras) exposed(ctx context.Context, sv *view, era uint32) (map[account]exposedIn, error) {
	p.mu.Lock()
	got, ok := p.eras[era]
	p.mu.Unlock()
	if ok {
		return got, nil
	}
	exps, err := eraExposures(ctx, sv, era, nil, false, true)
	if err != nil {
		return nil, err
	}
	got = make(map[account]exposedIn, len(exps))
	for a, e := range exps {
		got[a] = exposedIn{legacy: e.legacy, pages: e.pages}
	}
	p.mu.Lock()
	if p.eras == nil {
		p.eras = map[uint32]map[account]exposedIn{}
	}
	p.eras[era] = got
	p.mu.Unlock()
	return got, nil
}

// keep forgets the eras before first, out of the history depth.
func (p *pastEras) keep(first uint32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for e := range p.eras {
		if e < first {
			delete(p.eras, e)
		}
	}
}

func legacyClaimed(s stashState) []uint32 {
	if !s.ledgerOk {
		return nil
	}
	v := s.ledger.Field("claimed_rewards")
	if !v.Valid() {
		v = s.ledger.Field("legacy_claimed_rewards")
	}
	items, _ := v.List()
	out := make([]uint32, 0, len(items))
	for _, it := range items {
		if n, ok := it.Uint64(); ok {
			out = append(out, uint32(n))
		}
	}
	return out
}
