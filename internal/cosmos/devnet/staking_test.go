package devnet

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// pager is one of the two ways valtrack reads x/staking page by page.
type pager interface {
	StakingValidators(ctx context.Context, nextKey []byte, limit uint64) ([]rpc.StakingValidator, []byte, error)
	SlashingParams(ctx context.Context) (*rpc.SlashingParams, error)
}

// readAll pages through the validators with limit, as the sentry does.
func readAll(t *testing.T, p pager, limit uint64) (vals []rpc.StakingValidator, pages int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var key []byte
	for pages < 10 {
		got, next, err := p.StakingValidators(ctx, key, limit)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		vals, key, pages = append(vals, got...), next, pages+1
		if len(key) == 0 {
			break
		}
	}
	return vals, pages
}

// checkStaking: x/staking names every validator of chain.json by its
// staking moniker, with its consensus key and operator address, and
// x/slashing has the devnet's parameters.
func checkStaking(t *testing.T, p pager, info ChainInfo) {
	t.Helper()
	vals, pages := readAll(t, p, 2)
	if want := (len(info.Validators) + 1) / 2; pages != want || len(vals) != len(info.Validators) {
		t.Fatalf("%d validators in %d pages, want %d in %d: %+v", len(vals), pages, len(info.Validators), want, vals)
	}
	for i, v := range vals {
		w := info.Validators[i]
		if v.Address != w.Address || v.Moniker != StakingMoniker(i) || v.Moniker != w.StakingMoniker || v.OperatorAddress != w.OperatorAddress ||
			!strings.HasPrefix(v.OperatorAddress, OperatorPrefix+"1") || v.Jailed || v.PubKeyType != rpc.Ed25519PubKeyType {
			t.Errorf("validator %d: %+v; want %+v", i, v, w)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sp, err := p.SlashingParams(ctx)
	if err != nil || sp.SignedBlocksWindow != SignedBlocksWindow || sp.MinSignedPerWindow != MinSignedPerWindow {
		t.Errorf("slashing params %+v, %v; want %d, %v", sp, err, SignedBlocksWindow, MinSignedPerWindow)
	}
}

// A running devnet answers both queries over every validator's
// abci_query and over its gRPC listener, the one chain.json names.
func TestStakingQueries(t *testing.T) {
	dir := t.TempDir()
	startDevnet(t, Options{Validators: 3, Dir: dir})
	info, err := ReadChainInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.GRPC, "127.0.0.1:") || info.SignedBlocksWindow != SignedBlocksWindow {
		t.Fatalf("chain.json: grpc %q, window %d", info.GRPC, info.SignedBlocksWindow)
	}
	for _, v := range info.Validators {
		c, err := rpc.NewClient(v.RPC, rpc.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkStaking(t, c, info)
	}
	g, err := rpc.NewGRPCClient(info.GRPC, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	checkStaking(t, g, info)

	// A limit over the devnet's bound is refused, over both paths.
	ctx := context.Background()
	if _, _, err := g.StakingValidators(ctx, nil, MaxPageLimit+1); err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Errorf("gRPC, limit %d: %v; want InvalidArgument", MaxPageLimit+1, err)
	}
	c, _ := rpc.NewClient(info.Validators[0].RPC, rpc.ClientOptions{})
	if _, _, err := c.StakingValidators(ctx, nil, MaxPageLimit+1); !errors.Is(err, rpc.ErrNotAvailable) || !strings.Contains(err.Error(), "code 18") {
		t.Errorf("abci_query, limit %d: %v; want code 18", MaxPageLimit+1, err)
	}
	// The kvstore's own queries still answer.
	if a, err := c.ABCIQuery(ctx, "/store", []byte("absent")); err == nil || a == nil || a.Code != 0 {
		t.Errorf("kvstore query: %+v, %v; want code 0 and no value", a, err)
	}
}

// testGenesis is a genesis of n validators with fresh ed25519 keys.
func testGenesis(n int) *types.GenesisDoc {
	gen := &types.GenesisDoc{}
	for range n {
		pub := ed25519.GenPrivKey().PubKey()
		gen.Validators = append(gen.Validators, types.GenesisValidator{Address: pub.Address(), PubKey: pub, Power: Power})
	}
	return gen
}

// Pagination as cosmos-sdk's query.Paginate: by key or offset, the
// default limit, next_key on every page but the last, total on request,
// another status empty, key and offset together refused.
func TestQueriesPagination(t *testing.T) {
	q := newQueries(testGenesis(5))
	page := func(t *testing.T, req []byte) ([]rpc.StakingValidator, []byte) {
		t.Helper()
		v, ok, err := q.answer(rpc.StakingValidatorsPath, req)
		if !ok || err != nil {
			t.Fatalf("answer: %v, %v", ok, err)
		}
		vals, next, err := rpc.DecodeStakingValidators(v)
		if err != nil {
			t.Fatal(err)
		}
		return vals, next
	}
	all, next := page(t, nil)
	if len(all) != 5 || next != nil {
		t.Fatalf("default page: %d validators, next %x", len(all), next)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Address >= all[i].Address {
			t.Errorf("validators out of key order: %s then %s", all[i-1].Address, all[i].Address)
		}
	}
	first, key := page(t, rpc.EncodeStakingValidatorsRequest(nil, 2))
	second, key2 := page(t, rpc.EncodeStakingValidatorsRequest(key, 2))
	if len(first) != 2 || len(second) != 2 || second[0].PubKey != all[2].PubKey || len(key2) == 0 {
		t.Errorf("pages of 2: %d, %d (second from %s, want %s)", len(first), len(second), second[0].Address, all[2].Address)
	}
	offset := append(rpc.ProtoField(2, rpc.WireVarint, rpc.ProtoVarint(3)), rpc.ProtoField(4, rpc.WireVarint, rpc.ProtoVarint(1))...)
	v, _, _ := q.answer(rpc.StakingValidatorsPath, rpc.ProtoField(2, rpc.WireBytes, offset))
	total := 0
	_ = rpc.ProtoFields(v, func(num, wire int, _ uint64, data []byte) error {
		if num == 2 {
			_ = rpc.ProtoFields(data, func(num, wire int, x uint64, _ []byte) error {
				if num == 2 {
					total = int(x)
				}
				return nil
			})
		}
		return nil
	})
	if vals, _, _ := rpc.DecodeStakingValidators(v); len(vals) != 2 || vals[0].PubKey != all[3].PubKey || total != 5 {
		t.Errorf("offset 3 with count_total: %d validators, total %d", len(vals), total)
	}
	unbonded := rpc.ProtoField(1, rpc.WireBytes, []byte("BOND_STATUS_UNBONDED"))
	if vals, _ := page(t, unbonded); len(vals) != 0 {
		t.Errorf("unbonded: %d validators, want none", len(vals))
	}
	both := rpc.ProtoField(2, rpc.WireBytes, append(rpc.ProtoField(1, rpc.WireBytes, key), rpc.ProtoField(2, rpc.WireVarint, rpc.ProtoVarint(1))...))
	if _, ok, err := q.answer(rpc.StakingValidatorsPath, both); !ok || !errors.Is(err, rpc.ErrBadRequest) {
		t.Errorf("key and offset: %v, %v; want rpc.ErrBadRequest", ok, err)
	}
	if _, ok, _ := q.answer("/cosmos.bank.v1beta1.Query/Balance", nil); ok {
		t.Error("an unknown method is answered")
	}
	if k, _ := base64.StdEncoding.DecodeString(all[0].PubKey); len(k) != 32 {
		t.Errorf("consensus key of %d bytes", len(k))
	}
}

// Whatever a client sends, the devnet answers a page it can read back (no
// more validators than it has, at most the limit asked) or refuses it as
// a bad request; it never panics.
func FuzzQueries(f *testing.F) {
	gen := testGenesis(4)
	q := newQueries(gen)
	f.Add(rpc.EncodeStakingValidatorsRequest(nil, 2))
	f.Add(rpc.EncodeStakingValidatorsRequest(q.keys[1], 0))
	f.Add(rpc.ProtoField(2, rpc.WireBytes, rpc.ProtoField(2, rpc.WireVarint, rpc.ProtoVarint(1<<63))))
	f.Add([]byte{0x12, 0x02, 0x18, 0xff})
	f.Fuzz(func(t *testing.T, req []byte) {
		v, ok, err := q.answer(rpc.StakingValidatorsPath, req)
		if !ok {
			t.Fatal("the validators query is not answered")
		}
		if err != nil {
			if !errors.Is(err, rpc.ErrBadRequest) || v != nil {
				t.Fatalf("refused with %v and %d bytes", err, len(v))
			}
			return
		}
		r, _ := rpc.DecodeStakingValidatorsRequest(req)
		vals, next, err := rpc.DecodeStakingValidators(v)
		limit := int(r.Limit)
		if limit == 0 {
			limit = DefaultPageLimit
		}
		if err != nil || len(vals) > len(gen.Validators) || len(vals) > limit || (len(next) > 0 && len(vals) == 0) {
			t.Fatalf("request %+v: %d validators, next %x, %v", r, len(vals), next, err)
		}
	})
}
