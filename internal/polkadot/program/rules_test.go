package program

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

func ruleOf(t *testing.T, typ string) Rule {
	t.Helper()
	for _, r := range Rules(RulesConfig{}) {
		if r.Type() == typ {
			return r
		}
	}
	t.Fatalf("no rule %s", typ)
	return nil
}

func TestRulesCoverEveryType(t *testing.T) {
	rs := Rules(RulesConfig{})
	if len(rs) != len(RuleTypes) {
		t.Fatalf("%d rules, want %d", len(rs), len(RuleTypes))
	}
	for i, r := range rs {
		if r.Type() != RuleTypes[i] {
			t.Errorf("rule %d is %s, want %s", i, r.Type(), RuleTypes[i])
		}
	}
	if got := Rules(RulesConfig{Skip: []string{RuleBeefy}}); len(got) != len(RuleTypes)-1 {
		t.Errorf("Rules with BEEFY skipped has %d rules", len(got))
	}
}

func TestGoodCandidateIsValid(t *testing.T) {
	c := goodCandidate("Alice", "STASH-A")
	env := polkadotEnv(c)
	v := Evaluate(Rules(env.Rules), c, env)
	if v.Status != Valid {
		t.Fatalf("status %s: %+v", v.Status, v.Checks)
	}
	// Polkadot's defaults skip UNCLAIMED_REWARDS (1KV's skipUnclaimed).
	if len(v.Checks) != len(RuleTypes)-1 {
		t.Errorf("%d checks, want %d", len(v.Checks), len(RuleTypes)-1)
	}
	for _, ch := range v.Checks {
		if ch.Type == RuleUnclaimed {
			t.Error("UNCLAIMED_REWARDS ran though Polkadot's defaults skip it")
		}
		if !ch.Valid || ch.Status != Valid || !ch.Known || ch.Details != "" || ch.LastKnown != ms(testNow) {
			t.Errorf("check %+v", ch)
		}
	}
}

// ruleCase is one rule's input and the verdict and reason it must give.
type ruleCase struct {
	name   string
	rule   string
	mutate func(c *Candidate, env *Env)
	status Status
	reason string // the exact Details (invalid) or a substring of Error (unknown)
}

