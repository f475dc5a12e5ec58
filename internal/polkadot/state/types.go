package state

import (
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// CandidateState is a candidate's row: the file's entry and the latest
// evaluation the runner persisted.
type CandidateState struct {
	Chain          string           `json:"chain"`
	Entry          program.Entry    `json:"entry"`
	Validity       program.Validity `json:"validity"`
	TelemetryMatch program.Match    `json:"telemetry_match"`
	Rank           int              `json:"rank"`
	Faults         int              `json:"faults"`
	Inclusion      float64          `json:"inclusion"`
	SpanInclusion  float64          `json:"span_inclusion"`
	NominatedAt    uint32           `json:"nominated_at"`
	Updated        int64            `json:"updated"`
}

// Candidate is a candidate joined with what the tables know of it: the
// chain's merged record of the stash, the matched telemetry node and its
// latest score (each nil when absent).
type Candidate struct {
	CandidateState
	Validator *events.Validator
	Telemetry *events.Telemetry
	Score     *ScoreRecord
}

// ScoreRecord is one stash's score in one snapshot.
type ScoreRecord struct {
	SnapshotID int64  `json:"snapshot_id"`
	Era        uint32 `json:"era"`
	Session    uint32 `json:"session"`
	At         int64  `json:"at"`
	program.Score
}

// SnapshotMeta is a snapshot without its scores.
type SnapshotMeta struct {
	ID      int64                    `json:"id"`
	Chain   string                   `json:"chain"`
	Era     uint32                   `json:"era"`
	Session uint32                   `json:"session"`
	At      int64                    `json:"at"`
	Seed    int64                    `json:"seed"`
	Weights map[string]float64       `json:"weights"`
	Stats   map[string]program.Stats `json:"stats"`
}

// Explanation is a score with the statistics its components were scaled
// with (the snapshot's Stats restricted to the components' keys).
type Explanation struct {
	Score    ScoreRecord              `json:"score"`
	Snapshot SnapshotMeta             `json:"snapshot"`
	Stats    map[string]program.Stats `json:"stats"`
}

// EraRecord is one era as stored.
type EraRecord struct {
	Era        uint32   `json:"era"`
	Validators []string `json:"validators"`
	Total      uint32   `json:"total"`
	Complete   bool     `json:"complete"`
	Block      uint64   `json:"block"`
}

// EraPoint is a stash's points in one era (0: not in the set, or no
// points).
type EraPoint struct {
	Era    uint32 `json:"era"`
	Points uint32 `json:"eraPoints"`
	Active bool   `json:"active"` // in the era's validator set
}

// RankPeriod is one row of the rank log.
type RankPeriod struct {
	Stash  string   `json:"stash"`
	Period uint32   `json:"period"` // the first era of the period
	Eras   []uint32 `json:"eras"`
	Active bool     `json:"active"`
	Rank   int      `json:"rank"`
	At     int64    `json:"at"`
}

// Round is one nomination round.
type Round struct {
	Chain       string               `json:"chain"`
	ID          int64                `json:"id"`
	Era         uint32               `json:"era"`
	Started     int64                `json:"started"`
	DryRun      bool                 `json:"dry_run"`
	Assignments []program.Assignment `json:"assignments"`
	Status      string               `json:"status"`
	// Outcome says how each target fared, by nominator then target (the
	// runner's words: "nominated", "announced", "cancelled: commission").
	Outcome map[string]map[string]string `json:"outcome"`
	// Attempts are the failed sends of each nominator in this round: the
	// runner retries a failed send with back-off up to a bound, then gives
	// up on it (a failed extrinsic still pays its fee).
	Attempts map[string]SendAttempts `json:"attempts"`
	// Reason is why the round failed, or why a started round's sends
	// stopped (the send lease lost); "" otherwise.
	Reason  string `json:"reason,omitempty"`
	Updated int64  `json:"updated"`
}

// SendAttempts are one nominator's failed sends in a round.
type SendAttempts struct {
	Count int    `json:"count"`
	Last  int64  `json:"last"`  // unix ms of the last failure
	Error string `json:"error"` // the last failure, as the chain or node gave it
	// GaveUp: no more sends for this nominator in this round.
	GaveUp bool `json:"gave_up,omitempty"`
	// Cancelled is why this nominator's send was cancelled in this round
	// without being sent (a target invalid on fresh reads just before it);
	// nothing more is sent for it in the round, and it is no attempt.
	Cancelled string `json:"cancelled,omitempty"`
}

// Nomination is one nominate call sent (or, dry run, not sent).
type Nomination struct {
	Chain     string   `json:"chain"`
	ID        string   `json:"id"`
	RoundID   int64    `json:"round_id"`
	Nominator string   `json:"nominator"`
	Era       uint32   `json:"era"`
	Targets   []string `json:"targets"`
	At        int64    `json:"at"`
	BlockHash string   `json:"block_hash"`
	TxHash    string   `json:"tx_hash"`
	DryRun    bool     `json:"dry_run"`
}

// ProxyTx is a time-delay proxy announcement of a nominate call.
type ProxyTx struct {
	Chain          string   `json:"chain"`
	ID             string   `json:"id"`
	RoundID        int64    `json:"round_id"`
	Nominator      string   `json:"nominator"` // the real (bonded) account
	Delegate       string   `json:"delegate"`
	CallHash       string   `json:"call_hash"`
	Targets        []string `json:"targets"`
	AnnouncedBlock uint64   `json:"announced_block"`
	ExecuteAfter   uint64   `json:"execute_after"`
	State          string   `json:"state"`
	Reason         string   `json:"reason,omitempty"`
	TxHashes       []string `json:"tx_hashes"`
	Created        int64    `json:"created"`
	Updated        int64    `json:"updated"`
	// Attempts are the failed executions (or cancellations) of the
	// announcement: bounded, with a back-off, like a round's sends.
	Attempts SendAttempts `json:"attempts"`
}

// Meta is the program's position on a chain.
type Meta struct {
	Chain            string           `json:"chain"`
	LastNominatedEra uint32           `json:"last_nominated_era"`
	LastRoundID      int64            `json:"last_round_id"`
	Release          *program.Release `json:"release,omitempty"`
	// NextNominationEra is the era the next round is due in; NextNomination
	// the estimated unix ms that era starts (0 unknown, or due now).
	NextNominationEra uint32 `json:"next_nomination_era"`
	NextNomination    int64  `json:"next_nomination"`
	// RoundWait is why the due round is not started ("" none waits): an
	// input it is sized on is unknown.
	RoundWait string `json:"round_wait,omitempty"`
	Updated   int64  `json:"updated"`
}

// Short names of the payload types the joins decode.
type (
	eventsValidator = events.Validator
	eventsTelemetry = events.Telemetry
)
