package sink

// Archive rows of the Cosmos domain. Columns follow ctop's vote table
// (network, height, round, vote type, block id, timestamp, validator address
// and index, signature), with the observer (endpoint, seen_at) and the bus
// message id after them. Only plain types, so DuckDB and ClickHouse read the
// files as they are; times are INT64 milliseconds annotated TIMESTAMP(MILLIS).
// Rows are partitioned by seen_at, the observer's clock: a vote's own
// timestamp is the validator's, which the chain does not bound.

// Table names, also the directories under <root>/parquet/cosmos/<chain>/.
const (
	TableVotes   = "votes"
	TableRounds  = "rounds"
	TableSteps   = "steps"
	TableBlocks  = "blocks"
	TableCommits = "commits"
)

// VoteRow is one prevote or precommit.
type VoteRow struct {
	Network          string `parquet:"network"`
	Height           int64  `parquet:"height"`
	Round            int32  `parquet:"round"`
	Type             string `parquet:"type"`     // prevote | precommit
	BlockID          string `parquet:"block_id"` // hash; "" for a nil vote
	Timestamp        int64  `parquet:"timestamp,timestamp(millisecond)"`
	ValidatorAddress string `parquet:"validator_address"`
	ValidatorIndex   int32  `parquet:"validator_index"`
	Signature        string `parquet:"signature"`
	Endpoint         string `parquet:"endpoint"`
	SeenAt           int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID            string `parquet:"msg_id"`
}

// RoundRow is a node entering a round, with its proposer.
type RoundRow struct {
	Network         string `parquet:"network"`
	Height          int64  `parquet:"height"`
	Round           int32  `parquet:"round"`
	ProposerAddress string `parquet:"proposer_address"`
	ProposerIndex   int32  `parquet:"proposer_index"`
	Endpoint        string `parquet:"endpoint"`
	SeenAt          int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID           string `parquet:"msg_id"`
}

// StepRow is a node moving to a step of a round.
type StepRow struct {
	Network  string `parquet:"network"`
	Height   int64  `parquet:"height"`
	Round    int32  `parquet:"round"`
	Step     string `parquet:"step"`
	Endpoint string `parquet:"endpoint"`
	SeenAt   int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID    string `parquet:"msg_id"`
}

// BlockRow is a committed block's header.
type BlockRow struct {
	Network         string `parquet:"network"`
	Height          int64  `parquet:"height"`
	Time            int64  `parquet:"time,timestamp(millisecond)"`
	Hash            string `parquet:"hash"`
	ProposerAddress string `parquet:"proposer_address"`
	NumTxs          int64  `parquet:"num_txs"`
	ValidatorsHash  string `parquet:"validators_hash"`
	VotesObserved   bool   `parquet:"votes_observed"`
	Source          string `parquet:"source"`
	Endpoint        string `parquet:"endpoint"`
	SeenAt          int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID           string `parquet:"msg_id"`
}

// CommitRow is a height's canonical commit; flags as in cosmos_commits
// (one character per validator index: 'A' absent, 'C' commit, 'N' nil).
type CommitRow struct {
	Network  string `parquet:"network"`
	Height   int64  `parquet:"height"`
	Round    int32  `parquet:"round"`
	BlockID  string `parquet:"block_id"`
	Flags    string `parquet:"flags"`
	Source   string `parquet:"source"`
	Endpoint string `parquet:"endpoint"`
	SeenAt   int64  `parquet:"seen_at,timestamp(millisecond)"`
	MsgID    string `parquet:"msg_id"`
}

// rowOverhead over-counts the fixed part of a row for the MaxBytes bound.
const rowOverhead = 96

func (r *VoteRow) approxSize() int64 {
	return rowOverhead + int64(len(r.Network)+len(r.Type)+len(r.BlockID)+len(r.ValidatorAddress)+len(r.Signature)+len(r.Endpoint)+len(r.MsgID))
}

func (r *RoundRow) approxSize() int64 {
	return rowOverhead + int64(len(r.Network)+len(r.ProposerAddress)+len(r.Endpoint)+len(r.MsgID))
}

func (r *StepRow) approxSize() int64 {
	return rowOverhead + int64(len(r.Network)+len(r.Step)+len(r.Endpoint)+len(r.MsgID))
}

func (r *BlockRow) approxSize() int64 {
	return rowOverhead + int64(len(r.Network)+len(r.Hash)+len(r.ProposerAddress)+len(r.ValidatorsHash)+len(r.Source)+len(r.Endpoint)+len(r.MsgID))
}

func (r *CommitRow) approxSize() int64 {
	return rowOverhead + int64(len(r.Network)+len(r.BlockID)+len(r.Flags)+len(r.Source)+len(r.Endpoint)+len(r.MsgID))
}
