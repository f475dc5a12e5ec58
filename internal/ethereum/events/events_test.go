package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestSubjectRoundTrip(t *testing.T) {
	s := Subject("mainnet", KindMetadataReceived)
	if s != "ethereum.mainnet.metadata_received" {
		t.Fatalf("subject %q", s)
	}
	n, k, err := SplitSubject(s)
	if err != nil || n != "mainnet" || k != KindMetadataReceived {
		t.Fatalf("split: %q %q %v", n, k, err)
	}
	for _, bad := range []string{"", "ethereum", "ethereum..x", "cosmos.a.b", "ethereum.a.b.c"} {
		if _, _, err := SplitSubject(bad); err == nil {
			t.Errorf("SplitSubject(%q) accepted", bad)
		}
	}
}

func TestMsgIDDeterministic(t *testing.T) {
	a := &MetadataReceived{V: 1, Network: "n", PeerID: "p", Timestamp: 5, Sentry: Sentry{ID: "s"}}
	b := *a
	if a.MsgID() != b.MsgID() {
		t.Fatal("same observation, different ids")
	}
	b.Timestamp = 6
	if a.MsgID() == b.MsgID() {
		t.Fatal("different observations, same id")
	}
	if !strings.HasPrefix(a.MsgID(), KindMetadataReceived+"-") {
		t.Fatalf("id %q lacks its kind", a.MsgID())
	}
}

func TestDecodeRoundTripAndVersion(t *testing.T) {
	cgc := uint64(8)
	in := &MetadataReceived{V: SchemaVersion, Network: "devnet", PeerID: "p", SubscribedSubnets: []int64{1, 2},
		MetaData: MetaData{SeqNumber: 3, Attnets: "0x01", CGC: &cgc, Version: 3}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(KindMetadataReceived, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip: got %+v", out)
	}
	in.V = 99
	data, _ = json.Marshal(in)
	if _, err := Decode(KindMetadataReceived, data); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("version 99 accepted or unclear: %v", err)
	}
	if _, err := Decode("no_such_event", []byte(`{"v":1}`)); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func FuzzDecode(f *testing.F) {
	for _, k := range []string{KindPeerDiscovered, KindMetadataReceived, KindSubscription} {
		f.Add(k, []byte(`{"v":1}`))
		f.Add(k, []byte(`{"v":1,"subscribed_subnets":[1,2,3],"metadata":{"seq_number":1}}`))
		f.Add(k, []byte(`{"v":2}`))
		f.Add(k, []byte(`not json`))
	}
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		v, err := Decode(kind, data)
		if err == nil && v == nil {
			t.Fatal("nil event without error")
		}
	})
}
