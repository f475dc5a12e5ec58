package tx

import (
	"errors"
	"fmt"
	"math/big"
)

// Perbill is a fraction in billionths (1e9 = 100 %), the runtime's
// commission unit.
type Perbill uint32

// Transfer is balances.transfer_keep_alive(dest, value).
func (b *Builder) Transfer(dest AccountID, value *big.Int) (Call, error) {
	return b.build("Balances", "transfer_keep_alive", map[string]arg{"dest": account(dest), "value": uint(value)})
}

// Bond is staking.bond(value, payee Staked). Runtimes of the 9320 era also
// take a controller: the stash itself is given (controllers are being
// removed from staking; a separate one is a 1KV-era complication).
func (b *Builder) Bond(stash AccountID, value *big.Int) (Call, error) {
	c, err := b.build("Staking", "bond", map[string]arg{"controller": account(stash), "value": uint(value), "payee": variant("Staked")})
	if err == nil {
		return c, nil
	}
	// A runtime without the controller argument.
	if c2, err2 := b.build("Staking", "bond", map[string]arg{"value": uint(value), "payee": variant("Staked")}); err2 == nil {
		return c2, nil
	}
	return Call{}, err
}

// Validate is staking.validate(prefs {commission, blocked}).
func (b *Builder) Validate(commission Perbill, blocked bool) (Call, error) {
	if commission > 1_000_000_000 {
		return Call{}, fmt.Errorf("commission %d Perbill is over 100 %%", commission)
	}
	return b.build("Staking", "validate", map[string]arg{"prefs": composite(map[string]arg{
		"commission": u32(uint32(commission)), "blocked": boolean(blocked)})})
}

// MaxTargets bounds Nominate's targets before the runtime does (its
// MaxNominations is 16 on Westend 9320, 24 on Kusama).
const MaxTargets = 64

// Nominate is staking.nominate(targets), each target in the runtime's
// encoding (MultiAddress on Westend 9320).
func (b *Builder) Nominate(targets []AccountID) (Call, error) {
	if len(targets) == 0 || len(targets) > MaxTargets {
		return Call{}, fmt.Errorf("nominate: %d targets, give 1 to %d", len(targets), MaxTargets)
	}
	items := make([]arg, len(targets))
	for i, t := range targets {
		items[i] = account(t)
	}
	return b.build("Staking", "nominate", map[string]arg{"targets": seq(items)})
}

// Chill is staking.chill().
func (b *Builder) Chill() (Call, error) { return b.build("Staking", "chill", map[string]arg{}) }

// PayoutStakers is staking.payout_stakers(validator_stash, era).
func (b *Builder) PayoutStakers(stash AccountID, era uint32) (Call, error) {
	return b.build("Staking", "payout_stakers", map[string]arg{"validator_stash": account(stash), "era": u32(era)})
}

// SessionKeys are a validator's session public keys by the runtime's
// field name (grandpa, babe, im_online, para_validator, para_assignment,
// authority_discovery, beefy when the runtime has it).
type SessionKeys map[string][]byte

// SetKeys is session.set_keys(keys, proof). The runtime checks neither
// the keys nor the (empty) proof; it records them as the stash's next
// keys.
func (b *Builder) SetKeys(keys SessionKeys) (Call, error) {
	fields := make(map[string]arg, len(keys))
	for k, v := range keys {
		fields[k] = fixed(v)
	}
	return b.build("Session", "set_keys", map[string]arg{"keys": composite(fields), "proof": bytesArg(nil)})
}

// ProxyStaking is the proxy type the programme's nominators use.
const ProxyStaking = "Staking"

// AddProxy is proxy.add_proxy(delegate, Staking, delay): delegate may
// then act for the signer in staking calls, announcing each call delay
// blocks ahead when delay > 0.
func (b *Builder) AddProxy(delegate AccountID, delay uint32) (Call, error) {
	return b.build("Proxy", "add_proxy", map[string]arg{"delegate": account(delegate), "proxy_type": variant(ProxyStaking), "delay": u32(delay)})
}

