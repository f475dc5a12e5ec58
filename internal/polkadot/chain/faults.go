package chain

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/scale"
)

// Faults reads the faults in a relay block's System.Events:
// Offences.Offence (the offenders resolved through the offence reports),
// Staking.Slashed/Slash/SlashReported, Staking.Chilled and, on runtimes
// that still have it, ImOnline.SomeOffline.
func (r *Reader) Faults(ctx context.Context, blockHash string) ([]events.Fault, error) {
	return r.faults(ctx, r.relay, blockHash, "")
}

// StakingFaults is Faults on a block of the staking chain: when staking is
// not on the relay (Asset Hub), its Staking.Slashed, SlashReported and
// Chilled events are there. The faults' ids start "staking-" and their
// reasons name the staking chain, so that they never meet the relay's of
// the same block number; Block is the staking chain's.
func (r *Reader) StakingFaults(ctx context.Context, blockHash string) ([]events.Fault, error) {
	return r.faults(ctx, r.staking, blockHash, "staking")
}

// SeparateStaking reports whether staking is read on a chain of its own
// (Config.Staking), not the relay.
func (r *Reader) SeparateStaking() bool { return r.staking != r.relay }

// StakingHead is the staking chain's finalized head: its number and hash.
func (r *Reader) StakingHead(ctx context.Context) (uint64, string, error) {
	v, err := openView(ctx, r.staking, "")
	if err != nil {
		return 0, "", err
	}
	return v.block, v.at, nil
}

// StakingBlockHash is the hash of the staking chain's block n.
func (r *Reader) StakingBlockHash(ctx context.Context, n uint64) (string, error) {
	return r.staking.BlockHash(ctx, n)
}

// faults reads the faults of block hash on c; tag ("" the relay) names
// the chain in the faults' ids and reasons.
func (r *Reader) faults(ctx context.Context, c *Client, hash, tag string) ([]events.Fault, error) {
	if !isHash(hash) {
		return nil, fmt.Errorf("block hash %.80q is not a 0x-prefixed 32-byte hash", hash)
	}
	v, err := openView(ctx, c, hash)
	if err != nil {
		return nil, err
	}
	p := r.props(ctx, v)
	e := v.md.Entry("System", "Events")
	if e == nil {
		return nil, fmt.Errorf("runtime %s %d has no System.Events", v.rv.SpecName, v.rv.SpecVersion)
	}
	raw, err := c.Storage(ctx, mustKey(v, "System", "Events"), v.at)
	if err != nil {
		return nil, fmt.Errorf("System.Events at %s: %w", hash, err)
	}
	if raw == nil {
		raw = e.Default
	}
	evs, err := v.md.DecodeEvents(raw)
	if err != nil {
		return nil, fmt.Errorf("events of block %d: %w", v.block, err)
	}
	// Era, session and time of the block, for the reasons.
	var era uint32
	if v.has("Staking", "ActiveEra") {
		era, _, _ = activeEra(ctx, v)
	}
	var session uint32
	if n, ok := optUint(v.get(ctx, "Session", "CurrentIndex")); ok {
		session = uint32(n)
	}
	var at int64
	if n, ok := optUint(v.get(ctx, "Timestamp", "Now")); ok && n < 1<<62 {
		at = int64(n)
	}
	obs := r.observer(c)
	var out []events.Fault
	mk := func(ev scale.Event, stash account, hasStash bool, kind, reason string) {
		f := events.Fault{V: events.SchemaVersion, Chain: r.cfg.Chain, Kind: kind, Era: era, Session: session, Block: v.block, At: at, Observer: obs,
			ID: fmt.Sprintf("%d-%d", v.block, ev.Index)}
		where := "block"
		if tag != "" {
			f.ID, where = tag+"-"+f.ID, tag+" chain block"
		}
		if hasStash {
			f.Stash = stash.ss58(p.prefix)
			f.ID += "-" + f.Stash
		}
		f.Reason = fmt.Sprintf("%s.%s in %s %d (era %d, session %d)%s", ev.Pallet, ev.Name, where, v.block, era, session, reason)
		out = append(out, f)
	}
	for _, ev := range evs {
		switch {
		case ev.Pallet == "Offences" && ev.Name == "Offence":
			kind, _ := ev.Field("kind").AsBytes()
			slot, _ := ev.Field("timeslot").AsBytes()
			reason := fmt.Sprintf(": %s offence, time slot %s", printable(kind), toHex(slot))
			offenders, err := r.offenders(ctx, v, kind, slot)
			if err != nil || len(offenders) == 0 {
				if err != nil {
					reason += " (offenders not resolved: " + trimErr(err) + ")"
				}
				mk(ev, account{}, false, events.FaultOffence, reason)
				continue
			}
			for _, a := range offenders {
				mk(ev, a, true, events.FaultOffence, reason)
			}
		case ev.Pallet == "Staking" && (ev.Name == "Slashed" || ev.Name == "Slash" || ev.Name == "SlashReported"):
			a, ok := eventAccount(ev, "staker", "validator", "stash")
			reason := ""
			if amt := ev.Field("amount").BigInt(); amt != nil {
				reason = ": amount " + amt.String()
			}
			if fr, ok := ev.Field("fraction").Uint64(); ok {
				reason += fmt.Sprintf(": fraction %d/1e9", fr)
			}
			if se, ok := ev.Field("slash_era").Uint64(); ok {
				reason += fmt.Sprintf(", slash era %d", se)
			}
			mk(ev, a, ok, events.FaultSlash, reason)
		case ev.Pallet == "Staking" && ev.Name == "Chilled":
			a, ok := eventAccount(ev, "stash")
			mk(ev, a, ok, events.FaultChilled, "")
		case ev.Pallet == "ImOnline" && ev.Name == "SomeOffline":
			items, _ := ev.Field("offline").List()
			for _, it := range items {
				pair, ok := it.List()
				if !ok || len(pair) == 0 {
					continue
				}
				if a, ok := accountOf(pair[0]); ok {
					mk(ev, a, true, events.FaultOffence, ": no heartbeat in the session")
				}
			}
		}
	}
	return out, nil
}

