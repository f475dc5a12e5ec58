package httpapi

import (
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/state"
)

// Cells of /grid and of /consensus' recent: one character per validator and
// analysed height.
const (
	cellSigned          = 'S'
	cellProposed        = 'P' // the height's proposer, signed
	cellMissedPrevote   = 'v'
	cellMissedPrecommit = 'c'
	cellMissedSignature = 'M' // absent from the commit
	cellUnknown         = '?'
	cellNotInSet        = ' ' // /grid only; recent says '?'
	cellSkipped         = 'x' // /grid only (recent says '?'): the analyzer skipped the height, nobody signed or missed
)

// Vote, commit and miss codes of the schema (internal/cosmos/state).
const (
	voteUnknown = -1
	voteAbsent  = 0
	voteBlock   = 1
	voteNil     = 2

	typePrevote   = 1
	typePrecommit = 2

	flagAbsent = 1
	flagCommit = 2
	flagNil    = 3
)

// voteName names a vote code: block, nil, absent or unknown.
func voteName(code int) string {
	switch code {
	case voteAbsent:
		return "absent"
	case voteBlock:
		return "block"
	case voteNil:
		return "nil"
	default:
		return "unknown"
	}
}

// flagName names a commit flag: commit, nil, absent or unknown.
func flagName(code int) string {
	switch code {
	case flagAbsent:
		return "absent"
	case flagCommit:
		return "commit"
	case flagNil:
		return "nil"
	default:
		return "unknown"
	}
}

// commitChar names a character of cosmos_commits.flags.
func commitChar(c byte) string {
	switch c {
	case 'A':
		return "absent"
	case 'C':
		return "commit"
	case 'N':
		return "nil"
	default:
		return "unknown"
	}
}

// cell is a validator's character at an analysed height: m is its
// cosmos_misses row (nil: none, so it signed everything), proposer whether it
// proposed the committed block. The worst miss wins.
func cell(m *miss, proposer bool) byte {
	if m != nil {
		switch {
		case m.MissedSignature:
			return cellMissedSignature
		case m.MissedPrecommit:
			return cellMissedPrecommit
		case m.MissedPrevote:
			return cellMissedPrevote
		case m.CommitFlag != flagCommit && m.CommitFlag != flagNil:
			return cellUnknown // the row cannot say it signed
		}
	}
	if proposer {
		return cellProposed
	}
	return cellSigned
}

// msTime turns unix milliseconds into a time; nil for 0 (unknown).
func msTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// share is part/total, 0 without a total.
func share(part, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return float64(part) / float64(total)
}

// validatorRef names a validator.
type validatorRef struct {
	Address string `json:"address"`
	Moniker string `json:"moniker"`
}

// chainView is one entry of /chains.
type chainView struct {
	Chain            string     `json:"chain"`
	Configured       bool       `json:"configured"`
	LatestHeight     int64      `json:"latest_height"`
	LatestTime       *time.Time `json:"latest_time"`
	AnalyzedHeight   int64      `json:"analyzed_height"`
	Validators       int        `json:"validators"`
	TotalPower       int64      `json:"total_power"`
	EndpointsHealthy int        `json:"endpoints_healthy"`
	EndpointsTotal   int        `json:"endpoints_total"`
	// EndpointsHealthyAt: the latest healthy status of any endpoint (nil:
	// none was ever healthy).
	EndpointsHealthyAt *time.Time `json:"endpoints_healthy_at"`
	// What the analyzer passed without analysing: runs of
	// cosmos_skipped_heights, their heights, and the newest run (nil none).
	SkippedRuns    int64       `json:"skipped_runs"`
	SkippedHeights int64       `json:"skipped_heights"`
	LastSkipped    *skippedRun `json:"last_skipped"`
}