func TestRuleVerdicts(t *testing.T) {
	cases := []ruleCase{
		{"online", RuleOnline, nil, Valid, ""},
		{"offline now", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry.Online, c.Telemetry.OfflineSince = false, ms(testNow.Add(-90*time.Minute))
		}, Invalid, `Alice offline. Telemetry node "Alice" offline since 2026-11-26 10:30 UTC (1h30m).`},
		{"offline within the allowed time", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry.Online, c.Telemetry.OfflineSince = false, ms(testNow.Add(-10*time.Minute))
			e.Rules.OnlineMaxOffline = 15 * time.Minute
		}, Valid, ""},
		{"offline since an unreported time, with an allowance", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry.Online, c.Telemetry.OfflineSince = false, 0
			e.Rules.OnlineMaxOffline = 15 * time.Minute
		}, Unknown, "did not report"},
		{"online for months (1KV's 16 h bug not copied)", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry.OnlineSince = ms(testNow.Add(-90 * 24 * time.Hour))
		}, Valid, ""},
		{"no telemetry node matched", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry = nil
			c.TelemetryMatch = Match{Note: `no telemetry node named "Alice" (closest: "alice-backup")`}
		}, Invalid, `Alice offline. No telemetry node named "Alice" (closest: "alice-backup").`},
		{"telemetry not matched yet", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry, c.TelemetryMatch = nil, Match{}
		}, Unknown, "no telemetry record yet"},
		{"our feed reports no nodes", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry = nil
			c.TelemetryMatch = Match{Note: `no telemetry node named "Alice" (the feed reports no nodes)`}
			e.TelemetryUnavailable = "the telemetry feed has reported no node of polkadot yet"
		}, Unknown, "has reported no node of polkadot yet"},
		{"no feed configured", RuleOnline, func(c *Candidate, e *Env) {
			c.Telemetry, c.TelemetryMatch = nil, Match{}
			e.TelemetryUnavailable = "no telemetry feed configured for polkadot (--polkadot-telemetry polkadot=wss://…/feed)"
		}, Unknown, "no telemetry feed configured"},

		{"intention", RuleValidateIntention, nil, Valid, ""},
		{"no intention", RuleValidateIntention, func(c *Candidate, e *Env) { c.Chain.Intention.Value = false },
			Invalid, "Alice does not have a validate intention: stash STASH-A is not in staking.validators."},
		{"intention read failed", RuleValidateIntention, func(c *Candidate, e *Env) {
			c.Chain.Intention = events.Failed[bool](errors.New("rpc: connection refused"), 1)
		}, Unknown, "validate intention: rpc: connection refused"},
		{"no chain record", RuleValidateIntention, func(c *Candidate, e *Env) { c.Chain = nil }, Unknown, "no chain record"},

		{"client current", RuleClientUpgrade, nil, Valid, ""},
		{"client old after grace", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.15.0-abc"
			e.Release = Release{Version: "1.17.1", Published: ms(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))}
		}, Invalid, "Alice is not on the latest client version: runs 1.15.0, latest 1.17.1 (released 2026-11-20, grace until 2026-11-22)."},
		{"client old within grace", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.15.0"
			e.Release = Release{Version: "1.17.1", Published: ms(testNow.Add(-time.Hour))}
		}, Valid, ""},
		{"client newer than release", RuleClientUpgrade, func(c *Candidate, e *Env) { c.Telemetry.Version = "1.18.0" }, Valid, ""},
		{"client forced version", RuleClientUpgrade, func(c *Candidate, e *Env) {
			e.Rules.ClientForcedVersion = "1.17.2"
		}, Invalid, "Alice is not on the latest client version: runs 1.17.1, required 1.17.2 (rules.client_forced_version)."},
		{"release unknown", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.0.0"
			e.Release = Release{Err: "GET api.github.com: 403 rate limited"}
		}, Unknown, "403 rate limited"},
		{"release without a publication time", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.15.0"
			e.Release = Release{Version: "1.17.1"}
		}, Invalid, "Alice is not on the latest client version: runs 1.15.0, latest 1.17.1."},
		{"kagome skipped", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Implementation, c.Telemetry.Version = "Kagome Node", "0.9.0"
		}, Valid, ""},
		// Releases of the stable form: the node version they stand for.
		{"node on a stable release", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.21.7-e1f0f7a3b"
			e.Release = Release{Version: ReleaseVersion("polkadot-stable2512-8", "Polkadot stable2512-8", "… will be available under polkadot-v1.21.7."), Published: ms(testNow.Add(-30 * 24 * time.Hour))}
		}, Valid, ""},
		{"node behind a stable release after grace", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.21.6-0a1b2c3d4"
			e.Release = Release{Version: ReleaseVersion("polkadot-stable2512-8", "Polkadot stable2512-8", "… will be available under polkadot-v1.21.7."), Published: ms(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))}
		}, Invalid, "Alice is not on the latest client version: runs 1.21.6, latest 1.21.7 (released 2026-11-20, grace until 2026-11-22)."},
		{"node behind a stable release within grace", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.20.3-0a1b2c3d4"
			e.Release = Release{Version: ReleaseVersion("polkadot-stable2512", "Polkadot stable2512", ""), Published: ms(testNow.Add(-47 * time.Hour))}
		}, Valid, ""},
		{"a stable line without its notes needs the line's first version", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.17.0-8a6c4d0e1"
			e.Release = Release{Version: ReleaseVersion("polkadot-stable2412-3", "Polkadot stable2412-3", ""), Published: ms(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
		}, Valid, ""},
		{"an old line behind a stable release", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.16.2-8a6c4d0e1"
			e.Release = Release{Version: ReleaseVersion("polkadot-stable2412-3", "Polkadot stable2412-3", ""), Published: ms(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
		}, Invalid, "Alice is not on the latest client version: runs 1.16.2, latest 1.17.0 (released 2026-01-01, grace until 2026-01-03)."},
		{"forced version as a stable tag", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.17.9-8a6c4d0e1"
			e.Rules.ClientForcedVersion = "polkadot-stable2503"
		}, Invalid, "Alice is not on the latest client version: runs 1.17.9, required 1.18.0 (rules.client_forced_version)."},
		{"forced version as a v tag", RuleClientUpgrade, func(c *Candidate, e *Env) {
			c.Telemetry.Version = "1.18.0-8a6c4d0e1"
			e.Rules.ClientForcedVersion = "polkadot-v1.18.0"
		}, Valid, ""},

		{"connected long enough", RuleConnectionTime, nil, Valid, ""},
		{"connected too briefly", RuleConnectionTime, func(c *Candidate, e *Env) {
			c.Telemetry.DiscoveredAt = ms(testNow.Add(-(3*24 + 4) * time.Hour))
		}, Invalid, "Alice has not been connected for minimum length: first seen on telemetry 2026-11-23 08:00 UTC (3d4h ago), the minimum is 7d."},

		{"verified identity", RuleIdentity, nil, Valid, ""},
		{"no identity", RuleIdentity, func(c *Candidate, e *Env) { c.Chain.Identity.Value = nil }, Invalid, "Alice does not have an identity set."},
		{"unverified identity", RuleIdentity, func(c *Candidate, e *Env) { c.Chain.Identity.Value.Judgements = []string{"FeePaid"} },
			Invalid, "Alice has an identity but is not verified by the registrar (judgements: FeePaid; Reasonable or KnownGood needed)."},
		{"identity not read on this chain", RuleIdentity, func(c *Candidate, e *Env) { c.Chain.Identity = events.Fact[*events.Identity]{} },
			Unknown, "not read on this chain"},

		{"offline a little", RuleOffline, func(c *Candidate, e *Env) { c.Telemetry.OfflineWeek = int64(time.Hour / time.Millisecond) }, Valid, ""},
		{"offline too long", RuleOffline, func(c *Candidate, e *Env) {
			c.Telemetry.OfflineWeek = int64(250 * time.Minute / time.Millisecond)
		}, Invalid, "Alice has been offline 250 minutes this week (2026-W48; the limit is 201 minutes, 2% of a week)."},
		{"offline last week does not count", RuleOffline, func(c *Candidate, e *Env) {
			c.Telemetry.OfflineWeek, c.Telemetry.Week = int64(10*time.Hour/time.Millisecond), "2026-W47"
		}, Valid, ""},

		{"commission at the maximum", RuleCommission, func(c *Candidate, e *Env) { c.Chain.Commission.Value = 50_000_000 }, Valid, ""},
		{"commission too high", RuleCommission, func(c *Candidate, e *Env) { c.Chain.Commission.Value = 100_000_000 },
			Invalid, "Alice commission is set higher than the maximum allowed. Set: 10% Allowed: 5%"},

		{"self stake enough", RuleSelfStake, nil, Valid, ""},
		{"self stake short", RuleSelfStake, func(c *Candidate, e *Env) { c.Chain.SelfStake.Value = dot(4999.5) },
			Invalid, "Alice has less than the minimum amount bonded: 4,999.5 DOT is bonded, the minimum is 5,000 DOT."},
		{"not bonded", RuleSelfStake, func(c *Candidate, e *Env) { c.Chain.Controller.Value = "" }, Invalid, "Alice Not bonded to any account."},

		{"unclaimed recent", RuleUnclaimed, func(c *Candidate, e *Env) { c.Chain.UnclaimedEras.Value = []uint32{1499, 1500} }, Valid, ""},
		{"unclaimed overdue", RuleUnclaimed, func(c *Candidate, e *Env) {
			// active 1500, threshold 1: eras ≤ 1498 are overdue
			c.Chain.UnclaimedEras.Value = []uint32{1490, 1498, 1499}
		}, Invalid, "Alice has unclaimed eras: 1490, 1498 prior to era: 1499"},
		{"unclaimed without chain position", RuleUnclaimed, func(c *Candidate, e *Env) { e.Chain = nil }, Unknown, "active era"},

		{"not blocked", RuleBlocked, nil, Valid, ""},
		{"blocked", RuleBlocked, func(c *Candidate, e *Env) { c.Chain.Blocked.Value = true }, Invalid, "Alice blocks external nominations"},

		{"no kusama stash", RuleKusamaRank, nil, Valid, ""},
		{"kusama rank good", RuleKusamaRank, func(c *Candidate, e *Env) {
			c.KusamaStash, c.Kusama = "KSM-A", &KusamaRank{Found: true, Rank: 150, Valid: true}
		}, Valid, ""},
		{"kusama rank low", RuleKusamaRank, func(c *Candidate, e *Env) {
			c.KusamaStash, c.Kusama = "KSM-A", &KusamaRank{Found: true, Rank: 42, Valid: true}
		}, Invalid, "Alice has a Kusama stash with lower than 100 rank in the Kusama 1KV programme: 42."},
		{"kusama invalid", RuleKusamaRank, func(c *Candidate, e *Env) {
			c.KusamaStash, c.Kusama = "KSM-A", &KusamaRank{Found: true, Rank: 150, Reasons: []string{"commission too high"}}
		}, Invalid, "Alice has a kusama node that is invalid: commission too high"},
		{"kusama unknown", RuleKusamaRank, func(c *Candidate, e *Env) {
			c.KusamaStash, c.Kusama = "KSM-A", &KusamaRank{Found: true, Rank: 150, Unknown: true, Unknowns: []string{"IDENTITY: rpc: timeout"}}
		}, Unknown, "the Kusama instance's verdict on KSM-A is unknown (IDENTITY: rpc: timeout)"},
		{"kusama stash without a kusama instance", RuleKusamaRank, func(c *Candidate, e *Env) {
			c.KusamaStash, e.Rules.KusamaAPI = "KSM-A", ""
		}, Unknown, "kusama_stash KSM-A is set but no Kusama instance is configured: set rules.kusama_api"},
		{"kusama lookup failed", RuleKusamaRank, func(c *Candidate, e *Env) {
			c.KusamaStash, c.Kusama = "KSM-A", &KusamaRank{Err: "dial tcp: timeout"}
		}, Unknown, "dial tcp: timeout"},

		{"provider fine", RuleProvider, func(c *Candidate, e *Env) { e.Rules.BlacklistedProviders = []string{"Contabo GmbH"} }, Valid, ""},
		{"provider banned", RuleProvider, func(c *Candidate, e *Env) {
			e.Rules.BlacklistedProviders = []string{" init7 "}
		}, Invalid, "Alice has banned infrastructure provider: Init7"},

		{"no sanctions configured", RuleSanctioned, nil, Valid, ""},
		{"sanctioned country", RuleSanctioned, func(c *Candidate, e *Env) { e.Rules.SanctionedCountries = []string{"switzerland"} },
			Invalid, "Alice in sanctioned area: country Switzerland."},
		{"no location is not sanctioned", RuleSanctioned, func(c *Candidate, e *Env) {
			e.Rules.SanctionedCountries = []string{"switzerland"}
			c.Telemetry.Location = nil
		}, Valid, ""},

		{"beefy set", RuleBeefy, nil, Valid, ""},
		{"beefy dummy", RuleBeefy, func(c *Candidate, e *Env) { c.Chain.NextKeys.Value["beefy"] = "0x62656566aabb" },
			Invalid, "Alice has not set beefy keys: the beefy key is the dummy 0x62656566… (\"beef\"); rotate the session keys."},
		{"beefy missing", RuleBeefy, func(c *Candidate, e *Env) { delete(c.Chain.NextKeys.Value, "beefy") },
			Invalid, "Alice has not set beefy keys: the next session keys have no beefy key."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := goodCandidate("Alice", "STASH-A")
			env := polkadotEnv(c)
			if tc.mutate != nil {
				tc.mutate(c, env)
			}
			got := ruleOf(t, tc.rule).Check(c, env)
			if got.Status != tc.status {
				t.Fatalf("%s: status %s (%+v), want %s", tc.rule, got.Status, got, tc.status)
			}
			switch tc.status {
			case Invalid:
				if got.Details != tc.reason {
					t.Errorf("reason\n got %q\nwant %q", got.Details, tc.reason)
				}
			case Unknown:
				if !strings.Contains(got.Error, tc.reason) || got.Details != "" {
					t.Errorf("unknown: error %q (details %q), want an error containing %q", got.Error, got.Details, tc.reason)
				}
			}
		})
	}
}

