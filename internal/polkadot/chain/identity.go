package chain

import (
	"context"
	"fmt"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/scale"
)

type identityRead struct {
	id  *events.Identity
	err error
}

// readIdentities reads IdentityOf, SuperOf and SubsOf for the stashes in
// three to four batched queries. Fields are found by name wherever the
// runtime puts them: IdentityOf is a Registration on the relay and on
// today's People chain, but was (Registration, Option<Username>) for a
// while (polkadot-sdk #2651 to #5554).
func readIdentities(ctx context.Context, v *view, stashes []account, addr func(account) string) ([]identityRead, error) {
	if !v.has("Identity", "IdentityOf") {
		return nil, fmt.Errorf("runtime %s %d has no Identity pallet: configure the People chain's URLs", v.rv.SpecName, v.rv.SpecVersion)
	}
	one := make([][][]byte, len(stashes))
	for i, a := range stashes {
		one[i] = [][]byte{a[:]}
	}
	supers, err := v.many(ctx, "Identity", "SuperOf", one)
	if err != nil {
		return nil, err
	}
	out := make([]identityRead, len(stashes))
	roots := make([]account, len(stashes))
	subName := make([]string, len(stashes))
	isSub := make([]bool, len(stashes))
	for i, s := range supers {
		roots[i] = stashes[i]
		if s.Err != nil {
			out[i].err = s.Err
			continue
		}
		if !s.Ok {
			continue
		}
		pair, _ := s.Val.List()
		if len(pair) != 2 {
			out[i].err = fmt.Errorf("Identity.SuperOf: not (parent, name): %.100s", s.Val)
			continue
		}
		p, ok := accountOf(pair[0])
		if !ok {
			out[i].err = fmt.Errorf("Identity.SuperOf: parent is not an account")
			continue
		}
		roots[i], subName[i], isSub[i] = p, dataText(pair[1]), true
	}
	rootArgs := make([][][]byte, len(roots))
	for i, a := range roots {
		rootArgs[i] = [][]byte{a[:]}
	}
	regs, err := v.many(ctx, "Identity", "IdentityOf", rootArgs)
	if err != nil {
		return nil, err
	}
	subs, err := v.many(ctx, "Identity", "SubsOf", rootArgs)
	if err != nil {
		return nil, err
	}
	for i := range stashes {
		if out[i].err != nil {
			continue
		}
		if regs[i].Err != nil {
			out[i].err = regs[i].Err
			continue
		}
		if subs[i].Err != nil {
			out[i].err = subs[i].Err
			continue
		}
		if !regs[i].Ok && !isSub[i] {
			continue // no identity: a known nil
		}
		id := &events.Identity{Judgements: []string{}}
		if regs[i].Ok {
			fillIdentity(id, regs[i].Val)
		}
		if isSub[i] {
			id.Parent, id.SubName = addr(roots[i]), subName[i]
		}
		if subs[i].Ok {
			pair, _ := subs[i].Val.List()
			if len(pair) == 2 {
				items, _ := pair[1].List()
				for _, it := range items {
					if a, ok := accountOf(it); ok {
						id.Subs = append(id.Subs, addr(a))
					}
				}
			}
		}
		out[i].id = id
	}
	return out, nil
}

// fillIdentity copies the display fields and judgements of a
// registration, found by name.
func fillIdentity(id *events.Identity, reg scale.Value) {
	if o, ok := reg.Option(); ok {
		reg = o
	}
	items, _ := reg.Find("judgements").List()
	for _, it := range items {
		pair, ok := it.List()
		if !ok || len(pair) != 2 || pair[1].Kind != scale.KindVariant {
			continue
		}
		id.Judgements = append(id.Judgements, pair[1].Name)
	}
	info := reg.Find("info")
	id.Display = dataText(info.Field("display"))
	id.Legal = dataText(info.Field("legal"))
	id.Web = dataText(info.Field("web"))
	id.Email = dataText(info.Field("email"))
	id.Twitter = dataText(info.Field("twitter"))
	id.Matrix = dataText(info.Field("matrix"))
	if id.Matrix == "" {
		id.Matrix = dataText(info.Field("riot"))
	}
}
