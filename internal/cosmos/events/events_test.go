package events

import (
	"encoding/json"
	"strings"
	"testing"
)

func sampleVote() *Vote {
	return &Vote{V: SchemaVersion, Chain: "test-1", Height: 10, Round: 0, Type: Precommit,
		BlockHash: "AB12", Timestamp: 1700000000000, ValidatorAddress: "0A0B", ValidatorIndex: 2,
		Signature: "c2ln", Observer: Observer{Endpoint: "127.0.0.1:26657", SeenAt: 1700000000100}}
}

func TestDecodeRoundTripsEveryKind(t *testing.T) {
	evs := []Event{
		sampleVote(),
		&NewRound{V: 1, Chain: "test-1", Height: 3, Round: 1, ProposerAddress: "0A", ProposerIndex: 1},
		&NewRoundStep{V: 1, Chain: "test-1", Height: 3, Round: 1, Step: "PrevoteWait"},
		&Block{V: 1, Chain: "test-1", Height: 3, Hash: "AA", Source: SourceLive, VotesObserved: true},
		&Commit{V: 1, Chain: "test-1", Height: 2, Source: SourceBackfill, Signatures: []Signature{{Flag: FlagCommit, ValidatorAddress: "0A"}, {Flag: FlagAbsent}}},
		&ValidatorSet{V: 1, Chain: "test-1", Height: 1, Validators: []Validator{{Address: "0A", VotingPower: 10, PubKeyType: "cometbft/PubKeyBn254"}}},
		&ValidatorInfo{V: 1, Chain: "test-1", Address: "0A", Moniker: "val one", Source: "status"},
		&EndpointStatus{V: 1, Chain: "test-1", Observer: Observer{Endpoint: "e1"}, Healthy: false, Reason: "catching up"},
		&Params{V: 1, Chain: "test-1", SignedBlocksWindow: 100, MinSignedPerWindow: 0.5},
		&PrunedHeights{V: 1, Chain: "test-1", From: 5, To: 1005, LowestAvailable: 1006, Endpoints: 2},
	}
	extra := []Event{&PrunedHeights{V: 1, Chain: "test-1", From: 7, To: 8, LowestAvailable: 9, Endpoints: 1, What: PrunedValidatorSet, ValidatorsHash: "AB"}}
	if len(evs) != len(Kinds) {
		t.Fatalf("%d sample events for %d kinds", len(evs), len(Kinds))
	}
	for _, e := range append(evs, extra...) {
		kind := Kind(e)
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(kind, data)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if got.MsgID() != e.MsgID() || !strings.HasPrefix(got.MsgID(), kind+"-") {
			t.Errorf("%s: message id %s, want %s", kind, got.MsgID(), e.MsgID())
		}
	}
	info, _ := Decode(KindValidatorInfo, []byte(`{"v":1,"chain":"c","address":"0A","moniker":"a\u0000b"}`))
	if m := info.(*ValidatorInfo).Moniker; m != "ab" {
		t.Errorf("moniker %q: NUL not removed", m)
	}
}

func TestMsgIDIgnoresTheObserver(t *testing.T) {
	a, b := sampleVote(), sampleVote()
	b.Endpoint, b.SeenAt, b.SentryID = "other:26657", 5, "s2"
	if a.MsgID() != b.MsgID() {
		t.Error("two observers of one vote give two message ids: the stream would keep both")
	}
	b.Round = 1
	if a.MsgID() == b.MsgID() {
		t.Error("votes of two rounds share a message id")
	}
}

func TestDecodeRefusesHostileValues(t *testing.T) {
	for name, tc := range map[string]struct{ kind, json string }{
		"unknown kind":    {"evidence", `{"v":1}`},
		"version":         {KindVote, `{"v":2,"chain":"c","height":1,"type":"prevote","validator_address":"0A"}`},
		"height as text":  {KindVote, `{"v":1,"chain":"c","height":"1","type":"prevote","validator_address":"0A"}`},
		"height 0":        {KindVote, `{"v":1,"chain":"c","height":0,"type":"prevote","validator_address":"0A"}`},
		"vote type":       {KindVote, `{"v":1,"chain":"c","height":1,"type":"proposal","validator_address":"0A"}`},
		"lower hex":       {KindVote, `{"v":1,"chain":"c","height":1,"type":"prevote","validator_address":"0a"}`},
		"chain subject":   {KindBlock, `{"v":1,"chain":"a.b","height":1,"source":"live"}`},
		"flag":            {KindCommit, `{"v":1,"chain":"c","height":1,"source":"live","signatures":[{"flag":4}]}`},
		"empty set":       {KindValidatorSet, `{"v":1,"chain":"c","height":1,"validators":[]}`},
		"repeated":        {KindValidatorSet, `{"v":1,"chain":"c","height":1,"validators":[{"address":"0A"},{"address":"0A"}]}`},
		"step":            {KindNewRoundStep, `{"v":1,"chain":"c","height":1,"step":"Nap"}`},
		"window":          {KindParams, `{"v":1,"chain":"c","signed_blocks_window":0,"min_signed_per_window":0.5}`},
		"time":            {KindBlock, `{"v":1,"chain":"c","height":1,"source":"live","time":-1}`},
		"pruned from 0":   {KindPrunedHeights, `{"v":1,"chain":"c","from":0,"to":4,"lowest_available":5,"endpoints":1}`},
		"pruned reversed": {KindPrunedHeights, `{"v":1,"chain":"c","from":9,"to":4,"lowest_available":10,"endpoints":1}`},
		"pruned lowest":   {KindPrunedHeights, `{"v":1,"chain":"c","from":1,"to":4,"lowest_available":4,"endpoints":1}`},
		"pruned huge":     {KindPrunedHeights, `{"v":1,"chain":"c","from":1,"to":9223372036854775806,"lowest_available":9223372036854775807,"endpoints":1}`},
		"pruned nobody":   {KindPrunedHeights, `{"v":1,"chain":"c","from":1,"to":4,"lowest_available":5,"endpoints":0}`},
		"pruned what":     {KindPrunedHeights, `{"v":1,"chain":"c","from":1,"to":4,"lowest_available":5,"endpoints":1,"what":"state"}`},
		"pruned set hash": {KindPrunedHeights, `{"v":1,"chain":"c","from":4,"to":4,"lowest_available":5,"endpoints":1,"what":"validator_set","validators_hash":"ab"}`},
		"blocks hash":     {KindPrunedHeights, `{"v":1,"chain":"c","from":1,"to":4,"lowest_available":5,"endpoints":1,"validators_hash":"AB"}`},
	} {
		if _, err := Decode(tc.kind, []byte(tc.json)); err == nil {
			t.Errorf("%s: accepted %s", name, tc.json)
		}
	}
}