// validatorView is one validator of /validators (and the head of
// /validators/{address}). The analyzer's figures are zero, and HasStats
// false, until it has analysed a height with the validator in the set.
type validatorView struct {
	Address     string  `json:"address"`
	Moniker     string  `json:"moniker"`
	Index       int     `json:"index"` // -1: not in the set
	VotingPower int64   `json:"voting_power"`
	PowerShare  float64 `json:"power_share"`
	InSet       bool    `json:"in_set"`
	Jailed      bool    `json:"jailed"`

	HasStats           bool     `json:"has_stats"`
	Signed             int64    `json:"signed"`
	Missed             int64    `json:"missed"`
	MissedPrevote      int64    `json:"missed_prevote"`
	MissedPrecommit    int64    `json:"missed_precommit"`
	ConsecutiveMissed  int64    `json:"consecutive_missed"`
	WindowSize         int64    `json:"window_size"`
	WindowMissed       int64    `json:"window_missed"`
	SignedBlocksWindow *int64   `json:"signed_blocks_window"`  // null: slashing parameters unknown
	MinSignedPerWindow *float64 `json:"min_signed_per_window"` // null: slashing parameters unknown
	ParamsSource       *string  `json:"params_source"`         // config | lcd | grpc | abci; null unknown
	BlocksToJail       *int64   `json:"blocks_to_jail"`        // set only when Jail is "projected"
	TimeToJailSeconds  *float64 `json:"time_to_jail_seconds"`  // set only when Jail is "projected" and enough block intervals were seen
	Jail               string   `json:"jail"`                  // jail* below
	Proposed           int64    `json:"proposed"`
	MissedProposals    int64    `json:"missed_proposals"`
	SoloMissed         int64    `json:"solo_missed"`
	Uptime             *float64 `json:"uptime"` // signed / (signed + missed); null before any
	LastHeight         int64    `json:"last_height"`
}

// Values of validatorView.Jail: what blocks_to_jail and
// time_to_jail_seconds say.
const (
	jailProjected = "projected"  // the figures are set
	jailNever     = "never"      // min_signed_per_window lets the whole window be missed (e.g. 0)
	jailUnknown   = "unknown"    // the chain's slashing parameters are unknown (--cosmos-slashing sets them)
	jailNotInSet  = "not_in_set" // out of the set
	jailNoStats   = "no_stats"   // nothing analysed for it yet
)

func newValidatorView(addr, moniker string, index int, power, total int64, inSet, jailed bool, st *stats, p state.Params) validatorView {
	v := validatorView{Address: addr, Moniker: moniker, Index: index, VotingPower: power, InSet: inSet, Jailed: jailed, Jail: jailNoStats}
	if inSet {
		v.PowerShare = share(power, total)
	} else {
		v.Index = -1
	}
	if p.Known() {
		v.SignedBlocksWindow, v.MinSignedPerWindow, v.ParamsSource = &p.SignedBlocksWindow, &p.MinSignedPerWindow, &p.Source
	}
	if !inSet {
		v.Jail = jailNotInSet
	}
	if st == nil {
		return v
	}
	v.HasStats = true
	v.Signed, v.Missed, v.MissedPrevote, v.MissedPrecommit = st.Signed, st.Missed, st.MissedPrevote, st.MissedPrecommit
	v.ConsecutiveMissed, v.WindowSize, v.WindowMissed = st.ConsecutiveMissed, st.WindowSize, st.WindowMissed
	v.Proposed, v.MissedProposals, v.SoloMissed, v.LastHeight = st.Proposed, st.MissedProposals, st.SoloMissed, st.LastHeight
	switch {
	case !inSet || st.BlocksToJail == state.JailNotInSet:
		v.Jail = jailNotInSet
	case st.BlocksToJail == state.JailNever:
		v.Jail = jailNever
	case st.BlocksToJail == state.JailUnknown:
		v.Jail = jailUnknown
	case st.BlocksToJail >= 0:
		b := st.BlocksToJail
		v.BlocksToJail, v.Jail = &b, jailProjected
		if st.TimeToJailMs >= 0 { // else too few block intervals yet: time unknown (null)
			s := float64(st.TimeToJailMs) / 1000
			v.TimeToJailSeconds = &s
		}
	}
	if n := st.Signed + st.Missed; n > 0 {
		u := float64(st.Signed) / float64(n)
		v.Uptime = &u
	}
	return v
}

type validatorsResponse struct {
	Chain      string          `json:"chain"`
	Height     int64           `json:"height"`     // the latest block (0: none yet)
	SetHeight  int64           `json:"set_height"` // where the set in effect was stored
	TotalPower int64           `json:"total_power"`
	InSet      int             `json:"in_set"`
	Validators []validatorView `json:"validators"`
}

