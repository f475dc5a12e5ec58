package rpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/safe"
)

// Status is what /status says about a node.
type Status struct {
	NodeID           string
	Network          string // the chain id
	Version          string // the CometBFT version
	Moniker          string
	LatestHeight     int64
	LatestTime       time.Time
	LatestHash       string
	EarliestHeight   int64
	CatchingUp       bool
	ValidatorAddress string // the node's own validator key's address
	ValidatorPubKey  PubKey
	VotingPower      int64 // > 0 when the node is a validator of the latest set
}

type wireStatus struct {
	NodeInfo struct {
		ID      Text `json:"id"`
		Network Text `json:"network"`
		Version Text `json:"version"`
		Moniker Text `json:"moniker"`
	} `json:"node_info"`
	SyncInfo struct {
		LatestBlockHash     Hex   `json:"latest_block_hash"`
		LatestBlockHeight   Int64 `json:"latest_block_height"`
		LatestBlockTime     Time  `json:"latest_block_time"`
		EarliestBlockHeight Int64 `json:"earliest_block_height"`
		CatchingUp          Bool  `json:"catching_up"`
	} `json:"sync_info"`
	ValidatorInfo struct {
		Address     Hex    `json:"address"`
		PubKey      PubKey `json:"pub_key"`
		VotingPower Int64  `json:"voting_power"`
	} `json:"validator_info"`
}

// DecodeStatus decodes the result of /status.
func DecodeStatus(result []byte) (*Status, error) {
	var w wireStatus
	if err := json.Unmarshal(result, &w); err != nil {
		return nil, fmt.Errorf("decode /status: %w", err)
	}
	s := &Status{
		NodeID:           string(w.NodeInfo.ID),
		Network:          string(w.NodeInfo.Network),
		Version:          string(w.NodeInfo.Version),
		Moniker:          string(w.NodeInfo.Moniker),
		LatestHeight:     int64(w.SyncInfo.LatestBlockHeight),
		LatestTime:       w.SyncInfo.LatestBlockTime.Time,
		LatestHash:       string(w.SyncInfo.LatestBlockHash),
		EarliestHeight:   int64(w.SyncInfo.EarliestBlockHeight),
		CatchingUp:       bool(w.SyncInfo.CatchingUp),
		ValidatorAddress: string(w.ValidatorInfo.Address),
		ValidatorPubKey:  w.ValidatorInfo.PubKey,
		VotingPower:      int64(w.ValidatorInfo.VotingPower),
	}
	if s.LatestHeight < 0 || s.EarliestHeight < 0 || s.VotingPower < 0 {
		return nil, fmt.Errorf("decode /status: negative height or voting power")
	}
	return s, nil
}

// ValidatorsPage is one page of /validators.
type ValidatorsPage struct {
	BlockHeight int64
	Validators  []events.Validator
	Count       int
	Total       int
}

type wireValidator struct {
	Address          Hex    `json:"address"`
	PubKey           PubKey `json:"pub_key"`
	VotingPower      Int64  `json:"voting_power"`
	ProposerPriority Int64  `json:"proposer_priority"`
}

// maxPerPage is what CometBFT clamps per_page to; a page longer than that
// is not from an honest node.
const maxPerPage = 100

// DecodeValidators decodes the result of /validators.
func DecodeValidators(result []byte) (*ValidatorsPage, error) {
	var w struct {
		BlockHeight Int64           `json:"block_height"`
		Validators  []wireValidator `json:"validators"`
		Count       Int64           `json:"count"`
		Total       Int64           `json:"total"`
	}
	if err := json.Unmarshal(result, &w); err != nil {
		return nil, fmt.Errorf("decode /validators: %w", err)
	}
	if err := checkHeight("/validators block", int64(w.BlockHeight)); err != nil {
		return nil, fmt.Errorf("decode /validators: %w", err)
	}
	if len(w.Validators) > maxPerPage {
		return nil, fmt.Errorf("decode /validators: %d validators on one page, at most %d", len(w.Validators), maxPerPage)
	}
	if w.Total < 0 || w.Total > events.MaxValidators || w.Count < 0 || int(w.Count) != len(w.Validators) {
		return nil, fmt.Errorf("decode /validators: count %d of total %d with %d validators on the page", w.Count, w.Total, len(w.Validators))
	}
	p := &ValidatorsPage{BlockHeight: int64(w.BlockHeight), Count: int(w.Count), Total: int(w.Total)}
	for i, v := range w.Validators {
		if v.Address == "" || v.VotingPower < 0 {
			return nil, fmt.Errorf("decode /validators: validator %d has no address or a negative voting power", i)
		}
		p.Validators = append(p.Validators, events.Validator{
			Address: string(v.Address), PubKeyType: v.PubKey.Type, PubKey: v.PubKey.Value,
			VotingPower: int64(v.VotingPower), ProposerPriority: int64(v.ProposerPriority),
		})
	}
	return p, nil
}