// A fact whose latest read failed makes its check unknown with the read's
// error; Evaluate keeps the last known verdict and reason (invalid stays
// invalid, valid stays valid), so an RPC error never flips a candidate.
func TestStaleFactIsUnknownAndKeepsTheLastResult(t *testing.T) {
	c := goodCandidate("Alice", "STASH-A")
	env := polkadotEnv(c)
	c.Chain.Commission = events.Got(uint32(200_000_000), 1)
	first := Evaluate([]Rule{ruleOf(t, RuleCommission)}, c, env)
	if first.Status != Invalid || !strings.Contains(first.Checks[0].Details, "Set: 20%") {
		t.Fatalf("20%% commission: %+v", first)
	}
	c.Prev = first.Checks
	// The merged fact: the last known commission, the latest read failed.
	c.Chain.Commission = events.Failed[uint32](errors.New("rpc timeout"), 2).Merge(events.Got(uint32(200_000_000), 1))
	got := ruleOf(t, RuleCommission).Check(c, env)
	if got.Status != Unknown || !strings.Contains(got.Error, "rpc timeout") {
		t.Errorf("stale known commission: %+v, want unknown with the read error", got)
	}
	v := Evaluate([]Rule{ruleOf(t, RuleCommission)}, c, env)
	ch := v.Checks[0]
	if v.Status != Invalid || ch.Status != Unknown || ch.Valid || !strings.Contains(ch.Details, "Set: 20%") || !strings.Contains(ch.Error, "rpc timeout") {
		t.Errorf("evaluated on a stale fact: %+v, want the last known invalid verdict kept, unknown now, with the error", v)
	}
}

