package program

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// Result is one rule's own verdict on one candidate, before it is merged
// with the previous evaluation.
type Result struct {
	Status Status
	// Details is the reason (invalid), "" otherwise.
	Details string
	// Error is why the rule could not be evaluated (unknown), or, with a
	// verdict, that it was reached on a stale value (the last read failed).
	Error string
}

// Rule is one validity check. Rules are independent: each reads only the
// candidate's own record and the environment, and builds its reason only
// from the candidate's own record (1KV #2146 printed another
// participant's name).
type Rule interface {
	Type() string
	Check(c *Candidate, env *Env) Result
}

// Env is what the rules need besides the candidate. One Env serves one
// evaluation of the candidates: on first use it groups Candidates by
// identity root and parses MinSelfStake, so build a new one when they
// change; pass it by pointer (it holds a sync.Once).
type Env struct {
	Now time.Time
	// Chain is the chain's position (active era for UNCLAIMED_REWARDS); nil
	// when none has arrived.
	Chain *events.Chain
	// Network is the chain's name (polkadot, kusama …); KUSAMA_RANK applies
	// everywhere but on Kusama. "" takes Chain.Chain.
	Network string
	// Rules is the rules config merged with the chain's defaults.
	Rules   RulesConfig
	Release Release
	// Candidates are all candidates (MULTIPLE_IDENTITIES), in file order.
	Candidates []*Candidate
	Decimals   int
	Token      string
	// TelemetryUnavailable, when set, is why no telemetry can be judged
	// by on this chain at all: no feed configured, or the feed has not
	// reported a single node yet. Every telemetry-based rule is then
	// unknown with this text instead of reading the absence of a node as
	// the node being offline (our missing feed is not the candidate's
	// fault).
	TelemetryUnavailable string

	once sync.Once
	ids  map[string]identitySlot // stash → its place under its identity root
	min  *big.Int                // MinSelfStake parsed
}

// identitySlot is a candidate's place among the candidates sharing its
// identity root: Pos (1-based, in file order) of Count.
type identitySlot struct {
	Pos, Count int
}

func (e *Env) network() string {
	if e.Network != "" {
		return e.Network
	}
	if e.Chain != nil {
		return e.Chain.Chain
	}
	return ""
}

// prepare builds what several rules share once per environment.
func (e *Env) prepare() {
	e.once.Do(func() {
		e.min, _ = ParsePlanck(e.Rules.MinSelfStake)
		roots := map[string][]string{}
		var order []string
		for _, c := range e.Candidates {
			if c == nil || c.Chain == nil || !c.Chain.Identity.Known {
				continue // an unknown identity is grouped with nobody
			}
			r := c.Chain.Identity.Value.Root(c.Stash)
			if _, ok := roots[r]; !ok {
				order = append(order, r)
			}
			roots[r] = append(roots[r], c.Stash)
		}
		e.ids = map[string]identitySlot{}
		for _, r := range order {
			for i, s := range roots[r] {
				e.ids[s] = identitySlot{Pos: i + 1, Count: len(roots[r])}
			}
		}
	})
}

// Rules are the default rule set, one of each type in RuleTypes order,
// less the rules cfg.Skip names. The rules read their settings from
// Env.Rules at each check, so one set serves every reload of the file.
func Rules(cfg RulesConfig) []Rule {
	all := []Rule{
		onlineRule{}, intentionRule{}, clientRule{}, connectionRule{}, identityRule{},
		offlineRule{}, commissionRule{}, selfStakeRule{}, unclaimedRule{}, blockedRule{},
		kusamaRankRule{}, providerRule{}, sanctionedRule{}, beefyRule{}, multipleIdentityRule{},
	}
	out := all[:0]
	for _, r := range all {
		if !slices.Contains(cfg.Skip, r.Type()) {
			out = append(out, r)
		}
	}
	return out
}