type wireBlockID struct {
	Hash Hex `json:"hash"`
}

type wireCommitSig struct {
	BlockIDFlag      Int32 `json:"block_id_flag"`
	ValidatorAddress Hex   `json:"validator_address"`
	Timestamp        Time  `json:"timestamp"`
}

type wireCommit struct {
	Height     Int64           `json:"height"`
	Round      Int32           `json:"round"`
	BlockID    wireBlockID     `json:"block_id"`
	Signatures []wireCommitSig `json:"signatures"`
}

type wireHeader struct {
	ChainID         Text  `json:"chain_id"`
	Height          Int64 `json:"height"`
	Time            Time  `json:"time"`
	ValidatorsHash  Hex   `json:"validators_hash"`
	ProposerAddress Hex   `json:"proposer_address"`
}

// convert makes an events.Commit of a commit (Chain, Source and Observer
// left for the caller).
func (c *wireCommit) convert() (*events.Commit, error) {
	if err := checkHeight("commit", int64(c.Height)); err != nil {
		return nil, err
	}
	if c.Round < 0 {
		return nil, fmt.Errorf("commit round %d is negative", c.Round)
	}
	if len(c.Signatures) > events.MaxValidators {
		return nil, fmt.Errorf("commit with %d signatures, at most %d", len(c.Signatures), events.MaxValidators)
	}
	out := &events.Commit{V: events.SchemaVersion, Height: int64(c.Height), Round: int32(c.Round),
		BlockHash: string(c.BlockID.Hash), Signatures: make([]events.Signature, len(c.Signatures))}
	for i, s := range c.Signatures {
		if s.BlockIDFlag < events.FlagAbsent || s.BlockIDFlag > events.FlagNil {
			return nil, fmt.Errorf("commit signature %d: block_id_flag %d is not 1 (absent), 2 (commit) or 3 (nil)", i, s.BlockIDFlag)
		}
		out.Signatures[i] = events.Signature{Flag: uint8(s.BlockIDFlag),
			ValidatorAddress: string(s.ValidatorAddress), Timestamp: s.Timestamp.UnixMS()}
	}
	return out, nil
}

// Commit is a height's header and commit, from /commit?height=H.
type Commit struct {
	ChainID   string
	Block     events.Block // Hash, Height, Time, ProposerAddress, ValidatorsHash; NumTxs unknown (0)
	Commit    events.Commit
	Canonical bool // false for the latest height: the node's seen commit, not the one in H+1
}

// DecodeCommit decodes the result of /commit.
func DecodeCommit(result []byte) (*Commit, error) {
	var w struct {
		SignedHeader struct {
			Header wireHeader  `json:"header"`
			Commit *wireCommit `json:"commit"`
		} `json:"signed_header"`
		Canonical Bool `json:"canonical"`
	}
	if err := json.Unmarshal(result, &w); err != nil {
		return nil, fmt.Errorf("decode /commit: %w", err)
	}
	h := &w.SignedHeader.Header
	if err := checkHeight("/commit header", int64(h.Height)); err != nil {
		return nil, fmt.Errorf("decode /commit: %w", err)
	}
	if w.SignedHeader.Commit == nil {
		return nil, fmt.Errorf("decode /commit: no commit in the signed header")
	}
	c, err := w.SignedHeader.Commit.convert()
	if err != nil {
		return nil, fmt.Errorf("decode /commit: %w", err)
	}
	if c.Height != int64(h.Height) {
		return nil, fmt.Errorf("decode /commit: header of height %d with a commit of height %d", h.Height, c.Height)
	}
	return &Commit{
		ChainID: string(h.ChainID),
		Block: events.Block{V: events.SchemaVersion, Height: int64(h.Height), Time: h.Time.UnixMS(),
			Hash: c.BlockHash, ProposerAddress: string(h.ProposerAddress), ValidatorsHash: string(h.ValidatorsHash)},
		Commit:    *c,
		Canonical: bool(w.Canonical),
	}, nil
}

// NewBlock is a block (a NewBlock event or /block): its header fields and,
// from its last_commit, the canonical commit of the height before (nil for
// height 1).
type NewBlock struct {
	ChainID    string
	Block      events.Block
	LastCommit *events.Commit
}

// maxTxs bounds a block's transaction count (CometBFT's max block size is
// 100 MB; a tx is at least a byte, but nothing real comes near this).
const maxTxs = 1 << 20

type wireBlock struct {
	Header wireHeader `json:"header"`
	Data   struct {
		Txs []json.RawMessage `json:"txs"`
	} `json:"data"`
	LastCommit *wireCommit `json:"last_commit"`
}

