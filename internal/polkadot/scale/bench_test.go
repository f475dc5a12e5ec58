package scale

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// validatorBatch is what one Validators() call decodes per stash on a
// legacy runtime: prefs, bonded, a ledger with 84 claimed eras, payee,
// account info, next session keys and an exposure with 64 nominators.
func validatorBatch(tb testing.TB, md *Metadata) (ids []uint32, vals [][]byte) {
	acct := bytes.Repeat([]byte{7}, 32)
	u128 := func(n uint64) []byte { b := make([]byte, 16); binary.LittleEndian.PutUint64(b, n); return b }
	add := func(pallet, item string, v []byte) {
		e := md.Entry(pallet, item)
		if e == nil {
			tb.Fatalf("%s.%s missing", pallet, item)
		}
		ids, vals = append(ids, e.Value), append(vals, v)
	}
	add("Staking", "Validators", append(Compact(50_000_000), 0))
	add("Staking", "Bonded", acct)
	ledger := append(append([]byte{}, acct...), Compact(1e15)...)
	ledger = append(ledger, Compact(1e15)...)
	ledger = append(ledger, 0)
	ledger = append(ledger, Compact(84)...)
	for e := uint32(0); e < 84; e++ {
		ledger = binary.LittleEndian.AppendUint32(ledger, e)
	}
	add("Staking", "Ledger", ledger)
	add("Staking", "Payee", []byte{0})
	info := make([]byte, 16)
	for i := 0; i < 4; i++ {
		info = append(info, u128(1e12)...)
	}
	add("System", "Account", info)
	add("Session", "NextKeys", bytes.Repeat([]byte{9}, 6*32))
	exp := append(Compact(1e16), Compact(1e15)...)
	exp = append(exp, Compact(64)...)
	for i := 0; i < 64; i++ {
		exp = append(exp, acct...)
		exp = append(exp, Compact(1e13)...)
	}
	add("Staking", "ErasStakers", exp)
	for i := range ids {
		if _, err := md.Types.DecodeAll(ids[i], vals[i]); err != nil {
			tb.Fatalf("fixture value %d: %v", i, err)
		}
	}
	return ids, vals
}

// One stash's values; ns/op × stashes is the decode cost of a call.
func BenchmarkDecodeValidatorBatch(b *testing.B) {
	md, _ := fixture(b)
	ids, vals := validatorBatch(b, md)
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for k := range ids {
			if _, err := md.Types.DecodeAll(ids[k], vals[k]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
