package rpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

func TestDecodeSlashingParams(t *testing.T) {
	for _, c := range []struct {
		name   string
		in     []byte
		window int64
		min    float64
		err    string
	}{
		{"cosmoshub", rpctest.SlashingParamsResponse(10000, "50000000000000000"), 10000, 0.05, ""},
		{"sdk default", rpctest.SlashingParamsResponse(100, "500000000000000000"), 100, 0.5, ""},
		{"min signed 0", rpctest.SlashingParamsResponse(100, "0"), 100, 0, ""},
		{"min signed 1", rpctest.SlashingParamsResponse(5, "1000000000000000000"), 5, 1, ""},
		{"empty", nil, 0, 0, "no params field"},
		{"window 0", rpctest.SlashingParamsResponse(0, "0"), 0, 0, "not positive"},
		{"negative window", rpctest.SlashingParamsResponse(1<<63, "0"), 0, 0, "not positive"},
		{"share over 1", rpctest.SlashingParamsResponse(100, "1000000000000000001"), 0, 0, "over 1"},
		{"not digits", rpctest.SlashingParamsResponse(100, "0.5"), 0, 0, "not a decimal integer"},
		{"signed", rpctest.SlashingParamsResponse(100, "-5"), 0, 0, "not a decimal integer"},
		{"no min", rpc.ProtoField(1, 2, rpc.ProtoField(1, 0, rpc.ProtoVarint(100))), 0, 0, "no min_signed_per_window"},
		{"truncated", rpctest.SlashingParamsResponse(100, "5")[:5], 0, 0, "length"},
		{"group", rpc.ProtoField(1, 3, nil), 0, 0, "wire type 3"},
		{"window as bytes", rpc.ProtoField(1, 2, rpc.ProtoField(1, 2, []byte("100"))), 0, 0, "field 1 has wire type 2"},
		{"long varint", append([]byte{0x08}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 0, 0, "varint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := rpc.DecodeSlashingParams(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %+v, %v; want an error with %q", p, err, c.err)
				}
				return
			}
			if err != nil || p.SignedBlocksWindow != c.window || p.MinSignedPerWindow != c.min {
				t.Fatalf("got %+v, %v; want %d:%v", p, err, c.window, c.min)
			}
		})
	}
}

func FuzzDecodeSlashingParams(f *testing.F) {
	f.Add(rpctest.SlashingParamsResponse(10000, "50000000000000000"))
	f.Add(rpctest.SlashingParamsResponse(0, "x"))
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := rpc.DecodeSlashingParams(b)
		if err == nil && (p.SignedBlocksWindow < 1 || !(p.MinSignedPerWindow >= 0 && p.MinSignedPerWindow <= 1)) {
			t.Fatalf("accepted %+v", p)
		}
	})
}

func FuzzDecodeABCIQuery(f *testing.F) {
	f.Add(`{"response":{"code":0,"log":"","value":"CgQIZBIB","height":"5"}}`)
	f.Add(`{"response":{"code":"7","value":null}}`)
	f.Add(`{"response":{"code":-1}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := rpc.DecodeABCIQuery([]byte(s))
		if err == nil && len(a.Value) > 1<<20 {
			t.Fatalf("value of %d bytes", len(a.Value))
		}
		// The node's log text reaches our logs and errors: made safe, bounded.
		if err == nil && (len(a.Log) > 256 || !utf8.ValidString(a.Log) || strings.ContainsFunc(a.Log, unicode.IsControl)) {
			t.Fatalf("log %q kept as it came", a.Log)
		}
	})
}

type malformedCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *malformedCounts) add(method, kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[method+"/"+kind]++
}

func (c *malformedCounts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

// abci_query against a node: its params when it has x/slashing; not
// available when the app does not answer the path (kvstore: code 0 and no
// value) or answers with a code; a value that is no QueryParamsResponse
// is an error, counted as malformed.
func TestClientSlashingParams(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	n.Produce(3)
	var bad malformedCounts
	c, err := rpc.NewClient(n.URL(), rpc.ClientOptions{Malformed: bad.add})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if p, err := c.SlashingParams(ctx); !errors.Is(err, rpc.ErrNotAvailable) {
		t.Errorf("kvstore-like answer: %+v, %v; want ErrNotAvailable", p, err)
	}
	n.SetABCIAnswer(6, []byte("x"))
	if _, err := c.SlashingParams(ctx); !errors.Is(err, rpc.ErrNotAvailable) || !strings.Contains(err.Error(), "code 6") {
		t.Errorf("code 6: %v", err)
	}
	n.SetABCIAnswer(0, rpctest.SlashingParamsResponse(10000, "50000000000000000"))
	if p, err := c.SlashingParams(ctx); err != nil || p.SignedBlocksWindow != 10000 || p.MinSignedPerWindow != 0.05 {
		t.Errorf("params %+v, %v", p, err)
	}
	if bad.get("abci_query/wrong_shape") != 0 {
		t.Errorf("counted as malformed: %v", bad.m)
	}
	n.SetABCIAnswer(0, []byte{0x0a, 0x05, 0x08})
	if _, err := c.SlashingParams(ctx); err == nil || errors.Is(err, rpc.ErrNotAvailable) {
		t.Errorf("garbage value: %v", err)
	}
	if bad.get("abci_query/wrong_shape") != 1 {
		t.Errorf("malformed counts %v, want abci_query/wrong_shape 1", bad.m)
	}
}

// A body over MaxResponse, and a /commit of another height, are counted as
// malformed answers of their method.
func TestClientCountsMalformed(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 50))
	defer n.Close()
	n.Produce(3)
	var bad malformedCounts
	c, err := rpc.NewClient(n.URL(), rpc.ClientOptions{MaxResponse: 512, Malformed: bad.add})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ValidatorsPage(context.Background(), 1, 1, 100); err == nil || !strings.Contains(err.Error(), "over 512 bytes") {
		t.Errorf("oversized /validators: %v", err)
	}
	if bad.get("validators/oversize") != 1 {
		t.Errorf("counts %v, want validators/oversize 1", bad.m)
	}
}