// decodeBlock decodes {"block":…,"block_id":…} — the value of a NewBlock
// event (0.37: result_begin_block/end_block, 0.38+: result_finalize_block,
// both ignored) and the result of /block.
func decodeBlock(what string, data []byte) (*NewBlock, error) {
	var w struct {
		Block   *wireBlock  `json:"block"`
		BlockID wireBlockID `json:"block_id"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	if w.Block == nil {
		return nil, fmt.Errorf("decode %s: no block", what)
	}
	h := &w.Block.Header
	if err := checkHeight(what, int64(h.Height)); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	if len(w.Block.Data.Txs) > maxTxs {
		return nil, fmt.Errorf("decode %s: %d transactions, at most %d", what, len(w.Block.Data.Txs), maxTxs)
	}
	b := &NewBlock{
		ChainID: string(h.ChainID),
		Block: events.Block{V: events.SchemaVersion, Height: int64(h.Height), Time: h.Time.UnixMS(),
			Hash: string(w.BlockID.Hash), ProposerAddress: string(h.ProposerAddress),
			NumTxs: len(w.Block.Data.Txs), ValidatorsHash: string(h.ValidatorsHash)},
	}
	if lc := w.Block.LastCommit; lc != nil && lc.Height > 0 {
		c, err := lc.convert()
		if err != nil {
			return nil, fmt.Errorf("decode %s last_commit: %w", what, err)
		}
		if c.Height != b.Block.Height-1 {
			return nil, fmt.Errorf("decode %s: block %d with a last commit of height %d", what, b.Block.Height, c.Height)
		}
		b.LastCommit = c
	}
	return b, nil
}

// DecodeBlock decodes the result of /block.
func DecodeBlock(result []byte) (*NewBlock, error) { return decodeBlock("/block", result) }

// Event data types (data.type of a subscription's result).
const (
	TypeVote      = "tendermint/event/Vote"
	TypeNewRound  = "tendermint/event/NewRound"
	TypeRoundStep = "tendermint/event/RoundState" // NewRoundStep's payload (sic)
	TypeNewBlock  = "tendermint/event/NewBlock"
)

// ErrUnknownType is an event whose data.type this client does not decode.
var ErrUnknownType = errors.New("unknown event type")

// Event is one decoded subscription event: exactly one field is set.
// Chain, Observer (and a block's Source) are the caller's to fill.
type Event struct {
	Vote     *events.Vote
	NewRound *events.NewRound
	Step     *events.NewRoundStep
	Block    *NewBlock
}

// Kind is the events kind of e.
func (e *Event) Kind() string {
	switch {
	case e.Vote != nil:
		return events.KindVote
	case e.NewRound != nil:
		return events.KindNewRound
	case e.Step != nil:
		return events.KindNewRoundStep
	case e.Block != nil:
		return events.KindBlock
	}
	return ""
}

// DecodeEvent decodes the data of a subscription event: data.type and
// data.value. An unknown type is ErrUnknownType (wrapped).
func DecodeEvent(typ string, value []byte) (*Event, error) {
	switch typ {
	case TypeVote:
		v, err := decodeVote(value)
		return &Event{Vote: v}, err
	case TypeNewRound:
		r, err := decodeNewRound(value)
		return &Event{NewRound: r}, err
	case TypeRoundStep:
		s, err := decodeStep(value)
		return &Event{Step: s}, err
	case TypeNewBlock:
		b, err := decodeBlock("NewBlock", value)
		return &Event{Block: b}, err
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownType, safe.String(typ, 80))
}

func decodeVote(value []byte) (*events.Vote, error) {
	var w struct {
		Vote *struct { // CometBFT's EventDataVote has no json tag: the key is "Vote"
			Type             Int32       `json:"type"`
			Height           Int64       `json:"height"`
			Round            Int32       `json:"round"`
			BlockID          wireBlockID `json:"block_id"`
			Timestamp        Time        `json:"timestamp"`
			ValidatorAddress Hex         `json:"validator_address"`
			ValidatorIndex   Int32       `json:"validator_index"`
			Signature        Sig         `json:"signature"`
		} `json:"Vote"`
	}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, fmt.Errorf("decode Vote: %w", err)
	}
	v := w.Vote
	if v == nil {
		return nil, fmt.Errorf("decode Vote: no \"Vote\" in the event value")
	}
	var typ string
	switch v.Type {
	case 1:
		typ = events.Prevote
	case 2:
		typ = events.Precommit
	default:
		return nil, fmt.Errorf("decode Vote: type %d is neither 1 (prevote) nor 2 (precommit)", v.Type)
	}
	if err := checkHeight("Vote", int64(v.Height)); err != nil {
		return nil, fmt.Errorf("decode Vote: %w", err)
	}
	if v.Round < 0 || v.ValidatorIndex < 0 || v.ValidatorIndex >= events.MaxValidators || v.ValidatorAddress == "" {
		return nil, fmt.Errorf("decode Vote: round %d, validator index %d, address %q out of range", v.Round, v.ValidatorIndex, v.ValidatorAddress)
	}
	return &events.Vote{V: events.SchemaVersion, Height: int64(v.Height), Round: int32(v.Round), Type: typ,
		BlockHash: string(v.BlockID.Hash), Timestamp: v.Timestamp.UnixMS(), ValidatorAddress: string(v.ValidatorAddress),
		ValidatorIndex: int32(v.ValidatorIndex), Signature: string(v.Signature)}, nil
}

func decodeNewRound(value []byte) (*events.NewRound, error) {
	var w struct {
		Height   Int64 `json:"height"`
		Round    Int32 `json:"round"`
		Proposer struct {
			Address Hex   `json:"address"`
			Index   Int32 `json:"index"`
		} `json:"proposer"`
	}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, fmt.Errorf("decode NewRound: %w", err)
	}
	if err := checkHeight("NewRound", int64(w.Height)); err != nil {
		return nil, fmt.Errorf("decode NewRound: %w", err)
	}
	if w.Round < 0 || w.Proposer.Index < 0 {
		return nil, fmt.Errorf("decode NewRound: round %d or proposer index %d is negative", w.Round, w.Proposer.Index)
	}
	return &events.NewRound{V: events.SchemaVersion, Height: int64(w.Height), Round: int32(w.Round),
		ProposerAddress: string(w.Proposer.Address), ProposerIndex: int32(w.Proposer.Index)}, nil
}

func decodeStep(value []byte) (*events.NewRoundStep, error) {
	var w struct {
		Height Int64           `json:"height"`
		Round  Int32           `json:"round"`
		Step   json.RawMessage `json:"step"` // a name, or a number in some encoders
	}
	if err := json.Unmarshal(value, &w); err != nil {
		return nil, fmt.Errorf("decode RoundState: %w", err)
	}
	if err := checkHeight("RoundState", int64(w.Height)); err != nil {
		return nil, fmt.Errorf("decode RoundState: %w", err)
	}
	if w.Round < 0 {
		return nil, fmt.Errorf("decode RoundState: round %d is negative", w.Round)
	}
	raw := strings.Trim(strings.TrimSpace(string(w.Step)), `"`)
	step := events.StepName(raw)
	if step == "" {
		return nil, fmt.Errorf("decode RoundState: step %q is not a CometBFT round step", safe.String(raw, 40))
	}
	return &events.NewRoundStep{V: events.SchemaVersion, Height: int64(w.Height), Round: int32(w.Round), Step: step}, nil
}

// RPCError is a JSON-RPC error object a node answered with.
type RPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

func (e *RPCError) Error() string {
	msg := safe.String(e.Message, 200)
	if e.Data != "" {
		msg += ": " + safe.String(e.Data, 400)
	}
	return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, msg)
}