// Evaluate runs every rule not skipped (by env.Rules.Skip or the
// candidate's own Skip) and merges the results with c.Prev: an unknown
// check keeps the previous effective verdict, reason and LastKnown; one
// never known counts as valid but makes the Status unknown.
func Evaluate(rules []Rule, c *Candidate, env *Env) Validity {
	now := env.Now.UnixMilli()
	v := Validity{Status: Valid, Checks: make([]Check, 0, len(rules)), Updated: now}
	anyUnknown := false
	for _, r := range rules {
		t := r.Type()
		if slices.Contains(env.Rules.Skip, t) || slices.Contains(c.Skip, t) {
			continue
		}
		res := r.Check(c, env)
		ch := Check{Type: t, Status: res.Status, Error: res.Error, Updated: now}
		switch res.Status {
		case Valid, Invalid:
			ch.Valid = res.Status == Valid
			if !ch.Valid {
				ch.Details = res.Details
			}
			ch.Known, ch.LastKnown = true, now
		default:
			ch.Status = Unknown
			ch.Valid = true
			if p := prevCheck(c.Prev, t); p != nil && p.Known {
				ch.Valid, ch.Details, ch.Known, ch.LastKnown = p.Valid, p.Details, true, p.LastKnown
			}
		}
		if !ch.Valid {
			v.Status = Invalid
		}
		if !ch.Known {
			anyUnknown = true
		}
		v.Checks = append(v.Checks, ch)
	}
	if v.Status != Invalid && anyUnknown {
		v.Status = Unknown
	}
	return v
}

func prevCheck(prev []Check, t string) *Check {
	for i := range prev {
		if prev[i].Type == t {
			return &prev[i]
		}
	}
	return nil
}

// The result constructors.
func valid() Result                      { return Result{Status: Valid} }
func unknown(why string) Result          { return Result{Status: Unknown, Error: why} }
func invalid(details string) Result      { return Result{Status: Invalid, Details: details} }
func invalidf(f string, a ...any) Result { return invalid(fmt.Sprintf(f, a...)) }

// stale turns a verdict reached on a merged fact whose latest read failed
// into unknown with the read's error: the check could not be evaluated
// now, so Evaluate keeps the last known result (the rule; 1KV
// turned such candidates invalid and back — its validity flapped).
func stale(r Result, err string) Result {
	if err != "" && r.Status != Unknown {
		return Result{Status: Unknown, Error: "the latest read failed (the last known result is kept): " + err}
	}
	return r
}

const (
	noChainRecord     = "no chain record of the stash yet"
	noTelemetryRecord = "no telemetry record yet (the feed has not been matched against this candidate)"
)

// fact says whether a fact can be evaluated: known (possibly stale), or
// the Unknown result explaining why not.
func fact[T any](f events.Fact[T], what string) (ok bool, r Result) {
	if f.Known {
		return true, Result{}
	}
	if f.Err != "" {
		return false, unknown(what + ": " + f.Err)
	}
	return false, unknown(what + " is not read on this chain; skip the rule in rules.skip")
}

// telemetry returns the matched node, or the Unknown result for rules
// that need it (ONLINE judges a missing match itself).
func telemetry(c *Candidate, env *Env) (*events.Telemetry, Result, bool) {
	if c.Telemetry != nil {
		return c.Telemetry, Result{}, true
	}
	if env.TelemetryUnavailable != "" {
		return nil, unknown(env.TelemetryUnavailable), false
	}
	if c.TelemetryMatch.Note != "" {
		return nil, unknown("no telemetry node matched: " + c.TelemetryMatch.Note), false
	}
	return nil, unknown(noTelemetryRecord), false
}

// --- ONLINE ---

type onlineRule struct{}

func (onlineRule) Type() string { return RuleOnline }

