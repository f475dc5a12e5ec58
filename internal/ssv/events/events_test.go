package events

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKind(t *testing.T) {
	for in, want := range map[string]string{"ValidatorAdded": "validator_added", "OperatorWithdrawnSSV": "operator_withdrawn_ssv",
		"ClusterMigratedToETH": "cluster_migrated_to_eth", "CSSVUpdated": "cssv_updated", "ERC20Rescued": "erc20_rescued"} {
		if got := Kind(in); got != want {
			t.Errorf("Kind(%s) = %s, want %s", in, got, want)
		}
	}
}

const h32 = "0x1111111111111111111111111111111111111111111111111111111111111111"

func TestDecodeRoundTripAndRefusals(t *testing.T) {
	e := &ContractEvent{V: 1, Network: "devnet", Name: "OperatorAdded", Block: 5, BlockHash: h32, TxHash: h32, LogIndex: 2,
		Contract: "0x58410Bef803ECd7E63B23664C586A6DB72DAf59c", Args: json.RawMessage(`{"operatorId":"1"}`)}
	data, _ := json.Marshal(e)
	got, err := Decode("operator_added", data)
	if err != nil {
		t.Fatal(err)
	}
	if got.(*ContractEvent).MsgID() != e.MsgID() || !strings.HasPrefix(e.MsgID(), "log-") {
		t.Error("message id changed in the round trip")
	}
	if _, err := Decode("validator_added", data); err == nil {
		t.Error("an OperatorAdded accepted on validator_added")
	}
	for name, bad := range map[string]string{
		"version": `{"v":2}`,
		"hash":    `{"v":1,"network":"devnet","name":"OperatorAdded","block_hash":"0x12","tx_hash":"` + h32 + `","contract":"0x58410Bef803ECd7E63B23664C586A6DB72DAf59c","args":{}}`,
		"args":    `{"v":1,"network":"devnet","name":"OperatorAdded","block_hash":"` + h32 + `","tx_hash":"` + h32 + `","contract":"0x58410Bef803ECd7E63B23664C586A6DB72DAf59c","args":[1]}`,
		"network": `{"v":1,"network":"Dev Net","name":"OperatorAdded"}`,
	} {
		if _, err := Decode("operator_added", []byte(bad)); err == nil {
			t.Errorf("%s: accepted %s", name, bad)
		}
	}
	b := &Block{V: 1, Network: "devnet", Number: 5, Hash: h32, ParentHash: h32, Skipped: []Skipped{{Reason: "bad\x00"}}}
	data, _ = json.Marshal(b)
	got, err = Decode(KindBlock, data)
	if err != nil || got.(*Block).Skipped[0].Reason != "bad" {
		t.Errorf("block: %v %+v", err, got)
	}
	// A skipped log's data: 0x-hex of at most MaxSkippedData bytes, and
	// a length that holds it.
	for name, sk := range map[string]Skipped{
		"odd hex":    {Data: "0x123", DataLen: 2},
		"not hex":    {Data: "0xzz", DataLen: 1},
		"no 0x":      {Data: "1234", DataLen: 2},
		"too long":   {Data: "0x" + strings.Repeat("ab", MaxSkippedData+1), DataLen: MaxSkippedData + 1},
		"short len":  {Data: "0xabcd", DataLen: 1},
		"negative":   {DataLen: -1},
		"absurd len": {DataLen: MaxArgs*16 + 1},
	} {
		b := &Block{V: 1, Network: "devnet", Number: 5, Hash: h32, ParentHash: h32, Skipped: []Skipped{sk}}
		data, _ := json.Marshal(b)
		if _, err := Decode(KindBlock, data); err == nil {
			t.Errorf("skipped data %s accepted: %+v", name, sk)
		}
	}
	b = &Block{V: 1, Network: "devnet", Number: 5, Hash: h32, ParentHash: h32, Skipped: []Skipped{{Data: "0x" + strings.Repeat("Ab", MaxSkippedData), DataLen: 5000}}}
	data, _ = json.Marshal(b)
	if _, err := Decode(KindBlock, data); err != nil {
		t.Errorf("the longest skipped data refused: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("block", []byte(`{"v":1,"network":"devnet","number":1,"hash":"`+h32+`","parent_hash":"`+h32+`"}`))
	f.Add("block", []byte(`{"v":1,"network":"devnet","number":1,"hash":"`+h32+`","parent_hash":"`+h32+`","skipped":[{"log_index":1,"data":"0x00ff","data_len":9}]}`))
	f.Add("operator_added", []byte(`{"v":1,"network":"devnet","name":"OperatorAdded","block_hash":"`+h32+`","tx_hash":"`+h32+`","contract":"0x58410Bef803ECd7E63B23664C586A6DB72DAf59c","args":{}}`))
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		v, err := Decode(kind, data)
		if err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(kind, out); err != nil {
			t.Fatalf("accepted %q, refuses its own encoding: %v", data, err)
		}
	})
}

// TestBlockPrevMarker: a marker without prev_marker (before the field)
// decodes with none; one names a block below its own, else it is refused.
func TestBlockPrevMarker(t *testing.T) {
	base := `{"v":1,"network":"devnet","number":9,"hash":"` + h32 + `","parent_hash":"` + h32 + `","time":1,"events":0,"seen_at":1,"endpoint":"e"`
	v, err := Decode(KindBlock, []byte(base+`}`))
	if err != nil || v.(*Block).PrevMarker != nil {
		t.Fatalf("old marker: %+v, %v: want it decoded without a previous marker", v, err)
	}
	v, err = Decode(KindBlock, []byte(base+`,"prev_marker":0}`))
	if err != nil || v.(*Block).PrevMarker == nil || *v.(*Block).PrevMarker != 0 {
		t.Fatalf("prev_marker 0: %+v, %v", v, err)
	}
	for _, p := range []string{"9", "10"} {
		if _, err := Decode(KindBlock, []byte(base+`,"prev_marker":`+p+`}`)); err == nil || !strings.Contains(err.Error(), "not below") {
			t.Errorf("prev_marker %s of block 9: %v, want it refused", p, err)
		}
	}
}