func TestMultipleIdentitiesInvalidatesTheExtraOnes(t *testing.T) {
	var cands []*Candidate
	for i, n := range []string{"Alice", "Bob", "Carol", "Dave"} {
		c := goodCandidate(n, "STASH-"+n)
		c.Chain.Identity.Value = &events.Identity{Display: "ACME", Parent: "ROOT", SubName: n, Judgements: []string{"KnownGood"}}
		if i == 3 { // Dave: an identity of his own
			c.Chain.Identity.Value = &events.Identity{Display: "Dave", Judgements: []string{"KnownGood"}}
		}
		cands = append(cands, c)
	}
	env := polkadotEnv(cands...)
	r := ruleOf(t, RuleMultipleIdentity)
	for i, want := range []Status{Valid, Valid, Invalid, Valid} {
		got := r.Check(cands[i], env)
		if got.Status != want {
			t.Errorf("%s: %s (%s), want %s", cands[i].Name, got.Status, got.Details, want)
		}
	}
	got := r.Check(cands[2], env).Details
	want := `Carol is candidate 3 of 3 under the identity "ACME/Carol" (root ROOT); at most 2 per identity are allowed, taken in candidates-file order.`
	if got != want {
		t.Errorf("reason\n got %q\nwant %q", got, want)
	}
}

