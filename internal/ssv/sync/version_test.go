package sync

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/valtrack/valtrack/internal/ssv/abi"
)

// encodeString is the ABI encoding of a string return value.
func encodeString(v string) hexutil.Bytes {
	out := make([]byte, 64+(len(v)+31)/32*32)
	out[31] = 32
	new(big.Int).SetInt64(int64(len(v))).FillBytes(out[32:64])
	copy(out[64:], v)
	return out
}

var revert = &rpcErr{code: 3, msg: "execution reverted"}

// The version of an upgrade's implementation: asked of the implementation
// at the latest block, else of the proxy at the upgrade's block; unknown
// ("") when the node answers without one, an error (nothing cached) when
// the node cannot be reached; asked once per implementation.
func TestUpgradeVersion(t *testing.T) {
	impl := common.HexToAddress("0x00000000000000000000000000000000000111a1")
	const block = 77
	cases := map[string]struct {
		call    func(to common.Address, block string) (hexutil.Bytes, error)
		want    string
		wantErr bool
		calls   int
	}{
		"implementation answers": {call: func(to common.Address, b string) (hexutil.Bytes, error) {
			if to != impl || b != "latest" {
				return nil, revert
			}
			return encodeString("v2.0.0"), nil
		}, want: "v2.0.0", calls: 1},
		"proxy at the block answers": {call: func(to common.Address, b string) (hexutil.Bytes, error) {
			if to == contract && b == hexutil.EncodeUint64(block) {
				return encodeString("v2.1.0"), nil
			}
			return nil, revert
		}, want: "v2.1.0", calls: 2},
		"pruned state": {call: func(to common.Address, b string) (hexutil.Bytes, error) {
			if to == contract {
				return nil, &rpcErr{code: -32000, msg: "missing trie node 0xabc (path ) state 0xabc is not available"}
			}
			return hexutil.Bytes{}, nil // code without getVersion, or none
		}, want: "", calls: 2},
		"no string in the answers": {call: func(to common.Address, b string) (hexutil.Bytes, error) {
			bad := encodeString("v2.0.0")
			bad[31] = 64 // offset not 32
			if to == contract {
				return append(encodeString("v2\x00"), 0), nil
			}
			return bad, nil
		}, want: "", calls: 2},
		"too long a string": {call: func(common.Address, string) (hexutil.Bytes, error) {
			return encodeString(strings.Repeat("v", 65)), nil
		}, want: "", calls: 2},
		"unreachable": {call: func(common.Address, string) (hexutil.Bytes, error) {
			return nil, errors.New("unused")
		}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newChain(10, nil)
			n := newNode(t, c, 1337)
			n.mu.Lock()
			n.onCall = tc.call
			n.mu.Unlock()
			if tc.wantErr {
				n.fail.Store(true)
			}
			logs := &syncBuf{}
			s, err := New(testConfig(t, &memPublisher{}, logs, n))
			if err != nil {
				t.Fatal(err)
			}
			up := types.Log{Address: contract, BlockNumber: block, Topics: []common.Hash{UpgradedTopic, common.BytesToHash(impl.Bytes())}}
			other := types.Log{Address: contract, BlockNumber: block, Topics: []common.Hash{topicKnown}}
			err = s.resolveVersions(context.Background(), s.eps[0], []types.Log{other, up, up})
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error from an unreachable node")
				}
				if _, cached := s.versions[impl]; cached {
					t.Fatal("a failed resolution was cached")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := s.versions[impl]; !ok || got != tc.want {
				t.Fatalf("version %q (cached %v), want %q", got, ok, tc.want)
			}
			if got := n.count("eth_call"); got != tc.calls {
				t.Fatalf("%d eth_call, want %d (one implementation, asked once)", got, tc.calls)
			}
			if tc.want == "" && !strings.Contains(logs.String(), "version is unknown") {
				t.Fatalf("an unknown version is not logged: %s", logs)
			}
			noSecrets(t, logs)

			// The decoded event carries the version.
			s.cfg.Decoder = abi.Decode
			ev, reason, _ := s.decode(up, s.observer(s.eps[0]))
			if ev == nil {
				t.Fatalf("Upgraded refused: %s", reason)
			}
			var args struct {
				Implementation string  `json:"implementation"`
				Version        *string `json:"version"`
			}
			if err := json.Unmarshal(ev.Args, &args); err != nil || args.Version == nil || *args.Version != tc.want || !strings.EqualFold(args.Implementation, impl.Hex()) {
				t.Fatalf("Upgraded args %s (%v), want implementation %s and version %q", ev.Args, err, impl.Hex(), tc.want)
			}
		})
	}
}

func FuzzABIString(f *testing.F) {
	f.Add([]byte(encodeString("v2.0.0")))
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := abiString(b)
		if !ok {
			return
		}
		if len(s) == 0 || len(s) > maxVersionLen || !strings.HasPrefix(string(b[64:]), s) {
			t.Fatalf("abiString(%x) = %q", b, s)
		}
	})
}
