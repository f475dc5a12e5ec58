package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
)

// FuzzReply: whatever frame a client sends, Reply answers one JSON message
// whose keys come in the order type, filter, data, whose type is the
// request's registry type or decided or error, with a filter, and whose
// size is bounded by MaxItems; it never panics.
func FuzzReply(f *testing.F) {
	fake := registrytest.New()
	for id := uint64(1); id <= 20; id++ {
		fake.PutOperator("n", registry.Operator{ID: id, Owner: "0xAb", PublicKey: "k"})
		fake.PutValidator("n", registry.Validator{Index: id, PublicKey: "0x" + strings.Repeat("aa", 48), OperatorIDs: []uint64{1, 2, 3, id}})
	}
	q := &Querier{R: fake, MaxItems: 5}
	for _, s := range []string{
		`{"type":"operator","filter":{"from":1,"to":4}}`, `{"type":"operator","filter":{"from":0,"to":0}}`,
		`{"type":"validator","filter":{"publicKey":"` + strings.Repeat("aa", 48) + `"}}`, `{"type":"validator","filter":{"from":1,"to":18446744073709551615}}`,
		`{"type":"decided","filter":{"from":1,"to":2,"role":"ATTESTER","publicKey":"` + strings.Repeat("aa", 48) + `"}}`,
		`{"type":"error"}`, `{"type":"x"}`, `{`, ``, `null`, `[]`, `{"type":1}`, `{"filter":{"from":-1}}`, `{"type":"operator"} trailing`,
		`{"type":"validator","filter":{"publicKey":"0x` + strings.Repeat("AA", 48) + `"}}`, "{\"type\":\"\xff\"}", `{"type":"decided","filter":{"role":"\u0000"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		reply, err := q.Reply(context.Background(), "n", frame)
		if err != nil {
			t.Fatalf("internal error on %q: %v", frame, err)
		}
		dec := json.NewDecoder(bytes.NewReader(reply))
		var keys []string
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("reply %s is not an object", reply)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("reply %s: %v", reply, err)
			}
			keys = append(keys, tok.(string))
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				t.Fatalf("reply %s: %v", reply, err)
			}
		}
		if k := strings.Join(keys, ","); k != "type,filter,data" && k != "type,filter" {
			t.Fatalf("reply %s has keys %s", reply, k)
		}
		var m struct {
			Type   string
			Filter map[string]json.RawMessage
			Data   []json.RawMessage
		}
		if err := json.Unmarshal(reply, &m); err != nil {
			t.Fatalf("reply %s: %v", reply, err)
		}
		switch m.Type {
		case TypeOperator, TypeValidator, TypeDecided, TypeError:
		default:
			t.Fatalf("reply type %q to %q", m.Type, frame)
		}
		if _, ok := m.Filter["from"]; !ok {
			t.Fatalf("reply %s has no filter.from", reply)
		}
		if len(m.Data) > 5 {
			t.Fatalf("reply has %d items, MaxItems 5", len(m.Data))
		}
		if m.Type == TypeError && len(m.Data) == 0 {
			t.Fatalf("error reply without data: %s", reply)
		}
	})
}

// TestStreamMessageGone: a change whose item the registry no longer holds
// (a reorg rolled it back) is sent as a removal in the exporter's shape; a
// change of a kind the protocol does not carry sends nothing.
func TestStreamMessageGone(t *testing.T) {
	fake := registrytest.New()
	fake.PutValidator("n", registry.Validator{Index: 3, PublicKey: "0x" + strings.Repeat("aa", 48)})
	for c, want := range map[registry.Change]string{
		{Seq: 1, Kind: "operator", ID: 9}:  `{"type":"operator","filter":{"from":9,"to":9},"data":[{"index":9,"id":9,"removed":true,"gone":true}]}`,
		{Seq: 2, Kind: "validator", ID: 9}: `{"type":"validator","filter":{"from":9,"to":9},"data":[{"index":9,"status":"removed","gone":true}]}`,
		// Index 2 is gone while index 3 is held.
		{Seq: 3, Kind: "validator", ID: 2}: `{"type":"validator","filter":{"from":2,"to":2},"data":[{"index":2,"status":"removed","gone":true}]}`,
	} {
		msg, ok, err := StreamMessage(context.Background(), fake, "n", c)
		if !ok || err != nil || string(msg) != want {
			t.Errorf("%+v: %s %v %v\nwant %s", c, msg, ok, err, want)
		}
	}
	if msg, ok, err := StreamMessage(context.Background(), fake, "n", registry.Change{Seq: 4, Kind: "cluster", ID: 1}); ok || err != nil || msg != nil {
		t.Errorf("cluster change: %s %v %v; want nothing", msg, ok, err)
	}
}

// TestReplyStoreFailure: a failing store answers the exporter's internal
// error strings and reports the failure to log.
func TestReplyStoreFailure(t *testing.T) {
	fake := registrytest.New()
	fake.SetErr(context.DeadlineExceeded)
	q := &Querier{R: fake}
	for req, want := range map[string]string{
		`{"type":"operator","filter":{"from":1,"to":2}}`:  `{"type":"operator","filter":{"from":1,"to":2},"data":["internal error - could not get operators"]}`,
		`{"type":"validator","filter":{"from":1,"to":2}}`: `{"type":"validator","filter":{"from":1,"to":2},"data":["internal error - could not get validators"]}`,
	} {
		got, err := q.Reply(context.Background(), "n", []byte(req))
		if string(got) != want || err == nil {
			t.Errorf("%s: %s, %v; want %s and an error", req, got, err, want)
		}
	}
}
