package runner

import (
	"context"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// A stash written with the generic prefix (42) in the file of a chain
// with another prefix is the chain's account: the runner finds its
// records (the sentry names them in the chain's prefix) and stores the
// candidate under the chain's form.
func TestGenericPrefixStashMatchesTheChainsRecords(t *testing.T) {
	const generic = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" // Alice, prefix 42
	const onChain = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5" // Alice, prefix 0
	ctx := context.Background()
	st, cfg := fixture(t, 0)
	err := st.InTx(ctx, "polkadot-prefixed records", func(tx *state.Tx) error {
		ch, err := st.Chain(ctx, chain)
		if err != nil {
			return err
		}
		ch.SS58Prefix = 0
		if err := tx.PutChain(ch); err != nil {
			return err
		}
		v := goodValidator(onChain, 100)
		if err := tx.PutValidator(&v); err != nil {
			return err
		}
		return tx.PutTelemetry(&events.Telemetry{V: 1, Chain: chain, Name: "alice-real", Implementation: "Parity Polkadot", Version: "1.0.0",
			Online: true, DiscoveredAt: now.AddDate(0, -1, 0).UnixMilli(), Week: "2026-W49", At: now.UnixMilli()})
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Candidates = append(cfg.Candidates, program.Entry{Name: "alice-real", Stash: generic})
	r := newRunner(t, st, cfg, nil, false)
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := st.Candidate(ctx, chain, onChain)
	if err != nil || c == nil {
		t.Fatalf("candidate under the chain's address %s: %v %v", onChain, c, err)
	}
	if c.Validity.Status != program.Valid {
		t.Errorf("alice-real %s: %+v: want valid on its chain records", c.Validity.Status, c.Validity.Checks)
	}
	if g, _ := st.Candidate(ctx, chain, generic); g != nil {
		t.Errorf("a row under the generic address too: %+v", g)
	}
}