// Check judges the node's state now, not 1KV's "16 h since onlineSince"
// (which fails any node connected longer than 16 h without a feed
// reconnect).
func (onlineRule) Check(c *Candidate, env *Env) Result {
	t := c.Telemetry
	if t == nil {
		if env.TelemetryUnavailable != "" {
			// No node is known at all: our feed is missing or silent, which
			// says nothing about this candidate's node.
			return unknown(env.TelemetryUnavailable)
		}
		if note := c.TelemetryMatch.Note; note != "" {
			return invalidf("%s offline. %s.", c.Name, strings.TrimSuffix(capitalize(note), "."))
		}
		if c.TelemetryMatch.How == "" && c.TelemetryMatch.Node == "" {
			return unknown(noTelemetryRecord)
		}
		return invalidf("%s offline. No telemetry node named %q.", c.Name, c.Name)
	}
	if t.Online {
		return valid()
	}
	limit := env.Rules.OnlineMaxOffline
	if t.OfflineSince <= 0 {
		if limit > 0 {
			return unknown("the node is offline since a time telemetry did not report")
		}
		return invalidf("%s offline. Telemetry node %q is offline.", c.Name, t.Name)
	}
	off := env.Now.Sub(time.UnixMilli(t.OfflineSince))
	if off <= limit {
		return valid()
	}
	msg := fmt.Sprintf("%s offline. Telemetry node %q offline since %s (%s)", c.Name, t.Name, formatTime(t.OfflineSince), formatDuration(off))
	if limit > 0 {
		msg += ", longer than the " + formatDuration(limit) + " allowed"
	}
	return invalid(msg + ".")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// --- VALIDATE_INTENTION ---

type intentionRule struct{}

func (intentionRule) Type() string { return RuleValidateIntention }

func (intentionRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	f := c.Chain.Intention
	if ok, r := fact(f, "validate intention"); !ok {
		return r
	}
	if f.Value {
		return stale(valid(), f.Err)
	}
	return stale(invalidf("%s does not have a validate intention: stash %s is not in staking.validators.", c.Name, c.Stash), f.Err)
}

// --- CLIENT_UPGRADE ---

type clientRule struct{}

func (clientRule) Type() string { return RuleClientUpgrade }

func (clientRule) Check(c *Candidate, env *Env) Result {
	t, r, ok := telemetry(c, env)
	if !ok {
		return r
	}
	for _, impl := range env.Rules.SkipClientImplementations {
		if strings.EqualFold(strings.TrimSpace(impl), strings.TrimSpace(t.Implementation)) {
			return valid() // 1KV: other implementations version differently
		}
	}
	runs, ok := parseVersion(t.Version)
	if !ok {
		return unknown(fmt.Sprintf("telemetry node %q reports version %q, which is not a version", t.Name, t.Version))
	}
	if forced := env.Rules.ClientForcedVersion; forced != "" {
		want, ok := parseRequired(forced)
		if !ok {
			return unknown(fmt.Sprintf("rules.client_forced_version %q is not a version", forced))
		}
		if compareVersion(runs, want) >= 0 {
			return valid()
		}
		return invalidf("%s is not on the latest client version: runs %s, required %s (rules.client_forced_version).", c.Name, runs, want)
	}
	rel := env.Release
	if rel.Err != "" {
		return unknown("latest client release not known: " + rel.Err)
	}
	want, ok := parseRequired(rel.Version)
	if !ok {
		return unknown("latest client release not fetched yet")
	}
	if compareVersion(runs, want) >= 0 {
		return valid()
	}
	grace := time.UnixMilli(rel.Published).Add(env.Rules.ClientGrace)
	if rel.Published > 0 && env.Now.Before(grace) {
		return valid() // the upgrade window is still open
	}
	if rel.Published <= 0 {
		// No publication time: no grace to grant, and no date to print.
		return invalidf("%s is not on the latest client version: runs %s, latest %s.", c.Name, runs, want)
	}
	return invalidf("%s is not on the latest client version: runs %s, latest %s (released %s, grace until %s).",
		c.Name, runs, want, formatDate(rel.Published), formatDate(grace.UnixMilli()))
}

// version is major.minor.patch.
type version [3]int

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// parseVersion reads the leading numeric version of s: "v1.17.1",
// "1.17.1-8a6c4d0e1" and "1.17" (1.17.0) all read; like semver.coerce it
// ignores what follows the numbers.
func parseVersion(s string) (version, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	if i := strings.IndexAny(s, "-+ "); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 || parts[0] == "" {
		return version{}, false
	}
	var v version
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return version{}, false
		}
		v[i] = n
	}
	return v, true
}

