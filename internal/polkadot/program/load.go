package program

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

// maxConfigBytes bounds the program file: a candidates file of a few
// thousand entries is well under this; anything larger is a wrong path.
const maxConfigBytes = 8 << 20

// The score components, by 1KV's names (the keys of score.weights and of
// Snapshot.Stats). Order is the order of Score.Components.
const (
	CompInclusion      = "inclusion"
	CompSpanInclusion  = "spanInclusion"
	CompDiscovered     = "discovered"
	CompNominated      = "nominated"
	CompRank           = "rank"
	CompUnclaimed      = "unclaimed"
	CompBonded         = "bonded"
	CompFaults         = "faults"
	CompOffline        = "offline"
	CompLocation       = "location"
	CompRegion         = "region"
	CompCountry        = "country"
	CompProvider       = "provider"
	CompNominatorStake = "nominatorStake"
	CompClient         = "client"
)

// ComponentNames are the score components in explanation order.
var ComponentNames = []string{
	CompInclusion, CompSpanInclusion, CompDiscovered, CompNominated, CompRank,
	CompUnclaimed, CompBonded, CompFaults, CompOffline, CompLocation, CompRegion,
	CompCountry, CompProvider, CompNominatorStake, CompClient,
}

// RuleTypes are all rule types, in evaluation order (1KV's, then ours).
var RuleTypes = []string{
	RuleOnline, RuleValidateIntention, RuleClientUpgrade, RuleConnectionTime,
	RuleIdentity, RuleOffline, RuleCommission, RuleSelfStake, RuleUnclaimed,
	RuleBlocked, RuleKusamaRank, RuleProvider, RuleSanctioned, RuleBeefy,
	RuleMultipleIdentity,
}

// DefaultWeights are 1KV's constant weights (constants.ts), not its sample
// config's: the constants are what a deployment gets without a weights
// section.
func DefaultWeights() map[string]float64 {
	return map[string]float64{
		CompInclusion: 220, CompSpanInclusion: 220, CompDiscovered: 5, CompNominated: 80,
		CompRank: 5, CompUnclaimed: 10, CompBonded: 50, CompFaults: 5, CompOffline: 2,
		CompLocation: 40, CompRegion: 10, CompCountry: 10, CompProvider: 100,
		CompNominatorStake: 100, CompClient: 200,
	}
}

// DefaultRandomness is the width of the random factor 1 + U[0, w).
const DefaultRandomness = 0.15

// Defaults are 1KV's settings for a chain: Polkadot's own; Kusama's for
// Kusama and for everything else (test networks and devnets behave like
// Kusama: low stakes, frequent rounds are not needed there, but the Kusama
// thresholds are the permissive ones).
func Defaults(chain string) Config {
	r := RulesConfig{
		OnlineMaxOffline:          0,
		ClientGrace:               48 * time.Hour,
		ReleaseURL:                "https://api.github.com/repos/paritytech/polkadot-sdk/releases/latest",
		SkipClientImplementations: []string{"Kagome Node"},
		ConnectionTime:            7 * 24 * time.Hour,
		OfflineWeekMax:            0.02,
		Commission:                0.15,
		MinSelfStake:              "10000000000000", // 10 KSM (12 decimals)
		UnclaimedEraThreshold:     4,
		KusamaChain:               "kusama",
		KusamaMinRank:             100,
		MaxPerIdentity:            2,
		Skip:                      []string{},
	}
	n := NominationConfig{EraPeriod: 1, MaxTargets: 16}
	switch chain {
	case "polkadot":
		r.Commission = 0.05
		r.MinSelfStake = "50000000000000" // 5,000 DOT (10 decimals)
		r.UnclaimedEraThreshold = 1
		// 1KV's Polkadot config has skipUnclaimed: the payout bot claims there.
		r.Skip = []string{RuleUnclaimed}
	case "kusama":
		n = NominationConfig{EraPeriod: 4, MaxTargets: 24}
	}
	rnd := DefaultRandomness
	return Config{
		Rules:      r,
		Score:      ScoreConfig{Weights: DefaultWeights(), Randomness: &rnd},
		Nomination: n,
	}
}

