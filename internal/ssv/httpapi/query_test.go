package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// opJSON is the exact frame data item of fixture operator id.
func opJSON(id uint64) string {
	removed := id == 5
	return fmt.Sprintf(`{"publicKey":"%s","name":"","ownerAddress":"%s","index":%d,"id":%d,"owner":"%s","public_key":"%s","fee":"1000","private":false,"validator_count":1,"removed":%t,"added_block":%d,"updated_block":%d}`,
		opKey(id), ownerA, id, id, ownerA, opKey(id), removed, 10+id, 10+id)
}

func links(ids ...uint64) string {
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf(`{"publicKey":"%s","nodeId":%d}`, opKey(id), id))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

var (
	val1JSON = `{"publicKey":"` + strings.Repeat("aa", 48) + `","operators":` + links(1, 2, 3, 4) + `,"index":1,"public_key":"` + keyX + `","owner":"` + ownerA + `","operator_ids":[1,2,3,4],"cluster_id":"0xc1","status":"active","liquidated":false,"added_block":20,"updated_block":20}`
	val2JSON = `{"publicKey":"` + strings.Repeat("bb", 48) + `","operators":` + links(1, 2, 3, 4) + `,"index":2,"public_key":"` + keyY + `","owner":"` + ownerA + `","operator_ids":[1,2,3,4],"cluster_id":"0xc1","status":"exited","liquidated":false,"added_block":21,"updated_block":25}`
	val3JSON = `{"publicKey":"` + strings.Repeat("aa", 48) + `","operators":` + links(2, 3, 4, 5) + `,"index":3,"public_key":"` + keyX + `","owner":"` + ownerB + `","operator_ids":[2,3,4,5],"cluster_id":"0xc2","status":"active","liquidated":true,"added_block":22,"updated_block":22}`
)