func compareVersion(a, b version) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// --- CONNECTION_TIME ---

type connectionRule struct{}

func (connectionRule) Type() string { return RuleConnectionTime }

func (connectionRule) Check(c *Candidate, env *Env) Result {
	t, r, ok := telemetry(c, env)
	if !ok {
		return r
	}
	if t.DiscoveredAt <= 0 {
		return unknown("telemetry has not recorded when the node was first seen")
	}
	since := env.Now.Sub(time.UnixMilli(t.DiscoveredAt))
	if since >= env.Rules.ConnectionTime {
		return valid()
	}
	return invalidf("%s has not been connected for minimum length: first seen on telemetry %s (%s ago), the minimum is %s.",
		c.Name, formatTime(t.DiscoveredAt), formatDuration(since), formatDuration(env.Rules.ConnectionTime))
}

// --- IDENTITY ---

type identityRule struct{}

func (identityRule) Type() string { return RuleIdentity }

func (identityRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	f := c.Chain.Identity
	if ok, r := fact(f, "identity"); !ok {
		return r
	}
	id := f.Value
	switch {
	case id == nil:
		return stale(invalidf("%s does not have an identity set.", c.Name), f.Err)
	case !id.Verified():
		j := "none"
		if len(id.Judgements) > 0 {
			j = strings.Join(id.Judgements, ", ")
		}
		return stale(invalidf("%s has an identity but is not verified by the registrar (judgements: %s; Reasonable or KnownGood needed).", c.Name, j), f.Err)
	}
	return stale(valid(), f.Err)
}

// --- ACCUMULATED_OFFLINE_TIME ---

type offlineRule struct{}

func (offlineRule) Type() string { return RuleOffline }

