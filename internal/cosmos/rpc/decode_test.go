package rpc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos/events"
)

// A /status of CometBFT v0.38 with a key type no typed client knows.
const statusJSON = `{"node_info":{"protocol_version":{"p2p":"8","block":"11","app":"0"},"id":"ab","listen_addr":"tcp://0.0.0.0:26656",
"network":"union-1","version":"0.38.17","channels":"40","moniker":"val\u0000-one","other":{"tx_index":"on","rpc_address":"tcp://0.0.0.0:26657"}},
"sync_info":{"latest_block_hash":"0a0b","latest_app_hash":"","latest_block_height":"1234","latest_block_time":"2026-03-01T10:00:00.123456789Z",
"earliest_block_height":"1000","catching_up":false},
"validator_info":{"address":"ABCDEF0123","pub_key":{"type":"cometbft/PubKeyBn254","value":"AAEC"},"voting_power":"10"}}`

func TestDecodeStatus(t *testing.T) {
	s, err := DecodeStatus([]byte(statusJSON))
	if err != nil {
		t.Fatal(err)
	}
	if s.Network != "union-1" || s.Version != "0.38.17" || s.Moniker != "val-one" || s.LatestHeight != 1234 ||
		s.EarliestHeight != 1000 || s.CatchingUp || s.LatestHash != "0A0B" || s.ValidatorAddress != "ABCDEF0123" ||
		s.VotingPower != 10 || s.ValidatorPubKey.Type != "cometbft/PubKeyBn254" || s.LatestTime.UnixMilli() != 1772359200123 {
		t.Errorf("status decoded as %+v", s)
	}
	// Numbers where strings are expected and the other way round.
	s, err = DecodeStatus([]byte(`{"sync_info":{"latest_block_height":77,"catching_up":"true"},"validator_info":{"voting_power":5,"pub_key":"junk"}}`))
	if err != nil || s.LatestHeight != 77 || !s.CatchingUp || s.VotingPower != 5 {
		t.Errorf("lenient status: %+v, %v", s, err)
	}
	for _, bad := range []string{`[]`, `{"sync_info":{"latest_block_height":"1.5"}}`, `{"sync_info":{"latest_block_height":"-3"}}`,
		`{"sync_info":{"latest_block_time":"yesterday"}}`, `{"validator_info":{"address":"xyz"}}`} {
		if _, err := DecodeStatus([]byte(bad)); err == nil {
			t.Errorf("status %s accepted", bad)
		}
	}
}

