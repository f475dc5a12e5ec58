package ssv

import (
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
)

// TestRegistryHealth: the consumer's and the API's /healthz judge a
// network's registry by its last sync status and its last applied block.
func TestRegistryHealth(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ok := []registry.Endpoint{{Name: "el-a:443", Healthy: true}, {Name: "el-b:443"}}
	dead := []registry.Endpoint{{Name: "el-a:443", Error: "eth_blockNumber: 503"}, {Name: "el-b:443", Error: "connect: refused"}}
	sync := func(statusAgo, blockAgo time.Duration, eps []registry.Endpoint) *registry.Sync {
		return &registry.Sync{Network: "mainnet", LastBlock: 100, LastBlockTime: now.Add(-blockAgo), StatusAt: now.Add(-statusAgo), Endpoints: eps}
	}
	for _, tc := range []struct {
		name string
		sync *registry.Sync
		want string // "" healthy
	}{
		{"nothing synced", nil, "no sync status yet"},
		{"blocks but no status", &registry.Sync{Network: "mainnet", LastBlock: 5, LastBlockTime: now}, "no sync status yet"},
		{"live", sync(10*time.Second, 96*time.Second, ok), ""},
		{"status late but within the limit", sync(ssvsync.MaxLagTime, time.Hour, ok), ""},
		{"sentry or consumer stopped", sync(ssvsync.MaxLagTime+time.Second, 96*time.Second, ok), "last sync status is from 2026-05-01T11:54:59Z, 5m1s ago"},
		{"endpoints failing, block recent", sync(5*time.Second, 2*time.Minute, dead), ""},
		{"endpoints dead, block stale", sync(5*time.Second, ssvsync.MaxLagTime+time.Minute, dead), "no healthy RPC endpoint and the last applied block 100 is from 2026-05-01T11:54:00Z, 6m0s ago"},
		{"one endpoint up, block stale (history)", sync(5*time.Second, 24*time.Hour, ok), ""},
		{"a block held incomplete", func() *registry.Sync {
			s := sync(5*time.Second, 10*time.Second, ok)
			s.Held = &registry.Held{Block: 101, Hash: "0xab", Announced: 3, Received: 2, Since: now.Add(-time.Minute), Blocks: 4}
			return s
		}(), "holds block 101 (0xab) since 2026-05-01T11:59:00Z: its marker announces 3 events, 2 arrived, and none of the 4 held blocks is applied"},
		{"a block held after a gap", func() *registry.Sync {
			s := sync(5*time.Second, 10*time.Second, ok)
			s.LastBlockHash = "0xcd"
			s.Held = &registry.Held{Block: 108, Hash: "0xab", Announced: 1, Received: 1, Since: now.Add(-time.Minute), Blocks: 2,
				Gap: &registry.Gap{From: 101, To: 105}}
			return s
		}(), "holds block 108 (0xab) since 2026-05-01T11:59:00Z: a gap — blocks 101..105 were never received"},
		{"a gap with nothing applied", func() *registry.Sync {
			s := sync(5*time.Second, 10*time.Second, ok)
			s.LastBlock = 0
			s.Held = &registry.Held{Block: 108, Hash: "0xab", Since: now.Add(-time.Minute), Blocks: 1, Gap: &registry.Gap{To: 105}}
			return s
		}(), "blocks the contract's start block..105 were never received"},
	} {
		err := registryHealth(tc.sync, now)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: unhealthy: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
