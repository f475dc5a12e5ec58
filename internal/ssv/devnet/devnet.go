// Package devnet runs a local SSV network's execution side in-process: a
// go-ethereum node in dev mode (JSON-RPC over HTTP and WebSocket on
// 127.0.0.1), the project's own emitter contract (internal/ssv/emitter),
// and a script that sends it the SSVNetwork events with their exact ABI —
// a scripted history at start, then new events every few blocks until
// Close. Dir/ssv.json says where the chain and contract are;
// Dir/truth.json is the registry emitted so far, for tests to compare a
// synced registry with.
//
// Reorgs: the node is go-ethereum's with catalyst's simulated beacon, the
// same pieces as ethclient/simulated. A test that needs a reorg uses
// simulated.NewBackend directly: Backend.Fork(parentHash) sets the head
// back to parentHash; transactions sent then and Commit-ed build a side
// chain, which becomes canonical once longer than the old one (a node's
// newHeads then reports the new branch and eth_getLogs returns the new
// logs, the old ones with removed=true to a logs subscription). The devnet
// itself does not reorg: its truth.json follows one chain.
package devnet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/valtrack/valtrack/internal/devnetlock"
	"github.com/valtrack/valtrack/internal/ssv/emitter"
)

// Devnet is a running devnet. Its methods are safe for concurrent use.
type Devnet struct {
	o     Options
	dir   string
	chain *chain
	enc   encodeFunc
	info  Info

	contract common.Address
	m        *model // owned by the loop goroutine
	script   *script

	mu    sync.Mutex
	truth Truth
	err   error // the loop's failure, if it stopped on one

	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
	release func() // the directory's lock
}

// Start starts the chain, deploys the emitter, emits the scripted history
// (one block after another, at once), writes ssv.json and truth.json, and
// returns; a goroutine then seals a block every BlockInterval, with new
// events every EventEvery blocks, until Close. ctx bounds Start only.
func Start(ctx context.Context, o Options) (_ *Devnet, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: resolve directory %s: %w", o.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ssv devnet: create directory: %w", err)
	}
	// A devnet that still runs keeps its directory: its files tell
	// `valtrack run` where its chain is.
	release, err := devnetlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	// Files of an earlier run name a chain that is gone.
	for _, f := range []string{InfoFile, TruthFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("ssv devnet: remove the old %s: %w", f, err)
		}
	}
	began := time.Now()
	keys, err := operatorKeys(scriptOperators)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: %w", err)
	}
	c, err := startChain()
	if err != nil {
		return nil, err
	}
	d := &Devnet{o: o, dir: dir, chain: c, enc: abiEncode, m: newModel(), done: make(chan struct{}), release: release}
	defer func() {
		if err != nil {
			c.close()
		}
	}()

	// Block 1: the emitter, and the implementation that the history's
	// upgrade names (it answers getVersion() with ImplementationVersion).
	tx, err := c.send(ctx, nil, emitter.Init, 200_000)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: deploy the emitter: %w", err)
	}
	implInit, err := emitter.Constant(abiString(ImplementationVersion))
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: the implementation: %w", err)
	}
	implTx, err := c.send(ctx, nil, implInit, 200_000)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: deploy the implementation: %w", err)
	}
	h, rs, err := c.seal([]*types.Transaction{tx, implTx})
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: deploy the emitter: %w", err)
	}
	d.contract = rs[0].ContractAddress
	d.info = Info{
		Network: o.Network, RPCHTTP: c.httpURL(), RPCWS: c.wsURL(), Contract: d.contract.Hex(),
		FromBlock: h.Number.Uint64(), ChainID: c.id.Uint64(), BlockInterval: o.BlockInterval.String(),
		DevAccount: c.from.Hex(), Truth: filepath.Join(dir, TruthFile),
	}
	d.truth = Truth{Network: o.Network, Contract: d.info.Contract, ChainID: d.info.ChainID, FromBlock: d.info.FromBlock}
	if err := d.writeTruth(h); err != nil {
		return nil, err
	}

	d.script, err = newScript(keys)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: %w", err)
	}
	d.script.impl = rs[1].ContractAddress
	extra, err := d.script.bulk(o.HistoryValidators, o.HistoryPerBlock)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: history validators: %w", err)
	}
	steps := append(d.script.history(), extra...)
	for i, step := range steps {
		// truth.json once, after the history: a snapshot per block of a
		// large history would cost more than the history.
		if err := d.block(ctx, step, i == len(steps)-1); err != nil {
			return nil, fmt.Errorf("ssv devnet: scripted history, block %d of the script: %w", i+1, err)
		}
	}
	if err := writeJSON(filepath.Join(dir, InfoFile), d.info); err != nil {
		return nil, fmt.Errorf("ssv devnet: %w", err)
	}
	t := d.Truth()
	o.Log.Info("ssv devnet started", "rpc_http", d.info.RPCHTTP, "rpc_ws", d.info.RPCWS, "contract", d.info.Contract,
		"from_block", d.info.FromBlock, "head", t.Block, "logs", t.Logs, "operators", len(t.Operators),
		"validators", len(t.Validators), "invalid", len(t.Invalid), "took", time.Since(began).Round(time.Millisecond))

	loopCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go d.loop(loopCtx)
	return d, nil
}