// missView is one miss of /missed and of a validator's recent misses.
type missView struct {
	Height          int64      `json:"height"`
	Time            *time.Time `json:"time"`
	Validator       string     `json:"validator"`
	Moniker         string     `json:"moniker"`
	Index           int        `json:"index"`
	VotingPower     int64      `json:"voting_power"`
	Prevote         string     `json:"prevote"`
	Precommit       string     `json:"precommit"`
	Commit          string     `json:"commit"`
	MissedPrevote   bool       `json:"missed_prevote"`
	MissedPrecommit bool       `json:"missed_precommit"`
	MissedSignature bool       `json:"missed_signature"`
	MissedProposals int        `json:"missed_proposals"`
	Cause           string     `json:"cause"`
	Solo            bool       `json:"solo"`
	Incident        bool       `json:"incident"`
}

func newMissView(m *miss) missView {
	return missView{
		Height: m.Height, Time: msTime(m.Time), Validator: m.Address, Moniker: m.Moniker, Index: m.Index, VotingPower: m.Power,
		Prevote: voteName(m.Prevote), Precommit: voteName(m.Precommit), Commit: flagName(m.CommitFlag),
		MissedPrevote: m.MissedPrevote, MissedPrecommit: m.MissedPrecommit, MissedSignature: m.MissedSignature,
		MissedProposals: m.MissedProposals, Cause: m.Cause, Solo: m.Solo, Incident: m.Incident,
	}
}

func missViews(ms []miss) []missView {
	out := make([]missView, 0, len(ms))
	for i := range ms {
		out = append(out, newMissView(&ms[i]))
	}
	return out
}

type changeView struct {
	Height   int64  `json:"height"`
	Change   string `json:"change"` // added | removed | power
	OldPower int64  `json:"old_power"`
	NewPower int64  `json:"new_power"`
}

type validatorDetail struct {
	validatorView
	Status          string       `json:"status"` // "in the set" | "not in the set"
	OperatorAddress string       `json:"operator_address"`
	PubKeyType      string       `json:"pub_key_type"`
	PubKey          string       `json:"pub_key"`
	FirstHeight     int64        `json:"first_height"`
	Chain           string       `json:"chain"`
	Height          int64        `json:"height"`
	RecentMisses    []missView   `json:"recent_misses"` // newest first, at most 50
	Changes         []changeView `json:"changes"`       // newest first
}

type missedResponse struct {
	Chain     string     `json:"chain"`
	Validator string     `json:"validator,omitempty"`
	Addresses []string   `json:"addresses,omitempty"` // what validator matched
	From      int64      `json:"from"`
	To        int64      `json:"to"`
	Limit     int        `json:"limit"`
	Truncated bool       `json:"truncated"` // more misses than limit in the range
	Misses    []missView `json:"misses"`
}

type alertsResponse struct {
	Chain  string `json:"chain"`
	All    bool   `json:"all"`
	Alerts any    `json:"alerts"`
}

// voteView is one vote of /heights/{height}.
type voteView struct {
	Address   string     `json:"address"`
	Moniker   string     `json:"moniker"`
	Index     int        `json:"index"`
	BlockHash *string    `json:"block_hash"` // null: a nil vote
	Timestamp *time.Time `json:"timestamp"`
	Endpoint  string     `json:"endpoint"` // the first endpoint it was seen from
	SeenAt    *time.Time `json:"seen_at"`
}

type roundView struct {
	Round      int           `json:"round"`
	Proposer   *validatorRef `json:"proposer"` // null: the round's proposer was not observed
	Prevotes   []voteView    `json:"prevotes"`
	Precommits []voteView    `json:"precommits"`
}

// memberAtHeight is one validator of the height's set in /heights/{height}.
type memberAtHeight struct {
	Address         string `json:"address"`
	Moniker         string `json:"moniker"`
	Index           int    `json:"index"`
	VotingPower     int64  `json:"voting_power"`
	Prevote         string `json:"prevote"`   // block | nil | absent | unknown, in the commit round
	Precommit       string `json:"precommit"` // block | nil | absent | unknown, in the commit round
	Commit          string `json:"commit"`    // commit | nil | absent | unknown
	MissedPrevote   bool   `json:"missed_prevote"`
	MissedPrecommit bool   `json:"missed_precommit"`
	MissedSignature bool   `json:"missed_signature"`
	MissedProposals int    `json:"missed_proposals"`
	Cause           string `json:"cause"`
	Solo            bool   `json:"solo"`
	Incident        bool   `json:"incident"`
}

