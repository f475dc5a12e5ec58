package abi

import (
	"encoding/json"
	"errors"
	"math/big"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	gethabi "github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// v1Topics are the topic0 values of research note §2.2
// (/work/shared/research/ssv.md: keccak-256 of the v1.2.0 signatures,
// cross-checked there against ssvlabs/ssv eth/contract/contract.go).
var v1Topics = map[string]string{
	"OperatorAdded":                       "0xd839f31c14bd632f424e307b36abff63ca33684f77f28e35dc13718ef338f7f4",
	"OperatorRemoved":                     "0x0e0ba6c2b04de36d6d509ec5bd155c43a9fe862f8052096dd54f3902a74cca3e",
	"OperatorFeeDeclared":                 "0x796204296f2eb56d7432fa85961e9750d0cb21741873ebf7077e28263e327358",
	"OperatorFeeDeclarationCancelled":     "0x5055fa347441172447637c015e80a3ee748b9382212ceb5dca5a3683298fd6f3",
	"OperatorFeeExecuted":                 "0x513e931ff778ed01e676d55880d8db185c29b0094546ff2b3e9f5b6920d16bef",
	"OperatorWithdrawn":                   "0x178bf78bdd8914b8483d640b4a4f84e20943b5eb6b639b7474286364c7651d60",
	"FeeRecipientAddressUpdated":          "0x259235c230d57def1521657e7c7951d3b385e76193378bc87ef6b56bc2ec3548",
	"OperatorWhitelistUpdated":            "0x29f72634ccb172103f8c542da23de7f6cf9bce724c5bb91bd6f3a516b14c63fe",
	"OperatorPrivacyStatusUpdated":        "0x7cae2703330c3f53308fb0fe3a9143f335997ba7e059b9ac8e4417ed8fbddbd3",
	"OperatorMultipleWhitelistUpdated":    "0x3d5869fa1ed68d6b7b5e2a1f44df8e1e7edd8ea7a6cc240e45c72e2eb3523962",
	"OperatorMultipleWhitelistRemoved":    "0x589a71ef5bb37432c8ce279a4afc32783592f1764c6fcb07e3c437e80c80ab2e",
	"OperatorWhitelistingContractUpdated": "0xf41d8ca981ff900f6db7f71d7e2ae866eae8e4327d23e5c692c13a6c43b39c3d",
	"ValidatorAdded":                      "0x48a3ea0796746043948f6341d17ff8200937b99262a0b48c2663b951ed7114e5",
	"ValidatorRemoved":                    "0xccf4370403e5fbbde0cd3f13426479dcd8a5916b05db424b7a2c04978cf8ce6e",
	"ValidatorExited":                     "0xb4b20ffb2eb1f020be3df600b2287914f50c07003526d3a9d89a9dd12351828c",
	"ClusterLiquidated":                   "0x1fce24c373e07f89214e9187598635036111dbb363e99f4ce498488cdc66e688",
	"ClusterReactivated":                  "0xc803f8c01343fcdaf32068f4c283951623ef2b3fa0c547551931356f456b6859",
	"ClusterWithdrawn":                    "0x39d1320bbda24947e77f3560661323384aa0a1cb9d5e040e617e5cbf50b6dbe0",
	"ClusterDeposited":                    "0x2bac1912f2481d12f0df08647c06bee174967c62d3a03cbc078eb215dc1bd9a2",
	"NetworkFeeUpdated":                   "0x8f49a76c5d617bd72673d92d3a019ff8f04f204536aae7a3d10e7ca85603f3cc",
	"NetworkEarningsWithdrawn":            "0x370342c3bb9245e20bffe6dced02ba2fceca979701f881d5adc72d838e83f1c5",
	"OperatorFeeIncreaseLimitUpdated":     "0x2fff7e5a48a4befc2c2be4d77e141f6d97907798977ce452429ec55c2658a342",
	"DeclareOperatorFeePeriodUpdated":     "0x5fbd75d987b37490f91aa1909db948e7ff14c6ffb495b2f8e0b2334da9b192f1",
	"ExecuteOperatorFeePeriodUpdated":     "0xf6b8a2b45d0a60381de51a7b980c4660d9e5b82db6e07a4d342bfc17a6ff96bf",
	"LiquidationThresholdPeriodUpdated":   "0x42af14411036d7a50e5e92daf825781450fc8fac8fb65cbdb04720ff08efb84f",
	"MinimumLiquidationCollateralUpdated": "0xd363ab4392efaf967a89d8616cba1ff0c6f05a04c2f214671be365f0fab05960",
	"OperatorMaximumFeeUpdated":           "0x38552bed8df52ac76c5de6da688eafcda7d7b070f6c987f391a07dd69986d783",
	"ModuleUpgraded":                      "0xfdf54bf052398eb41c923eb1bd596351c5e72b99959d1ca529a7f13c0a2503d7",
}

// v2Topics: the full values of research note §2.3 and, for those it gives
// abbreviated, prefix…suffix.
var v2Topics = map[string]string{
	"ClusterMigratedToETH":  "0x6dc71e7231318932a8a7f99bac76f94ffe24cac147843e0c285ce4cf290c803a",
	"ClusterBalanceUpdated": "0x0cc301d13799ab915796eed462da724756a969f8e05d69ad2405eb3da7036b55",
	"OperatorWithdrawnSSV":  "0x8ce3fab6…6f91",
	"NetworkFeeUpdatedSSV":  "0x67b4581d…97fb",
	V2MaxFeeName:            "0xbb018dc6…4bba",
	"RootCommitted":         "0x6965b9c8…d840",
}

func topicOfKey(t *testing.T, key string) common.Hash {
	t.Helper()
	tb, err := load()
	if err != nil {
		t.Fatal(err)
	}
	e := tb.byKey[key]
	if e == nil {
		t.Fatalf("no event %s", key)
	}
	return e.ev.ID
}

func TestTopics(t *testing.T) {
	for name, want := range v1Topics {
		if got := topicOfKey(t, name).Hex(); got != want {
			t.Errorf("%s: topic0 %s, research note %s", name, got, want)
		}
	}
	for name, want := range v2Topics {
		got := topicOfKey(t, name).Hex()
		if pre, suf, ok := strings.Cut(want, "…"); ok {
			if !strings.HasPrefix(got, pre) || !strings.HasSuffix(got, suf) {
				t.Errorf("%s: topic0 %s, research note %s", name, got, want)
			}
		} else if got != want {
			t.Errorf("%s: topic0 %s, research note %s", name, got, want)
		}
	}
	// topic0 is keccak256 of the canonical signature.
	if got := crypto.Keccak256Hash([]byte("ValidatorAdded(address,uint64[],bytes,bytes,(uint32,uint64,uint64,bool,uint256))")); got != topicOfKey(t, "ValidatorAdded") {
		t.Errorf("ValidatorAdded topic0 is not the hash of its canonical signature")
	}
	tp := Topics()
	if len(tp) != 55 {
		t.Errorf("%d topics, want 55", len(tp))
	}
	if tp[topicOfKey(t, V2MaxFeeName)] != "OperatorMaximumFeeUpdated" || tp[topicOfKey(t, "OperatorMaximumFeeUpdated")] != "OperatorMaximumFeeUpdated" {
		t.Error("both max-fee topics should name OperatorMaximumFeeUpdated")
	}
	if n := Names(); len(n) != 54 {
		t.Errorf("%d names, want 54", len(n))
	}
}

type fixture struct {
	Logs     map[string]types.Log `json:"logs"`
	Expected map[string]string    `json:"expected"`
}

func loadFixture(t testing.TB) fixture {
	raw, err := os.ReadFile("testdata/ssv-eventparser-logs.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSSVFixtures decodes the logs of the SSV node's event parser test
// (ssvlabs/ssv@365a4aba3 eth/eventparser/event_parser_test.go) and checks
// the values that test expects.
func TestSSVFixtures(t *testing.T) {
	f := loadFixture(t)
	for key, l := range f.Logs {
		name, args, err := Decode(l)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		v, err := Parse(name, args)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		switch e := v.(type) {
		case *OperatorAdded:
			if e.PublicKey != f.Expected["OperatorAdded.publicKey"] || e.Owner.Hex() != f.Expected["OperatorAdded.owner"] || e.OperatorID != 1 {
				t.Errorf("OperatorAdded %+v", e)
			}
		case *OperatorRemoved:
			if e.OperatorID != 0x1234 {
				t.Errorf("OperatorRemoved %+v", e)
			}
		case *ValidatorAdded:
			if e.PublicKey.String() != f.Expected["ValidatorAdded.publicKey"] || e.Shares.String() != f.Expected["ValidatorAdded.shares"] ||
				!reflect.DeepEqual([]uint64(e.OperatorIDs), []uint64{1, 2, 3, 4}) || e.Owner != common.HexToAddress("0x77fc6e8b24a623725d935bc88057098d0bca6eb3") {
				t.Errorf("ValidatorAdded %+v", e)
			}
		case *ValidatorRemoved:
			if !reflect.DeepEqual([]uint64(e.OperatorIDs), []uint64{65, 66, 67, 68}) || common.BytesToAddress(e.PublicKey).Hex() != "0xcc9F3f4E9Dc39fDBf5C9a9D8106F2CB1dE91f614" {
				t.Errorf("ValidatorRemoved %+v", e)
			}
		case *ClusterLiquidated:
			if !reflect.DeepEqual([]uint64(e.OperatorIDs), []uint64{1, 6, 10, 15}) {
				t.Errorf("ClusterLiquidated %+v", e)
			}
		case *ClusterReactivated:
			if !reflect.DeepEqual([]uint64(e.OperatorIDs), []uint64{80, 81, 82, 83}) {
				t.Errorf("ClusterReactivated %+v", e)
			}
		case *FeeRecipientAddressUpdated:
			if e.RecipientAddress != common.HexToAddress("0xa7a7720499b7eb1f1408a8a319284bfd2db4a427") {
				t.Errorf("FeeRecipientAddressUpdated %+v", e)
			}
		default:
			t.Errorf("%s: %T", key, v)
		}
		// What decodes re-encodes to the same log.
		topics, data, err := Encode(name, args)
		if err != nil {
			t.Fatalf("%s: encode: %v", key, err)
		}
		if !reflect.DeepEqual(topics, l.Topics) || hexutil.Encode(data) != hexutil.Encode(l.Data) {
			t.Errorf("%s: re-encoding differs from the log", key)
		}
	}
}

// sample makes a JSON-form value of ty.
func sample(r *rand.Rand, ty gethabi.Type) any {
	switch ty.T {
	case gethabi.UintTy:
		raw := make([]byte, ty.Size/8)
		for i := range raw[r.IntN(len(raw)):] { // small and large values
			raw[i] = byte(r.UintN(256))
		}
		b := new(big.Int).SetBytes(raw)
		if r.IntN(4) == 0 {
			b = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(ty.Size)), big.NewInt(1)) // the maximum
		}
		return b.String()
	case gethabi.BoolTy:
		return r.IntN(2) == 0
	case gethabi.AddressTy:
		var a common.Address
		for i := range a {
			a[i] = byte(r.UintN(256))
		}
		return a.Hex()
	case gethabi.BytesTy:
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return hexutil.Encode(b)
	case gethabi.FixedBytesTy:
		b := make([]byte, ty.Size)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return hexutil.Encode(b)
	case gethabi.SliceTy:
		out := make([]any, r.IntN(14))
		for i := range out {
			out[i] = sample(r, *ty.Elem)
		}
		return out
	case gethabi.TupleTy:
		m := map[string]any{}
		for i, et := range ty.TupleElems {
			m[ty.TupleRawNames[i]] = sample(r, *et)
		}
		return m
	}
	panic("sample: " + ty.String())
}

func sampleArgs(r *rand.Rand, e *event) map[string]any {
	m := map[string]any{}
	for _, in := range e.ev.Inputs {
		m[in.Name] = sample(r, in.Type)
	}
	if e.name == "OperatorAdded" {
		m["publicKey"] = "LS0tLS1CRUdJTiBSU0EgUFVCTElDIEtFWS0tLS0t" + strings.Repeat("QUFB", r.IntN(200))
	}
	return m
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	var u, v any
	if err := json.Unmarshal(x, &u); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(y, &v); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(u, v)
}

// TestRoundTrip: Decode(Encode(x)) == x for every event, and the typed
// struct of every typed event encodes to the same log.
func TestRoundTrip(t *testing.T) {
	tb, _ := load()
	r := rand.New(rand.NewPCG(1, 2))
	for key, e := range tb.byKey {
		for range 20 {
			args := sampleArgs(r, e)
			topics, data, err := Encode(key, args)
			if err != nil {
				t.Fatalf("%s: encode %v: %v", key, args, err)
			}
			if topics[0] != e.ev.ID && key != "OperatorMaximumFeeUpdated" {
				t.Fatalf("%s: topic0 %s", key, topics[0])
			}
			name, got, err := Decode(types.Log{Topics: topics, Data: data})
			if err != nil {
				t.Fatalf("%s: decode: %v", key, err)
			}
			if name != e.name && !(key == "OperatorMaximumFeeUpdated" && name == key) {
				t.Fatalf("%s: decoded as %s", key, name)
			}
			if !jsonEqual(t, json.RawMessage(got), args) {
				t.Fatalf("%s: round trip\n got %s\nwant %v", key, got, args)
			}
			// Keys in ABI order.
			var order []string
			dec := json.NewDecoder(strings.NewReader(string(got)))
			dec.Token()
			for dec.More() {
				k, _ := dec.Token()
				order = append(order, k.(string))
				var skip json.RawMessage
				dec.Decode(&skip)
			}
			for i, in := range e.ev.Inputs {
				if order[i] != in.Name {
					t.Fatalf("%s: key %d is %s, want %s", key, i, order[i], in.Name)
				}
			}
			typed, err := Parse(name, got)
			if errors.Is(err, ErrNotTyped) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: parse: %v", key, err)
			}
			t2, d2, err := Encode(name, typed)
			if err != nil {
				t.Fatalf("%s: encode typed: %v", key, err)
			}
			if !reflect.DeepEqual(t2, topics) && key != V2MaxFeeName || hexutil.Encode(d2) != hexutil.Encode(data) && key != V2MaxFeeName {
				t.Fatalf("%s: the typed struct encodes differently", key)
			}
		}
	}
}

