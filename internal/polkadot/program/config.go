package program

import "time"

// Config is the program file (--polkadot-candidates, YAML): the
// candidates, the rules' settings, the score weights and the nominators.
// Every section but candidates is optional; an absent setting takes 1KV's
// default for the chain (Defaults). The file is re-read when it changes.
//
//	candidates:
//	  - name: Alice
//	    stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
//	    kusama_stash: HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F   # optional
//	    skip: [SELF_STAKE]                                             # rules not applied to this one
//	rules:
//	  commission: 0.05
//	  min_self_stake: "50000000000000"
//	  skip: [CONNECTION_TIME]
//	score:
//	  weights: {inclusion: 200, client: 0}   # 0 disables a component
//	nomination:
//	  nominators:
//	    - account: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty
//	      key: /run/secrets/proxy.seed
//	      proxy: true
//	      proxy_delay: 10
type Config struct {
	Candidates []Entry          `yaml:"candidates" json:"candidates"`
	Rules      RulesConfig      `yaml:"rules" json:"rules"`
	Score      ScoreConfig      `yaml:"score" json:"score"`
	Nomination NominationConfig `yaml:"nomination" json:"nomination"`

	// written are the keys the file wrote (dotted paths, as Parse read
	// them), so that an explicit 0 is told from an absent setting; nil for
	// a Config built in code, whose zero values are absent.
	written map[string]bool
}

// Written reports whether the file set key (a dotted path such as
// rules.client_grace), even to its zero value.
func (c *Config) Written(key string) bool { return c.written[key] }

// Entry is one candidate of the file.
type Entry struct {
	Name        string `yaml:"name" json:"name"`
	Stash       string `yaml:"stash" json:"stash"`
	KusamaStash string `yaml:"kusama_stash,omitempty" json:"kusamaStash,omitempty"`
	// Skip lists rule types (RuleSelfStake …) not applied to this candidate.
	Skip []string `yaml:"skip,omitempty" json:"skip,omitempty"`
}

// RulesConfig configures the validity rules; absent settings take
// Defaults. A setting written as 0 (or "") is honoured where it means
// something — client_grace 0: no grace; connection_time 0: no minimum;
// offline_week_max 0: no offline time; commission 0: only 0 %;
// unclaimed_era_threshold 0; kusama_min_rank 0: any rank; release_url "":
// no release is fetched — and refused where it cannot (max_per_identity,
// an empty min_self_stake or kusama_chain).
type RulesConfig struct {
	// Skip lists rule types not applied to any candidate.
	Skip []string `yaml:"skip" json:"skip"`
	// OnlineMaxOffline: a node offline longer than this is invalid (ONLINE);
	// default 0 — any offline node at the time of the check.
	OnlineMaxOffline time.Duration `yaml:"online_max_offline" json:"online_max_offline"`
	// ClientForcedVersion replaces the latest release when set; ClientGrace
	// (default 48h) is how long after a release the old one stays valid.
	// ReleaseURL (default GitHub's latest polkadot-sdk release) finds it;
	// its version is read from a polkadot-vX.Y.Z or polkadot-stableYYMM[-N]
	// tag (ReleaseVersion), or, when ReleaseTagFormat is set (a regexp with
	// one group), from that group, which may hold either form.
	// ClientForcedVersion may be written in either form too.
	ClientForcedVersion string        `yaml:"client_forced_version" json:"client_forced_version"`
	ClientGrace         time.Duration `yaml:"client_grace" json:"client_grace"`
	ReleaseURL          string        `yaml:"release_url" json:"release_url"`
	ReleaseTagFormat    string        `yaml:"release_tag_format" json:"release_tag_format"`
	// SkipClientImplementations are implementations the client rule skips
	// (1KV: "Kagome Node").
	SkipClientImplementations []string `yaml:"skip_client_implementations" json:"skip_client_implementations"`
	// ConnectionTime is the minimum time since telemetry first saw the node
	// (default one week).
	ConnectionTime time.Duration `yaml:"connection_time" json:"connection_time"`
	// OfflineWeekMax is the share of a week a node may be offline (0.02).
	OfflineWeekMax float64 `yaml:"offline_week_max" json:"offline_week_max"`
	// Commission is the highest commission allowed, a fraction (0.05 = 5 %).
	Commission float64 `yaml:"commission" json:"commission"`
	// MinSelfStake is the least self bond, planck (decimal string).
	MinSelfStake string `yaml:"min_self_stake" json:"min_self_stake"`
	// UnclaimedEraThreshold: unclaimed eras older than active − threshold − 1
	// are invalid.
	UnclaimedEraThreshold uint32 `yaml:"unclaimed_era_threshold" json:"unclaimed_era_threshold"`
	// KusamaAPI is a Kusama instance of valtrack (http://host:port) and
	// KusamaChain its chain name there; KusamaMinRank the least rank (100).
	KusamaAPI     string `yaml:"kusama_api" json:"kusama_api"`
	KusamaChain   string `yaml:"kusama_chain" json:"kusama_chain"`
	KusamaMinRank int    `yaml:"kusama_min_rank" json:"kusama_min_rank"`
	// BlacklistedProviders, SanctionedCountries, SanctionedRegions are
	// compared trimmed and case-insensitively.
	BlacklistedProviders []string `yaml:"blacklisted_providers" json:"blacklisted_providers"`
	SanctionedCountries  []string `yaml:"sanctioned_countries" json:"sanctioned_countries"`
	SanctionedRegions    []string `yaml:"sanctioned_regions" json:"sanctioned_regions"`
	// MaxPerIdentity is the most candidates one identity (parent and subs)
	// may have (default 2).
	MaxPerIdentity int `yaml:"max_per_identity" json:"max_per_identity"`
}

// ScoreConfig configures the score.
type ScoreConfig struct {
	// Weights by component name (ComponentNames); absent: the default, 0:
	// the component is disabled.
	Weights map[string]float64 `yaml:"weights" json:"weights"`
	// Seed of the randomness factor; 0: a new seed each round (recorded).
	Seed int64 `yaml:"seed" json:"seed"`
	// Randomness is the width of the random factor 1 + U[0, r) (0.15).
	Randomness *float64 `yaml:"randomness" json:"randomness"`
}

// NominationConfig configures rounds and nominators.
type NominationConfig struct {
	// EraPeriod is the eras between rounds (1 on Polkadot, 4 on Kusama).
	EraPeriod uint32 `yaml:"era_period" json:"era_period"`
	// MaxTargets caps a nominator's targets (16 Polkadot, 24 Kusama; the
	// chain's MaxNominations when lower).
	MaxTargets int `yaml:"max_targets" json:"max_targets"`
	// Nominators, each a separate slice of the ranked valid list.
	Nominators []NominatorConfig `yaml:"nominators" json:"nominators"`
}

// NominatorConfig is one nominator account.
type NominatorConfig struct {
	// Account is the bonded (stash) account that nominates.
	Account string `yaml:"account" json:"account"`
	// Key is a file holding the secret (a 0x seed, a mnemonic or a //Dev
	// URI) of the signing account: the proxy when Proxy is set, else
	// Account itself. Only needed to send (dry runs sign nothing).
	Key string `yaml:"key" json:"-"`
	// Proxy: the key is a staking proxy of Account; ProxyDelay is its
	// announcement delay in blocks (0: a plain proxy).
	Proxy      bool   `yaml:"proxy" json:"proxy"`
	ProxyDelay uint32 `yaml:"proxy_delay" json:"proxy_delay"`
}