// TestQueryFrames: every request type and filter of /query, and every
// error reply, compared as raw frames (key order included).
func TestQueryFrames(t *testing.T) {
	f := newFixture(t, nil, Options{})
	hexX := strings.Repeat("aa", 48)
	cases := []struct{ name, req, want string }{
		{"operator range", `{"type":"operator","filter":{"from":1,"to":2}}`,
			`{"type":"operator","filter":{"from":1,"to":2},"data":[` + opJSON(1) + `,` + opJSON(2) + `]}`},
		{"operator from 0", `{"type":"operator","filter":{"from":0,"to":1}}`,
			`{"type":"operator","filter":{"from":0,"to":1},"data":[` + opJSON(1) + `]}`},
		{"removed operator is listed", `{"type":"operator","filter":{"from":5,"to":9}}`,
			`{"type":"operator","filter":{"from":5,"to":9},"data":[` + opJSON(5) + `]}`},
		// #550: the exporter listed everything for from = to = 0; there is
		// no operator 0, so nothing.
		{"operator 0..0", `{"type":"operator","filter":{"from":0,"to":0}}`, `{"type":"operator","filter":{"from":0,"to":0}}`},
		{"operator from above to", `{"type":"operator","filter":{"from":3,"to":2}}`, `{"type":"operator","filter":{"from":3,"to":2}}`},
		{"operator beyond", `{"type":"operator","filter":{"from":100,"to":200}}`, `{"type":"operator","filter":{"from":100,"to":200}}`},
		// The legacy exporter's lookup by public key: that operator, the
		// filter echoed (publicKey wins over from/to); an unknown key is
		// its "could not get operators".
		{"operator by key", `{"type":"operator","filter":{"publicKey":"` + opKey(2) + `"}}`,
			`{"type":"operator","filter":{"from":0,"to":0,"publicKey":"` + opKey(2) + `"},"data":[` + opJSON(2) + `]}`},
		{"operator by key, range ignored", `{"type":"operator","filter":{"from":3,"to":4,"publicKey":"` + opKey(1) + `"}}`,
			`{"type":"operator","filter":{"from":3,"to":4,"publicKey":"` + opKey(1) + `"},"data":[` + opJSON(1) + `]}`},
		{"removed operator by key", `{"type":"operator","filter":{"publicKey":"` + opKey(5) + `"}}`,
			`{"type":"operator","filter":{"from":0,"to":0,"publicKey":"` + opKey(5) + `"},"data":[` + opJSON(5) + `]}`},
		{"operator by unknown key", `{"type":"operator","filter":{"publicKey":"bm9wZQ=="}}`,
			`{"type":"operator","filter":{"from":0,"to":0,"publicKey":"bm9wZQ=="},"data":["internal error - could not get operators"]}`},
		{"operator key is case-sensitive (base64)", `{"type":"operator","filter":{"publicKey":"` + strings.ToLower(opKey(2)) + `"}}`,
			`{"type":"operator","filter":{"from":0,"to":0,"publicKey":"` + strings.ToLower(opKey(2)) + `"},"data":["internal error - could not get operators"]}`},
		{"validator range", `{"type":"validator","filter":{"from":1,"to":2}}`,
			`{"type":"validator","filter":{"from":1,"to":2},"data":[` + val1JSON + `,` + val2JSON + `]}`},
		{"validator 0..0", `{"type":"validator","filter":{"from":0,"to":0}}`, `{"type":"validator","filter":{"from":0,"to":0}}`},
		{"validator by key: every registration", `{"type":"validator","filter":{"publicKey":"` + hexX + `"}}`,
			`{"type":"validator","filter":{"from":0,"to":0,"publicKey":"` + hexX + `"},"data":[` + val1JSON + `,` + val3JSON + `]}`},
		{"validator by key with 0x, upper case", `{"type":"validator","filter":{"publicKey":"0x` + strings.ToUpper(hexX) + `"}}`,
			`{"type":"validator","filter":{"from":0,"to":0,"publicKey":"0x` + strings.ToUpper(hexX) + `"},"data":[` + val1JSON + `,` + val3JSON + `]}`},
		{"validator by unknown key", `{"type":"validator","filter":{"publicKey":"` + strings.Repeat("dd", 48) + `"}}`,
			`{"type":"validator","filter":{"from":0,"to":0,"publicKey":"` + strings.Repeat("dd", 48) + `"}}`},
		{"validator key not hex", `{"type":"validator","filter":{"publicKey":"zz"}}`,
			`{"type":"validator","filter":{"from":0,"to":0,"publicKey":"zz"},"data":["internal error - could not read validator key"]}`},
		{"validator key bad size", `{"type":"validator","filter":{"publicKey":"aabb"}}`,
			`{"type":"validator","filter":{"from":0,"to":0,"publicKey":"aabb"},"data":["bad size for the provided public key"]}`},
		{"decided ok: no messages", `{"type":"decided","filter":{"from":10,"to":20,"role":"ATTESTER","publicKey":"` + hexX + `"}}`,
			`{"type":"decided","filter":{"from":10,"to":20,"role":"ATTESTER","publicKey":"` + hexX + `"},"data":["no messages"]}`},
		{"decided key with 0x", `{"type":"decided","filter":{"from":1,"to":2,"role":"ATTESTER","publicKey":"0x` + hexX + `"}}`,
			`{"type":"decided","filter":{"from":1,"to":2,"role":"ATTESTER","publicKey":"0x` + hexX + `"},"data":["internal error - could not read validator key"]}`},
		{"decided no key", `{"type":"decided","filter":{"from":1,"to":2,"role":"ATTESTER"}}`,
			`{"type":"decided","filter":{"from":1,"to":2,"role":"ATTESTER"},"data":["bad size for the provided public key"]}`},
		{"decided short key", `{"type":"decided","filter":{"role":"PROPOSER","publicKey":"aabb"}}`,
			`{"type":"decided","filter":{"from":0,"to":0,"role":"PROPOSER","publicKey":"aabb"},"data":["bad size for the provided public key"]}`},
		{"decided bad role", `{"type":"decided","filter":{"from":1,"to":2,"role":"attester","publicKey":"` + hexX + `"}}`,
			`{"type":"decided","filter":{"from":1,"to":2,"role":"attester","publicKey":"` + hexX + `"},"data":["role doesn't exist"]}`},
		{"decided no role", `{"type":"decided","filter":{"publicKey":"` + hexX + `"}}`,
			`{"type":"decided","filter":{"from":0,"to":0,"publicKey":"` + hexX + `"},"data":["role doesn't exist"]}`},
		{"bad JSON", `{"type":`, `{"type":"error","filter":{"from":0,"to":0},"data":["could not parse network message","unexpected EOF"]}`},
		{"not JSON", `hello`, `{"type":"error","filter":{"from":0,"to":0},"data":["could not parse network message","invalid character 'h' looking for beginning of value"]}`},
		{"negative from", `{"type":"operator","filter":{"from":-1}}`,
			`{"type":"error","filter":{"from":0,"to":0},"data":["could not parse network message","json: cannot unmarshal number -1 into Go struct field MessageFilter.filter.from of type uint64"]}`},
		// The decoder's text names the exporter's types (ssvlabs/ssv
		// exporter/api: Message, MessageFilter, MessageType): these are
		// its replies byte for byte.
		{"type not a string", `{"type":1}`,
			`{"type":"error","filter":{"from":0,"to":0},"data":["could not parse network message","json: cannot unmarshal number into Go struct field Message.type of type api.MessageType"]}`},
		{"filter not an object", `{"filter":"x"}`,
			`{"type":"error","filter":{"from":0,"to":0},"data":["could not parse network message","json: cannot unmarshal string into Go struct field Message.filter of type api.MessageFilter"]}`},
		{"role not a string", `{"type":"decided","filter":{"role":7}}`,
			`{"type":"error","filter":{"from":0,"to":0},"data":["could not parse network message","json: cannot unmarshal number into Go struct field MessageFilter.filter.role of type string"]}`},
		{"data of any type is dropped", `{"type":"error","data":{"a":[1,2]}}`, `{"type":"error","filter":{"from":0,"to":0},"data":["unknown error"]}`},
		{"unknown type", `{"type":"foo","filter":{"from":1,"to":2}}`, `{"type":"error","filter":{"from":0,"to":0},"data":["bad request - unknown message type 'foo'"]}`},
		{"participants is unknown", `{"type":"participants"}`, `{"type":"error","filter":{"from":0,"to":0},"data":["bad request - unknown message type 'participants'"]}`},
		{"no type", `{}`, `{"type":"error","filter":{"from":0,"to":0},"data":["bad request - unknown message type ''"]}`},
		{"error type", `{"type":"error"}`, `{"type":"error","filter":{"from":0,"to":0},"data":["unknown error"]}`},
		{"error type with data", `{"type":"error","data":["x"]}`, `{"type":"error","filter":{"from":0,"to":0},"data":["unknown error"]}`},
	}
	for _, path := range []string{"/api/v1/ssv/" + testNet + "/query", "/query"} {
		c := dial(t, f.srv, path)
		for _, tc := range cases {
			if got := ask(t, c, tc.req); got != tc.want {
				t.Errorf("%s %s: %s\n got %s\nwant %s", path, tc.name, tc.req, got, tc.want)
			}
		}
	}
}