func TestDecodeValidators(t *testing.T) {
	p, err := DecodeValidators([]byte(`{"block_height":"55","validators":[
	 {"address":"aa01","pub_key":{"type":"tendermint/PubKeyEd25519","value":"AAA="},"voting_power":"100","proposer_priority":"-5"},
	 {"address":"AA02","pub_key":{"type":"cometbft/PubKeyMlDsa65","value":"BBB="},"voting_power":7,"proposer_priority":3}],
	 "count":"2","total":"250"}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.BlockHeight != 55 || p.Total != 250 || p.Count != 2 || len(p.Validators) != 2 ||
		p.Validators[0] != (events.Validator{Address: "AA01", PubKeyType: "tendermint/PubKeyEd25519", PubKey: "AAA=", VotingPower: 100, ProposerPriority: -5}) ||
		p.Validators[1].PubKeyType != "cometbft/PubKeyMlDsa65" || p.Validators[1].ProposerPriority != 3 {
		t.Errorf("page decoded as %+v", p)
	}
	for _, bad := range []string{`{"block_height":"0","validators":[],"count":"0","total":"0"}`,
		`{"block_height":"5","validators":[{"address":"AA"}],"count":"2","total":"2"}`,
		`{"block_height":"5","validators":[{"address":""}],"count":"1","total":"1"}`,
		`{"block_height":"5","validators":[{"address":"AA","voting_power":"-1"}],"count":"1","total":"1"}`} {
		if _, err := DecodeValidators([]byte(bad)); err == nil {
			t.Errorf("page %s accepted", bad)
		}
	}
}

const commitJSON = `{"signed_header":{"header":{"chain_id":"c-1","height":"9","time":"2026-01-01T00:00:09Z","validators_hash":"ab","proposer_address":"cd"},
"commit":{"height":"9","round":1,"block_id":{"hash":"ee","parts":{"total":1,"hash":"AA"}},"signatures":[
{"block_id_flag":2,"validator_address":"0a","timestamp":"2026-01-01T00:00:09.5Z","signature":"c2ln"},
{"block_id_flag":1,"validator_address":"","timestamp":"0001-01-01T00:00:00Z","signature":null},
{"block_id_flag":3,"validator_address":"0B","timestamp":"2026-01-01T00:00:09.6Z","signature":"c2ln"}]}},"canonical":true}`

func TestDecodeCommit(t *testing.T) {
	c, err := DecodeCommit([]byte(commitJSON))
	if err != nil {
		t.Fatal(err)
	}
	if c.ChainID != "c-1" || !c.Canonical || c.Block.Height != 9 || c.Block.Hash != "EE" || c.Block.ValidatorsHash != "AB" ||
		c.Block.ProposerAddress != "CD" || c.Block.Time != 1767225609000 || c.Commit.Round != 1 || len(c.Commit.Signatures) != 3 {
		t.Fatalf("commit decoded as %+v", c)
	}
	want := []events.Signature{{Flag: 2, ValidatorAddress: "0A", Timestamp: 1767225609500}, {Flag: 1}, {Flag: 3, ValidatorAddress: "0B", Timestamp: 1767225609600}}
	for i, s := range c.Commit.Signatures {
		if s != want[i] {
			t.Errorf("signature %d = %+v, want %+v", i, s, want[i])
		}
	}
	bad := strings.Replace(commitJSON, `"block_id_flag":3`, `"block_id_flag":7`, 1)
	if _, err := DecodeCommit([]byte(bad)); err == nil {
		t.Error("block_id_flag 7 accepted")
	}
	bad = strings.Replace(commitJSON, `"height":"9","round"`, `"height":"8","round"`, 1)
	if _, err := DecodeCommit([]byte(bad)); err == nil {
		t.Error("a commit of another height than its header accepted")
	}
}

func TestDecodeEvents(t *testing.T) {
	vote := `{"Vote":{"type":2,"height":"100","round":"1","block_id":{"hash":"","parts":{"total":0,"hash":""}},
	  "timestamp":"2026-01-01T00:00:01Z","validator_address":"0a0b","validator_index":"3","signature":"c2ln","extension":null}}`
	e, err := DecodeEvent(TypeVote, []byte(vote))
	if err != nil {
		t.Fatal(err)
	}
	if v := e.Vote; v == nil || e.Kind() != events.KindVote || v.Height != 100 || v.Round != 1 || v.Type != events.Precommit ||
		v.BlockHash != "" || v.ValidatorAddress != "0A0B" || v.ValidatorIndex != 3 || v.Timestamp != 1767225601000 || v.V != events.SchemaVersion {
		t.Errorf("vote decoded as %+v", e.Vote)
	}
	for _, typ := range []string{"0", "32", `"x"`} {
		if _, err := DecodeEvent(TypeVote, []byte(strings.Replace(vote, `"type":2`, `"type":`+typ, 1))); err == nil {
			t.Errorf("vote type %s accepted", typ)
		}
	}
	if _, err := DecodeEvent(TypeVote, []byte(strings.Replace(vote, `"Vote"`, `"Ballot"`, 1))); err == nil {
		t.Error("a vote value without its \"Vote\" key accepted")
	}

	e, err = DecodeEvent(TypeNewRound, []byte(`{"height":"7","round":2,"step":"RoundStepNewRound","proposer":{"address":"ab","index":4}}`))
	if err != nil || e.NewRound.Height != 7 || e.NewRound.Round != 2 || e.NewRound.ProposerAddress != "AB" || e.NewRound.ProposerIndex != 4 {
		t.Errorf("new round: %+v, %v", e, err)
	}
	for step, want := range map[string]string{`"RoundStepPrevoteWait"`: "PrevoteWait", `"Commit"`: "Commit", `4`: "Prevote"} {
		e, err = DecodeEvent(TypeRoundStep, []byte(`{"height":"7","round":0,"step":`+step+`}`))
		if err != nil || e.Step.Step != want {
			t.Errorf("step %s: %+v, %v", step, e, err)
		}
	}
	if _, err := DecodeEvent(TypeRoundStep, []byte(`{"height":"7","round":0,"step":"RoundStepNap"}`)); err == nil {
		t.Error("an unknown step accepted")
	}
	if _, err := DecodeEvent("tendermint/event/CompleteProposal", []byte(`{}`)); !errors.Is(err, ErrUnknownType) {
		t.Errorf("unknown type: %v", err)
	}
}

// NewBlock of 0.38 (result_finalize_block) and of 0.37 (result_begin_block,
// no block_id at the top in some encoders) both decode.
func TestDecodeNewBlockVersions(t *testing.T) {
	head := `{"block":{"header":{"chain_id":"c-1","height":"10","time":"2026-01-01T00:00:10Z","validators_hash":"AB","proposer_address":"CD"},
	"data":{"txs":["dHg=","dHg="]},"evidence":{"evidence":[]},
	"last_commit":{"height":"9","round":0,"block_id":{"hash":"EE"},"signatures":[{"block_id_flag":2,"validator_address":"0A","timestamp":"2026-01-01T00:00:09.5Z","signature":"c2ln"}]}},
	"block_id":{"hash":"FF","parts":{"total":1,"hash":"AA"}},`
	for name, tail := range map[string]string{
		"0.38": `"result_finalize_block":{"events":[{"type":"x","attributes":[]}],"tx_results":[],"validator_updates":null,"app_hash":"AA=="}}`,
		"0.37": `"result_begin_block":{"events":[]},"result_end_block":{"validator_updates":[]}}`,
	} {
		e, err := DecodeEvent(TypeNewBlock, []byte(head+tail))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b := e.Block
		if b.Block.Height != 10 || b.Block.Hash != "FF" || b.Block.NumTxs != 2 || b.Block.ValidatorsHash != "AB" || b.ChainID != "c-1" ||
			b.LastCommit == nil || b.LastCommit.Height != 9 || b.LastCommit.BlockHash != "EE" || len(b.LastCommit.Signatures) != 1 {
			t.Errorf("%s: block decoded as %+v", name, b)
		}
	}
	first := `{"block":{"header":{"height":"1"},"data":{"txs":null},"last_commit":{"height":"0","round":0,"block_id":{"hash":""},"signatures":[]}},"block_id":{"hash":"AA"}}`
	e, err := DecodeEvent(TypeNewBlock, []byte(first))
	if err != nil || e.Block.LastCommit != nil || e.Block.Block.NumTxs != 0 {
		t.Errorf("block 1: %+v, %v", e, err)
	}
	wrong := strings.Replace(head, `"height":"9"`, `"height":"5"`, 1) + `"x":1}`
	if _, err := DecodeEvent(TypeNewBlock, []byte(wrong)); err == nil {
		t.Error("block 10 with the last commit of height 5 accepted")
	}
}

func TestDecodeMessage(t *testing.T) {
	m, err := DecodeMessage([]byte(`{"jsonrpc":"2.0","id":3,"result":{}}`))
	if err != nil || m.ID != 3 || m.Type != "" || m.Error != nil {
		t.Errorf("ack: %+v, %v", m, err)
	}
	m, err = DecodeMessage([]byte(`{"jsonrpc":"2.0","id":"1","result":{"query":"q","data":{"type":"tendermint/event/Vote","value":{"a":1}},"events":{}}}`))
	if err != nil || m.ID != 1 || m.Type != TypeVote || string(m.Value) != `{"a":1}` {
		t.Errorf("event: %+v, %v", m, err)
	}
	m, err = DecodeMessage([]byte(`{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"Server error","data":"subscription was canceled (reason: slow client)"}}`))
	if err != nil || m.Error == nil || !strings.Contains(m.Error.Error(), "subscription was canceled") {
		t.Errorf("cancel: %+v, %v", m, err)
	}
	for _, bad := range []string{`garbage`, `{"id":{}}`, `{"id":1,"result":[1]}`, `{"id":1,"result":{"data":{"value":{}}}}`} {
		if _, err := DecodeMessage([]byte(bad)); err == nil {
			t.Errorf("message %s accepted", bad)
		}
	}
}

func TestClassifyErrors(t *testing.T) {
	err := classify(&RPCError{Code: -32603, Message: "Internal error", Data: "height 5 is not available, lowest height is 1200"})
	var na *HeightNotAvailableError
	if !errors.As(err, &na) || na.Height != 5 || na.Lowest != 1200 {
		t.Errorf("not available: %v", err)
	}
	err = classify(&RPCError{Code: -32603, Data: "height 99 must be less than or equal to the current blockchain height 98"})
	if !errors.Is(err, ErrHeightInFuture) {
		t.Errorf("future: %v", err)
	}
}

// Every decoder, on any input: no panic, and what it accepts is within the
// bounds events.Decode enforces.
func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(statusJSON))
	f.Add([]byte(`{"sync_info":{"latest_block_height":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeStatus(data)
		if err == nil && (s.LatestHeight < 0 || len(s.Moniker) > maxText || len(s.ValidatorPubKey.Value) > maxKeyValue) {
			t.Fatalf("accepted %+v", s)
		}
	})
}