// week is the ISO week key telemetry counts OfflineWeek in.
func week(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// offlineThisWeek is the node's offline time in the current week: a count
// of another week is over (the week rolled over since the record).
func offlineThisWeek(t *events.Telemetry, now time.Time) time.Duration {
	if t == nil || t.Week != week(now) {
		return 0
	}
	return time.Duration(t.OfflineWeek) * time.Millisecond
}

func (offlineRule) Check(c *Candidate, env *Env) Result {
	t, r, ok := telemetry(c, env)
	if !ok {
		return r
	}
	off := offlineThisWeek(t, env.Now)
	const weekLen = 7 * 24 * time.Hour
	if off.Seconds()/weekLen.Seconds() <= env.Rules.OfflineWeekMax {
		return valid()
	}
	limit := time.Duration(env.Rules.OfflineWeekMax * float64(weekLen))
	return invalidf("%s has been offline %d minutes this week (%s; the limit is %d minutes, %s of a week).",
		c.Name, int(off.Minutes()), t.Week, int(limit.Minutes()), formatPercent(env.Rules.OfflineWeekMax))
}

// --- COMMISION ---

type commissionRule struct{}

func (commissionRule) Type() string { return RuleCommission }

func (commissionRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	f := c.Chain.Commission
	if ok, r := fact(f, "commission"); !ok {
		return r
	}
	// Compare in Perbill to avoid float edges at exactly the maximum.
	max := uint64(env.Rules.Commission*1e9 + 0.5)
	if uint64(f.Value) <= max {
		return stale(valid(), f.Err)
	}
	return stale(invalidf("%s commission is set higher than the maximum allowed. Set: %s Allowed: %s",
		c.Name, perbillPercent(f.Value), formatPercent(env.Rules.Commission)), f.Err)
}

// --- SELF_STAKE ---

type selfStakeRule struct{}

func (selfStakeRule) Type() string { return RuleSelfStake }

func (selfStakeRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	env.prepare()
	if env.min == nil {
		return unknown(fmt.Sprintf("rules.min_self_stake %q is not an amount", env.Rules.MinSelfStake))
	}
	if ctl := c.Chain.Controller; ctl.Known && ctl.Value == "" {
		return stale(invalidf("%s Not bonded to any account.", c.Name), ctl.Err)
	}
	f := c.Chain.SelfStake
	if ok, r := fact(f, "self stake"); !ok {
		return r
	}
	if f.Value == "" {
		return unknown("self stake: the ledger was read but carried no amount")
	}
	if f.Value.Big().Cmp(env.min) >= 0 {
		return stale(valid(), f.Err)
	}
	return stale(invalidf("%s has less than the minimum amount bonded: %s is bonded, the minimum is %s.",
		c.Name, FormatAmount(f.Value, env.Decimals, env.Token), formatBig(env.min, env.Decimals, env.Token)), f.Err)
}

// --- UNCLAIMED_REWARDS ---

type unclaimedRule struct{}

func (unclaimedRule) Type() string { return RuleUnclaimed }

func (unclaimedRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	if env.Chain == nil {
		return unknown("no chain position (active era) yet")
	}
	f := c.Chain.UnclaimedEras
	if ok, r := fact(f, "unclaimed eras"); !ok {
		return r
	}
	// Eras ≤ active − threshold − 1 are overdue: "prior to era active −
	// threshold".
	if env.Chain.ActiveEra < env.Rules.UnclaimedEraThreshold+1 {
		return stale(valid(), f.Err)
	}
	prior := env.Chain.ActiveEra - env.Rules.UnclaimedEraThreshold
	var late []string
	for _, e := range f.Value {
		if e < prior {
			late = append(late, strconv.FormatUint(uint64(e), 10))
		}
	}
	if len(late) == 0 {
		return stale(valid(), f.Err)
	}
	return stale(invalidf("%s has unclaimed eras: %s prior to era: %d", c.Name, strings.Join(late, ", "), prior), f.Err)
}

// --- BLOCKED ---

type blockedRule struct{}

func (blockedRule) Type() string { return RuleBlocked }

func (blockedRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	f := c.Chain.Blocked
	if ok, r := fact(f, "blocked flag"); !ok {
		return r
	}
	if !f.Value {
		return stale(valid(), f.Err)
	}
	return stale(invalidf("%s blocks external nominations", c.Name), f.Err)
}

// --- KUSAMA_RANK ---

type kusamaRankRule struct{}

func (kusamaRankRule) Type() string { return RuleKusamaRank }

func (kusamaRankRule) Check(c *Candidate, env *Env) Result {
	if c.KusamaStash == "" || env.network() == "kusama" {
		return valid() // nothing to check: no Kusama node declared
	}
	if strings.TrimSpace(env.Rules.KusamaAPI) == "" {
		// Not an answer that will ever come: say what to configure.
		return unknown(fmt.Sprintf("kusama_stash %s is set but no Kusama instance is configured: set rules.kusama_api to a Kusama valtrack (http://host:port), or skip KUSAMA_RANK", c.KusamaStash))
	}
	k := c.Kusama
	if k == nil {
		return unknown("no answer from the Kusama instance yet")
	}
	if k.Err != "" {
		return unknown("Kusama instance: " + k.Err)
	}
	if !k.Found {
		return invalidf("%s has a Kusama stash %s that the Kusama programme does not list.", c.Name, c.KusamaStash)
	}
	if k.Unknown {
		// The Kusama side could not evaluate its candidate: unknown there
		// is unknown here, never invalid.
		why := "no check named"
		if len(k.Unknowns) > 0 {
			why = strings.Join(k.Unknowns, "; ")
		}
		return unknown(fmt.Sprintf("the Kusama instance's verdict on %s is unknown (%s)", c.KusamaStash, why))
	}
	if !k.Valid {
		why := "no reason given"
		if len(k.Reasons) > 0 {
			why = strings.Join(k.Reasons, "; ")
		}
		return invalidf("%s has a kusama node that is invalid: %s", c.Name, why)
	}
	if k.Rank < env.Rules.KusamaMinRank {
		return invalidf("%s has a Kusama stash with lower than %d rank in the Kusama 1KV programme: %d.", c.Name, env.Rules.KusamaMinRank, k.Rank)
	}
	return valid()
}

// --- PROVIDER ---

type providerRule struct{}

func (providerRule) Type() string { return RuleProvider }

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func inList(list []string, v string) bool {
	v = norm(v)
	if v == "" {
		return false
	}
	for _, x := range list {
		if norm(x) == v {
			return true
		}
	}
	return false
}

func (providerRule) Check(c *Candidate, env *Env) Result {
	if len(env.Rules.BlacklistedProviders) == 0 {
		return valid()
	}
	t, r, ok := telemetry(c, env)
	if !ok {
		return r
	}
	// No location yet: valid, as 1KV (a node without a geo lookup is not
	// known to be at a banned provider).
	if t.Location == nil || !inList(env.Rules.BlacklistedProviders, t.Location.Provider) {
		return valid()
	}
	return invalidf("%s has banned infrastructure provider: %s", c.Name, strings.TrimSpace(t.Location.Provider))
}

// --- SANCTIONED_GEO_AREA ---

type sanctionedRule struct{}

func (sanctionedRule) Type() string { return RuleSanctioned }

func (sanctionedRule) Check(c *Candidate, env *Env) Result {
	if len(env.Rules.SanctionedCountries) == 0 && len(env.Rules.SanctionedRegions) == 0 {
		return valid()
	}
	t, r, ok := telemetry(c, env)
	if !ok {
		return r
	}
	if t.Location == nil {
		return valid() // as 1KV: no location, no sanction
	}
	if inList(env.Rules.SanctionedCountries, t.Location.Country) {
		return invalidf("%s in sanctioned area: country %s.", c.Name, strings.TrimSpace(t.Location.Country))
	}
	if inList(env.Rules.SanctionedRegions, t.Location.Region) {
		return invalidf("%s in sanctioned area: region %s.", c.Name, strings.TrimSpace(t.Location.Region))
	}
	return valid()
}

// --- BEEFY ---

type beefyRule struct{}

func (beefyRule) Type() string { return RuleBeefy }

// beefDummy is "beef" in hex: the placeholder key of nodes that set
// session keys before BEEFY existed.
const beefDummy = "0x62656566"

func (beefyRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	f := c.Chain.NextKeys
	if ok, r := fact(f, "session next keys"); !ok {
		return r
	}
	if f.Value == nil {
		return stale(invalidf("%s has not set beefy keys: no session keys are set for the next session.", c.Name), f.Err)
	}
	k := strings.TrimSpace(f.Value["beefy"])
	switch {
	case k == "":
		return stale(invalidf("%s has not set beefy keys: the next session keys have no beefy key.", c.Name), f.Err)
	case strings.HasPrefix(strings.ToLower(k), beefDummy):
		return stale(invalidf("%s has not set beefy keys: the beefy key is the dummy %s… (\"beef\"); rotate the session keys.", c.Name, beefDummy), f.Err)
	}
	return stale(valid(), f.Err)
}

// --- MULTIPLE_IDENTITIES ---

type multipleIdentityRule struct{}

func (multipleIdentityRule) Type() string { return RuleMultipleIdentity }

// Check keeps the first MaxPerIdentity candidates of an identity root
// (parent and subs), in candidates-file order, and invalidates the rest.
// The reason names only the checked candidate and its own identity, not
// the others under it.
func (multipleIdentityRule) Check(c *Candidate, env *Env) Result {
	if c.Chain == nil {
		return unknown(noChainRecord)
	}
	f := c.Chain.Identity
	if ok, r := fact(f, "identity"); !ok {
		return r
	}
	env.prepare()
	slot, ok := env.ids[c.Stash]
	max := env.Rules.MaxPerIdentity
	if !ok || max <= 0 || slot.Pos <= max {
		return stale(valid(), f.Err)
	}
	who := f.Value.Name()
	if who == "" {
		who = c.Stash
	}
	return stale(invalidf("%s is candidate %d of %d under the identity %q (root %s); at most %d per identity are allowed, taken in candidates-file order.",
		c.Name, slot.Pos, slot.Count, who, f.Value.Root(c.Stash), max), f.Err)
}
