package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

// The request's bytes, written out by hand from query.proto and
// pagination.proto: pagination (2) {key (1), limit (3)}.
func TestEncodeStakingValidatorsRequest(t *testing.T) {
	for _, c := range []struct {
		name  string
		key   []byte
		limit uint64
		want  []byte
	}{
		{"first page", nil, 100, []byte{0x12, 0x02, 0x18, 0x64}},
		{"next page", []byte("ab"), 100, []byte{0x12, 0x06, 0x0a, 0x02, 'a', 'b', 0x18, 0x64}},
		{"limit of two bytes", nil, 200, []byte{0x12, 0x03, 0x18, 0xc8, 0x01}},
		{"chain's defaults", nil, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := rpc.EncodeStakingValidatorsRequest(c.key, c.limit); !bytes.Equal(got, c.want) {
				t.Errorf("got % x, want % x", got, c.want)
			}
		})
	}
}

// key32 is 0x01…0x20; its consensus address (sha256, first 20 bytes) and
// base64 were computed apart from this code.
var key32 = func() []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = byte(i + 1)
	}
	return b
}()

const (
	key32Address = "AE216C2EF5247A3782C135EFA279A3E4CDC61094"
	key32Base64  = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
)

// handValidator is a Validator written out byte by byte: operator_address
// (1), consensus_pubkey (2) Any {type_url (1), value (2) PubKey {key (1)}},
// jailed (3), description (7) {moniker (1)}.
func handValidator() []byte {
	typeURL := []byte("/cosmos.crypto.ed25519.PubKey") // 29 bytes
	pub := append([]byte{0x0a, 0x20}, key32...)        // 34 bytes
	anyKey := append(append([]byte{0x0a, 29}, typeURL...), append([]byte{0x12, 34}, pub...)...)
	v := []byte{0x0a, 0x02, 'o', 'p'}
	v = append(v, append([]byte{0x12, byte(len(anyKey))}, anyKey...)...)
	v = append(v, 0x18, 0x01)
	v = append(v, 0x3a, 0x05, 0x0a, 0x03, 'V', 'a', 'l')
	return v
}

func TestDecodeStakingValidators(t *testing.T) {
	v := handValidator()
	page := append([]byte{0x0a, byte(len(v))}, v...)
	withKey := append(append([]byte(nil), page...), 0x12, 0x05, 0x0a, 0x01, 'k', 0x10, 0x07) // pagination {next_key "k", total 7}
	noKey := rpc.ProtoField(1, rpc.WireBytes, rpc.ProtoField(1, rpc.WireBytes, []byte("x"))) // operator only
	secp := rpctest.StakingValidatorsResponse([]rpctest.StakingValidator{{Operator: "s", Moniker: "S", PubKey: "AgID", PubKeyType: "/cosmos.crypto.secp256k1.PubKey"}}, nil)
	want := rpc.StakingValidator{OperatorAddress: "op", PubKeyType: rpc.Ed25519PubKeyType, PubKey: key32Base64, Address: key32Address, Jailed: true, Moniker: "Val"}
	for _, c := range []struct {
		name string
		in   []byte
		want []rpc.StakingValidator
		next string
		err  string
	}{
		{"by hand, last page", page, []rpc.StakingValidator{want}, "", ""},
		{"by hand, next_key", withKey, []rpc.StakingValidator{want}, "k", ""},
		{"empty", nil, nil, "", ""},
		{"no consensus key: left out", noKey, nil, "", ""},
		{"other key type: no address", secp, []rpc.StakingValidator{{OperatorAddress: "s", PubKeyType: "/cosmos.crypto.secp256k1.PubKey", PubKey: "AgID", Moniker: "S"}}, "", ""},
		{"moniker as a varint: ignored", append(page[:0:0], rpc.ProtoField(1, rpc.WireBytes, append(append([]byte(nil), v[:len(v)-7]...), 0x38, 0x05))...), []rpc.StakingValidator{{OperatorAddress: "op", PubKeyType: rpc.Ed25519PubKeyType, PubKey: key32Base64, Address: key32Address, Jailed: true}}, "", ""},
		{"truncated", page[:len(page)-3], nil, "", "length"},
		{"group", []byte{0x0b}, nil, "", "wire type 3"},
		{"next_key too long", rpc.ProtoField(2, rpc.WireBytes, rpc.ProtoField(1, rpc.WireBytes, make([]byte, 1025))), nil, "", "next_key of 1025 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, next, err := rpc.DecodeStakingValidators(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, c.err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) || string(next) != c.next {
				t.Fatalf("got %+v, next %q, %v\nwant %+v, next %q", got, next, err, c.want, c.next)
			}
		})
	}
}

