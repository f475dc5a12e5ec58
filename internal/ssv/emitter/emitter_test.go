package emitter

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
)

// RuntimeHex pins the runtime code that doc.go lists.
const RuntimeHex = "3461004d5760003560f81c600581101561004d578060051b60010180361061004d578036039081906000379060050261003401565b610052565b610058565b610061565b61006d565b61007c565b600080fd5b806000a0005b600135816000a1005b602135600135826000a2005b604135602135600135836000a3005b606135604135602135600135846000a400"

func TestRuntimeMatchesListing(t *testing.T) {
	if got := hex.EncodeToString(Runtime); got != RuntimeHex {
		t.Fatalf("runtime code changed; update doc.go's listing (Listing(Runtime)) and RuntimeHex:\n%s\n%s", got, Listing(Runtime))
	}
	if len(Init) != 13+len(Runtime) || !bytes.Equal(Init[13:], Runtime) {
		t.Fatalf("Init does not end with the runtime: %x", Init)
	}
	// The listing's labels are where doc.go says.
	want := map[string]int{"table": 0x34, "revert": 0x4d, "log0": 0x52, "log1": 0x58, "log2": 0x61, "log3": 0x6d, "log4": 0x7c}
	for l, pc := range want {
		if Labels[l] != pc {
			t.Errorf("label %s at %#x, doc.go says %#x", l, Labels[l], pc)
		}
		if Runtime[pc] != opJUMPDEST {
			t.Errorf("label %s at %#x is not a JUMPDEST", l, pc)
		}
	}
	if !strings.Contains(Listing(Runtime), "log4:\n  7c  5b       JUMPDEST") {
		t.Errorf("listing does not label log4:\n%s", Listing(Runtime))
	}
}

func TestCalldata(t *testing.T) {
	t1, t2 := common.HexToHash("0x01"), common.HexToHash("0x02")
	got, err := Calldata([]common.Hash{t1, t2}, []byte{0xaa, 0xbb})
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{2}, t1[:]...), t2[:]...), 0xaa, 0xbb)
	if !bytes.Equal(got, want) {
		t.Fatalf("Calldata = %x, want %x", got, want)
	}
	if _, err := Calldata(make([]common.Hash, 5), nil); err == nil {
		t.Fatal("Calldata took 5 topics")
	}
}

type chain struct {
	sim    *simulated.Backend
	client simulated.Client
	key    *ecdsa.PrivateKey
	from   common.Address
	nonce  uint64
	signer types.Signer
}

func newChain(t *testing.T) *chain {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	balance := new(big.Int).Lsh(big.NewInt(1), 100)
	sim := simulated.NewBackend(types.GenesisAlloc{from: {Balance: balance}})
	t.Cleanup(func() { sim.Close() })
	c := sim.Client()
	id, err := c.ChainID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &chain{sim: sim, client: c, key: key, from: from, signer: types.LatestSignerForChainID(id)}
}

// send signs and sends a transaction (to nil: a deployment), commits a
// block and returns its receipt.
func (c *chain) send(t *testing.T, to *common.Address, value *big.Int, data []byte, gas uint64) *types.Receipt {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if value == nil {
		value = new(big.Int)
	}
	tx := types.MustSignNewTx(c.key, c.signer, &types.DynamicFeeTx{
		ChainID: c.signer.ChainID(), Nonce: c.nonce, To: to, Value: value, Data: data, Gas: gas,
		GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9),
	})
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		t.Fatalf("send transaction: %v", err)
	}
	c.nonce++
	c.sim.Commit()
	r, err := c.client.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatalf("receipt of %s: %v", tx.Hash(), err)
	}
	return r
}

func TestEmitterOnSimulatedChain(t *testing.T) {
	c := newChain(t)
	r := c.send(t, nil, nil, Init, 200_000)
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("deployment failed: %+v", r)
	}
	addr := r.ContractAddress
	code, err := c.client.CodeAt(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(code, Runtime) {
		t.Fatalf("deployed code %x, want the runtime %x", code, Runtime)
	}

	long := bytes.Repeat([]byte{0x5a, 0x00, 0xff}, 700) // 2100 bytes, several memory words
	for n := 0; n <= MaxTopics; n++ {
		for _, data := range [][]byte{nil, {0x42}, long} {
			topics := make([]common.Hash, n)
			for i := range topics {
				topics[i] = crypto.Keccak256Hash([]byte{byte(n), byte(i)})
			}
			in, err := Calldata(topics, data)
			if err != nil {
				t.Fatal(err)
			}
			r := c.send(t, &addr, nil, in, Gas(in))
			if r.Status != types.ReceiptStatusSuccessful {
				t.Fatalf("%d topics, %d data bytes: call failed (gas used %d of %d)", n, len(data), r.GasUsed, Gas(in))
			}
			if len(r.Logs) != 1 {
				t.Fatalf("%d topics, %d data bytes: %d logs, want 1", n, len(data), len(r.Logs))
			}
			l := r.Logs[0]
			if l.Address != addr {
				t.Errorf("log from %s, want the emitter %s", l.Address, addr)
			}
			if len(l.Topics) != n {
				t.Fatalf("%d topics asked, log has %d", n, len(l.Topics))
			}
			for i := range topics {
				if l.Topics[i] != topics[i] {
					t.Errorf("%d topics: topic %d = %s, want %s", n, i, l.Topics[i], topics[i])
				}
			}
			if !bytes.Equal(l.Data, data) {
				t.Errorf("%d topics: data %x…(%d bytes), want %d bytes", n, l.Data[:min(8, len(l.Data))], len(l.Data), len(data))
			}
		}
	}

	one := common.HexToHash("0x11")
	malformed := map[string][]byte{
		"empty":              nil,
		"5 topics":           append([]byte{5}, bytes.Repeat(one[:], 5)...),
		"count 0xff":         append([]byte{0xff}, bytes.Repeat(one[:], 8)...),
		"2 topics, 1 given":  append([]byte{2}, one[:]...),
		"1 topic, cut short": append([]byte{1}, one[:31]...),
	}
	for name, in := range malformed {
		r := c.send(t, &addr, nil, in, 100_000)
		if r.Status != types.ReceiptStatusFailed || len(r.Logs) != 0 {
			t.Errorf("%s: status %d with %d logs, want a revert", name, r.Status, len(r.Logs))
		}
	}
	in, _ := Calldata(nil, []byte{1})
	if r := c.send(t, &addr, big.NewInt(1), in, 100_000); r.Status != types.ReceiptStatusFailed {
		t.Errorf("a call with ether succeeded, want a revert")
	}
}