// 1KV #2146: a participant saw another's name in its reason. Two
// candidates failing every rule, under one identity: neither reason names
// the other.
func TestReasonsNeverMentionAnotherCandidate(t *testing.T) {
	mk := func(name string) *Candidate {
		c := goodCandidate(name, "STASH-"+name)
		c.KusamaStash = "KSM-" + name
		c.Kusama = &KusamaRank{Found: true, Rank: 3, Valid: true}
		ch := c.Chain
		ch.Intention.Value, ch.Blocked.Value = false, true
		ch.Commission.Value = 900_000_000
		ch.SelfStake.Value = dot(1)
		ch.Identity.Value = &events.Identity{Display: "Shared", Parent: "ROOT", SubName: name}
		ch.NextKeys.Value = map[string]string{"beefy": beefDummy + "00"}
		ch.UnclaimedEras.Value = []uint32{10}
		tl := c.Telemetry
		tl.Version, tl.DiscoveredAt = "0.9.0", ms(testNow.Add(-time.Hour))
		tl.OfflineWeek = int64(24 * time.Hour / time.Millisecond)
		tl.Online, tl.OfflineSince = false, ms(testNow.Add(-time.Hour))
		tl.Location = &events.Location{Country: "Nowhere", Region: "Void", Provider: "BadHost"}
		return c
	}
	a, b := mk("Alice"), mk("Bob")
	env := polkadotEnv(a, b, mk("Carol"))
	env.Rules.Skip = []string{}
	env.Rules.MaxPerIdentity = 1
	env.Rules.BlacklistedProviders = []string{"BadHost"}
	env.Rules.SanctionedCountries = []string{"Nowhere"}
	rules := Rules(env.Rules)
	for _, pair := range [][2]*Candidate{{a, b}, {b, a}} {
		own, other := pair[0], pair[1]
		v := Evaluate(rules, own, env)
		invalid := 0
		for _, ch := range v.Checks {
			if ch.Status != Invalid {
				continue
			}
			invalid++
			if strings.Contains(ch.Details, other.Name) || strings.Contains(ch.Details, other.Stash) {
				t.Errorf("%s's %s reason mentions %s: %q", own.Name, ch.Type, other.Name, ch.Details)
			}
			if !strings.HasPrefix(ch.Details, own.Name+" ") {
				t.Errorf("%s's %s reason does not start with its name: %q", own.Name, ch.Type, ch.Details)
			}
		}
		// Alice is first under the identity: MULTIPLE_IDENTITIES passes
		// only for her.
		wantInvalid := len(RuleTypes)
		if own == a {
			wantInvalid--
		}
		if invalid != wantInvalid {
			t.Errorf("%s: %d invalid checks, want %d: %+v", own.Name, invalid, wantInvalid, v.Checks)
		}
	}
}

