// Package chain reads a Substrate relay chain (and optionally its People
// and staking chains) over JSON-RPC into the sentry's payloads
// (events.Chain, events.Validator, events.Era, events.Fault). Storage is
// located and decoded from each runtime's own metadata, so the legacy
// (ErasStakers, ledger claimed_rewards) and paged (ErasStakersOverview,
// ErasStakersPaged, ClaimedRewards) staking layouts are both read, chosen
// by the items the metadata has.
//
// Storage read (pallet.item, by whom):
//   - relay: Timestamp.Now, Session.{CurrentIndex, Validators, NextKeys},
//     System.Events (faults), Offences.{ConcurrentReportsIndex, Reports};
//   - staking chain (the relay unless Config.Staking): Staking.{ActiveEra,
//     CurrentEra, Validators, Bonded, Ledger, Payee, Nominators,
//     MinNominatorBond, ErasValidatorPrefs, ErasRewardPoints}, the
//     exposures (legacy ErasStakers; paged ErasStakersOverview,
//     ErasStakersPaged, ClaimedRewards), System.Account, Proxy.{Proxies,
//     Announcements}, constants MaxNominations and HistoryDepth (or the
//     HistoryDepth item of old runtimes);
//   - People chain (the relay unless Config.People):
//     Identity.{IdentityOf, SuperOf, SubsOf}.
//
// Chain, Validators (without a block hash), Era and the proxy reads use
// each chain's finalized head.
package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/scale"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

// Config configures a Reader.
type Config struct {
	Chain string // the chain's name in payloads (events.CheckChain)
	// Relay are the relay chain's RPC URLs (ws://, wss://, http://,
	// https://), tried in order with failover.
	Relay []string
	// People: identity is read there when set, else on the relay.
	People []string
	// Staking: the staking pallet (and proxies) are read there when set
	// (e.g. Asset Hub), else on the relay.
	Staking []string
	Timeout time.Duration // per RPC call (DefaultTimeout)
	MaxResp int64         // response bound (DefaultMaxResp)
	Log     *slog.Logger
}

// Reader reads the configured chains.
type Reader struct {
	cfg                    Config
	relay, people, staking *Client
	now                    func() time.Time
	past                   pastEras // the exposures of ended eras, for unclaimed rewards
}