// WithDefaults is c with every absent setting taken from Defaults(chain):
// a key the file did not write (for a Config built in code: a zero value
// or nil list) is absent; a key written as 0 keeps its 0, and an explicit
// empty list (skip: []) is kept. A weight absent from score.weights takes
// its default; a weight given as 0 stays 0 (the component is disabled).
func (c Config) WithDefaults(chain string) Config {
	d := Defaults(chain)
	out := c
	out.Rules = c.Rules.withDefaults(d.Rules, c.absent("rules"))
	out.Score.Weights = MergeWeights(c.Score.Weights)
	if out.Score.Randomness == nil {
		out.Score.Randomness = d.Score.Randomness
	}
	absent := c.absent("nomination")
	if absent("era_period", out.Nomination.EraPeriod == 0) {
		out.Nomination.EraPeriod = d.Nomination.EraPeriod
	}
	if absent("max_targets", out.Nomination.MaxTargets == 0) {
		out.Nomination.MaxTargets = d.Nomination.MaxTargets
	}
	return out
}

// absent is, for the keys of section, whether one is absent: not written
// by the file, or — for a Config not read from a file — zero.
func (c Config) absent(section string) func(key string, zero bool) bool {
	return func(key string, zero bool) bool {
		if c.written != nil {
			return !c.written[section+"."+key]
		}
		return zero
	}
}

// WithDefaults fills r's zero settings from d (r built in code; a file's
// explicit zeros are kept by Config.WithDefaults).
func (r RulesConfig) WithDefaults(d RulesConfig) RulesConfig {
	return r.withDefaults(d, func(_ string, zero bool) bool { return zero })
}

func (r RulesConfig) withDefaults(d RulesConfig, absent func(key string, zero bool) bool) RulesConfig {
	if absent("skip", r.Skip == nil) {
		r.Skip = d.Skip
	}
	if absent("online_max_offline", r.OnlineMaxOffline == 0) {
		r.OnlineMaxOffline = d.OnlineMaxOffline
	}
	if absent("client_grace", r.ClientGrace == 0) {
		r.ClientGrace = d.ClientGrace
	}
	if absent("release_url", r.ReleaseURL == "") {
		r.ReleaseURL = d.ReleaseURL
	}
	if absent("skip_client_implementations", r.SkipClientImplementations == nil) {
		r.SkipClientImplementations = d.SkipClientImplementations
	}
	if absent("connection_time", r.ConnectionTime == 0) {
		r.ConnectionTime = d.ConnectionTime
	}
	if absent("offline_week_max", r.OfflineWeekMax == 0) {
		r.OfflineWeekMax = d.OfflineWeekMax
	}
	if absent("commission", r.Commission == 0) {
		r.Commission = d.Commission
	}
	if absent("min_self_stake", r.MinSelfStake == "") {
		r.MinSelfStake = d.MinSelfStake
	}
	if absent("unclaimed_era_threshold", r.UnclaimedEraThreshold == 0) {
		r.UnclaimedEraThreshold = d.UnclaimedEraThreshold
	}
	if absent("kusama_api", r.KusamaAPI == "") {
		r.KusamaAPI = d.KusamaAPI
	}
	if absent("kusama_chain", r.KusamaChain == "") {
		r.KusamaChain = d.KusamaChain
	}
	if absent("kusama_min_rank", r.KusamaMinRank == 0) {
		r.KusamaMinRank = d.KusamaMinRank
	}
	if absent("blacklisted_providers", r.BlacklistedProviders == nil) {
		r.BlacklistedProviders = d.BlacklistedProviders
	}
	if absent("sanctioned_countries", r.SanctionedCountries == nil) {
		r.SanctionedCountries = d.SanctionedCountries
	}
	if absent("sanctioned_regions", r.SanctionedRegions == nil) {
		r.SanctionedRegions = d.SanctionedRegions
	}
	if absent("max_per_identity", r.MaxPerIdentity == 0) {
		r.MaxPerIdentity = d.MaxPerIdentity
	}
	return r
}

// MergeWeights is the default weights overridden by w (a 0 in w is kept:
// it disables the component, unlike 1KV's `Number(cfg) || default`).
func MergeWeights(w map[string]float64) map[string]float64 {
	out := DefaultWeights()
	for k, v := range w {
		out[k] = v
	}
	return out
}

