// Package program is the delegation program's logic, pure and without
// I/O: the candidates file, the validity rules, the score formula, ranks,
// faults and the nominations of a round. The runner (internal/polkadot)
// feeds it what the store holds and persists what it returns.
package program

import (
	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// Status is a check's or a candidate's validity.
type Status string

// The statuses. Unknown: the check could not be evaluated (an RPC error,
// missing data); it never makes a candidate invalid.
const (
	Valid   Status = "valid"
	Invalid Status = "invalid"
	Unknown Status = "unknown"
)

// The rule types, as 1KV names them in its invalidity entries (its
// spelling of COMMISION kept: clients of the 1KV gateway match on it).
const (
	RuleOnline            = "ONLINE"
	RuleValidateIntention = "VALIDATE_INTENTION"
	RuleClientUpgrade     = "CLIENT_UPGRADE"
	RuleConnectionTime    = "CONNECTION_TIME"
	RuleIdentity          = "IDENTITY"
	RuleOffline           = "ACCUMULATED_OFFLINE_TIME"
	RuleCommission        = "COMMISION"
	RuleSelfStake         = "SELF_STAKE"
	RuleUnclaimed         = "UNCLAIMED_REWARDS"
	RuleBlocked           = "BLOCKED"
	RuleKusamaRank        = "KUSAMA_RANK"
	RuleProvider          = "PROVIDER"
	RuleSanctioned        = "SANCTIONED_GEO_AREA"
	RuleBeefy             = "BEEFY"
	RuleMultipleIdentity  = "MULTIPLE_IDENTITIES"
)

// Check is one rule's verdict on one candidate, 1KV's invalidity entry
// {valid, type, details, updated} plus what 1KV lacks.
type Check struct {
	Type string `json:"type"`
	// Valid is the effective verdict: for an unknown check, the last known
	// one (true when none is known: unknown never invalidates).
	Valid bool `json:"valid"`
	// Status is this evaluation's own: valid, invalid or unknown.
	Status Status `json:"status"`
	// Details is the reason, built from this candidate's own record
	// ("" when valid); for an unknown check the last known reason.
	Details string `json:"details"`
	// Error is why the check could not be evaluated (Status unknown).
	Error string `json:"error,omitempty"`
	// Known: a verdict (valid or invalid) was ever reached; LastKnown is
	// when (unix ms).
	Known     bool  `json:"known"`
	LastKnown int64 `json:"last_known,omitempty"`
	Updated   int64 `json:"updated"` // unix ms of this evaluation
}

// Validity is a candidate's verdict: Status invalid when any check's
// effective verdict is invalid, unknown when none is invalid but a check
// has never been known, else valid.
type Validity struct {
	Status  Status  `json:"status"`
	Checks  []Check `json:"checks"`
	Updated int64   `json:"updated"`
}

// Valid reports Status == Valid.
func (v Validity) Valid() bool { return v.Status == Valid }

// KusamaRank is what a Kusama instance of valtrack says of a candidate's
// Kusama stash (its row of GET /api/v1/polkadot/{kusama}/candidates).
type KusamaRank struct {
	Found bool `json:"found"`
	Rank  int  `json:"rank"`
	Valid bool `json:"valid"`
	// Unknown: the Kusama instance could not evaluate the stash (some of
	// its checks unknown, none invalid); Valid is false then, and means
	// nothing. Unknowns says which of its checks, with their errors.
	Unknown  bool     `json:"unknown,omitempty"`
	Unknowns []string `json:"unknowns,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
	Err      string   `json:"error,omitempty"` // the lookup failed
}

// Release is the latest client release the CLIENT_UPGRADE rule compares
// against.
type Release struct {
	Version   string `json:"version"`   // e.g. 1.17.1 (from a tag polkadot-stable2412-1 / polkadot-v1.17.1)
	Published int64  `json:"published"` // unix ms
	Err       string `json:"error,omitempty"`
}

// Candidate is a configured candidate joined with what is known of it.
type Candidate struct {
	Entry // from the candidates file
	// Chain is the sentry's latest record of the stash (facts merged with
	// the last known values); nil when none has arrived yet.
	Chain *events.Validator `json:"-"`
	// Telemetry is the matched telemetry node, nil when none matched;
	// TelemetryMatch says how (see MatchTelemetry).
	Telemetry      *events.Telemetry `json:"-"`
	TelemetryMatch Match             `json:"telemetry_match"`
	// Kusama is the Kusama instance's answer (Polkadot with a kusama_stash).
	Kusama *KusamaRank `json:"-"`
	// Rank is the number of era periods the candidate's identity (parent and
	// subs) was active, from the rank log.
	Rank int `json:"rank"`
	// Faults is the number of faults recorded for the stash.
	Faults int `json:"faults"`
	// Inclusion and SpanInclusion are the share of the last 84 / 28 eras with
	// era points; NominatedAt the last era with points (0 none).
	Inclusion     float64 `json:"inclusion"`
	SpanInclusion float64 `json:"span_inclusion"`
	NominatedAt   uint32  `json:"nominated_at"`
	// Prev are the checks of the last evaluation (to keep verdicts across
	// unknowns).
	Prev []Check `json:"-"`
}

// Match is how a candidate was matched to a telemetry node.
type Match struct {
	// Node is the telemetry name matched, "" when none.
	Node string `json:"node"`
	// How: "exact", "normalized" (case and whitespace), "validator_address"
	// or "" with Note saying why not (e.g. `no telemetry node named
	// "alice" (closest: "Alice-2")`).
	How  string `json:"how,omitempty"`
	Note string `json:"note,omitempty"`
}

// Component is one weighted part of a score, explained.
type Component struct {
	Name string `json:"name"`
	// Raw is the input value (e.g. inclusion 0.4, bonded in planck).
	Raw float64 `json:"raw"`
	// Scaled is Raw scaled to 0..1 (before the 1 − x of components where
	// less is better); Factor is what multiplies the weight.
	Scaled float64 `json:"scaled"`
	Factor float64 `json:"factor"`
	Weight float64 `json:"weight"`
	// Value is the contribution: Factor × Weight.
	Value float64 `json:"value"`
	// Stats names the statistics used (a key of Snapshot.Stats), "" when
	// the component is not scaled.
	Stats string `json:"stats,omitempty"`
	Note  string `json:"note,omitempty"` // e.g. "weight 0: disabled", "banned provider"
}

// Score is one candidate's score in a round.
type Score struct {
	Stash      string      `json:"address"`
	Name       string      `json:"name"`
	Aggregate  float64     `json:"aggregate"`
	Randomness float64     `json:"randomness"`
	Total      float64     `json:"total"`
	Components []Component `json:"components"`
}

// Stats are the statistics of one component's values over the valid set
// (1KV's score metadata).
type Stats struct {
	Values []float64 `json:"values"`
	Min    float64   `json:"absoluteMin"`
	Max    float64   `json:"absoluteMax"`
	Q10    float64   `json:"q10"`
	Q25    float64   `json:"q25"`
	Q50    float64   `json:"q50"`
	Q75    float64   `json:"q75"`
	Q90    float64   `json:"q90"`
	Mean   float64   `json:"mean"`
	Std    float64   `json:"standardDeviation"`
	// Lo and Hi are the quantiles the component scales between (0.10/0.90
	// unless it defines its own), LoValue and HiValue their values.
	Lo      float64 `json:"lo"`
	Hi      float64 `json:"hi"`
	LoValue float64 `json:"loValue"`
	HiValue float64 `json:"hiValue"`
	// Groups are, for the location components (location, region, country,
	// provider), each value and how many valid candidates share it, by
	// name: 1KV's {name, numberOfNodes}; Values are their counts.
	Groups []Group `json:"groups,omitempty"`
}

// Group is one location value and the valid candidates sharing it.
type Group struct {
	Name          string `json:"name"`
	NumberOfNodes int    `json:"numberOfNodes"`
}

// Snapshot is one scoring of the valid set: enough to explain every score.
type Snapshot struct {
	Chain   string             `json:"chain"`
	Era     uint32             `json:"era"`
	Session uint32             `json:"session"`
	At      int64              `json:"at"`
	Seed    int64              `json:"seed"` // the randomness seed used
	Weights map[string]float64 `json:"weights"`
	Stats   map[string]Stats   `json:"stats"`
	Scores  []Score            `json:"scores"` // by Total, highest first
}

// Assignment is one nominator's share of a round.
type Assignment struct {
	Nominator string   `json:"nominator"` // the bonded (real) account
	Targets   []string `json:"targets"`
	Count     int      `json:"count"` // targets its balance can back (1KV's rule)
	Note      string   `json:"note,omitempty"`
}