// New checks the configuration; connections are made on first use.
func New(cfg Config) (*Reader, error) {
	if err := events.CheckChain(cfg.Chain); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	mk := func(role string, urls []string) (*Client, error) {
		c, err := NewClient(urls, ClientOptions{Timeout: cfg.Timeout, MaxResp: cfg.MaxResp, Log: cfg.Log.With("chain", cfg.Chain, "role", role)})
		if err != nil {
			return nil, fmt.Errorf("%s %s RPC: %w", cfg.Chain, role, err)
		}
		return c, nil
	}
	r := &Reader{cfg: cfg, now: time.Now}
	var err error
	if r.relay, err = mk("relay", cfg.Relay); err != nil {
		return nil, err
	}
	r.people, r.staking = r.relay, r.relay
	if len(cfg.People) > 0 {
		if r.people, err = mk("people", cfg.People); err != nil {
			return nil, err
		}
	}
	if len(cfg.Staking) > 0 {
		if r.staking, err = mk("staking", cfg.Staking); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Close closes the connections.
func (r *Reader) Close() error {
	_ = r.relay.Close()
	_ = r.people.Close()
	return r.staking.Close()
}

// ReaderStats are the RPC counters of each chain's client.
type ReaderStats struct{ Relay, People, Staking Stats }

// Stats returns the RPC counters (People and Staking equal Relay when
// they are read from the relay).
func (r *Reader) Stats() ReaderStats {
	return ReaderStats{Relay: r.relay.Stats(), People: r.people.Stats(), Staking: r.staking.Stats()}
}

// Relay is the relay chain's client (for callers that need raw reads).
func (r *Reader) Relay() *Client { return r.relay }

func (r *Reader) ms() int64 { return r.now().UnixMilli() }

func (r *Reader) observer(c *Client) events.Observer {
	return events.Observer{Endpoint: c.Endpoint(), SeenAt: r.ms()}
}

// stakingView opens the staking chain at relay's block when it is the
// relay, else at its own finalized head.
func (r *Reader) stakingView(ctx context.Context, relay *view) (*view, error) {
	if r.staking == r.relay {
		return relay, nil
	}
	return openView(ctx, r.staking, "")
}

// props are the chain's SS58 prefix, decimals and token.
type props struct {
	prefix   uint16
	decimals int
	token    string
}

// firstJSON reads a number or string, or the first of an array.
func firstJSON(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		if len(arr) == 0 {
			return "", false
		}
		raw = arr[0]
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func (r *Reader) props(ctx context.Context, v *view) props {
	p := props{prefix: 42, decimals: 0}
	if c, ok := v.constant("System", "SS58Prefix"); ok {
		if n, ok := c.Uint64(); ok && ss58.ValidPrefix(uint16(n)) && n <= ss58.MaxPrefix {
			p.prefix = uint16(n)
		}
	}
	pr, err := v.c.Properties(ctx)
	if err != nil {
		return p
	}
	if s, ok := firstJSON(pr.SS58Format); ok {
		if n, err := strconv.ParseUint(s, 10, 16); err == nil && n <= ss58.MaxPrefix {
			p.prefix = uint16(n)
		}
	}
	if s, ok := firstJSON(pr.TokenDecimals); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 64 {
			p.decimals = n
		}
	}
	if s, ok := firstJSON(pr.TokenSymbol); ok && len(s) <= 16 {
		p.token = s
	}
	return p
}

// activeEra reads Staking.ActiveEra {index, start}.
func activeEra(ctx context.Context, v *view) (uint32, int64, error) {
	s := v.get(ctx, "Staking", "ActiveEra")
	if s.Err != nil {
		return 0, 0, s.Err
	}
	if !s.Ok {
		return 0, 0, nil
	}
	val := s.Val
	if o, ok := val.Option(); ok {
		val = o
	}
	idx, ok := val.Field("index").Uint64()
	if !ok {
		return 0, 0, fmt.Errorf("Staking.ActiveEra has no index: %.200s", val)
	}
	var start int64
	if st, ok := val.Field("start").Option(); ok {
		if n, ok := st.Uint64(); ok && n < 1<<62 {
			start = int64(n)
		}
	}
	return uint32(idx), start, nil
}

func optUint(s slot) (uint64, bool) {
	if s.Err != nil || !s.Ok {
		return 0, false
	}
	val := s.Val
	if o, ok := val.Option(); ok {
		val = o
	}
	return val.Uint64()
}

// historyDepth is the HistoryDepth constant, else the storage item.
func historyDepth(ctx context.Context, v *view) (uint32, error) {
	if c, ok := v.constant("Staking", "HistoryDepth"); ok {
		if n, ok := c.Uint64(); ok {
			return uint32(min(n, 1<<16)), nil
		}
	}
	if v.has("Staking", "HistoryDepth") {
		s := v.get(ctx, "Staking", "HistoryDepth")
		if n, ok := optUint(s); ok {
			return uint32(min(n, 1<<16)), nil
		}
		if s.Err != nil {
			return 0, s.Err
		}
	}
	return 0, errors.New("runtime has neither a Staking.HistoryDepth constant nor storage item")
}

// proxyBlock is the block number the staking chain's proxy pallet counts
// announcements in (pallet_proxy's BlockNumberProvider). On the relay, its
// own. On a parachain holding staking — Asset Hub after the migration —
// the relay's: the migration made the proxy pallet count relay blocks
// (delays translated to relay blocks), so its current number is the relay
// parent it builds on, ParachainSystem.LastRelayChainBlockNumber. A
// separate staking chain without ParachainSystem counts its own.
func proxyBlock(ctx context.Context, rv, sv *view) uint64 {
	if sv == rv {
		return rv.block
	}
	if !sv.has("ParachainSystem", "LastRelayChainBlockNumber") {
		return sv.block
	}
	if n, ok := optUint(sv.get(ctx, "ParachainSystem", "LastRelayChainBlockNumber")); ok && n > 0 {
		return n
	}
	return rv.block // the relay's finalized head: the same numbering, a little behind
}

// paged: the runtime keeps exposures paged (ErasStakersOverview).
func paged(v *view) bool { return v.has("Staking", "ErasStakersOverview") }

// Chain reads the chain's position and its non-validator facts at the
// relay's finalized head.
func (r *Reader) Chain(ctx context.Context) (events.Chain, error) {
	out := events.Chain{V: events.SchemaVersion, Chain: r.cfg.Chain}
	gen, err := r.relay.Genesis(ctx)
	if err != nil {
		return out, err
	}
	rv, err := openView(ctx, r.relay, "")
	if err != nil {
		return out, err
	}
	sv, err := r.stakingView(ctx, rv)
	if err != nil {
		return out, fmt.Errorf("staking chain: %w", err)
	}
	p := r.props(ctx, rv)
	out.Genesis, out.SpecName, out.SpecVersion = gen, rv.rv.SpecName, rv.rv.SpecVersion
	out.SS58Prefix, out.Decimals, out.Token = p.prefix, p.decimals, p.token
	out.Block, out.BlockHash = rv.block, rv.at
	out.ProxyBlock = proxyBlock(ctx, rv, sv)
	if n, ok := optUint(rv.get(ctx, "Timestamp", "Now")); ok && n < 1<<62 {
		out.BlockTime = int64(n)
	}
	if out.ActiveEra, out.ActiveEraStart, err = activeEra(ctx, sv); err != nil {
		return out, fmt.Errorf("Staking.ActiveEra: %w", err)
	}
	if n, ok := optUint(sv.get(ctx, "Staking", "CurrentEra")); ok {
		out.CurrentEra = uint32(n)
	}
	s := rv.get(ctx, "Session", "CurrentIndex")
	if s.Err != nil {
		return out, fmt.Errorf("Session.CurrentIndex: %w", s.Err)
	}
	if n, ok := optUint(s); ok {
		out.Session = uint32(n)
	}
	vals, err := sessionValidators(ctx, rv)
	if err != nil {
		return out, err
	}
	out.SessionValidators = make([]string, 0, len(vals))
	for _, a := range vals {
		out.SessionValidators = append(out.SessionValidators, a.ss58(p.prefix))
	}
	exps, err := eraExposures(ctx, sv, out.ActiveEra, nil, false, false)
	if err != nil {
		return out, err
	}
	out.ElectedStakes = make([]events.Amount, 0, len(exps))
	for _, a := range sortedAccounts(exps) {
		out.ElectedStakes = append(out.ElectedStakes, events.AmountOf(exps[a].total))
	}
	if c, ok := sv.constant("Staking", "MaxNominations"); ok {
		if n, ok := c.Uint64(); ok {
			out.MaxNominations = uint32(min(n, 1<<16))
		}
	}
	if out.HistoryDepth, err = historyDepth(ctx, sv); err != nil {
		return out, err
	}
	if sv.has("Staking", "MinNominatorBond") {
		if b := sv.get(ctx, "Staking", "MinNominatorBond"); b.Err == nil && b.Ok {
			if x := b.Val.BigInt(); x != nil {
				out.MinNominatorBond = events.AmountOf(x)
			}
		}
	}
	out.Observer = r.observer(r.relay)
	return out, nil
}

func sessionValidators(ctx context.Context, v *view) ([]account, error) {
	s := v.get(ctx, "Session", "Validators")
	if s.Err != nil {
		return nil, fmt.Errorf("Session.Validators: %w", s.Err)
	}
	items, _ := s.Val.List()
	out := make([]account, 0, len(items))
	for _, it := range items {
		a, ok := accountOf(it)
		if !ok {
			return nil, fmt.Errorf("Session.Validators: item is not an account: %.100s", it)
		}
		out = append(out, a)
	}
	return out, nil
}

// exposure is one validator's exposure in an era.
type exposure struct {
	total  *big.Int
	pages  int // paged layout: page_count; legacy: 0
	legacy bool
	others []backer
}

type backer struct {
	who   account
	value *big.Int
}

func bigOr0(v scale.Value) *big.Int {
	if b := v.BigInt(); b != nil {
		return b
	}
	return new(big.Int)
}

func backers(val scale.Value) []backer {
	items, _ := val.Field("others").List()
	out := make([]backer, 0, len(items))
	for _, it := range items {
		if a, ok := accountOf(it.Field("who")); ok {
			out = append(out, backer{who: a, value: bigOr0(it.Field("value"))})
		}
	}
	return out
}

// eraExposures reads the era's exposures: all validators' when only is
// nil, else only theirs. withOthers also reads the nominators (the pages
// of a paged exposure). keysOnly: legacy exposures are found by their
// keys, without totals. Paged runtimes keep eras from before their
// migration in ErasStakers, so both layouts are read where present.
func eraExposures(ctx context.Context, v *view, era uint32, only []account, withOthers, keysOnly bool) (map[account]*exposure, error) {
	out := map[account]*exposure{}
	ek := u32le(era)
	read := func(item string) error {
		var args [][][]byte
		var slots []slot
		var err error
		if only == nil && keysOnly && item == "ErasStakers" {
			// Existence is exposure (no default is stored): the keys
			// suffice, sparing a read of every nominator of the era.
			args, err = v.keyArgs(ctx, "Staking", item, ek)
			if err != nil {
				return err
			}
			for _, k := range args {
				if len(k) == 2 && len(k[1]) == 32 {
					var a account
					copy(a[:], k[1])
					if _, ok := out[a]; !ok {
						out[a] = &exposure{total: new(big.Int), legacy: true}
					}
				}
			}
			return nil
		}
		if only == nil {
			args, slots, err = v.entries(ctx, "Staking", item, ek)
		} else {
			for _, a := range only {
				args = append(args, [][]byte{ek, a[:]})
			}
			slots, err = v.many(ctx, "Staking", item, args)
		}
		if err != nil {
			return err
		}
		for i, s := range slots {
			if s.Err != nil {
				return fmt.Errorf("Staking.%s era %d: %w", item, era, s.Err)
			}
			if !s.Ok || len(args[i]) < 2 || len(args[i][1]) != 32 {
				continue
			}
			val := s.Val
			if o, ok := val.Option(); ok {
				val = o
			}
			total := bigOr0(val.Field("total"))
			var a account
			copy(a[:], args[i][1])
			if item == "ErasStakers" {
				// A ValueQuery default (total 0, no nominators) is no exposure.
				if total.Sign() == 0 && len(backers(val)) == 0 {
					continue
				}
				if _, ok := out[a]; !ok {
					out[a] = &exposure{total: total, legacy: true, others: backers(val)}
				}
				continue
			}
			pc, _ := val.Field("page_count").Uint64()
			out[a] = &exposure{total: total, pages: int(min(pc, 1024))}
		}
		return nil
	}
	if paged(v) {
		if err := read("ErasStakersOverview"); err != nil {
			return nil, err
		}
		if withOthers && v.has("Staking", "ErasStakersPaged") {
			var args [][][]byte
			var owners []account
			for _, a := range sortedAccounts(out) {
				for p := 0; p < out[a].pages; p++ {
					args = append(args, [][]byte{ek, a[:], u32le(uint32(p))})
					owners = append(owners, a)
				}
			}
			if len(args) > 0 {
				slots, err := v.many(ctx, "Staking", "ErasStakersPaged", args)
				if err != nil {
					return nil, err
				}
				for i, s := range slots {
					if s.Err != nil {
						return nil, fmt.Errorf("Staking.ErasStakersPaged era %d: %w", era, s.Err)
					}
					if s.Ok {
						val := s.Val
						if o, ok := val.Option(); ok {
							val = o
						}
						out[owners[i]].others = append(out[owners[i]].others, backers(val)...)
					}
				}
			}
		}
	}
	if v.has("Staking", "ErasStakers") {
		if err := read("ErasStakers"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sortedAccounts[T any](m map[account]T) []account {
	out := make([]account, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	sortAccounts(out)
	return out
}

func sortAccounts(a []account) {
	for i := 1; i < len(a); i++ { // insertion sort keeps this dependency-free and stable
		for j := i; j > 0 && string(a[j][:]) < string(a[j-1][:]); j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// Era reads one era's validators (ErasValidatorPrefs keys, else the
// exposure keys) and reward points (ErasRewardPoints).
func (r *Reader) Era(ctx context.Context, era uint32) (events.Era, error) {
	out := events.Era{V: events.SchemaVersion, Chain: r.cfg.Chain, Era: era, Points: map[string]uint32{}}
	rv, err := openView(ctx, r.relay, "")
	if err != nil {
		return out, err
	}
	sv, err := r.stakingView(ctx, rv)
	if err != nil {
		return out, fmt.Errorf("staking chain: %w", err)
	}
	p := r.props(ctx, rv)
	active, _, err := activeEra(ctx, sv)
	if err != nil {
		return out, fmt.Errorf("Staking.ActiveEra: %w", err)
	}
	var vals []account
	if sv.has("Staking", "ErasValidatorPrefs") {
		args, err := sv.keyArgs(ctx, "Staking", "ErasValidatorPrefs", u32le(era))
		if err != nil {
			return out, err
		}
		for _, a := range args {
			if len(a) == 2 && len(a[1]) == 32 {
				var acc account
				copy(acc[:], a[1])
				vals = append(vals, acc)
			}
		}
	}
	if len(vals) == 0 {
		exps, err := eraExposures(ctx, sv, era, nil, false, true)
		if err != nil {
			return out, err
		}
		vals = sortedAccounts(exps)
	}
	if len(vals) == 0 {
		// No era of a live chain has no validators: an empty answer stored
		// as a finished era would cost every candidate a rank period.
		sess, err := sessionValidators(ctx, rv)
		if err != nil {
			return out, fmt.Errorf("era %d lists no validators, and %w", era, err)
		}
		if len(sess) > 0 {
			return out, fmt.Errorf("era %d: the node lists no validators (Staking.ErasValidatorPrefs, exposures) while Session.Validators has %d; "+
				"an empty answer is taken as a failed read, retried next poll", era, len(sess))
		}
	}
	sortAccounts(vals)
	for _, a := range vals {
		out.Validators = append(out.Validators, a.ss58(p.prefix))
	}
	s := sv.get(ctx, "Staking", "ErasRewardPoints", u32le(era))
	if s.Err != nil {
		return out, fmt.Errorf("Staking.ErasRewardPoints(%d): %w", era, s.Err)
	}
	if s.Ok {
		if t, ok := s.Val.Field("total").Uint64(); ok {
			out.Total = uint32(t)
		}
		items, _ := s.Val.Field("individual").List()
		for _, it := range items {
			pair, ok := it.List()
			if !ok || len(pair) != 2 {
				continue
			}
			a, ok1 := accountOf(pair[0])
			n, ok2 := pair[1].Uint64()
			if ok1 && ok2 {
				out.Points[a.ss58(p.prefix)] = uint32(n)
			}
		}
	}
	out.Complete = era < active
	out.Block = sv.block
	out.Observer = r.observer(sv.c)
	return out, nil
}

// Proxy is one proxy of an account (proxy.proxies).
type Proxy struct {
	Delegate string
	Type     string
	Delay    uint32
}

// Announcement is one announced proxy call (proxy.announcements).
type Announcement struct {
	Real     string
	CallHash string // 0x…
	Height   uint32
}

func (r *Reader) proxyRead(ctx context.Context, item, addr string) ([]scale.Value, uint16, error) {
	pk, _, err := ss58.Decode(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("account %q: %w", addr, err)
	}
	v, err := openView(ctx, r.staking, "")
	if err != nil {
		return nil, 0, err
	}
	p := r.props(ctx, v)
	s := v.get(ctx, "Proxy", item, pk[:])
	if s.Err != nil {
		return nil, 0, fmt.Errorf("Proxy.%s: %w", item, s.Err)
	}
	if !s.Ok {
		return nil, p.prefix, nil
	}
	// (BoundedVec<T>, Balance): the list is the tuple's first item.
	tup, _ := s.Val.List()
	if len(tup) == 0 {
		return nil, p.prefix, nil
	}
	items, _ := tup[0].List()
	return items, p.prefix, nil
}

// Proxies reads proxy.proxies(real): the delegates acting for real.
func (r *Reader) Proxies(ctx context.Context, real string) ([]Proxy, error) {
	items, prefix, err := r.proxyRead(ctx, "Proxies", real)
	if err != nil {
		return nil, err
	}
	out := make([]Proxy, 0, len(items))
	for _, it := range items {
		d, ok := accountOf(it.Field("delegate"))
		if !ok {
			continue
		}
		delay, _ := it.Field("delay").Uint64()
		out = append(out, Proxy{Delegate: d.ss58(prefix), Type: it.Field("proxy_type").Name, Delay: uint32(delay)})
	}
	return out, nil
}

// Announcements reads proxy.announcements(delegate).
func (r *Reader) Announcements(ctx context.Context, delegate string) ([]Announcement, error) {
	by, err := r.AnnouncementsOf(ctx, delegate)
	if err != nil {
		return nil, err
	}
	return by[delegate], nil
}

// AnnouncementsOf reads proxy.announcements of every delegate at one
// block in one batched state query (state_queryStorageAt), keyed by the
// delegate as given: the runner re-reads the announcements of all its
// proxies before a pass's sends, and one read per delegate would cost a
// block view and a storage call each. A delegate with no entry maps to
// none; an address that does not decode fails the call, as nothing is to
// be sent on a read that could not be made.
func (r *Reader) AnnouncementsOf(ctx context.Context, delegates ...string) (map[string][]Announcement, error) {
	args := make([][][]byte, 0, len(delegates))
	for _, d := range delegates {
		pk, _, err := ss58.Decode(d)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", d, err)
		}
		args = append(args, [][]byte{pk[:]})
	}
	out := make(map[string][]Announcement, len(delegates))
	if len(args) == 0 {
		return out, nil
	}
	v, err := openView(ctx, r.staking, "")
	if err != nil {
		return nil, err
	}
	p := r.props(ctx, v)
	slots, err := v.many(ctx, "Proxy", "Announcements", args)
	if err != nil {
		return nil, err
	}
	for i, s := range slots {
		if s.Err != nil {
			return nil, fmt.Errorf("Proxy.Announcements of %s: %w", delegates[i], s.Err)
		}
		out[delegates[i]] = announcementsIn(s, p.prefix)
	}
	return out, nil
}

// announcementsIn decodes one proxy.announcements value,
// (BoundedVec<Announcement>, Balance): the list is the tuple's first item.
func announcementsIn(s slot, prefix uint16) []Announcement {
	if !s.Ok {
		return nil
	}
	tup, _ := s.Val.List()
	if len(tup) == 0 {
		return nil
	}
	items, _ := tup[0].List()
	out := make([]Announcement, 0, len(items))
	for _, it := range items {
		real, ok := accountOf(it.Field("real"))
		h, ok2 := it.Field("call_hash").AsBytes()
		if !ok || !ok2 {
			continue
		}
		height, _ := it.Field("height").Uint64()
		out = append(out, Announcement{Real: real.ss58(prefix), CallHash: toHex(h), Height: uint32(height)})
	}
	return out
}

// dataText is an identity Data value as text: Raw bytes (made valid
// UTF-8), "" for None and the hashed variants (their preimage is not on
// chain).
func dataText(v scale.Value) string {
	if v.Kind != scale.KindVariant || !strings.HasPrefix(v.Name, "Raw") {
		return ""
	}
	b, ok := v.AsBytes()
	if !ok {
		return ""
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
