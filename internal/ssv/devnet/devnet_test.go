package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/shares"
)

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func startDevnet(t *testing.T, o Options) *Devnet {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(tWriter{t}, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	d, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("started in %s", time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { d.Close() })
	return d
}

// topic0 of the events, as keccak256 of their signatures (research
// ssv.md §2.2 lists the same hashes).
var topicNames = map[common.Hash]string{
	common.HexToHash("0xd839f31c14bd632f424e307b36abff63ca33684f77f28e35dc13718ef338f7f4"): "OperatorAdded",
	common.HexToHash("0x0e0ba6c2b04de36d6d509ec5bd155c43a9fe862f8052096dd54f3902a74cca3e"): "OperatorRemoved",
	common.HexToHash("0x796204296f2eb56d7432fa85961e9750d0cb21741873ebf7077e28263e327358"): "OperatorFeeDeclared",
	common.HexToHash("0x513e931ff778ed01e676d55880d8db185c29b0094546ff2b3e9f5b6920d16bef"): "OperatorFeeExecuted",
	common.HexToHash("0x259235c230d57def1521657e7c7951d3b385e76193378bc87ef6b56bc2ec3548"): "FeeRecipientAddressUpdated",
	common.HexToHash("0x48a3ea0796746043948f6341d17ff8200937b99262a0b48c2663b951ed7114e5"): "ValidatorAdded",
	common.HexToHash("0xccf4370403e5fbbde0cd3f13426479dcd8a5916b05db424b7a2c04978cf8ce6e"): "ValidatorRemoved",
	common.HexToHash("0xb4b20ffb2eb1f020be3df600b2287914f50c07003526d3a9d89a9dd12351828c"): "ValidatorExited",
	common.HexToHash("0x1fce24c373e07f89214e9187598635036111dbb363e99f4ce498488cdc66e688"): "ClusterLiquidated",
	common.HexToHash("0xc803f8c01343fcdaf32068f4c283951623ef2b3fa0c547551931356f456b6859"): "ClusterReactivated",
	common.HexToHash("0x39d1320bbda24947e77f3560661323384aa0a1cb9d5e040e617e5cbf50b6dbe0"): "ClusterWithdrawn",
	common.HexToHash("0x2bac1912f2481d12f0df08647c06bee174967c62d3a03cbc078eb215dc1bd9a2"): "ClusterDeposited",
	// ERC-1967's Upgraded(address), the proxy's.
	common.HexToHash("0xbc7cd75a20ee27fd9adebab32041f755214dbc6bffa90cc0225b39da2e5c2d3b"): "Upgraded",
}

func TestDevnet(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	dir := t.TempDir()
	d := startDevnet(t, Options{Dir: dir, BlockInterval: 200 * time.Millisecond, EventEvery: 2})
	info, err := ReadInfo(dir)
	if err != nil {
		t.Fatalf("read ssv.json: %v", err)
	}
	if info != d.Info() {
		t.Fatalf("ssv.json %+v, Info() %+v", info, d.Info())
	}
	b, _ := os.ReadFile(filepath.Join(dir, InfoFile))
	t.Logf("ssv.json: %s", b)
	for _, u := range []string{info.RPCHTTP, info.RPCWS} {
		pu, err := url.Parse(u)
		if err != nil || !strings.HasPrefix(pu.Host, "127.0.0.1:") {
			t.Fatalf("RPC URL %q is not on 127.0.0.1", u)
		}
	}
	if info.Network != "devnet" || info.ChainID != 1337 || info.FromBlock == 0 || !common.IsHexAddress(info.Contract) {
		t.Fatalf("ssv.json: %+v", info)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	hc, err := ethclient.DialContext(ctx, info.RPCHTTP)
	if err != nil {
		t.Fatalf("dial %s: %v", info.RPCHTTP, err)
	}
	defer hc.Close()

	// The history, over HTTP eth_getLogs.
	truth, err := ReadTruth(dir)
	if err != nil {
		t.Fatalf("read truth.json: %v", err)
	}
	logs, err := hc.FilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{common.HexToAddress(info.Contract)},
		FromBlock: new(big.Int).SetUint64(info.FromBlock), ToBlock: new(big.Int).SetUint64(truth.Block),
	})
	if err != nil {
		t.Fatalf("eth_getLogs: %v", err)
	}
	seen := map[string]int{}
	keys := map[uint64]string{} // operator id → public key, decoded
	nonces := map[common.Address]uint64{}
	var valid []string // public keys of the valid registrations
	// tuples is each cluster's tuple in the last event about it, as on
	// chain; a ValidatorAdded, valid or not, counts one more validator
	// than the tuple before it (the contract does not look at shares).
	tuples := map[string]abi.Cluster{}
	for _, l := range logs {
		name, ok := topicNames[l.Topics[0]]
		if !ok {
			t.Fatalf("log %d of block %d: unknown topic0 %s", l.Index, l.BlockNumber, l.Topics[0])
		}
		decoded, args, err := abi.Decode(l)
		if err != nil || decoded != name {
			t.Fatalf("log %d of block %d: abi.Decode = %s, %v; want %s", l.Index, l.BlockNumber, decoded, err, name)
		}
		if name == "ValidatorAdded" {
			// The node's checks, nonce counted from the chain: the valid
			// registrations are truth.json's validators.
			p, err := abi.Parse(name, args)
			if err != nil {
				t.Fatalf("parse ValidatorAdded: %v", err)
			}
			va := p.(*abi.ValidatorAdded)
			nonce := nonces[va.Owner]
			nonces[va.Owner]++
			if shares.Check(va.Owner, nonce, va.PublicKey, va.OperatorIDs, va.Shares) == nil {
				valid = append(valid, va.PublicKey.String())
			}
		}
		if c, ok := tupleOf(t, name, args); ok {
			if prev := tuples[c.id]; name == "ValidatorAdded" && c.tuple.ValidatorCount != prev.ValidatorCount+1 {
				t.Errorf("ValidatorAdded at block %d: cluster %s counts %d validators after %d", l.BlockNumber, c.id, c.tuple.ValidatorCount, prev.ValidatorCount)
			}
			tuples[c.id] = c.tuple
		}
		if name == "Upgraded" {
			// The implementation answers getVersion() as SSVNetwork's do:
			// the ABI-encoded version string, on its own address.
			impl := common.BytesToAddress(l.Topics[1][12:])
			out, err := hc.CallContract(ctx, ethereum.CallMsg{To: &impl, Data: crypto.Keccak256([]byte("getVersion()"))[:4]}, nil)
			if err != nil {
				t.Fatalf("getVersion() on %s: %v", impl, err)
			}
			if want := abiString(ImplementationVersion); !bytes.Equal(out, want) || len(out) != 96 || out[63] != byte(len(ImplementationVersion)) {
				t.Fatalf("getVersion() on %s = %x, want %x", impl, out, want)
			}
			if truth.ContractVersion != ImplementationVersion || truth.V2Block != l.BlockNumber {
				t.Fatalf("truth.json: contract version %q from block %d, want %q from %d", truth.ContractVersion, truth.V2Block, ImplementationVersion, l.BlockNumber)
			}
		}
		if name == "OperatorAdded" {
			p, err := abi.Parse(name, args)
			if err != nil {
				t.Fatalf("parse OperatorAdded: %v", err)
			}
			op := p.(*abi.OperatorAdded)
			keys[op.OperatorID] = op.PublicKey
		}
		seen[name]++
	}
	if len(logs) != truth.Logs {
		t.Errorf("eth_getLogs returned %d logs up to block %d, truth.json says %d", len(logs), truth.Block, truth.Logs)
	}
	for _, name := range topicNames {
		if seen[name] == 0 || seen[name] != truth.Events[name] {
			t.Errorf("%s: %d logs, truth.json counts %d", name, seen[name], truth.Events[name])
		}
	}
	t.Logf("history: %d logs to block %d: %v", len(logs), truth.Block, seen)

	// truth.json.
	if len(truth.Operators) != scriptOperators {
		t.Errorf("%d operators, want %d", len(truth.Operators), scriptOperators)
	}
	removedOps := 0
	for _, op := range truth.Operators {
		if keys[op.ID] != op.PublicKey {
			t.Errorf("operator %d: OperatorAdded carries key %.40s…, truth.json %.40s…", op.ID, keys[op.ID], op.PublicKey)
		}
		if op.Removed {
			removedOps++
		}
		if !strings.HasPrefix(op.PublicKey, "LS0tLS1CRUdJTiBSU0EgUFVCTElDIEtFWS0tLS0t") { // base64 of -----BEGIN RSA PUBLIC KEY-----
			t.Errorf("operator %d's key is not a base64 PEM RSA key: %.40s…", op.ID, op.PublicKey)
		}
	}
	if removedOps != 1 {
		t.Errorf("%d operators removed, want 1", removedOps)
	}
	if op1 := truth.Operators[0]; op1.Fee != "2000000000" || op1.PendingFee != "" {
		t.Errorf("operator 1 fee %s (pending %q), want 2000000000 executed", op1.Fee, op1.PendingFee)
	}
	status := map[string]int{}
	if len(valid) != len(truth.Validators) {
		t.Errorf("%d registrations pass the node's checks, truth.json has %d validators", len(valid), len(truth.Validators))
	}
	for i, v := range truth.Validators {
		if i < len(valid) && valid[i] != v.PublicKey {
			t.Errorf("validator %d: %s in truth.json, %s on chain", v.Index, v.PublicKey, valid[i])
		}
		status[v.Status]++
	}
	if len(truth.Validators) != 5 || status[registry.StatusActive] != 3 || status[registry.StatusExited] != 1 || status[registry.StatusRemoved] != 1 {
		t.Errorf("validators %d by status %v, want 5: 3 active, 1 exited, 1 removed", len(truth.Validators), status)
	}
	if len(truth.Invalid) != 2 {
		t.Fatalf("%d invalid registrations, want 2: %+v", len(truth.Invalid), truth.Invalid)
	}
	for _, inv := range truth.Invalid {
		if inv.TxHash == "" || inv.Block == 0 || inv.Reason == "" {
			t.Errorf("invalid registration without its place or reason: %+v", inv)
		}
		t.Logf("invalid: %s nonce %d: %s", inv.Owner, inv.Nonce, inv.Reason)
	}
	if !strings.HasPrefix(truth.Invalid[0].Reason, "signature verification failed") || !strings.Contains(truth.Invalid[1].Reason, "3f+1") {
		t.Errorf("reasons %q, %q: want a bad signature, then a 3-operator committee", truth.Invalid[0].Reason, truth.Invalid[1].Reason)
	}
	liquidated := 0
	for _, c := range truth.Clusters {
		if !c.Active {
			liquidated++
		}
	}
	// Alice's 1–4 and 1–7, bob's 5–8, and carol's 1–3, which only her
	// refused registration made.
	if len(truth.Clusters) != 4 || liquidated != 1 {
		t.Errorf("%d clusters, %d liquidated; want 4, 1", len(truth.Clusters), liquidated)
	}
	// truth.json's clusters are the tuples of the chain's last events.
	if len(tuples) != len(truth.Clusters) {
		t.Errorf("%d clusters on chain, %d in truth.json", len(tuples), len(truth.Clusters))
	}
	for _, c := range truth.Clusters {
		on, ok := tuples[c.ID]
		if !ok || on.ValidatorCount != c.ValidatorCount || on.Balance != c.Balance || on.Active != c.Active || on.Index != c.Index || on.NetworkFeeIndex != c.NetworkFeeIndex {
			t.Errorf("cluster %s: truth.json %+v, last tuple on chain %+v", c.ID, c, on)
		}
	}
	// Bob's 5–8 counts its refused registration: keys 2, 4 (refused) and 6.
	if c := tuples[clusterID(account("owner bob"), five8)]; c.ValidatorCount != 3 {
		t.Errorf("bob's cluster on chain: %+v; want 3 validators (one refused by the node)", c)
	}
	// Owners' nonces in truth.json are those counted from the chain.
	for _, o := range truth.Owners {
		if n := nonces[common.HexToAddress(o.Address)]; n != o.Nonce {
			t.Errorf("owner %s: nonce %d in truth.json, %d ValidatorAdded on chain", o.Address, o.Nonce, n)
		}
	}
	if len(truth.Owners) != 3 || nonces[account("owner alice")] != 3 || nonces[account("owner bob")] != 3 || nonces[account("owner carol")] != 1 {
		t.Errorf("owners %+v: want alice 3, bob 3, carol 1", truth.Owners)
	}
	// The invalid registration's log is where truth.json says.
	inv := truth.Invalid[0]
	r, err := hc.TransactionReceipt(ctx, common.HexToHash(inv.TxHash))
	if err != nil || r.BlockNumber.Uint64() != inv.Block || len(r.Logs) != 1 || r.Logs[0].Index != inv.LogIndex {
		t.Errorf("invalid registration %+v; receipt %+v, %v", inv, r, err)
	}

	// eth_getBlockByNumber and eth_getBlockReceipts over HTTP.
	blk, err := hc.BlockByNumber(ctx, new(big.Int).SetUint64(inv.Block))
	if err != nil {
		t.Fatalf("eth_getBlockByNumber: %v", err)
	}
	var receipts []*types.Receipt
	if err := hc.Client().CallContext(ctx, &receipts, "eth_getBlockReceipts", rpc.BlockNumber(inv.Block)); err != nil {
		t.Fatalf("eth_getBlockReceipts: %v", err)
	}
	if len(receipts) != len(blk.Transactions()) || len(receipts) == 0 {
		t.Errorf("block %d: %d transactions, %d receipts", inv.Block, len(blk.Transactions()), len(receipts))
	}

	// WebSocket newHeads.
	wc, err := ethclient.DialContext(ctx, info.RPCWS)
	if err != nil {
		t.Fatalf("dial %s: %v", info.RPCWS, err)
	}
	heads := make(chan *types.Header, 16)
	sub, err := wc.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatalf("eth_subscribe newHeads: %v", err)
	}
	var last uint64
	for i := 0; i < 3; i++ {
		select {
		case h := <-heads:
			if h.Number.Uint64() <= last {
				t.Errorf("head %d after %d", h.Number, last)
			}
			last = h.Number.Uint64()
		case err := <-sub.Err():
			t.Fatalf("newHeads subscription: %v", err)
		case <-ctx.Done():
			t.Fatal("no new heads on the WebSocket")
		}
	}
	sub.Unsubscribe()
	wc.Close()

	// New events keep coming: wait for a new validator in truth.json and
	// its log over HTTP.
	for {
		now, err := ReadTruth(dir)
		if err != nil {
			t.Fatalf("read truth.json: %v", err)
		}
		if len(now.Validators) > len(truth.Validators) && now.Logs > truth.Logs {
			logs, err := hc.FilterLogs(ctx, ethereum.FilterQuery{
				Addresses: []common.Address{common.HexToAddress(info.Contract)},
				FromBlock: new(big.Int).SetUint64(truth.Block + 1), ToBlock: new(big.Int).SetUint64(now.Block),
			})
			if err != nil {
				t.Fatalf("eth_getLogs: %v", err)
			}
			if len(logs) != now.Logs-truth.Logs {
				t.Errorf("%d new logs to block %d, truth.json counts %d", len(logs), now.Block, now.Logs-truth.Logs)
			}
			t.Logf("block %d: %d validators, %d new logs", now.Block, len(now.Validators), len(logs))
			break
		}
		if err := d.Err(); err != nil {
			t.Fatalf("devnet stopped: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("no new validator after the history")
		case <-time.After(100 * time.Millisecond):
		}
	}
	hc.Close()

	// Close frees the port and stops the goroutines.
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	host := strings.TrimPrefix(info.RPCHTTP, "http://")
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Close", host)
	}
	ln, err := net.Listen("tcp", host)
	if err != nil {
		t.Errorf("port %s not free after Close: %v", host, err)
	} else {
		ln.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before Start:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
	var final Truth
	b, _ = os.ReadFile(filepath.Join(dir, TruthFile))
	if err := json.Unmarshal(b, &final); err != nil {
		t.Fatalf("truth.json after Close: %v", err)
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{{}, {Dir: "x", BlockInterval: time.Millisecond}, {Dir: "x", EventEvery: -1},
		{Dir: "x", HistoryValidators: -1}, {Dir: "x", HistoryPerBlock: MaxHistoryPerBlock + 1}} {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestHistoryValidators: Options.HistoryValidators are on chain after the
// scripted history, perBlock a block, and every one passes the node's
// checks at the owner's nonce counted from the chain.
func TestHistoryValidators(t *testing.T) {
	dir := t.TempDir()
	const n, perBlock = 25, 10
	d := startDevnet(t, Options{Dir: dir, BlockInterval: time.Hour, HistoryValidators: n, HistoryPerBlock: perBlock})
	truth := d.Truth()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hc, err := ethclient.DialContext(ctx, d.Info().RPCHTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Close()
	logs, err := hc.FilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{common.HexToAddress(d.Info().Contract)},
		FromBlock: new(big.Int).SetUint64(truth.Block - 2), ToBlock: new(big.Int).SetUint64(truth.Block),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != n {
		t.Fatalf("the last 3 blocks hold %d logs, want the %d history validators", len(logs), n)
	}
	nonces := map[common.Address]uint64{}
	for i, l := range logs {
		name, args, err := abi.Decode(l)
		if err != nil || name != "ValidatorAdded" {
			t.Fatalf("log %d: %s, %v", i, name, err)
		}
		p, err := abi.Parse(name, args)
		if err != nil {
			t.Fatal(err)
		}
		va := p.(*abi.ValidatorAdded)
		nonce := nonces[va.Owner]
		nonces[va.Owner]++
		if err := shares.Check(va.Owner, nonce, va.PublicKey, va.OperatorIDs, va.Shares); err != nil {
			t.Errorf("history validator %d (block %d): %v", i, l.BlockNumber, err)
		}
	}
	if want := 5 + n; len(truth.Validators) != want || len(truth.Invalid) != 2 || truth.Events["ValidatorAdded"] != 7+n {
		t.Errorf("truth: %d validators (want %d), %d invalid, %d ValidatorAdded", len(truth.Validators), want, len(truth.Invalid), truth.Events["ValidatorAdded"])
	}
}

// eventCluster is an event's cluster: its id and tuple.
type eventCluster struct {
	id    string
	tuple abi.Cluster
}

// tupleOf reads the cluster of a decoded event that carries one (false:
// the event has none).
func tupleOf(t *testing.T, name string, args json.RawMessage) (eventCluster, bool) {
	t.Helper()
	var a struct {
		Owner       common.Address `json:"owner"`
		OperatorIDs abi.Uint64s    `json:"operatorIds"`
		Cluster     *abi.Cluster   `json:"cluster"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		t.Fatalf("read the args of %s: %v", name, err)
	}
	if a.Cluster == nil {
		return eventCluster{}, false
	}
	return eventCluster{clusterID(a.Owner, a.OperatorIDs), *a.Cluster}, true
}

// TestStartRefusesARunningDevnet: a second devnet on the directory of one
// that runs is refused and leaves its ssv.json and truth.json alone; once
// the first stops, its files are stale and a new devnet replaces them.
func TestStartRefusesARunningDevnet(t *testing.T) {
	dir := t.TempDir()
	first := startDevnet(t, Options{Dir: dir, BlockInterval: time.Hour})
	before, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	second, err := Start(ctx, Options{Dir: dir, BlockInterval: time.Hour, Log: slog.New(slog.NewTextHandler(tWriter{t}, nil))})
	if err == nil {
		second.Close()
		t.Fatal("a second devnet started on the directory of a running one")
	}
	for _, want := range []string{"a devnet is already running in " + dir, "stop it first, or give another directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	after, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil {
		t.Fatalf("ssv.json after the refused start: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("the refused start changed ssv.json:\n%s\nto\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, TruthFile)); err != nil {
		t.Fatalf("truth.json after the refused start: %v", err)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third := startDevnet(t, Options{Dir: dir, BlockInterval: time.Hour})
	info, err := ReadInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info != third.Info() || info.RPCHTTP == first.Info().RPCHTTP {
		t.Fatalf("ssv.json %+v after a restart on a stopped devnet's directory, want the new devnet's %+v", info, third.Info())
	}
}
