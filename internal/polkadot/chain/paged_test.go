package chain

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/scale"
)

// pagedMetadata is the westend fixture with the paged-exposure items of
// today's staking pallet added (polkadot-sdk #1189): ErasStakersOverview
// (PagedExposureMetadata), ErasStakersPaged (ExposurePage) and
// ClaimedRewards (pages claimed per era and validator). ErasStakers is
// kept, as paged runtimes kept it for the eras before their migration.
func pagedMetadata(t testing.TB) *scale.Metadata {
	t.Helper()
	md := metadata(t)
	legacy := md.Entry("Staking", "ErasStakers")
	keyT := md.Types.Type(legacy.Key)
	u32, acct := keyT.Tuple[0], keyT.Tuple[1]
	exp := md.Types.Type(legacy.Value)
	var compactBal, others uint32
	for _, f := range exp.Fields {
		switch f.Name {
		case "total":
			compactBal = f.Type
		case "others":
			others = f.Type
		}
	}
	types := md.Types.Types()
	next := uint32(0)
	for _, t := range types {
		next = max(next, t.ID+1)
	}
	overview := &scale.Type{ID: next, Path: []string{"sp_staking", "PagedExposureMetadata"}, Kind: scale.DefComposite, Fields: []scale.FieldDef{
		{Name: "total", Type: compactBal}, {Name: "own", Type: compactBal}, {Name: "nominator_count", Type: u32}, {Name: "page_count", Type: u32}}}
	page := &scale.Type{ID: next + 1, Path: []string{"sp_staking", "ExposurePage"}, Kind: scale.DefComposite, Fields: []scale.FieldDef{
		{Name: "page_total", Type: compactBal}, {Name: "others", Type: others}}}
	pages := &scale.Type{ID: next + 2, Kind: scale.DefSequence, Elem: u32}
	key3 := &scale.Type{ID: next + 3, Kind: scale.DefTuple, Tuple: []uint32{u32, acct, u32}}
	types = append(types, overview, page, pages, key3)
	out := &scale.Metadata{Version: md.Version, Types: scale.NewRegistry(types)}
	for _, p := range md.Pallets {
		if p.Name == "Staking" {
			p.Storage = append(slices.Clone(p.Storage),
				scale.StorageEntry{Name: "ErasStakersOverview", Optional: true, Map: true, Hashers: []scale.Hasher{scale.Twox64Concat, scale.Twox64Concat}, Key: legacy.Key, Value: overview.ID},
				scale.StorageEntry{Name: "ErasStakersPaged", Optional: true, Map: true, Hashers: []scale.Hasher{scale.Twox64Concat, scale.Twox64Concat, scale.Twox64Concat}, Key: key3.ID, Value: page.ID},
				scale.StorageEntry{Name: "ClaimedRewards", Map: true, Hashers: []scale.Hasher{scale.Twox64Concat, scale.Twox64Concat}, Key: legacy.Key, Value: pages.ID, Default: []byte{0}})
		}
		out.Pallets = append(out.Pallets, p)
	}
	return out
}

// storageNode is a JSON-RPC node on loopback serving a storage map.
type storageNode struct {
	mu       sync.Mutex
	store    map[string]string // 0x key → 0x value
	keyReads map[string]int    // state_getKeysPaged prefixes asked for
	number   string            // the head's number, 0x hex ("" 0x10)
}

var fakeHead = "0x" + strings.Repeat("ee", 32)

func (n *storageNode) serve(t testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		str := func(i int) string {
			var s string
			if i < len(req.Params) {
				_ = json.Unmarshal(req.Params[i], &s)
			}
			return s
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		var res any
		switch req.Method {
		case "chain_getBlockHash":
			res = g1
		case "system_chain":
			res = "paged-test"
		case "chain_getFinalizedHead":
			res = fakeHead
		case "chain_getHeader":
			res = map[string]any{"parentHash": g1, "number": cmp.Or(n.number, "0x10")}
		case "state_getRuntimeVersion":
			res = map[string]any{"specName": "synthetic", "specVersion": 424242}
		case "system_properties":
			res = map[string]any{"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "UNIT"}
		case "state_getStorage":
			if v, ok := n.store[str(0)]; ok {
				res = v
			}
		case "state_queryStorageAt":
			var keys []string
			_ = json.Unmarshal(req.Params[0], &keys)
			var ch [][]any
			for _, k := range keys {
				if v, ok := n.store[k]; ok {
					ch = append(ch, []any{k, v})
				} else {
					ch = append(ch, []any{k, nil})
				}
			}
			res = []any{map[string]any{"block": fakeHead, "changes": ch}}
		case "state_getKeysPaged":
			var count int
			_ = json.Unmarshal(req.Params[1], &count)
			prefix, start := str(0), str(2)
			if n.keyReads == nil {
				n.keyReads = map[string]int{}
			}
			n.keyReads[prefix]++
			var keys []string
			for k := range n.store {
				if strings.HasPrefix(k, prefix) && k > start {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			if len(keys) > count {
				keys = keys[:count]
			}
			res = keys
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32601, "message": "Method not found"}})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": res})
	}))
	t.Cleanup(s.Close)
	return s
}

