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
}

func FuzzDecode(f *testing.F) {
	f.Add("block", []byte(`{"v":1,"network":"devnet","number":1,"hash":"`+h32+`","parent_hash":"`+h32+`"}`))
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
