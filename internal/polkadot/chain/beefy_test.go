package chain

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// Paseo's runtime (spec 1001002) has BEEFY session keys, unlike the
// Westend runtime the devnet runs: a genesis validator's next keys carry
// a compressed ECDSA beefy key, and the BEEFY rule finds it valid. (The
// devnet shapes its candidates on westend and so skips the rule.)
func TestBeefyKeysOnPaseo(t *testing.T) {
	p := chain(t, "paseo.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := New(Config{Chain: "paseo", Relay: []string{p.URL()}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ch, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.SessionValidators) == 0 {
		t.Fatal("paseo has no session validators")
	}
	vs, err := r.Validators(ctx, ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := find(t, vs, ch.SessionValidators[0])
	keys := known(t, "next keys", v.NextKeys)
	beefyKey := regexp.MustCompile(`^0x0[23][0-9a-f]{64}$`)
	if !beefyKey.MatchString(keys["beefy"]) {
		t.Fatalf("next keys %v: want a 33-byte compressed ECDSA beefy key", keys)
	}
	var beefy []program.Rule
	for _, rule := range program.Rules(program.RulesConfig{}) {
		if rule.Type() == program.RuleBeefy {
			beefy = append(beefy, rule)
		}
	}
	c := &program.Candidate{Entry: program.Entry{Name: "paseo-0", Stash: v.Stash}, Chain: &v}
	got := program.Evaluate(beefy, c, &program.Env{Now: time.Now(), Chain: &ch})
	if got.Status != program.Valid || len(got.Checks) != 1 || !got.Checks[0].Valid {
		t.Fatalf("BEEFY on a paseo validator: %+v", got)
	}
	// The same validator with the placeholder key of a node that set its
	// keys before BEEFY existed.
	v.NextKeys.Value = map[string]string{"grandpa": keys["grandpa"], "beefy": "0x62656566" + keys["beefy"][10:]}
	got = program.Evaluate(beefy, c, &program.Env{Now: time.Now(), Chain: &ch})
	if got.Status != program.Invalid || len(got.Checks) != 1 || got.Checks[0].Details == "" {
		t.Fatalf("BEEFY with the dummy key: %+v", got)
	}
}