// UnmarshalJSON keeps code, message and data; data that is not a string is
// kept as its JSON text.
func (e *RPCError) UnmarshalJSON(b []byte) error {
	var w struct {
		Code    Int64           `json:"code"`
		Message Text            `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("JSON-RPC error object: %w", err)
	}
	e.Code, e.Message = int(w.Code), string(w.Message)
	var s string
	if json.Unmarshal(w.Data, &s) == nil {
		e.Data = safe.String(s, 1024)
	} else if len(w.Data) > 0 && string(w.Data) != "null" {
		e.Data = safe.String(string(w.Data), 1024)
	}
	return nil
}

// Message is one JSON-RPC message read from a subscription.
type Message struct {
	ID    int64           // the id of the request it answers (the subscription)
	Error *RPCError       // an error object (a refused or cancelled subscription)
	Type  string          // result.data.type; "" for a plain acknowledgement
	Value json.RawMessage // result.data.value
}

// DecodeMessage decodes the envelope of a WebSocket message.
func DecodeMessage(data []byte) (*Message, error) {
	var w struct {
		ID     Int64           `json:"id"`
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("decode websocket message: %w", err)
	}
	m := &Message{ID: int64(w.ID), Error: w.Error}
	if m.Error != nil || len(w.Result) == 0 || string(w.Result) == "null" {
		return m, nil
	}
	var r struct {
		Data *struct {
			Type  Text            `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Result, &r); err != nil {
		return nil, fmt.Errorf("decode websocket message result: %w", err)
	}
	if r.Data != nil {
		m.Type, m.Value = string(r.Data.Type), r.Data.Value
		if m.Type == "" {
			return nil, fmt.Errorf("decode websocket message: event data without a type")
		}
	}
	return m, nil
}