func TestEvaluateMergesWithThePreviousChecks(t *testing.T) {
	c := goodCandidate("Alice", "STASH-A")
	env := polkadotEnv(c)
	rules := Rules(env.Rules)
	c.Chain.Blocked.Value = true
	first := Evaluate(rules, c, env)
	if first.Status != Invalid {
		t.Fatalf("blocked candidate: %s", first.Status)
	}

	// Next evaluation: the blocked flag cannot be read.
	later := env.Now.Add(time.Hour)
	env2 := polkadotEnv(c)
	env2.Now = later
	c.Prev = first.Checks
	c.Chain.Blocked = events.Failed[bool](errors.New("rpc down"), ms(later))
	second := Evaluate(rules, c, env2)
	ch := findCheck(t, second, RuleBlocked)
	if ch.Status != Unknown || ch.Valid || !ch.Known || ch.Details != "Alice blocks external nominations" ||
		ch.LastKnown != ms(testNow) || ch.Updated != ms(later) || !strings.Contains(ch.Error, "rpc down") {
		t.Errorf("unknown after invalid: %+v, want the previous invalid verdict, reason and LastKnown kept", ch)
	}
	if second.Status != Invalid {
		t.Errorf("status %s, want invalid (the kept verdict)", second.Status)
	}

	// A check never known: effective valid, but the status is unknown.
	c2 := goodCandidate("Bob", "STASH-B")
	c2.Chain.Identity = events.Failed[*events.Identity](errors.New("people chain unreachable"), 1)
	v := Evaluate(rules, c2, polkadotEnv(c2))
	id := findCheck(t, v, RuleIdentity)
	if v.Status != Unknown || !id.Valid || id.Known || id.Status != Unknown {
		t.Errorf("never-known identity: validity %s, check %+v; want status unknown, check effective valid and not known", v.Status, id)
	}
}

