package scale

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"sort"
	"sync"
	"testing"

	gsrpc "github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"
)

// The fixture is state_getMetadata of chopsticks running the westend-dev
// spec (Westend runtime 9320): the runtime's own output, used as test data.
var (
	fixtureOnce sync.Once
	fixtureRaw  []byte
	fixtureMD   *Metadata
	fixtureErr  error
)

func fixture(tb testing.TB) (*Metadata, []byte) {
	tb.Helper()
	fixtureOnce.Do(func() {
		f, err := os.Open("testdata/westend-dev-9320.scale.gz")
		if err != nil {
			fixtureErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureRaw, fixtureErr = io.ReadAll(z)
		if fixtureErr == nil {
			fixtureMD, fixtureErr = ParseMetadata(fixtureRaw)
		}
	})
	if fixtureErr != nil {
		tb.Fatal(fixtureErr)
	}
	return fixtureMD, fixtureRaw
}

// System.Events of block #1 on chopsticks westend-dev: two
// System.ExtrinsicSuccess records (the timestamp and parachain inherents).
const block1Events = "0x08000000000000008281f53a0002000000010000000000c2f8fa1400020000"

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The parser agrees with go-substrate-rpc-client's MetadataV14 on the
// fixture: same type count, pallets, indices and storage item names.
func TestParseMetadataMatchesGSRPC(t *testing.T) {
	md, raw := fixture(t)
	var ref gsrpc.Metadata
	if err := codec.Decode(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if ref.Version != 14 || md.Version != 14 {
		t.Fatalf("versions %d / %d, want 14", md.Version, ref.Version)
	}
	v14 := ref.AsMetadataV14
	if len(v14.Lookup.Types) != md.Types.Len() {
		t.Fatalf("%d types, GSRPC %d", md.Types.Len(), len(v14.Lookup.Types))
	}
	if len(v14.Pallets) != len(md.Pallets) {
		t.Fatalf("%d pallets, GSRPC %d", len(md.Pallets), len(v14.Pallets))
	}
	for i, p := range v14.Pallets {
		mp := md.Pallets[i]
		if string(p.Name) != mp.Name || uint8(p.Index) != mp.Index {
			t.Fatalf("pallet %d: %s/%d, GSRPC %s/%d", i, mp.Name, mp.Index, p.Name, p.Index)
		}
		if len(p.Storage.Items) != len(mp.Storage) || len(p.Constants) != len(mp.Constants) {
			t.Fatalf("pallet %s: %d items %d constants, GSRPC %d %d", mp.Name, len(mp.Storage), len(mp.Constants), len(p.Storage.Items), len(p.Constants))
		}
		for k, it := range p.Storage.Items {
			e := mp.Storage[k]
			if string(it.Name) != e.Name || it.Type.IsMap != e.Map {
				t.Fatalf("%s storage %d: %s map=%v, GSRPC %s map=%v", mp.Name, k, e.Name, e.Map, it.Name, it.Type.IsMap)
			}
			if e.Map && len(it.Type.AsMap.Hashers) != len(e.Hashers) {
				t.Fatalf("%s.%s: %d hashers, GSRPC %d", mp.Name, e.Name, len(e.Hashers), len(it.Type.AsMap.Hashers))
			}
		}
	}
	for _, it := range []string{"Validators", "Ledger", "Bonded", "Nominators", "ErasStakers", "ErasRewardPoints", "ActiveEra"} {
		if md.Entry("Staking", it) == nil {
			t.Errorf("Staking.%s missing", it)
		}
	}
	if e := md.Entry("Staking", "Bonded"); e == nil || len(e.Hashers) != 1 || e.Hashers[0] != Twox64Concat {
		t.Errorf("Staking.Bonded hashers %v, want [Twox64Concat]", e.Hashers)
	}
	if c := md.Pallet("Staking").Constant("HistoryDepth"); c == nil && md.Entry("Staking", "HistoryDepth") == nil {
		t.Error("neither a HistoryDepth constant nor storage item")
	}
}

// Compact vectors from the SCALE codec documentation
// (docs.substrate.io "SCALE encoding", compact/general integers table).
func TestCompact(t *testing.T) {
	for _, c := range []struct {
		n   uint64
		hex string
	}{{0, "00"}, {1, "04"}, {42, "a8"}, {69, "1501"}, {65535, "feff0300"}, {100000000000000, "0b00407a10f35a"}} {
		if got := hex.EncodeToString(Compact(c.n)); got != c.hex {
			t.Errorf("Compact(%d) = %s, want %s", c.n, got, c.hex)
		}
		r := &reader{b: unhex(t, "0x"+c.hex)}
		u, b, err := r.compact()
		if err != nil || b != nil || u != c.n || r.left() != 0 {
			t.Errorf("compact(%s) = %d %v %v", c.hex, u, b, err)
		}
	}
}

func TestDecodeEventsOfARealBlock(t *testing.T) {
	md, _ := fixture(t)
	evs, err := md.DecodeEvents(unhex(t, block1Events))
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	for i, e := range evs {
		if e.Pallet != "System" || e.Name != "ExtrinsicSuccess" || e.Phase != "ApplyExtrinsic" || e.Extrinsic != uint32(i) || e.Index != i {
			t.Errorf("event %d = %+v", i, e)
		}
		if !e.Field("dispatch_info").Field("weight").Valid() {
			t.Errorf("event %d: no dispatch_info.weight in %v", i, e.Fields)
		}
	}
}

// typeByName finds a registry type by its last path segment.
func typeByName(tb testing.TB, md *Metadata, path ...string) uint32 {
	tb.Helper()
	for _, id := range md.Types.IDs() {
		t := md.Types.Type(id)
		if len(t.Path) >= len(path) {
			ok := true
			for i := range path {
				if t.Path[len(t.Path)-len(path)+i] != path[i] {
					ok = false
				}
			}
			if ok {
				return id
			}
		}
	}
	tb.Fatalf("type %v not in the registry", path)
	return 0
}

// Fields are found by name: ActiveEraInfo{index, start: Option<u64>}.
func TestDecodeNamedFields(t *testing.T) {
	md, _ := fixture(t)
	e := md.Entry("Staking", "ActiveEra")
	data := append([]byte{7, 0, 0, 0, 1}, 0x10, 0x27, 0, 0, 0, 0, 0, 0)
	v, err := md.Types.DecodeAll(e.Value, data)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := v.Field("index").Uint64(); !ok || n != 7 {
		t.Fatalf("index = %v", v)
	}
	s, ok := v.Field("start").Option()
	if n, ok2 := s.Uint64(); !ok || !ok2 || n != 10000 {
		t.Fatalf("start = %v", v.Field("start"))
	}
	v, err = md.Types.DecodeAll(e.Value, []byte{7, 0, 0, 0, 0})
	if err != nil || !v.Field("start").IsNone() {
		t.Fatalf("start none: %v %v", v, err)
	}
	if v.Field("nonexistent").Valid() {
		t.Fatal("a missing field reads as valid")
	}
}

// Find looks through tuples: a (Registration, Option<Username>) value
// yields its judgements like a bare Registration.
func TestFindThroughTuple(t *testing.T) {
	reg := Value{Kind: KindComposite, Fields: []Field{{Name: "judgements", Value: Value{Kind: KindSequence}}, {Name: "info", Value: Value{Kind: KindComposite}}}}
	tup := Value{Kind: KindTuple, Items: []Value{reg, {Kind: KindVariant, Name: "None"}}}
	for _, v := range []Value{reg, tup} {
		if v.Find("judgements").Kind != KindSequence || v.Find("info").Kind != KindComposite {
			t.Fatalf("Find in %v", v)
		}
	}
}

func TestDecodeRefusesHostileLengths(t *testing.T) {
	md, _ := fixture(t)
	// Staking.Nominators value: Nominations{targets: BoundedVec<AccountId>, …}.
	e := md.Entry("Staking", "Nominators")
	_, _, err := md.Types.Decode(e.Value, []byte{0xfe, 0xff, 0xff, 0xff, 1, 2, 3})
	if err == nil {
		t.Fatal("a billion-element sequence in 7 bytes decoded")
	}
	_, err = md.Types.DecodeAll(e.Value, nil)
	if !errors.Is(err, ErrShort) {
		t.Fatalf("empty input: %v, want ErrShort", err)
	}
	// A bytes value with a 2^62 length.
	id := typeByName(t, md, "Data")
	if _, _, err := md.Types.Decode(id, []byte{0xff, 1, 2}); err == nil {
		t.Fatal("unknown Data variant decoded")
	}
}

// A type that contains itself without consuming bytes stops at the
// depth limit instead of recursing forever.
func TestDecodeDepthLimit(t *testing.T) {
	reg := &Registry{types: map[uint32]*Type{0: {ID: 0, Kind: DefComposite, Fields: []FieldDef{{Name: "me", Type: 0}}}}}
	_, _, err := reg.Decode(0, []byte{1, 2, 3})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("self-recursive type: %v, want ErrLimit", err)
	}
	// Element budget: a tuple of 2,000 unit composites with a budget of 100.
	reg.types[1] = &Type{ID: 1, Kind: DefComposite}
	tup := &Type{ID: 2, Kind: DefTuple}
	for i := 0; i < 2000; i++ {
		tup.Tuple = append(tup.Tuple, 1)
	}
	reg.types[2] = tup
	if _, _, err := reg.DecodeLimits(2, nil, Limits{MaxElems: 100}); !errors.Is(err, ErrLimit) {
		t.Fatalf("element budget: %v, want ErrLimit", err)
	}
}

func TestPrimitives(t *testing.T) {
	reg := &Registry{types: map[uint32]*Type{}}
	for p := PrimBool; p <= PrimI256; p++ {
		reg.types[uint32(p)] = &Type{ID: uint32(p), Kind: DefPrimitive, Prim: p}
	}
	ff := bytes.Repeat([]byte{0xff}, 32)
	cases := []struct {
		p    Prim
		in   []byte
		want string
	}{
		{PrimBool, []byte{1}, "true"},
		{PrimU16, []byte{0x34, 0x12}, "4660"},
		{PrimI8, []byte{0xff}, "-1"},
		{PrimI32, []byte{0xfe, 0xff, 0xff, 0xff}, "-2"},
		{PrimU128, ff[:16], "340282366920938463463374607431768211455"},
		{PrimI128, ff[:16], "-1"},
		{PrimU256, append([]byte{1}, make([]byte, 31)...), "1"},
		{PrimStr, []byte{8, 'h', 'i'}, `"hi"`},
		{PrimChar, []byte{0x41, 0, 0, 0}, `"A"`},
	}
	for _, c := range cases {
		v, err := reg.DecodeAll(uint32(c.p), c.in)
		if err != nil || v.String() != c.want {
			t.Errorf("prim %d %x = %v (%v), want %s", c.p, c.in, v, err, c.want)
		}
	}
	if _, err := reg.DecodeAll(uint32(PrimBool), []byte{2}); err == nil {
		t.Error("bool 2 decoded")
	}
	if _, err := reg.DecodeAll(uint32(PrimStr), []byte{4, 0xff}); err == nil {
		t.Error("invalid UTF-8 decoded as str")
	}
}

func TestBitSequence(t *testing.T) {
	reg := &Registry{types: map[uint32]*Type{
		0: {Kind: DefPrimitive, Prim: PrimU8},
		1: {Kind: DefBitSequence, BitStore: 0},
		2: {Kind: DefPrimitive, Prim: PrimU32},
		3: {Kind: DefBitSequence, BitStore: 2},
	}}
	v, err := reg.DecodeAll(1, []byte{Compact(10)[0], 0xff, 0x03})
	if err != nil || v.Kind != KindBits || v.Bits != 10 || len(v.Bytes) != 2 {
		t.Fatalf("bitvec<u8> 10 bits = %+v %v", v, err)
	}
	v, err = reg.DecodeAll(3, []byte{Compact(3)[0], 1, 0, 0, 0})
	if err != nil || v.Bits != 3 || len(v.Bytes) != 4 {
		t.Fatalf("bitvec<u32> 3 bits = %+v %v", v, err)
	}
	if _, err := reg.DecodeAll(1, []byte{Compact(1000)[0], Compact(1000)[1], 1}); err == nil {
		t.Fatal("1000 bits in one byte decoded")
	}
}

func sortedIDs(md *Metadata) []uint32 {
	ids := md.Types.IDs()
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func FuzzDecode(f *testing.F) {
	md, _ := fixture(f)
	ids := sortedIDs(md)
	f.Add(uint32(0), []byte{})
	f.Add(md.Entry("Staking", "ActiveEra").Value, []byte{7, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(md.Entry("System", "Events").Value, unhex(f, block1Events))
	f.Add(md.Entry("Staking", "Ledger").Value, bytes.Repeat([]byte{4}, 90))
	f.Add(md.Entry("Identity", "IdentityOf").Value, bytes.Repeat([]byte{1}, 64))
	f.Fuzz(func(t *testing.T, sel uint32, data []byte) {
		id := sel
		if md.Types.Type(id) == nil {
			id = ids[int(sel%uint32(len(ids)))]
		}
		v, rest, err := md.Types.DecodeLimits(id, data, Limits{MaxElems: 1 << 16})
		if err != nil {
			return
		}
		// What is left is the tail of the input: a decoder that consumed
		// bytes out of order or invented some would misplace the next value.
		if len(rest) > len(data) || !bytes.Equal(rest, data[len(data)-len(rest):]) {
			t.Fatalf("rest %x is not a tail of input %x", rest, data)
		}
		_ = v.String()
	})
}

func FuzzEvents(f *testing.F) {
	md, _ := fixture(f)
	f.Add(unhex(f, block1Events))
	f.Add([]byte{4, 0, 0, 0, 0, 0, 7, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := md.DecodeEvents(data)
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.Pallet == "" || e.Name == "" {
				t.Fatalf("event without a name: %+v", e)
			}
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	_, raw := fixture(f)
	f.Add(raw[:1024])
	f.Add([]byte("meta\x0e\x00\x00"))
	f.Add([]byte("meta\x0e\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseMetadata(data)
		if err == nil && md.Types == nil {
			t.Fatal("metadata without a registry")
		}
	})
}

func BenchmarkParseMetadata(b *testing.B) {
	_, raw := fixture(b)
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		if _, err := ParseMetadata(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvents(b *testing.B) {
	md, _ := fixture(b)
	data := unhex(b, block1Events)
	for i := 0; i < b.N; i++ {
		if _, err := md.DecodeEvents(data); err != nil {
			b.Fatal(err)
		}
	}
}
