package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/valtrack/valtrack/internal/ssv/beacon/beacontest"
	"github.com/valtrack/valtrack/internal/ssv/devnet"
	ssvregistry "github.com/valtrack/valtrack/internal/ssv/registry"
)

// TestSSVDevnetEndToEnd runs valtrack against the SSV devnet (a real
// go-ethereum node with the SSVNetwork events emitted by a contract of our
// own): after the sync the registry equals the devnet's truth.json; a new
// registration reaches /stream within two blocks of the follow distance;
// a restart resumes from its cursor (what it reads and publishes then is
// checked by TestSSVDevnetRestartResumes).
func TestSSVDevnetEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := startSSVDevnet(ctx, t)
	info := dn.Info()
	truths := watchTruth(ctx, dn)
	// A beacon node's validators endpoint on loopback (no beacon node runs
	// here), knowing the keys the devnet registered by then: the beacon
	// analyzer's states reach /v1/validators.
	bn := beacontest.New(t)
	truth := dn.Truth()
	beaconIndex := map[string]uint64{}
	for i, v := range truth.Validators {
		beaconIndex[v.PublicKey] = uint64(1000 + i)
		bn.Put(v.PublicKey, beacontest.Validator{Index: uint64(1000 + i), Status: "active_ongoing", Balance: 32_000_000_000, ActivationEpoch: 3, ExitEpoch: ^uint64(0)})
	}
	data, addr := t.TempDir(), freeAddr(t)
	args := []string{"run", "--ssv-dir", dn.Dir(), "--data-dir", data, "--http", addr, "--progress-every", "0", "--ssv-follow-distance", "2",
		"--ssv-beacon", bn.URL, "--ssv-beacon-every", "10s"}
	c := startChild(t, args...)

	waitSynced(t, c, addr, truth.Block, time.Minute)
	compareAtServedBlock(t, addr, truths, 30*time.Second)
	waitBeacon(t, c, addr, truth, beaconIndex, 45*time.Second)

	// /stream: a registration the devnet makes from now on reaches a
	// client within two blocks of the follow distance.
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	conn, _, err := websocket.Dial(wctx, "ws://"+addr+"/api/v1/ssv/devnet/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	eth, err := ethclient.Dial(info.RPCHTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	for {
		_, frame, err := conn.Read(wctx)
		if err != nil {
			t.Fatalf("no validator on /stream: %v", err)
		}
		var m struct {
			Type string `json:"type"`
			Data []struct {
				AddedBlock uint64 `json:"added_block"`
			} `json:"data"`
		}
		if json.Unmarshal(frame, &m) != nil || m.Type != "validator" || len(m.Data) == 0 {
			continue
		}
		head, err := eth.BlockNumber(wctx)
		if err != nil {
			t.Fatal(err)
		}
		if added := m.Data[0].AddedBlock; added > truth.Block && head > added+2+2 {
			t.Errorf("a validator added at block %d reached /stream at head %d: more than 2 blocks after the follow distance (2)", added, head)
		}
		if m.Data[0].AddedBlock > truth.Block {
			break
		}
	}

	// Restart: the sentry resumes from its cursor, and nothing is doubled.
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := c.waitExit(t, time.Minute); code != 0 && code != 130 {
		t.Fatalf("valtrack exited %d:\n%s", code, c.output())
	}
	c2 := startChild(t, args...)
	c2.waitOutput(t, "resumed=true", 30*time.Second)
	truth = dn.Truth()
	waitSynced(t, c2, addr, truth.Block, time.Minute)
	compareAtServedBlock(t, addr, truths, 30*time.Second)
	// The history's clusters predate the devnet's upgrade to v2, the live
	// ones (dave's) follow it: the comparison covered both tokens.
	tokens := map[string]int{}
	for _, c := range truth.Clusters {
		tokens[c.FeeToken]++
	}
	if tokens["ETH"] == 0 || tokens["SSV"] == 0 {
		t.Errorf("truth.json's clusters by fee token %v: want some of each", tokens)
	}
}

// startSSVDevnet starts the SSV devnet for an end-to-end test (skipped
// with -short): blocks every 500 ms, new events every 4th, stopped when
// the test ends.
func startSSVDevnet(ctx context.Context, t *testing.T) *devnet.Devnet {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a go-ethereum devnet")
	}
	dn, err := devnet.Start(ctx, devnet.Options{Dir: filepath.Join(t.TempDir(), "ssv"), BlockInterval: 500 * time.Millisecond, EventEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dn.Close() })
	return dn
}