// Proxy is proxy.proxy(real, Some(Staking), call): an immediate proxy
// call (only allowed without a delay).
func (b *Builder) Proxy(real AccountID, c Call) (Call, error) {
	return b.build("Proxy", "proxy", map[string]arg{"real": account(real), "force_proxy_type": option(variant(ProxyStaking)), "call": call(c)})
}

// Announce is proxy.announce(real, blake2_256(call)).
func (b *Builder) Announce(real AccountID, c Call) (Call, error) {
	return b.build("Proxy", "announce", map[string]arg{"real": account(real), "call_hash": hash32(c.Hash())})
}

// ProxyAnnounced is proxy.proxy_announced(delegate, real, Some(Staking),
// call): executes an announced call once its delay has passed.
func (b *Builder) ProxyAnnounced(delegate, real AccountID, c Call) (Call, error) {
	return b.build("Proxy", "proxy_announced", map[string]arg{"delegate": account(delegate), "real": account(real), "force_proxy_type": option(variant(ProxyStaking)), "call": call(c)})
}

// RemoveAnnouncement is proxy.remove_announcement(real, call_hash):
// withdraws an announcement (a target became invalid meanwhile).
func (b *Builder) RemoveAnnouncement(real AccountID, callHash [32]byte) (Call, error) {
	return b.build("Proxy", "remove_announcement", map[string]arg{"real": account(real), "call_hash": hash32(callHash)})
}

// Sudo is sudo.sudo(call).
func (b *Builder) Sudo(c Call) (Call, error) {
	return b.build("Sudo", "sudo", map[string]arg{"call": call(c)})
}

// GovernanceFallback is
// electionProviderMultiPhase.governance_fallback(None, None): in the
// emergency phase, elect on chain with no bounds (root only: wrap in
// Sudo).
func (b *Builder) GovernanceFallback() (Call, error) {
	return b.build("ElectionProviderMultiPhase", "governance_fallback", map[string]arg{"maybe_max_voters": option(nil), "maybe_max_targets": option(nil)})
}

// MaxBatch bounds a batch (the runtime's own limit is far higher; a block
// has a weight limit long before).
const MaxBatch = 256

// BatchAll is utility.batch_all(calls): all or none, so one signer can
// send several calls in one block without juggling nonces.
func (b *Builder) BatchAll(calls []Call) (Call, error) {
	if len(calls) == 0 || len(calls) > MaxBatch {
		return Call{}, fmt.Errorf("batch of %d calls: give 1 to %d", len(calls), MaxBatch)
	}
	items := make([]arg, len(calls))
	for i, c := range calls {
		items[i] = call(c)
	}
	return b.build("Utility", "batch_all", map[string]arg{"calls": seq(items)})
}

var errNoBuilder = errors.New("tx client has no metadata: Dial it first")

// SessionKeyFields are the runtime's session key names (fields of its
// SessionKeys) with each key's length in bytes, in the runtime's order:
// what SetKeys must be given.
func (b *Builder) SessionKeyFields() ([]string, map[string]int, error) {
	for _, t := range b.types {
		if pathName(t) != "SessionKeys" || !t.Def.IsComposite {
			continue
		}
		var names []string
		lens := map[string]int{}
		for _, f := range t.Def.Composite.Fields {
			ft, err := b.typ(f.Type.Int64())
			if err != nil {
				return nil, nil, err
			}
			for ft.Def.IsComposite && len(ft.Def.Composite.Fields) == 1 {
				if ft, err = b.typ(ft.Def.Composite.Fields[0].Type.Int64()); err != nil {
					return nil, nil, err
				}
			}
			if !ft.Def.IsArray {
				return nil, nil, fmt.Errorf("session key %s is not a byte array", f.Name)
			}
			names = append(names, string(f.Name))
			lens[string(f.Name)] = int(ft.Def.Array.Len)
		}
		return names, lens, nil
	}
	return nil, nil, errors.New("the runtime has no SessionKeys type")
}