type heightView struct {
	Chain          string           `json:"chain"`
	Height         int64            `json:"height"`
	Time           *time.Time       `json:"time"`
	Analyzed       bool             `json:"analyzed"`
	Skipped        *string          `json:"skipped"`  // why the analyzer passed it unanalysed (pruned, …); null if it did not
	Observed       bool             `json:"observed"` // the height's votes were watched
	Incident       string           `json:"incident"`
	Proposer       *validatorRef    `json:"proposer"`
	CommitRound    *int             `json:"commit_round"`
	BlockHash      string           `json:"block_hash"`
	NumTxs         int64            `json:"num_txs"`
	SetHeight      int64            `json:"set_height"`
	TotalPower     int64            `json:"total_power"`
	SignedPower    int64            `json:"signed_power"`
	MissedCount    int              `json:"missed"`
	Rounds         []roundView      `json:"rounds"`
	VotesTruncated bool             `json:"votes_truncated"`
	Validators     []memberAtHeight `json:"validators"`
}

// consensusValidator is one validator of /consensus; the names are what
// `valtrack top` reads.
type consensusValidator struct {
	Address      string `json:"address"`
	Moniker      string `json:"moniker"`
	Index        int    `json:"index"`
	VotingPower  int64  `json:"voting_power"`
	Prevote      string `json:"prevote"`   // block | nil | none
	Precommit    string `json:"precommit"` // block | nil | none
	RecentMissed int    `json:"recent_missed"`
	Recent       string `json:"recent"`
}

type consensusView struct {
	Chain               string        `json:"chain"`
	Height              int64         `json:"height"`
	Round               int           `json:"round"`
	Step                string        `json:"step"`
	StepAt              *time.Time    `json:"step_at"`
	Proposer            *validatorRef `json:"proposer"`
	TotalPower          int64         `json:"total_power"`
	PrevoteShare        float64       `json:"prevote_share"`
	PrecommitShare      float64       `json:"precommit_share"`
	PrevoteBlockShare   float64       `json:"prevote_block_share"`
	PrecommitBlockShare float64       `json:"precommit_block_share"`
	// The chain's RPC endpoints as in /chains: with none healthy, the
	// votes are the last seen before they went down.
	EndpointsHealthy   int                  `json:"endpoints_healthy"`
	EndpointsTotal     int                  `json:"endpoints_total"`
	EndpointsHealthyAt *time.Time           `json:"endpoints_healthy_at"`
	Validators         []consensusValidator `json:"validators"`
}

// gridRow is one validator of /grid.
type gridRow struct {
	Address     string            `json:"address"`
	Moniker     string            `json:"moniker"`
	Index       int               `json:"index"` // in the newest height's set; -1: not in it
	VotingPower int64             `json:"voting_power"`
	InSet       bool              `json:"in_set"`
	Cells       string            `json:"cells"`
	Causes      map[string]string `json:"causes,omitempty"` // height → cause, where a miss has one
}

type gridView struct {
	Chain      string            `json:"chain"`
	Heights    []int64           `json:"heights"` // oldest first
	Incidents  map[string]string `json:"incidents,omitempty"`
	Skipped    map[string]string `json:"skipped,omitempty"` // height → why the analyzer skipped it (its cells are 'x')
	Validators []gridRow         `json:"validators"`
}

// recentOf turns a grid row into /consensus' recent (width recentHeights,
// '?' where the validator was not in the set or the height was not
// analysed) and
// counts its missed signatures.
func recentOf(cells string) (string, int) {
	cells = strings.NewReplacer(string(rune(cellNotInSet)), string(rune(cellUnknown)), string(rune(cellSkipped)), string(rune(cellUnknown))).Replace(cells)
	if n := len(cells); n < recentHeights {
		cells = strings.Repeat(string(rune(cellUnknown)), recentHeights-n) + cells
	} else {
		cells = cells[n-recentHeights:]
	}
	return cells, strings.Count(cells, string(rune(cellMissedSignature)))
}
