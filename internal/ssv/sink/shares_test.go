package sink_test

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/shares"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
)

// With the SSV node's real check (shares.Check): shares signed over the
// owner's nonce register; shares signed for a nonce already used do not,
// and still advance it.
func TestRealSharesCheck(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, shares.Check)
		c := &chain{fork: "a"}
		owner := addr(1)
		reg := func(seed string, nonce uint64) ev {
			key, err := shares.GenerateKey([]byte(strings.Repeat(seed, 16)))
			if err != nil {
				t.Fatal(err)
			}
			sh, err := shares.Build(key, common.HexToAddress(owner), nonce, 4)
			if err != nil {
				t.Fatal(err)
			}
			e := valAdded(owner, key.PublicKey(), []uint64{1, 2, 3, 4})
			e.args["shares"] = hexOf(sh)
			return e
		}
		mustApply(t, sk, cat(operators(c), c.block(reg("k0", 0), reg("k1", 0), reg("k2", 2))))
		r := state.New(db)
		vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{})
		inv, _ := r.Invalid(ctx, net, registry.InvalidFilter{})
		if len(vs) != 2 || len(inv) != 1 || inv[0].Nonce != 1 || !strings.Contains(strings.ToLower(inv[0].Reason), "signature") {
			t.Errorf("validators %+v, invalid %+v", vs, inv)
		}
	})
}