// The test helper's answer reads back as what it was built from, with the
// extra fields a real validator carries skipped.
func TestStakingResponseRoundTrip(t *testing.T) {
	vals := rpctest.Staking(rpctest.MakeValidators("a", 3), "m-")
	vals[2].Jailed = true
	got, next, err := rpc.DecodeStakingValidators(rpctest.StakingValidatorsResponse(vals, []byte("3")))
	if err != nil || len(got) != 3 || string(next) != "3" {
		t.Fatalf("got %d validators, next %q, %v", len(got), next, err)
	}
	for i, v := range got {
		if v.Moniker != vals[i].Moniker || v.PubKey != vals[i].PubKey || v.OperatorAddress != vals[i].Operator || v.Jailed != vals[i].Jailed || len(v.Address) != 40 {
			t.Errorf("validator %d: %+v, want %+v", i, v, vals[i])
		}
	}
}

// Client.StakingValidators pages through the fake node's x/staking with
// next_key; a node without x/staking (kvstore) is ErrNotAvailable; a
// value that is not a response is an error counted as malformed.
func TestClientStakingValidators(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 5))
	defer n.Close()
	var bad malformedCounts
	c, err := rpc.NewClient(n.URL(), rpc.ClientOptions{Malformed: bad.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := c.StakingValidators(ctx, nil, 2); !errors.Is(err, rpc.ErrNotAvailable) {
		t.Errorf("kvstore-like answer: %v; want ErrNotAvailable", err)
	}
	vals := rpctest.Staking(rpctest.MakeValidators("a", 5), "m-")
	n.SetABCIFunc(rpctest.StakingPages(vals))
	var all []rpc.StakingValidator
	var key []byte
	pages := 0
	for {
		got, next, err := c.StakingValidators(ctx, key, 2)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		all, key, pages = append(all, got...), next, pages+1
		if len(key) == 0 || pages > 10 {
			break
		}
	}
	if pages != 3 || len(all) != 5 || all[4].Moniker != "m-4" || all[0].PubKey != vals[0].PubKey {
		t.Errorf("%d pages, %d validators: %+v", pages, len(all), all)
	}
	if got := n.ABCICallsFor(rpc.StakingValidatorsPath); got != 4 {
		t.Errorf("%d abci_query calls of %s, want 4", got, rpc.StakingValidatorsPath)
	}
	if bad.get("abci_query/wrong_shape") != 0 {
		t.Errorf("counted as malformed: %v", bad.m)
	}
	n.SetABCIFunc(func(string, []byte) (int, []byte) { return 0, []byte{0x0a, 0x7f, 0x01} })
	if _, _, err := c.StakingValidators(ctx, nil, 2); err == nil || errors.Is(err, rpc.ErrNotAvailable) || !strings.Contains(err.Error(), rpc.StakingValidatorsPath) {
		t.Errorf("garbage value: %v", err)
	}
	if bad.get("abci_query/wrong_shape") != 1 {
		t.Errorf("malformed counts %v, want abci_query/wrong_shape 1", bad.m)
	}
}

func FuzzDecodeStakingValidators(f *testing.F) {
	v := handValidator()
	f.Add(append([]byte{0x0a, byte(len(v))}, v...))
	f.Add(rpctest.StakingValidatorsResponse(rpctest.Staking(rpctest.MakeValidators("f", 3), "m"), []byte("3")))
	f.Add([]byte{0x12, 0x03, 0x0a, 0x01, 'k'})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, next, err := rpc.DecodeStakingValidators(b)
		if err != nil {
			if vals != nil || next != nil {
				t.Fatalf("an error with %d validators and next %q", len(vals), next)
			}
			return
		}
		if len(next) > 1024 || len(vals) > len(b)/2 {
			t.Fatalf("%d validators, next_key of %d bytes from %d bytes", len(vals), len(next), len(b))
		}
		for _, v := range vals {
			if v.PubKey == "" || (v.Address != "" && (len(v.Address) != 40 || v.PubKeyType != rpc.Ed25519PubKeyType)) {
				t.Fatalf("accepted %+v", v)
			}
		}
	})
}