// waitBeacon waits until the SSV node's /v1/validators answers the beacon
// node's index and status of a registered validator, and finds it by its
// index.
func waitBeacon(t *testing.T, c *child, addr string, truth devnet.Truth, index map[string]uint64, within time.Duration) {
	t.Helper()
	var key string
	for _, v := range truth.Validators {
		if v.Status != ssvregistry.StatusRemoved {
			key = v.PublicKey
			break
		}
	}
	if key == "" {
		t.Fatal("truth.json has no registered validator")
	}
	q := fmt.Sprintf("/api/v1/ssv/devnet/node/v1/validators?indices=%d", index[key])
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		var got struct {
			Data []struct {
				PublicKey string `json:"public_key"`
				Index     uint64 `json:"index"`
				Status    string `json:"status"`
			} `json:"data"`
		}
		if getAPI(t, addr, q, &got) && len(got.Data) > 0 {
			d := got.Data[0]
			if "0x"+d.PublicKey != key || d.Index != index[key] || d.Status != "active_ongoing" {
				t.Fatalf("%s: %+v, want %s at index %d, active_ongoing", q, got.Data, key, index[key])
			}
			return
		}
		select {
		case <-c.done:
			t.Fatalf("valtrack exited:\n%s", c.output())
		default:
		}
	}
	t.Fatalf("%s did not answer the beacon node's state within %s:\n%s", q, within, c.output())
}

func waitSynced(t *testing.T, c *child, addr string, block uint64, within time.Duration) {
	t.Helper()
	waitSyncMode(t, c, addr, block, "", within)
}

// waitSyncMode waits until /sync shows the registry at block or past it
// and, unless mode is "", the sentry in that mode.
func waitSyncMode(t *testing.T, c *child, addr string, block uint64, mode string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var s ssvregistry.Sync
		if getAPI(t, addr, "/api/v1/ssv/devnet/sync", &s) && s.LastBlock >= block && (mode == "" || s.Mode == mode) {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("valtrack exited:\n%s", c.output())
		default:
		}
	}
	t.Fatalf("registry not synced to block %d (mode %q) within %s:\n%s", block, mode, within, c.output())
}