// block builds one block: step queues events in the model, the block
// holds one emitter call per event; truth.json is rewritten after it
// when write is set.
func (d *Devnet) block(ctx context.Context, step func(*model) error, write bool) error {
	m := d.m
	m.block = d.chain.head().Number.Uint64() + 1
	m.queue = m.queue[:0]
	if step != nil {
		if err := step(m); err != nil {
			return err
		}
	}
	txs := make([]*types.Transaction, 0, len(m.queue))
	for _, p := range m.queue {
		topics, data, err := d.enc(p.name, p.args...)
		if err != nil {
			return err
		}
		in, err := emitter.Calldata(topics, data)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		tx, err := d.chain.send(ctx, &d.contract, in, emitter.Gas(in))
		if err != nil {
			return fmt.Errorf("emit %s: %w", p.name, err)
		}
		txs = append(txs, tx)
	}
	h, rs, err := d.chain.seal(txs)
	if err != nil {
		return err
	}
	if h.Number.Uint64() != m.block {
		return fmt.Errorf("sealed block %d, the script built block %d", h.Number, m.block)
	}
	for i, r := range rs {
		p := m.queue[i]
		if len(r.Logs) != 1 || r.Logs[0].Address != d.contract {
			return fmt.Errorf("%s: transaction %s has %d logs, want one from the emitter", p.name, r.TxHash, len(r.Logs))
		}
		m.events[p.name]++
		if p.logged != nil {
			p.logged(r.Logs[0])
		}
	}
	if !write {
		return nil
	}
	return d.writeTruth(h)
}

func (d *Devnet) writeTruth(h *types.Header) error {
	d.mu.Lock()
	t := d.m.snapshot(d.truth)
	t.Block, t.BlockHash = h.Number.Uint64(), h.Hash().Hex()
	d.truth = t
	d.mu.Unlock()
	if err := writeJSON(filepath.Join(d.dir, TruthFile), t); err != nil {
		return fmt.Errorf("ssv devnet: %w", err)
	}
	return nil
}

// loop seals a block every BlockInterval, with the script's next events
// every EventEvery blocks.
func (d *Devnet) loop(ctx context.Context) {
	defer close(d.done)
	tick := time.NewTicker(d.o.BlockInterval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var step func(*model) error
		if n%d.o.EventEvery == 0 {
			step = d.script.next()
		}
		if err := d.block(ctx, step, true); err != nil {
			if ctx.Err() != nil {
				return
			}
			d.mu.Lock()
			d.err = err
			d.mu.Unlock()
			d.o.Log.Error("ssv devnet stopped sealing blocks", "err", err)
			return
		}
	}
}

// Info is what ssv.json holds.
func (d *Devnet) Info() Info { return d.info }

// Dir is the devnet's directory, absolute.
func (d *Devnet) Dir() string { return d.dir }

// Truth is the registry emitted so far (what truth.json holds).
func (d *Devnet) Truth() Truth {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.truth
}

// Err is why the devnet stopped sealing blocks, nil while it runs.
func (d *Devnet) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Close stops sealing blocks and the node, freeing its port. ssv.json and
// truth.json stay, describing the chain as it ended.
func (d *Devnet) Close() error {
	var err error
	d.once.Do(func() {
		if d.cancel != nil {
			d.cancel()
			<-d.done
		}
		err = d.chain.close()
		d.release()
	})
	return err
}