func (n *storageNode) set(t testing.TB, md *scale.Metadata, value []byte, pallet, item string, keys ...[]byte) {
	t.Helper()
	k, err := Key(md, pallet, item, keys...)
	if err != nil {
		t.Fatal(err)
	}
	n.store[toHex(k)] = toHex(value)
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// The paged layout (today's Polkadot and Kusama): exposures from
// ErasStakersOverview and ErasStakersPaged pages, unclaimed eras from
// ClaimedRewards pages against page_count, legacy eras from the ledger.
func TestPagedLayout(t *testing.T) {
	md := pagedMetadata(t)
	n := &storageNode{store: map[string]string{}}
	v, f, e, d := pk(t, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), pk(t, ferdie), pk(t, eve), pk(t, dave)
	c := scale.Compact
	u := u32le
	n.set(t, md, cat(u(5), []byte{0}), "Staking", "ActiveEra")
	n.set(t, md, u(5), "Staking", "CurrentEra")
	n.set(t, md, binary.LittleEndian.AppendUint64(nil, 1700000000000), "Timestamp", "Now")
	n.set(t, md, cat(c(1), v), "Session", "Validators")
	n.set(t, md, cat(c(50_000_000), []byte{0}), "Staking", "Validators", v)
	n.set(t, md, v, "Staking", "Bonded", v)
	n.set(t, md, cat(v, c(1000), c(900), []byte{0}, c(1), u(1)), "Staking", "Ledger", v) // era 1 claimed (legacy)
	n.set(t, md, cat(c(10), c(10), []byte{0}), "Staking", "ErasStakers", u(1), v)
	n.set(t, md, cat(c(10), c(10), []byte{0}), "Staking", "ErasStakers", u(2), v)
	n.set(t, md, cat(c(20), c(10), u(2), u(2)), "Staking", "ErasStakersOverview", u(3), v)
	n.set(t, md, cat(c(2), u(0), u(1)), "Staking", "ClaimedRewards", u(3), v) // both pages
	n.set(t, md, cat(c(20), c(10), u(2), u(2)), "Staking", "ErasStakersOverview", u(4), v)
	n.set(t, md, cat(c(1), u(0)), "Staking", "ClaimedRewards", u(4), v) // one of two
	n.set(t, md, cat(c(300), c(100), u(2), u(2)), "Staking", "ErasStakersOverview", u(5), v)
	n.set(t, md, cat(c(100), c(1), e, c(100)), "Staking", "ErasStakersPaged", u(5), v, u(0))
	n.set(t, md, cat(c(100), c(1), d, c(100)), "Staking", "ErasStakersPaged", u(5), v, u(1))
	n.set(t, md, cat(c(1), v, u(4), []byte{0}), "Staking", "Nominators", f)
	n.set(t, md, f, "Staking", "Bonded", f)
	n.set(t, md, cat(f, c(50), c(50), []byte{0}, c(0)), "Staking", "Ledger", f)
	srv := n.serve(t)

	r, err := New(Config{Chain: "paged", Relay: []string{srv.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.relay.mds[424242] = md // the synthetic runtime's metadata
	ctx := context.Background()
	ch, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ActiveEra != 5 || !slices.Equal(ch.ElectedStakes, []events.Amount{"300"}) || ch.HistoryDepth != 84 {
		t.Fatalf("chain %+v", ch)
	}
	vs, err := r.Validators(ctx, ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	val := find(t, vs, ch.SessionValidators[0])
	if got := known(t, "unclaimed", val.UnclaimedEras); !slices.Equal(got, []uint32{2, 4}) {
		t.Fatalf("unclaimed %v, want [2 4]: era 1 in the ledger, 3 all pages claimed, 4 one page of two", got)
	}
	act := known(t, "active", val.ActiveNominators)
	if len(act) != 2 || act[0] != (events.Backer{Who: eve, Value: "100"}) || act[1] != (events.Backer{Who: dave, Value: "100"}) {
		t.Fatalf("active nominators from the pages %v", act)
	}
	if in := known(t, "inactive", val.InactiveNominators); len(in) != 1 || in[0] != (events.Backer{Who: ferdie, Value: "50"}) {
		t.Fatalf("inactive nominators %v", in)
	}
	if known(t, "commission", val.Commission) != 50_000_000 || known(t, "self stake", val.SelfStake) != "900" {
		t.Fatalf("prefs/self stake %+v %+v", val.Commission, val.SelfStake)
	}
	// Identity: this runtime has the Identity pallet but no entry.
	if known(t, "identity", val.Identity) != nil {
		t.Fatal("identity where none is stored")
	}
	// The exposures of ended eras are read once: a second pass reads
	// only the claims, and sees a claim made since.
	eraKeyReads := func() map[uint32]int {
		n.mu.Lock()
		defer n.mu.Unlock()
		out := map[uint32]int{}
		for _, item := range []string{"ErasStakers", "ErasStakersOverview"} {
			k, err := Key(md, "Staking", item)
			if err != nil {
				t.Fatal(err)
			}
			base := toHex(k)
			for prefix, count := range n.keyReads {
				// prefix: pallet and item (32 bytes), twox64 (8), the era (4)
				if strings.HasPrefix(prefix, base) && len(prefix) == len(base)+24 {
					b, _ := hex.DecodeString(prefix[len(base)+16:])
					out[binary.LittleEndian.Uint32(b)] += count
				}
			}
		}
		return out
	}
	before := eraKeyReads()
	for era := uint32(0); era < 5; era++ {
		if before[era] == 0 {
			t.Fatalf("era %d's exposures were not read (reads %v)", era, before)
		}
	}
	n.mu.Lock()
	n.set(t, md, cat(c(2), u(0), u(1)), "Staking", "ClaimedRewards", u(4), v) // now both pages
	n.mu.Unlock()
	if vs, err = r.Validators(ctx, ch, nil); err != nil {
		t.Fatal(err)
	}
	if got := known(t, "unclaimed", find(t, vs, ch.SessionValidators[0]).UnclaimedEras); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("second pass: unclaimed %v, want [2] (era 4 claimed since)", got)
	}
	after := eraKeyReads()
	for era := uint32(0); era < 5; era++ {
		if after[era] != before[era] {
			t.Fatalf("era %d's exposures read again on the second pass: %d reads, then %d", era, before[era], after[era])
		}
	}

	e5, err := r.Era(ctx, 4)
	if err != nil || !slices.Equal(e5.Validators, []string{ch.SessionValidators[0]}) || !e5.Complete {
		t.Fatalf("era 4 from the overview keys: %+v %v", e5, err)
	}
}

// Validators() on a paged-layout chain of 300 validators at era 84 (the
// history depth): the first pass reads every ended era's exposures for
// the unclaimed rewards, later ones only the claims. RPC calls and
// round-trip bytes are those of a local fake node, so the ratio is the
// figure, not the times.
func BenchmarkValidatorsHistory(b *testing.B) {
	md := pagedMetadata(b)
	n := &storageNode{store: map[string]string{}}
	c, u := scale.Compact, u32le
	const vals, active = 300, 84
	n.set(b, md, cat(u(active), []byte{0}), "Staking", "ActiveEra")
	n.set(b, md, u(active), "Staking", "CurrentEra")
	n.set(b, md, binary.LittleEndian.AppendUint64(nil, 1700000000000), "Timestamp", "Now")
	var session []byte
	session = append(session, c(vals)...)
	for i := range vals {
		a := make([]byte, 32)
		binary.LittleEndian.PutUint32(a, uint32(i+1))
		session = append(session, a...)
		n.set(b, md, cat(c(50_000_000), []byte{0}), "Staking", "Validators", a)
		n.set(b, md, a, "Staking", "Bonded", a)
		n.set(b, md, cat(a, c(1000), c(900), []byte{0}, c(0)), "Staking", "Ledger", a)
		for era := uint32(0); era <= active; era++ {
			n.set(b, md, cat(c(20), c(10), u(2), u(2)), "Staking", "ErasStakersOverview", u(era), a)
			if era%2 == 0 {
				n.set(b, md, cat(c(2), u(0), u(1)), "Staking", "ClaimedRewards", u(era), a)
			}
		}
	}
	n.set(b, md, session, "Session", "Validators")
	srv := n.serve(b)
	ctx := context.Background()
	open := func() *Reader {
		r, err := New(Config{Chain: "paged", Relay: []string{srv.URL}, Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		r.relay.mds[424242] = md
		return r
	}
	pass := func(r *Reader) {
		ch, err := r.Chain(ctx)
		if err != nil {
			b.Fatal(err)
		}
		vs, err := r.Validators(ctx, ch, nil)
		if err != nil {
			b.Fatal(err)
		}
		if un := known(b, "unclaimed", vs[0].UnclaimedEras); len(un) != active/2 {
			b.Fatalf("unclaimed %v: want the %d odd eras", un, active/2)
		}
	}
	for _, warm := range []bool{false, true} {
		b.Run(map[bool]string{false: "first-pass", true: "later-pass"}[warm], func(b *testing.B) {
			r := open()
			defer r.Close()
			if warm {
				pass(r)
			}
			before := r.Stats().Relay.Calls
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !warm {
					r.past = pastEras{}
				}
				pass(r)
			}
			b.ReportMetric(float64(r.Stats().Relay.Calls-before)/float64(b.N), "rpc/op")
		})
	}
}