// compareRegistry checks the served registry against truth.json as of its
// block, both ways: everything truth.json holds is served as it says, and
// nothing is served that it lacks. What changed after that block (the
// devnet goes on) is not compared.
func compareRegistry(t testing.TB, addr string, truth devnet.Truth) {
	t.Helper()
	var ops struct {
		Operators []ssvregistry.Operator `json:"operators"`
	}
	if !getAPI(t, addr, "/api/v1/ssv/devnet/operators?limit=1000", &ops) {
		t.Fatal("GET operators failed")
	}
	got := map[uint64]ssvregistry.Operator{}
	for _, o := range ops.Operators {
		got[o.ID] = o
	}
	wantOps := map[uint64]bool{}
	for _, want := range truth.Operators {
		wantOps[want.ID] = true
		o, ok := got[want.ID]
		if !ok {
			t.Errorf("operator %d of truth.json is not served", want.ID)
			continue
		}
		if o.UpdatedBlock > truth.Block {
			continue
		}
		if o.Owner != want.Owner || o.PublicKey != want.PublicKey || o.Fee != want.Fee || o.Removed != want.Removed || o.ValidatorCount != want.ValidatorCount {
			t.Errorf("operator %d: served %+v, truth %+v", want.ID, o, want)
		}
	}
	for _, o := range ops.Operators {
		if !wantOps[o.ID] && o.AddedBlock <= truth.Block {
			t.Errorf("operator %d is served (added at block %d) but not in truth.json (block %d)", o.ID, o.AddedBlock, truth.Block)
		}
	}
	var vals struct {
		Validators []ssvregistry.Validator `json:"validators"`
	}
	if !getAPI(t, addr, "/api/v1/ssv/devnet/validators?limit=1000", &vals) {
		t.Fatal("GET validators failed")
	}
	byKey := map[string]ssvregistry.Validator{}
	seen := map[uint64]bool{}
	for _, v := range vals.Validators {
		byKey[strings.ToLower(v.PublicKey)+"/"+v.Owner] = v
		if seen[v.Index] {
			t.Errorf("validator index %d served twice", v.Index)
		}
		seen[v.Index] = true
	}
	wantVals := map[string]bool{}
	for _, want := range truth.Validators {
		k := strings.ToLower(want.PublicKey) + "/" + want.Owner
		wantVals[k] = true
		v, ok := byKey[k]
		if !ok {
			t.Errorf("validator %s of %s in truth.json is not served", want.PublicKey, want.Owner)
			continue
		}
		if v.UpdatedBlock > truth.Block {
			continue
		}
		if v.Status != want.Status || v.Liquidated != want.Liquidated || v.ClusterID != want.ClusterID || fmt.Sprint(v.OperatorIDs) != fmt.Sprint(want.OperatorIDs) {
			t.Errorf("validator %s: served %+v, truth %+v", want.PublicKey, v, want)
		}
	}
	for k, v := range byKey {
		if !wantVals[k] && v.AddedBlock <= truth.Block {
			t.Errorf("validator %s of %s is served (added at block %d) but not in truth.json (block %d)", v.PublicKey, v.Owner, v.AddedBlock, truth.Block)
		}
	}
	var cls struct {
		Clusters []ssvregistry.Cluster `json:"clusters"`
	}
	if !getAPI(t, addr, "/api/v1/ssv/devnet/clusters?limit=1000", &cls) {
		t.Fatal("GET clusters failed")
	}
	byID := map[string]ssvregistry.Cluster{}
	for _, c := range cls.Clusters {
		byID[c.ID] = c
	}
	// The devnet's history upgrades the proxy with no event only v2 emits
	// after it: the sync knows v2 from the implementation's getVersion().
	var sync ssvregistry.Sync
	if !getAPI(t, addr, "/api/v1/ssv/devnet/sync", &sync) {
		t.Fatal("GET sync failed")
	}
	if sync.ContractVersion != truth.ContractVersion || sync.V2Block != truth.V2Block || truth.V2Block == 0 {
		t.Errorf("sync: contract version %q from block %d, truth.json %q from %d", sync.ContractVersion, sync.V2Block, truth.ContractVersion, truth.V2Block)
	}
	wantCls := map[string]bool{}
	for _, want := range truth.Clusters {
		wantCls[want.ID] = true
		c, ok := byID[want.ID]
		if !ok {
			t.Errorf("cluster %s of truth.json is not served", want.ID)
			continue
		}
		if c.UpdatedBlock > truth.Block {
			continue
		}
		if c.Owner != want.Owner || fmt.Sprint(c.OperatorIDs) != fmt.Sprint(want.OperatorIDs) || c.Active != want.Active || c.Balance != want.Balance ||
			c.ValidatorCount != want.ValidatorCount || c.FeeToken != want.FeeToken {
			t.Errorf("cluster %s: served %+v, truth %+v", want.ID, c, want)
		}
	}
	for id, c := range byID {
		// A cluster first seen after the block has its UpdatedBlock after it.
		if !wantCls[id] && c.UpdatedBlock <= truth.Block {
			t.Errorf("cluster %s of %s is served (updated at block %d) but not in truth.json (block %d)", id, c.Owner, c.UpdatedBlock, truth.Block)
		}
	}
	var inv struct {
		Invalid []ssvregistry.Invalid `json:"invalid"`
	}
	if !getAPI(t, addr, "/api/v1/ssv/devnet/invalid", &inv) {
		t.Fatal("GET invalid failed")
	}
	served := map[string]ssvregistry.Invalid{}
	for _, v := range inv.Invalid {
		served[fmt.Sprintf("%s/%d", strings.ToLower(v.TxHash), v.LogIndex)] = v
	}
	wantInv := map[string]bool{}
	for _, want := range truth.Invalid {
		k := fmt.Sprintf("%s/%d", strings.ToLower(want.TxHash), want.LogIndex)
		wantInv[k] = true
		v, ok := served[k]
		if !ok || v.Reason != want.Reason || v.Nonce != want.Nonce || v.Owner != want.Owner || v.PublicKey != want.PublicKey {
			t.Errorf("invalid registration %s/%d: served %+v, truth %+v", want.TxHash, want.LogIndex, v, want)
		}
	}
	for k, v := range served {
		if !wantInv[k] && v.Block <= truth.Block {
			t.Errorf("invalid registration %s is served (block %d) but not in truth.json (block %d): %+v", k, v.Block, truth.Block, v)
		}
	}
	// Owners: nonce and fee recipient of each; every owner the served
	// registry names is one of truth.json's. A nonce moves only with a
	// ValidatorAdded, which also updates the owner's cluster: an owner
	// with a cluster updated after the block may be further on.
	wantOwners := map[string]ssvregistry.Owner{}
	for _, o := range truth.Owners {
		wantOwners[o.Address] = o
	}
	for _, want := range truth.Owners {
		var o struct {
			ssvregistry.Owner
			Clusters []ssvregistry.Cluster `json:"clusters"`
		}
		if !getAPI(t, addr, "/api/v1/ssv/devnet/owners/"+want.Address, &o) {
			t.Errorf("owner %s of truth.json is not served", want.Address)
			continue
		}
		if o.FeeRecipient != want.FeeRecipient {
			t.Errorf("owner %s: fee recipient %q served, %q in truth.json", want.Address, o.FeeRecipient, want.FeeRecipient)
		}
		later := false
		for _, c := range o.Clusters {
			later = later || c.UpdatedBlock > truth.Block
		}
		if !later && o.Nonce != want.Nonce {
			t.Errorf("owner %s: nonce %d served, %d in truth.json", want.Address, o.Nonce, want.Nonce)
		}
	}
	named := map[string]uint64{} // owner → the first block it is named at
	name := func(owner string, block uint64) {
		if at, ok := named[owner]; !ok || block < at {
			named[owner] = block
		}
	}
	for _, v := range vals.Validators {
		name(v.Owner, v.AddedBlock)
	}
	for _, c := range cls.Clusters {
		name(c.Owner, c.UpdatedBlock)
	}
	for _, v := range inv.Invalid {
		name(v.Owner, v.Block)
	}
	for o, at := range named {
		if _, ok := wantOwners[o]; !ok && at <= truth.Block {
			t.Errorf("owner %s is served (block %d) but not in truth.json", o, at)
		}
	}
}