// TestQueryOversizeCloses: a frame above the limit closes the connection
// with 1009 and a reason saying the bound; one at the limit is answered.
func TestQueryOversizeCloses(t *testing.T) {
	f := newFixture(t, nil, Options{QueryMaxBytes: 256})
	c := dial(t, f.srv, "/api/v1/ssv/"+testNet+"/query")
	atLimit := `{"type":"error","data":"` + strings.Repeat("x", 256-len(`{"type":"error","data":""}`)) + `"}`
	if len(atLimit) != 256 {
		t.Fatalf("test frame is %d bytes", len(atLimit))
	}
	if got := ask(t, c, atLimit); got != `{"type":"error","filter":{"from":0,"to":0},"data":["unknown error"]}` {
		t.Fatalf("frame at the limit: %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(atLimit+" ")); err != nil {
		t.Fatal(err)
	}
	_, b, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("after an oversize frame: read %q, %v; want close 1009", b, err)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Reason != "message too big: a /query request is at most 256 bytes" {
		t.Fatalf("close reason %q", ce.Reason)
	}
}

// TestQueryHugeFrameCloses: a frame far above every limit (1 MiB) is not
// buffered whole: the connection closes with 1009.
func TestQueryHugeFrameCloses(t *testing.T) {
	f := newFixture(t, nil, Options{})
	c := dial(t, f.srv, "/query")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 1<<20)))
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("after a 1 MiB frame: %v; want close 1009", err)
	}
}

// TestSinglePathsNeedOneNetwork: /query, /stream and /v1/validators serve
// only when exactly one network is configured; otherwise a 404 names the
// path to use.
func TestSinglePathsNeedOneNetwork(t *testing.T) {
	f := newFixture(t, []string{testNet, "other"}, Options{})
	for _, p := range []string{"/query", "/stream"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+p, nil)
		cancel()
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s with two networks: %v, %v; want 404", p, resp, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/api/v1/ssv/nosuch/query", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown network: %v, %v; want 404", resp, err)
	}
}