func TestEvaluateHonoursSkips(t *testing.T) {
	c := goodCandidate("Alice", "STASH-A")
	c.Skip = []string{RuleSelfStake}
	c.Chain.SelfStake.Value = "0"
	c.Chain.Blocked.Value = true
	env := polkadotEnv(c)
	env.Rules.Skip = []string{RuleBlocked}
	v := Evaluate(Rules(RulesConfig{}), c, env)
	if v.Status != Valid {
		t.Errorf("status %s with the failing rules skipped: %+v", v.Status, v.Checks)
	}
	for _, ch := range v.Checks {
		if ch.Type == RuleSelfStake || ch.Type == RuleBlocked {
			t.Errorf("skipped rule %s ran", ch.Type)
		}
	}
}

func findCheck(t *testing.T, v Validity, typ string) Check {
	t.Helper()
	for _, ch := range v.Checks {
		if ch.Type == typ {
			return ch
		}
	}
	t.Fatalf("no %s check in %+v", typ, v.Checks)
	return Check{}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.17.1-8a6c4d0e1": "1.17.1", "v1.17.1": "1.17.1", "1.17": "1.17.0", "2": "2.0.0", "1.2.3+meta": "1.2.3",
	} {
		v, ok := parseVersion(in)
		if !ok || v.String() != want {
			t.Errorf("parseVersion(%q) = %s %v, want %s", in, v, ok, want)
		}
	}
	for _, bad := range []string{"", "abc", "1.x.3", "1.2.3.4"} {
		if _, ok := parseVersion(bad); ok {
			t.Errorf("parseVersion(%q) accepted", bad)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		a    events.Amount
		want string
	}{
		{dot(4999.5), "4,999.5 DOT"}, {"50000000000000", "5,000 DOT"}, {"1", "0.0000000001 DOT"},
		{"0", "0 DOT"}, {dot(1234567), "1,234,567 DOT"}, {"", "0 DOT"},
	} {
		if got := FormatAmount(tc.a, dotDecimals, "DOT"); got != tc.want {
			t.Errorf("FormatAmount(%s) = %q, want %q", tc.a, got, tc.want)
		}
	}
}

// With no telemetry to judge by (no feed configured, or a feed that has
// reported no node yet), every telemetry-based rule is unknown with the
// reason, and the candidate is unknown, never invalid.
func TestNoTelemetryIsUnknownForEveryTelemetryRule(t *testing.T) {
	const why = "no telemetry feed configured for polkadot (--polkadot-telemetry polkadot=wss://…/feed)"
	c := goodCandidate("Alice", "STASH-A")
	c.Telemetry = nil
	c.TelemetryMatch = Match{Note: why}
	env := polkadotEnv(c)
	env.TelemetryUnavailable = why
	// Lists configured, so PROVIDER and SANCTIONED_GEO_AREA need telemetry too.
	env.Rules.BlacklistedProviders = []string{"Contabo GmbH"}
	env.Rules.SanctionedCountries = []string{"nowhere"}
	v := Evaluate(Rules(env.Rules), c, env)
	if v.Status != Unknown {
		t.Fatalf("status %s, want unknown: %+v", v.Status, v.Checks)
	}
	for _, typ := range []string{RuleOnline, RuleClientUpgrade, RuleConnectionTime, RuleOffline, RuleProvider, RuleSanctioned} {
		ch := findCheck(t, v, typ)
		if ch.Status != Unknown || !ch.Valid || ch.Details != "" || ch.Error != why {
			t.Errorf("%s: %+v, want unknown (valid, no reason) with error %q", typ, ch, why)
		}
	}
	for _, ch := range v.Checks {
		if !ch.Valid {
			t.Errorf("%s made the candidate invalid: %+v", ch.Type, ch)
		}
	}
}