// A pruned_heights payload without "what" (written before sets were
// reported) is a blocks range with its old message id; pruned sets are
// told apart from a blocks range of the same heights, in what they say and
// in their message id.
func TestPrunedWhat(t *testing.T) {
	old, err := Decode(KindPrunedHeights, []byte(`{"v":1,"chain":"c","from":4,"to":4,"lowest_available":5,"endpoints":1}`))
	if err != nil {
		t.Fatal(err)
	}
	blocks := old.(*PrunedHeights)
	if blocks.What != PrunedBlocks || blocks.MsgID() != MsgID(KindPrunedHeights, "c", "4", "4") {
		t.Errorf("old payload read as %q with id %s, want %q and the id it always had", blocks.What, blocks.MsgID(), PrunedBlocks)
	}
	e, err := Decode(KindPrunedHeights, []byte(`{"v":1,"chain":"c","from":4,"to":4,"lowest_available":5,"endpoints":1,"what":"validator_set","validators_hash":"AB12"}`))
	if err != nil {
		t.Fatal(err)
	}
	set := e.(*PrunedHeights)
	if set.What != PrunedValidatorSet || set.ValidatorsHash != "AB12" || set.MsgID() == blocks.MsgID() {
		t.Errorf("pruned set %+v (id %s): want validator_set AB12 with an id of its own", set, set.MsgID())
	}
	other := *set
	other.ValidatorsHash = "CD34"
	if other.MsgID() == set.MsgID() {
		t.Error("pruned sets of two hashes at one height share a message id")
	}
}

func TestStepName(t *testing.T) {
	for in, want := range map[string]string{"RoundStepPropose": "Propose", "Propose": "Propose", "4": "Prevote", "8": "Commit", "9": "", "RoundStepNap": ""} {
		if got := StepName(in); got != want {
			t.Errorf("StepName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	v, _ := json.Marshal(sampleVote())
	f.Add(KindVote, v)
	f.Add(KindCommit, []byte(`{"v":1,"chain":"c","height":1,"source":"live","signatures":[{"flag":2,"validator_address":"0A"}]}`))
	f.Add(KindValidatorSet, []byte(`{"v":1,"chain":"c","height":1,"validators":[{"address":"0A","voting_power":1}]}`))
	f.Add(KindPrunedHeights, []byte(`{"v":1,"chain":"c","from":1,"to":4,"lowest_available":5,"endpoints":2,"endpoint":"127.0.0.1:26657","seen_at":1}`))
	f.Add(KindPrunedHeights, []byte(`{"v":1,"chain":"c","from":4,"to":4,"lowest_available":5,"endpoints":2,"what":"validator_set","validators_hash":"AB12"}`))
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		e, err := Decode(kind, data)
		if err != nil {
			return
		}
		// A range that Decode accepts can be walked without overflow.
		if p, ok := e.(*PrunedHeights); ok && (p.From < 1 || p.To < p.From || p.LowestAvailable <= p.To || p.LowestAvailable > MaxHeight) {
			t.Fatalf("accepted pruned range %d..%d, lowest %d", p.From, p.To, p.LowestAvailable)
		}
		if p, ok := e.(*PrunedHeights); ok && !(p.What == PrunedBlocks && p.ValidatorsHash == "" || p.What == PrunedValidatorSet) {
			t.Fatalf("accepted pruned %q of %d..%d with hash %q", p.What, p.From, p.To, p.ValidatorsHash)
		}
		// What Decode accepts is safe to store and round-trips.
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(kind, out); err != nil {
			t.Fatalf("accepted %q but refuses its own encoding: %v", data, err)
		}
	})
}