func TestMaxFeeForms(t *testing.T) {
	small, _, err := Encode("OperatorMaximumFeeUpdated", map[string]any{"maxFee": "1000"})
	if err != nil || small[0] != topicOfKey(t, "OperatorMaximumFeeUpdated") {
		t.Fatalf("small max fee: %v %v", small, err)
	}
	big, _, err := Encode("OperatorMaximumFeeUpdated", map[string]any{"maxFee": "18446744073709551616"})
	if err != nil || big[0] != topicOfKey(t, V2MaxFeeName) {
		t.Fatalf("2^64 max fee: %v %v", big, err)
	}
	forced, _, err := Encode(V2MaxFeeName, map[string]any{"maxFee": "1000"})
	if err != nil || forced[0] != topicOfKey(t, V2MaxFeeName) {
		t.Fatalf("forced v2: %v %v", forced, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	topics, data, err := Encode("ValidatorAdded", map[string]any{
		"owner": "0x77FC6e8B24a623725d935Bc88057098D0bCA6eB3", "operatorIds": []any{"1", "2", "3", "4"},
		"publicKey": "0x01", "shares": "0x02",
		"cluster": map[string]any{"validatorCount": "1", "networkFeeIndex": "2", "index": "3", "active": true, "balance": "4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Decode(types.Log{}); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("no topics: %v", err)
	}
	if _, _, err := Decode(types.Log{Topics: []common.Hash{{1}}}); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("unknown topic: %v", err)
	}
	dirty := topics[1]
	dirty[0] = 1
	for name, l := range map[string]types.Log{
		"missing topic":   {Topics: topics[:1], Data: data},
		"extra topic":     {Topics: append(append([]common.Hash{}, topics...), common.Hash{}), Data: data},
		"truncated data":  {Topics: topics, Data: data[:len(data)-1]},
		"short a word":    {Topics: topics, Data: data[:len(data)-32]},
		"no data":         {Topics: topics},
		"dirty address":   {Topics: []common.Hash{topics[0], dirty}, Data: data},
		"huge data":       {Topics: topics, Data: make([]byte, MaxLogData+1)},
		"offset past end": {Topics: topics, Data: append([]byte{0xff}, data[1:]...)},
	} {
		if _, _, err := Decode(l); err == nil || errors.Is(err, ErrUnknownTopic) || !strings.HasPrefix(err.Error(), "decode ValidatorAdded: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// OperatorRemoved with an id beyond uint64.
	var big common.Hash
	big[0] = 1
	if _, _, err := Decode(types.Log{Topics: []common.Hash{topicOfKey(t, "OperatorRemoved"), big}}); err == nil {
		t.Error("uint64 topic beyond 64 bits accepted")
	}
}

func TestOperatorAddedKey(t *testing.T) {
	f := loadFixture(t)
	l := f.Logs["OperatorAdded"]
	// The fixture's key wraps; a bare key (not ABI-encoded) does not.
	_, data, err := Encode("OperatorAdded", map[string]any{"operatorId": "1", "owner": "0x9d4D2d2dd7F11953535691786690610512E26b6C", "publicKey": "k", "fee": "0"})
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := load()
	bt := tb.byKey["OperatorAdded"].data
	bare, _ := bt.Pack([]byte("not wrapped at all, just the key"), big.NewInt(5))
	if _, _, err := Decode(types.Log{Topics: l.Topics, Data: bare}); err == nil || !strings.Contains(err.Error(), "publicKey") {
		t.Errorf("unwrapped key: %v", err)
	}
	inner, _ := tb.bytesTy.Pack([]byte{0xff, 0xfe})
	bad, _ := bt.Pack(inner, big.NewInt(5))
	if _, _, err := Decode(types.Log{Topics: l.Topics, Data: bad}); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("non-UTF-8 key: %v", err)
	}
	_, args, err := Decode(types.Log{Topics: l.Topics, Data: data})
	if err != nil || !strings.Contains(string(args), `"publicKey":"k"`) {
		t.Errorf("short key: %s %v", args, err)
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, c := range map[string]struct {
		event string
		args  any
	}{
		"unknown event":   {"Nope", map[string]any{}},
		"missing arg":     {"OperatorRemoved", map[string]any{}},
		"extra arg":       {"OperatorRemoved", map[string]any{"operatorId": "1", "x": 1}},
		"overflow":        {"OperatorRemoved", map[string]any{"operatorId": "18446744073709551616"}},
		"negative":        {"OperatorRemoved", map[string]any{"operatorId": "-1"}},
		"not a number":    {"OperatorRemoved", map[string]any{"operatorId": "one"}},
		"bad address":     {"FeeRecipientAddressUpdated", map[string]any{"owner": "0x12", "recipientAddress": "0x9d4D2d2dd7F11953535691786690610512E26b6C"}},
		"bad hex":         {"ValidatorExited", map[string]any{"owner": "0x9d4D2d2dd7F11953535691786690610512E26b6C", "operatorIds": []any{}, "publicKey": "zz"}},
		"cluster missing": {"ClusterLiquidated", map[string]any{"owner": "0x9d4D2d2dd7F11953535691786690610512E26b6C", "operatorIds": []any{}, "cluster": map[string]any{}}},
		"not an object":   {"OperatorRemoved", json.RawMessage(`[1]`)},
	} {
		if _, _, err := Encode(c.event, c.args); err == nil || !strings.HasPrefix(err.Error(), "encode "+c.event) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Native Go values are accepted too.
	topics, _, err := Encode("OperatorRemoved", map[string]any{"operatorId": uint64(7)})
	if err != nil || topics[1] != common.BigToHash(big.NewInt(7)) {
		t.Errorf("uint64 arg: %v", err)
	}
}

func TestClusterID(t *testing.T) {
	owner := common.HexToAddress("0x77fc6e8b24a623725d935bc88057098d0bca6eb3")
	// abi.encodePacked(address, uint64[]): 20 bytes, then each element
	// padded to 32 bytes.
	buf := append([]byte{}, owner[:]...)
	for _, id := range []int64{1, 2, 3, 4} {
		buf = append(buf, common.BigToHash(big.NewInt(id)).Bytes()...)
	}
	want := crypto.Keccak256Hash(buf)
	if got := ClusterID(owner, []uint64{4, 2, 3, 1}); got != want {
		t.Fatalf("cluster id %s, want %s", got, want)
	}
	if ClusterID(owner, []uint64{1, 2, 3, 5}) == want {
		t.Fatal("other operators, same id")
	}
}