// Load reads and parses the program file at path.
func Load(path string) (*Config, error) {
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("program file %s: %w", path, err)
	}
	return cfg, nil
}

func readConfig(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open program file %s: %w (check --polkadot-candidates)", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read program file %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("program file %s is larger than %d bytes; is the path right?", path, maxConfigBytes)
	}
	return data, nil
}

// Parse parses and validates a program file. Unknown keys are refused
// (a misspelt key would otherwise silently take the default); every error
// names the line.
func Parse(data []byte) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: it needs at least a candidates list")
		}
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	lines := map[string]int{}
	if err := walk(root, reflect.TypeOf(Config{}), "", lines); err != nil {
		return nil, err
	}
	var cfg Config
	if err := root.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%w (durations are written like 48h or 30m, amounts as integers in planck)", err)
	}
	if err := cfg.validate(lines); err != nil {
		return nil, err
	}
	cfg.written = make(map[string]bool, len(lines))
	for path := range lines {
		cfg.written[path] = true
	}
	return &cfg, nil
}

// walk checks the node against the Go type: every mapping key must be a
// field, and records each path's line for the validation messages.
func walk(n *yaml.Node, t reflect.Type, path string, lines map[string]int) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	lines[path] = n.Line
	switch t.Kind() {
	case reflect.Struct:
		if t == reflect.TypeOf(time.Time{}) || n.Kind != yaml.MappingNode {
			return nil // yaml's own decode reports the type mismatch
		}
		fields := map[string]reflect.StructField{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			fields[name] = f
			names = append(names, name)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				where := "at the top level"
				if path != "" {
					where = "in " + path
				}
				return fmt.Errorf("line %d: unknown key %q %s (known: %s)", k.Line, k.Value, where, strings.Join(names, ", "))
			}
			if err := walk(v, f.Type, join(path, k.Value), lines); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, item := range n.Content {
			if err := walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), lines); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			lines[join(path, k.Value)] = k.Line
			if path == "score.weights" && !slices.Contains(ComponentNames, k.Value) {
				hint := ""
				if k.Value == "nominations" {
					hint = "; 1KV's key nominations is nominatorStake here"
				}
				return fmt.Errorf("line %d: unknown score component %q in score.weights (known: %s%s)", k.Line, k.Value, strings.Join(ComponentNames, ", "), hint)
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// validate checks what the types cannot: uniqueness, known names, ranges.
func (c *Config) validate(lines map[string]int) error {
	at := func(path string) string {
		if l, ok := lines[path]; ok && l > 0 {
			return fmt.Sprintf("line %d: ", l)
		}
		return ""
	}
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", at(path), path, fmt.Sprintf(format, args...)))
	}
	names := map[string]int{}
	stashes := map[string]int{}
	for i, e := range c.Candidates {
		p := fmt.Sprintf("candidates[%d]", i)
		name, stash := strings.TrimSpace(e.Name), strings.TrimSpace(e.Stash)
		if name == "" {
			add(p, "the candidate has no name; give each candidate the name its node reports to telemetry")
		} else if j, dup := names[strings.ToLower(name)]; dup {
			add(p, "name %q is also candidate %d's (%sthe first); names must be unique (compared case-insensitively)", name, j, at(fmt.Sprintf("candidates[%d]", j)))
		} else {
			names[strings.ToLower(name)] = i
		}
		if stash == "" {
			add(p, "candidate %q has no stash; add its stash address", name)
		} else if key, err := accountKey(stash); err != nil {
			add(join(p, "stash"), "candidate %q: stash %q is not an SS58 account address: %v; copy the stash address from a wallet or polkadot.js", name, clipName(stash), err)
		} else if j, dup := stashes[key]; dup {
			add(p, "stash %s is also candidate %d's (%sthe first; the same account, maybe under another network prefix); each stash may be listed once", stash, j, at(fmt.Sprintf("candidates[%d]", j)))
		} else {
			stashes[key] = i
		}
		if ks := strings.TrimSpace(e.KusamaStash); ks != "" {
			if _, err := accountKey(ks); err != nil {
				add(join(p, "kusama_stash"), "candidate %q: kusama_stash %q is not an SS58 account address: %v; give the stash of its Kusama node, or drop the key", name, clipName(ks), err)
			}
		}
		for k, s := range e.Skip {
			if !slices.Contains(RuleTypes, s) {
				add(fmt.Sprintf("%s.skip[%d]", p, k), "unknown rule type %q (known: %s)", s, strings.Join(RuleTypes, ", "))
			}
		}
	}
	r := c.Rules
	for k, s := range r.Skip {
		if !slices.Contains(RuleTypes, s) {
			add(fmt.Sprintf("rules.skip[%d]", k), "unknown rule type %q (known: %s)", s, strings.Join(RuleTypes, ", "))
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"online_max_offline", r.OnlineMaxOffline}, {"client_grace", r.ClientGrace}, {"connection_time", r.ConnectionTime}} {
		if d.v < 0 {
			add("rules."+d.key, "%v is negative; use a duration like 48h", d.v)
		}
	}
	if r.OfflineWeekMax < 0 || r.OfflineWeekMax > 1 || math.IsNaN(r.OfflineWeekMax) {
		add("rules.offline_week_max", "%v is not a share of a week; use a fraction between 0 and 1 (0.02 = 2 %%)", r.OfflineWeekMax)
	}
	if r.Commission < 0 || r.Commission > 1 || math.IsNaN(r.Commission) {
		add("rules.commission", "%v is not a fraction; use 0.05 for 5 %%", r.Commission)
	}
	if r.MinSelfStake != "" {
		if _, err := ParsePlanck(r.MinSelfStake); err != nil {
			add("rules.min_self_stake", "%v", err)
		}
	}
	if r.KusamaMinRank < 0 {
		add("rules.kusama_min_rank", "%d is negative", r.KusamaMinRank)
	}
	// Zeros written where they cannot mean anything are refused (an absent
	// key takes its default; see RulesConfig).
	_, maxWritten := lines["rules.max_per_identity"]
	if r.MaxPerIdentity < 0 || (maxWritten && r.MaxPerIdentity == 0) {
		add("rules.max_per_identity", "%d would make every candidate with an identity invalid; use at least 1 (default 2), or skip MULTIPLE_IDENTITIES to allow any number", r.MaxPerIdentity)
	}
	for _, k := range []struct{ key, v, what string }{
		{"min_self_stake", r.MinSelfStake, `a planck amount such as "50000000000000" ("0": no minimum)`},
		{"kusama_chain", r.KusamaChain, "the chain's name on the Kusama instance (default kusama)"},
	} {
		if _, ok := lines["rules."+k.key]; ok && strings.TrimSpace(k.v) == "" {
			add("rules."+k.key, "is empty; give %s, or drop the key for the default", k.what)
		}
	}
	if r.ClientForcedVersion != "" {
		if _, ok := parseRequired(r.ClientForcedVersion); !ok {
			add("rules.client_forced_version", "%q is not a version; write it like 1.17.1, polkadot-v1.17.1 or polkadot-stable2412-1", r.ClientForcedVersion)
		}
	}
	if r.ReleaseTagFormat != "" {
		re, err := regexp.Compile(r.ReleaseTagFormat)
		if err != nil {
			add("rules.release_tag_format", "not a regular expression: %v", err)
		} else if re.NumSubexp() != 1 {
			add("rules.release_tag_format", "has %d groups; it needs exactly one, the version, e.g. polkadot-v(\\d+\\.\\d+\\.\\d+)", re.NumSubexp())
		}
	}
	keys := make([]string, 0, len(c.Score.Weights))
	for k := range c.Score.Weights {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := c.Score.Weights[k]
		if !slices.Contains(ComponentNames, k) {
			add("score.weights."+k, "unknown score component (known: %s)", strings.Join(ComponentNames, ", "))
		} else if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			add("score.weights."+k, "%v is not a weight; use a number ≥ 0 (0 disables the component)", w)
		}
	}
	if p := c.Score.Randomness; p != nil && (*p < 0 || *p > 1 || math.IsNaN(*p)) {
		add("score.randomness", "%v is out of range; use a width between 0 and 1 (default 0.15)", *p)
	}
	_, targetsWritten := lines["nomination.max_targets"]
	if c.Nomination.MaxTargets < 0 || (targetsWritten && c.Nomination.MaxTargets == 0) {
		add("nomination.max_targets", "%d would nominate no target; use at least 1 (default 16 on Polkadot, 24 on Kusama; the chain's MaxNominations caps it)", c.Nomination.MaxTargets)
	}
	if _, ok := lines["nomination.era_period"]; ok && c.Nomination.EraPeriod == 0 {
		add("nomination.era_period", "0 eras between rounds is not a period; use at least 1 (1: every era, as on Polkadot; 4 on Kusama)")
	}
	accounts := map[string]int{}
	for i, n := range c.Nomination.Nominators {
		p := fmt.Sprintf("nomination.nominators[%d]", i)
		a := strings.TrimSpace(n.Account)
		if a == "" {
			add(p, "the nominator has no account; give its bonded (stash) account")
		} else if key, err := accountKey(a); err != nil {
			add(join(p, "account"), "nominator account %q is not an SS58 account address: %v; give its bonded (stash) account", clipName(a), err)
		} else if j, dup := accounts[key]; dup {
			add(p, "account %s is also nominator %d's; each nominator may be listed once", a, j)
		} else {
			accounts[key] = i
		}
		if n.ProxyDelay > 0 && !n.Proxy {
			add(p, "proxy_delay %d is set but proxy is not; set proxy: true for a time-delay proxy or drop proxy_delay", n.ProxyDelay)
		}
	}
	return errors.Join(errs...)
}