// What EncodeStakingValidatorsRequest writes reads back, and a real
// client's other fields (offset, count_total, status) are understood.
func TestDecodeStakingValidatorsRequest(t *testing.T) {
	page := append(rpc.ProtoField(2, rpc.WireVarint, rpc.ProtoVarint(5)), rpc.ProtoField(4, rpc.WireVarint, rpc.ProtoVarint(1))...)
	page = append(page, rpc.ProtoField(5, rpc.WireVarint, rpc.ProtoVarint(1))...) // reverse: skipped
	withStatus := append(rpc.ProtoField(1, rpc.WireBytes, []byte("BOND_STATUS_BONDED")), rpc.ProtoField(2, rpc.WireBytes, page)...)
	for _, c := range []struct {
		name string
		in   []byte
		want rpc.StakingValidatorsRequest
		err  string
	}{
		{"first page", rpc.EncodeStakingValidatorsRequest(nil, 100), rpc.StakingValidatorsRequest{Limit: 100}, ""},
		{"next page", rpc.EncodeStakingValidatorsRequest([]byte("ab"), 7), rpc.StakingValidatorsRequest{Key: []byte("ab"), Limit: 7}, ""},
		{"defaults", nil, rpc.StakingValidatorsRequest{}, ""},
		{"status, offset, count_total", withStatus, rpc.StakingValidatorsRequest{Status: "BOND_STATUS_BONDED", Offset: 5, CountTotal: true}, ""},
		{"key too long", rpc.EncodeStakingValidatorsRequest(make([]byte, 1025), 1), rpc.StakingValidatorsRequest{}, "key of 1025 bytes"},
		{"truncated", []byte{0x12, 0x05, 0x18}, rpc.StakingValidatorsRequest{}, "length"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := rpc.DecodeStakingValidatorsRequest(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, c.err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func FuzzDecodeStakingValidatorsRequest(f *testing.F) {
	f.Add(rpc.EncodeStakingValidatorsRequest([]byte("key"), 100))
	f.Add([]byte{0x0a, 0x02, 'B', 'S', 0x12, 0x04, 0x10, 0x05, 0x20, 0x01})
	f.Add([]byte{0x12, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := rpc.DecodeStakingValidatorsRequest(b)
		if err != nil {
			if r.Key != nil || r.Status != "" || r.Limit != 0 {
				t.Fatalf("an error with a request %+v", r)
			}
			return
		}
		if len(r.Key) > 1024 || len(r.Status) > 256 || len(r.Key)+len(r.Status) > len(b) {
			t.Fatalf("key of %d bytes, status of %d from %d bytes", len(r.Key), len(r.Status), len(b))
		}
		// What was read is written back the same way and reads again the same.
		if r.Status == "" && r.Offset == 0 && !r.CountTotal {
			again, err := rpc.DecodeStakingValidatorsRequest(rpc.EncodeStakingValidatorsRequest(r.Key, r.Limit))
			if err != nil || !bytes.Equal(again.Key, r.Key) || again.Limit != r.Limit {
				t.Fatalf("re-encoded %+v read back as %+v, %v", r, again, err)
			}
		}
	})
}
