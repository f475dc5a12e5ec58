package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/devnet"
)

type validatorsView struct {
	Validators []struct {
		Address            string   `json:"address"`
		Moniker            string   `json:"moniker"`
		HasStats           bool     `json:"has_stats"`
		WindowMissed       int64    `json:"window_missed"`
		SignedBlocksWindow *int64   `json:"signed_blocks_window"`
		MinSignedPerWindow *float64 `json:"min_signed_per_window"`
		ParamsSource       *string  `json:"params_source"`
		BlocksToJail       *int64   `json:"blocks_to_jail"`
		Jail               string   `json:"jail"`
	} `json:"validators"`
}

// TestCosmosDevnetNamesAndSlashing: valtrack watching the devnet shows
// every validator by its x/staking moniker, and the missed-vote analyzer
// projects the time to jail with the chain's own x/slashing parameters
// (100 blocks, 0.5), read over abci_query when only RPC URLs are given,
// and over the devnet's gRPC listener when its directory is (chain.json
// names it). Nothing is configured by hand: without the queries the API
// would show the nodes' /status monikers and "jail": "unknown".
func TestCosmosDevnetNamesAndSlashing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT devnet")
	}
	dn := startCosmosDevnet(t, 3)
	info := dn.Info()
	chain := info.ChainID
	var rpcs []string
	for _, v := range info.Validators {
		rpcs = append(rpcs, v.RPC)
	}
	for _, c := range []struct {
		name, cosmos, source string
	}{
		{"abci_query", chain + "=" + strings.Join(rpcs, ","), "abci"},
		{"gRPC from chain.json", dn.Dir(), "grpc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, addr := t.TempDir(), freeAddr(t)
			child := startChild(t, "run", "--cosmos", c.cosmos, "--data-dir", data, "--http", addr, "--progress-every", "0")
			waitAnalyzed(t, child, addr, chain, 2, time.Minute)
			var v validatorsView
			why := "no answer"
			for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				v = validatorsView{}
				if !getAPI(t, addr, "/api/v1/cosmos/"+chain+"/validators", &v) {
					continue
				}
				if why = namedAndProjected(v, info, c.source); why == "" {
					break
				}
			}
			if why != "" {
				t.Fatalf("validators %+v: %s\n%s", v, why, child.output())
			}
			if out := child.output(); strings.Contains(out, "not read over gRPC") || strings.Contains(out, "names read in part") {
				t.Errorf("valtrack warned about the names:\n%s", out)
			}
		})
	}
}

// namedAndProjected says what is still missing from the API's validators:
// "" when each of the devnet's validators has its staking moniker and a
// jail projection from the chain's parameters, read from source.
func namedAndProjected(v validatorsView, info devnet.ChainInfo, source string) string {
	// x/slashing jails past W − min·W misses: the 51st of the devnet's 100.
	const jailAfter = devnet.SignedBlocksWindow - devnet.SignedBlocksWindow/2 + 1
	if len(v.Validators) != len(info.Validators) {
		return fmt.Sprintf("%d validators, want %d", len(v.Validators), len(info.Validators))
	}
	byAddr := map[string]int{}
	for i, w := range v.Validators {
		byAddr[w.Address] = i
	}
	for _, want := range info.Validators {
		i, ok := byAddr[want.Address]
		if !ok {
			return "validator " + want.Address + " is missing"
		}
		w := v.Validators[i]
		switch {
		case w.Moniker != devnet.StakingMoniker(want.Index):
			return fmt.Sprintf("validator %d is named %q, want %q", want.Index, w.Moniker, devnet.StakingMoniker(want.Index))
		case w.SignedBlocksWindow == nil || *w.SignedBlocksWindow != devnet.SignedBlocksWindow ||
			w.MinSignedPerWindow == nil || *w.MinSignedPerWindow != devnet.MinSignedPerWindow:
			return fmt.Sprintf("validator %d: slashing parameters %v, %v", want.Index, w.SignedBlocksWindow, w.MinSignedPerWindow)
		case w.ParamsSource == nil || *w.ParamsSource != source:
			return fmt.Sprintf("validator %d: params_source %v, want %s", want.Index, w.ParamsSource, source)
		case !w.HasStats || w.Jail != "projected" || w.BlocksToJail == nil || *w.BlocksToJail != jailAfter-w.WindowMissed:
			return fmt.Sprintf("validator %d: jail %q, blocks to jail %v with %d missed; want %d less the missed", want.Index, w.Jail, w.BlocksToJail, w.WindowMissed, jailAfter)
		}
	}
	return ""
}