func FuzzDecodeValidators(f *testing.F) {
	f.Add([]byte(`{"block_height":"55","validators":[{"address":"aa01","pub_key":{"type":"x","value":"AAA="},"voting_power":"100"}],"count":"1","total":"1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeValidators(data)
		if err != nil {
			return
		}
		if len(p.Validators) == 0 {
			return
		}
		set := events.ValidatorSet{V: 1, Chain: "c", Height: p.BlockHeight, Validators: p.Validators}
		checkRoundTrip(t, &set)
	})
}

func FuzzDecodeCommit(f *testing.F) {
	f.Add([]byte(commitJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommit(data)
		if err != nil {
			return
		}
		cm := c.Commit
		cm.Chain, cm.Source = "c", events.SourceBackfill
		checkRoundTrip(t, &cm)
		b := c.Block
		b.Chain, b.Source = "c", events.SourceBackfill
		checkRoundTrip(t, &b)
	})
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"query":"q","data":{"type":"tendermint/event/Vote","value":{"Vote":{"type":1,"height":"3","round":0,"block_id":{"hash":"AB"},"timestamp":"2026-01-01T00:00:01Z","validator_address":"0A","validator_index":0,"signature":"c2ln"}}}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":2,"result":{"data":{"type":"tendermint/event/NewRound","value":{"height":"7","round":2,"proposer":{"address":"ab","index":4}}}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"result":{"data":{"type":"tendermint/event/RoundState","value":{"height":"7","round":0,"step":"RoundStepPropose"}}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":4,"result":{"data":{"type":"tendermint/event/NewBlock","value":{"block":{"header":{"height":"2"},"last_commit":{"height":"1","signatures":[{"block_id_flag":2,"validator_address":"0A"}]}},"block_id":{"hash":"AA"}}}}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"data":"subscription was canceled"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data)
		if err != nil || m.Type == "" {
			return
		}
		e, err := DecodeEvent(m.Type, m.Value)
		if err != nil {
			return
		}
		switch {
		case e.Vote != nil:
			e.Vote.Chain = "c"
			checkRoundTrip(t, e.Vote)
		case e.NewRound != nil:
			e.NewRound.Chain = "c"
			checkRoundTrip(t, e.NewRound)
		case e.Step != nil:
			e.Step.Chain = "c"
			checkRoundTrip(t, e.Step)
		case e.Block != nil:
			b := e.Block.Block
			b.Chain, b.Source = "c", events.SourceLive
			checkRoundTrip(t, &b)
			if lc := e.Block.LastCommit; lc != nil {
				lc.Chain, lc.Source = "c", events.SourceLive
				checkRoundTrip(t, lc)
			}
		default:
			t.Fatal("an event with no field set")
		}
	})
}

// checkRoundTrip: what a decoder produced is an event the consumer accepts.
func checkRoundTrip(t *testing.T, e events.Event) {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Decode(events.Kind(e), data); err != nil {
		t.Fatalf("decoded into %s the consumer refuses: %v", data, err)
	}
}
