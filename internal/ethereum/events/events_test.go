package events

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
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
	f.Add(KindMetadataReceived, []byte(`{"v":1,"client_version":"Light\u0000house\u0085","peer_id":"\ud800x"}`))
	f.Fuzz(func(t *testing.T, kind string, data []byte) {
		v, err := Decode(kind, data)
		if err == nil && v == nil {
			t.Fatal("nil event without error")
		}
		if err == nil {
			// Every string that reaches a store is clean and bounded.
			out, _ := json.Marshal(v)
			var generic any
			_ = json.Unmarshal(out, &generic)
			walkStrings(generic, func(s string) {
				if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) || len(s) > maxENR {
					t.Fatalf("decoded %s holds an unsafe string %q", kind, s)
				}
			})
		}
	})
}

// A NUL in a peer's identify agent made PostgreSQL refuse whole batches:
// decoding removes it, and bounds the length.
func TestDecodeSanitizesStrings(t *testing.T) {
	data := []byte(`{"v":1,"peer_id":"16Uiu2\u0000HAm","client_version":"Lighthouse\u0000/v7` + strings.Repeat("x", 2000) + `","metadata":{"attnets":"0x00\u0001"}}`)
	v, err := Decode(KindMetadataReceived, data)
	if err != nil {
		t.Fatal(err)
	}
	e := v.(*MetadataReceived)
	if e.PeerID != "16Uiu2HAm" || e.MetaData.Attnets != "0x00" {
		t.Errorf("control characters kept: peer %q attnets %q", e.PeerID, e.MetaData.Attnets)
	}
	if !strings.HasPrefix(e.ClientVersion, "Lighthouse/v7x") || len(e.ClientVersion) != maxAgent {
		t.Errorf("client version %q…: %d bytes, want the NUL gone and %d bytes", e.ClientVersion[:20], len(e.ClientVersion), maxAgent)
	}
}

func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case map[string]any:
		for k, e := range x {
			fn(k)
			walkStrings(e, fn)
		}
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	}
}
