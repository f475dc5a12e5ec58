package beacon

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// Store is what a Refresher reads and writes (internal/ssv/state.Store).
type Store interface {
	// BeaconKeys: the registered keys not removed, in order, after after.
	BeaconKeys(ctx context.Context, network, after string, limit int) ([]string, error)
	PutBeacon(ctx context.Context, network string, states map[string]registry.Beacon) error
	// PruneBeacon deletes what was not written since before.
	PruneBeacon(ctx context.Context, network string, before time.Time) error
}

// pageKeys is how many registered keys one step reads from the store and
// asks about (a few POSTs); each page is stored before the next is asked,
// so a pass that fails half way keeps what it learnt.
const pageKeys = 5000

// Refresher asks a beacon node about every registered validator of a
// network and stores the answers: the ssv domain's beacon analyzer.
type Refresher struct {
	Network string
	Client  *Client
	Store   Store
	Log     *slog.Logger
	Now     func() time.Time

	asked, known atomic.Int64 // of the last complete pass
}

// Run is one pass over the registry.
func (r *Refresher) Run(ctx context.Context) error {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	after := ""
	asked, known := 0, 0
	began := now().UTC()
	for {
		keys, err := r.Store.BeaconKeys(ctx, r.Network, after, pageKeys)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			break
		}
		vs, err := r.Client.Validators(ctx, keys)
		if err != nil {
			return fmt.Errorf("ssv %s: beacon states of %d validators: %w", r.Network, len(keys), err)
		}
		at := now().UTC()
		states := make(map[string]registry.Beacon, len(vs))
		for _, v := range vs {
			states[v.PublicKey] = registry.Beacon{Index: v.Index, Status: v.Status, Balance: v.Balance, Slashed: v.Slashed,
				ActivationEpoch: v.ActivationEpoch, ExitEpoch: v.ExitEpoch, UpdatedAt: at}
		}
		if err := r.Store.PutBeacon(ctx, r.Network, states); err != nil {
			return err
		}
		asked, known = asked+len(keys), known+len(states)
		after = keys[len(keys)-1]
		if len(keys) < pageKeys {
			break
		}
	}
	// A complete pass wrote every key still registered and known: what it
	// did not write is a removed key's, or one the chain no longer knows.
	if err := r.Store.PruneBeacon(ctx, r.Network, began); err != nil {
		return err
	}
	r.asked.Store(int64(asked))
	r.known.Store(int64(known))
	if r.Log != nil {
		r.Log.Debug("ssv beacon states refreshed", "network", r.Network, "node", r.Client.Name(), "validators", asked, "on_beacon_chain", known)
	}
	return nil
}

// Counts are the last complete pass's: keys asked about and keys the
// beacon chain knows.
func (r *Refresher) Counts() (asked, known int64) { return r.asked.Load(), r.known.Load() }
