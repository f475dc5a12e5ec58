package devnet

import (
	"context"
	"fmt"

	"github.com/valtrack/valtrack/internal/polkadot/tx"
)

// Stash is a candidate's (or the nominator's, "Nominator") account.
func (d *Devnet) Stash(name string) (tx.AccountID, bool) {
	s, ok := d.keys[name]
	if !ok {
		return tx.AccountID{}, false
	}
	return s.Account(), true
}

// Truth is each candidate's expected verdict.
func (d *Devnet) Truth() Truth { return d.truth() }

// SetCommission rewrites a validator's commission in Staking.Validators
// with dev_setStorage, keeping its blocked flag: a test's way to turn a
// valid target invalid between a nomination's announcement and its
// execution. The change is visible at once (no block needed).
func (d *Devnet) SetCommission(ctx context.Context, stash tx.AccountID, commission tx.Perbill) error {
	if commission > 1_000_000_000 {
		return fmt.Errorf("commission %d Perbill is over 100 %%", commission)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := twox64ConcatKey("Staking", "Validators", stash[:])
	cur, err := getStorage(ctx, d.proc, key)
	if err != nil {
		return fmt.Errorf("read Staking.Validators(%s): %w", stash.SS58(42), err)
	}
	if cur == nil {
		return fmt.Errorf("%s has no validate intention: nothing to set a commission on", stash.SS58(42))
	}
	_, n, err := compact(cur)
	if err != nil || n >= len(cur) {
		return fmt.Errorf("Staking.Validators(%s) = %x does not decode as {Compact<Perbill>, bool}", stash.SS58(42), cur)
	}
	val := append(encCompact(uint64(commission)), cur[n])
	if err := d.proc.SetStorage(ctx, [][2]string{{hex0x(key), hex0x(val)}}); err != nil {
		return fmt.Errorf("set Staking.Validators(%s): %w", stash.SS58(42), err)
	}
	return nil
}

// NewBlock builds one block without a session change (a test waiting out
// a proxy delay, or including its own extrinsics), returning its hash.
// opts are dev_newBlock's (unsafeBlockHeight …), nil for none.
func (d *Devnet) NewBlock(ctx context.Context, opts map[string]any) ([32]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.newBlock(ctx, opts)
}
