package devnet

import (
	"fmt"

	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/tx"
)

// Valid is the truth of a candidate no on-chain rule rejects. It means
// "valid on chain": the telemetry rules (ONLINE, CLIENT_UPGRADE,
// CONNECTION_TIME, ACCUMULATED_OFFLINE_TIME, PROVIDER,
// SANCTIONED_GEO_AREA) cannot be shaped on a chain and are a telemetry
// feed's to decide.
const Valid = "valid"

// The programme rules candidates.yaml sets, which the shaping is measured
// against.
const (
	// RuleCommission is the highest commission allowed (Perbill).
	RuleCommission tx.Perbill = 100_000_000 // 10 %
	// MinSelfStakeWND is the least self bond, in WND (12 decimals).
	MinSelfStakeWND = 1000
	// UnclaimedThreshold: an era older than active − 1 − 1 unclaimed is
	// invalid, so an unpaid validator fails from active era 3 on.
	UnclaimedThreshold = 1
	// MaxPerIdentity is one, so a parent and its sub both standing is over
	// the limit (the programme's default, 2, would let a pair pass).
	MaxPerIdentity = 1
)

// identity kinds of a candidate.
const (
	idVerified   = iota // its own identity, judged Reasonable or KnownGood
	idNone              // no identity at all
	idUnverified        // an identity no registrar judged well
	idSub               // a sub-identity of parent (whose identity is verified)
)

// candidate is one shaped validator candidate: its stash is //Name.
type candidate struct {
	Name   string
	Expect string // the rule it is shaped to fail, or Valid
	// Why says how the chain state was shaped (candidates.yaml comment).
	Why        string
	BondWND    int64
	Commission tx.Perbill
	Blocked    bool
	NoValidate bool // bonded with keys, but never called validate
	Identity   int
	Judgement  string // Reasonable or KnownGood for idVerified
	Parent     string // idSub: the parent's name (an account //Parent)
	Unpaid     bool   // its era rewards are never claimed
}

func (c candidate) uri() string { return "//" + c.Name }

// plan is the shaped set, most telling first: Options.Candidates below
// DefaultCandidates drops from the end.
//
// BEEFY is not shaped: westend 9320's SessionKeys have no beefy key, so
// no stash can hold the dummy 0x62656566… key the rule looks for.
// REWARD_DESTINATION and KUSAMA_RANK are not rules valtrack applies on
// this chain (the first is unused in 1KV, the second needs a Kusama
// instance).
var plan = []candidate{
	{Name: "Amber", Expect: Valid, Why: "verified identity (Reasonable), 3 % commission, 5000 WND bonded, session keys set, paid out every era", BondWND: 5000, Commission: 30_000_000, Judgement: "Reasonable"},
	{Name: "Birch", Expect: Valid, Why: "verified identity (KnownGood), 5 % commission, 12000 WND bonded", BondWND: 12000, Commission: 50_000_000, Judgement: "KnownGood"},
	{Name: "Cedar", Expect: Valid, Why: "verified identity (Reasonable), 0 % commission, 2500 WND bonded", BondWND: 2500, Commission: 0, Judgement: "Reasonable"},
	{Name: "Dune", Expect: Valid, Why: "sub-identity of //DuneOps, whose identity is Reasonable (verified through the parent); 8 % commission", BondWND: 8000, Commission: 80_000_000, Identity: idSub, Parent: "DuneOps"},
	{Name: "Elm", Expect: program.RuleValidateIntention, Why: "bonded with session keys and a verified identity, but never called staking.validate: no staking.validators entry", BondWND: 3000, Commission: 50_000_000, NoValidate: true, Judgement: "Reasonable"},
	{Name: "Fern", Expect: program.RuleCommission, Why: "validates at 20 % commission (rules allow 10 %)", BondWND: 4000, Commission: 200_000_000, Judgement: "Reasonable"},
	{Name: "Gale", Expect: program.RuleBlocked, Why: "validates with blocked = true (refuses nominations)", BondWND: 3500, Commission: 20_000_000, Blocked: true, Judgement: "Reasonable"},
	{Name: "Hazel", Expect: program.RuleSelfStake, Why: "bonds 1 WND (rules want 1000 WND)", BondWND: 1, Commission: 50_000_000, Judgement: "Reasonable"},
	{Name: "Iris", Expect: program.RuleIdentity, Why: "no identity at all (\"does not have an identity set\")", BondWND: 6000, Commission: 50_000_000, Identity: idNone},
	{Name: "Jade", Expect: program.RuleIdentity, Why: "an identity with no Reasonable/KnownGood judgement (\"not verified by the registrar\")", BondWND: 2000, Commission: 10_000_000, Identity: idUnverified},
	{Name: "Lark", Expect: Valid, Why: "verified identity whose sub-identity Moss is a candidate too: two candidates under one identity, max_per_identity 1 — Lark, first in file order, is within the limit", BondWND: 3000, Commission: 60_000_000, Judgement: "Reasonable"},
	{Name: "Moss", Expect: program.RuleMultipleIdentity, Why: "sub-identity of Lark (verified through Lark): the second candidate of Lark's identity, over max_per_identity 1", BondWND: 2200, Commission: 60_000_000, Identity: idSub, Parent: "Lark"},
	{Name: "Kite", Expect: program.RuleUnclaimed, Why: "elected every era and never paid out: unclaimed eras older than active − threshold − 1 (threshold 1) from active era 3 on", BondWND: 7000, Commission: 40_000_000, Judgement: "Reasonable", Unpaid: true},
}

// candidates is the set for n: the plan's first n, then valid extras.
func candidates(n int) []candidate {
	if n <= len(plan) {
		return identityGroups(append([]candidate(nil), plan[:n]...))
	}
	out := append([]candidate(nil), plan...)
	for i := len(plan); i < n; i++ {
		out = append(out, candidate{
			Name: fmt.Sprintf("Extra%02d", i+1), Expect: Valid,
			Why:     "an extra valid candidate (verified identity, varied bond and commission)",
			BondWND: int64(1500 + 250*(i%17)), Commission: tx.Perbill(10_000_000 * (i % 9)), Judgement: "Reasonable",
		})
	}
	return identityGroups(out)
}

// identityGroups makes the MULTIPLE_IDENTITIES truths match the set: a
// cut plan may keep Lark without its sub Moss, and then Lark is one
// candidate of its identity, within the limit.
func identityGroups(cs []candidate) []candidate {
	root := func(c candidate) string {
		if c.Identity == idSub {
			return c.Parent
		}
		return c.Name
	}
	count := map[string]int{}
	for _, c := range cs {
		if c.Identity != idNone && c.Identity != idUnverified {
			count[root(c)]++
		}
	}
	for i, c := range cs {
		if c.Expect == program.RuleMultipleIdentity && count[root(c)] <= MaxPerIdentity {
			cs[i].Expect = Valid
			cs[i].Why = "verified identity, the only candidate under it (its sub is not in this smaller set)"
		}
	}
	return cs
}

// backer is an outside nominator, so candidates have nominator stake of
// varied size (the score's nominatorStake component and the exposures'
// other stakers): //Name bonds BondWND and nominates Targets (those of
// them in the set; a blocked validator refuses nominations).
type backer struct {
	Name    string
	BondWND int64
	Targets []string
}

var backers = []backer{
	{Name: "BackerOne", BondWND: 50_000, Targets: []string{"Amber", "Birch"}},
	{Name: "BackerTwo", BondWND: 20_000, Targets: []string{"Birch", "Cedar", "Dune"}},
	{Name: "BackerThree", BondWND: 5_000, Targets: []string{"Fern", "Kite", "Amber"}},
}