// ParsePlanck parses an amount in planck: a decimal integer, or an
// integral number in scientific notation (5e13) since YAML writers often
// produce that.
func ParsePlanck(s string) (*big.Int, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	if b, ok := new(big.Int).SetString(s, 10); ok {
		if b.Sign() < 0 {
			return nil, fmt.Errorf("%q is negative; amounts are ≥ 0 planck", s)
		}
		return b, nil
	}
	f, _, err := big.ParseFloat(s, 10, 256, big.ToNearestEven)
	if err == nil {
		if b, acc := f.Int(nil); acc == big.Exact && b.Sign() >= 0 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%q is not an amount in planck; write a whole number, e.g. \"50000000000000\" (5,000 DOT)", s)
}

// accountKey is the account key of an SS58 address (checksum verified),
// as the text key that compares one account across network prefixes.
func accountKey(addr string) (string, error) {
	k, _, err := ss58.Decode(addr)
	if err != nil {
		return "", err
	}
	return string(k[:]), nil
}

// clipName bounds a value quoted back in an error.
func clipName(s string) string {
	if len(s) <= 80 {
		return s
	}
	return strings.ToValidUTF8(s[:80], "") + "…"
}

// KusamaPrefix is Kusama's SS58 network prefix (kusama_stash addresses).
const KusamaPrefix = 2

// WithPrefix is c with every account re-encoded for the chain: stashes
// and nominator accounts with the chain's prefix, Kusama stashes with
// Kusama's. The chain's records name accounts in its own prefix, so a
// stash written with another one (the generic 42, say, in a Polkadot
// file) would otherwise match nothing. A value that does not decode is
// left as it is (Parse refuses those; a config built in code may use
// other names).
func (c Config) WithPrefix(prefix uint16) Config {
	re := func(addr string, p uint16) string {
		k, _, err := ss58.Decode(strings.TrimSpace(addr))
		if err != nil {
			return addr
		}
		return ss58.Encode(k, p)
	}
	c.Candidates = slices.Clone(c.Candidates)
	for i := range c.Candidates {
		e := &c.Candidates[i]
		e.Stash = re(e.Stash, prefix)
		if e.KusamaStash != "" {
			e.KusamaStash = re(e.KusamaStash, KusamaPrefix)
		}
	}
	c.Nomination.Nominators = slices.Clone(c.Nomination.Nominators)
	for i := range c.Nomination.Nominators {
		n := &c.Nomination.Nominators[i]
		n.Account = re(n.Account, prefix)
	}
	return c
}
