package sink_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/ssv/shares"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// BenchmarkApplyRegistrations is one block of 64 registrations with real
// BLS-signed shares, applied with shares.Check on a fresh SQLite store:
// the signature checks run on every core ahead of the transaction
// (precheck.go); "sequential" is the same with the check wrapped so that
// the precomputed results are never found (each call in order, in the
// transaction), the baseline.
func BenchmarkApplyRegistrations(b *testing.B) {
	const n = 64
	owner := addr(1)
	var regs []ev
	for i := range n {
		key, err := shares.GenerateKey([]byte(strings.Repeat(fmt.Sprintf("k%03d", i), 8)))
		if err != nil {
			b.Fatal(err)
		}
		sh, err := shares.Build(key, common.HexToAddress(owner), uint64(i), 4)
		if err != nil {
			b.Fatal(err)
		}
		e := valAdded(owner, key.PublicKey(), []uint64{1, 2, 3, 4})
		e.args["shares"] = hexOf(sh)
		regs = append(regs, e)
	}
	type check struct {
		owner  common.Address
		nonce  uint64
		key    []byte
		shares []byte
	}
	for _, mode := range []string{"precheck", "in-order"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				db := storetest.SQLite(b, store.WithMigrations(state.Migrations()))
				var sk *sink.Sink
				var (
					mu       sync.Mutex
					recorded []check
				)
				if mode == "precheck" {
					sk = newSink(b, db, shares.Check)
				} else {
					// The baseline: the apply without the check, then the
					// same checks one after another, as the sink did them.
					sk = newSink(b, db, func(o common.Address, nonce uint64, k []byte, ops []uint64, sh []byte) error {
						mu.Lock()
						recorded = append(recorded, check{o, nonce, k, sh})
						mu.Unlock()
						return nil
					})
				}
				c := &chain{fork: "b"}
				mustApply(b, sk, operators(c))
				batch := c.block(regs...)
				b.StartTimer()
				mustApply(b, sk, batch)
				for _, r := range recorded {
					if err := shares.Check(r.owner, r.nonce, r.key, []uint64{1, 2, 3, 4}, r.shares); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