func mustKey(v *view, pallet, item string) []byte {
	k, _ := Key(v.md, pallet, item)
	return k
}

// eventAccount is the event's account field by one of names, else its
// first field that is an account.
func eventAccount(ev scale.Event, names ...string) (account, bool) {
	for _, n := range names {
		if a, ok := accountOf(ev.Field(n)); ok {
			return a, true
		}
	}
	for _, f := range ev.Fields {
		if a, ok := accountOf(f.Value); ok {
			return a, true
		}
	}
	return account{}, false
}

// offenders resolves an Offence event's reports: ConcurrentReportsIndex
// (kind, time slot) → report ids → Reports(id).offender.0 (the stash).
func (r *Reader) offenders(ctx context.Context, v *view, kind, slot []byte) ([]account, error) {
	if !v.has("Offences", "ConcurrentReportsIndex") || !v.has("Offences", "Reports") || len(kind) == 0 {
		return nil, nil
	}
	enc := append(scale.Compact(uint64(len(slot))), slot...)
	s := v.get(ctx, "Offences", "ConcurrentReportsIndex", kind, enc)
	if s.Err != nil {
		return nil, s.Err
	}
	ids, _ := s.Val.List()
	var args [][][]byte
	for _, id := range ids {
		if b, ok := id.AsBytes(); ok && len(b) == 32 {
			args = append(args, [][]byte{b})
		}
	}
	if len(args) == 0 {
		return nil, nil
	}
	if len(args) > 4096 {
		args = args[:4096]
	}
	reps, err := v.many(ctx, "Offences", "Reports", args)
	if err != nil {
		return nil, err
	}
	var out []account
	seen := map[account]bool{}
	for _, rep := range reps {
		if rep.Err != nil || !rep.Ok {
			continue
		}
		val := rep.Val
		if o, ok := val.Option(); ok {
			val = o
		}
		off := val.Field("offender")
		var a account
		var ok bool
		if l, isList := off.List(); isList && len(l) > 0 {
			a, ok = accountOf(l[0])
		} else {
			a, ok = accountOf(off)
		}
		if ok && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// printable renders an offence kind ("im-online:offlin") as text.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(b))
	if s == "" {
		return toHex(b)
	}
	return s
}
