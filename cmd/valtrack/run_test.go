package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ports"

	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	a, err := ports.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRunDevnet runs `valtrack run --devnet` as a newcomer would, waits until
// the API answers for every Ethereum devnet node and the Cosmos devnet's
// chain is analysed, stops it as Ctrl-C would, and checks that it stopped
// cleanly with its state on disk.
func TestRunDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- newApp(domains()).Run(ctx, []string{"valtrack", "run", "--devnet", "--devnet-polkadot=false", "--devnet-nodes", "8",
			"--data-dir", dir, "--http", addr, "--log-level", "warn", "--analyze-every", "2s", "--progress-every", "1s"})
	}()
	deadline := time.Now().Add(90 * time.Second)
	var stats struct {
		Nodes int `json:"nodes"`
	}
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run stopped early: %v", err)
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/api/v1/ethereum/devnet/stats", addr))
		if err == nil {
			if resp.StatusCode == http.StatusOK {
				_ = json.NewDecoder(resp.Body).Decode(&stats)
			}
			resp.Body.Close()
			if stats.Nodes == 8 {
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if stats.Nodes != 8 {
		t.Fatalf("the API reports %d of 8 devnet nodes", stats.Nodes)
	}
	// --devnet starts the Cosmos devnet too, and valtrack analyses it.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if _, analyzed := heights(t, addr, "valtrack-devnet-1"); analyzed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("run --devnet: the Cosmos devnet's chain valtrack-devnet-1 was not analysed within 60s")
		}
	}
	// … with its gRPC listener wired in from chain.json: the staking
	// monikers and the slashing parameters come from it.
	var vals validatorsView
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		vals = validatorsView{}
		if getAPI(t, addr, "/api/v1/cosmos/valtrack-devnet-1/validators", &vals) && len(vals.Validators) == 4 &&
			vals.Validators[0].ParamsSource != nil && *vals.Validators[0].ParamsSource == "grpc" &&
			strings.HasSuffix(vals.Validators[0].Moniker, " (devnet)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run --devnet: the Cosmos validators %+v have no staking monikers or no slashing parameters from gRPC within 60s", vals)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after Ctrl-C", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("run did not stop within 40s of Ctrl-C")
	}
	for _, p := range []string{"valtrack.db", "nats", "parquet", "devnet/truth.json", "devnet-cosmos/chain.json", "devnet-ssv/ssv.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("data dir lacks %s: %v", p, err)
		}
	}
	db, err := store.Open(context.Background(), "", dir, nil, store.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	page, err := state.New(db).ListPeers(context.Background(), state.PeerFilter{Network: "devnet", OnlyHandshaken: true, Limit: 100})
	if err != nil || len(page.Peers) != 8 {
		t.Fatalf("after shutdown the store holds %d handshaken peers (%v), want 8", len(page.Peers), err)
	}
}

func TestSentryNeedsNATSURL(t *testing.T) {
	err := newApp(domains()).Run(context.Background(), []string{"valtrack", "sentry", "ethereum"})
	if err == nil || !containsAll(err.Error(), "--nats-url", "valtrack run") {
		t.Fatalf("sentry without --nats-url: %v", err)
	}
}

func TestConsumerNeedsNATSURL(t *testing.T) {
	err := newApp(domains()).Run(context.Background(), []string{"valtrack", "consumer", "--data-dir", t.TempDir()})
	if err == nil || !containsAll(err.Error(), "--nats-url", "valtrack run") {
		t.Fatalf("consumer without --nats-url: %v", err)
	}
}

func TestUnknownNetwork(t *testing.T) {
	err := newApp(domains()).Run(context.Background(), []string{"valtrack", "run", "--data-dir", t.TempDir(), "--eth", "nosuch"})
	if err == nil || !containsAll(err.Error(), "nosuch", "mainnet", "config.yaml") {
		t.Fatalf("unknown network: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
