// Package devnet runs a local CometBFT chain in-process: N validators,
// each a real CometBFT node with the kvstore example application, peered
// over loopback. The application also answers the two cosmos-sdk queries
// valtrack asks (x/staking's Validators, with monikers, and x/slashing's
// Params) over abci_query, and a gRPC listener answers them too
// (staking.go, grpc.go). A validator can be stopped and started again
// from its own data directory, which makes real missed votes for
// valtrack's cosmos domain to observe.
//
// Dir/chain.json tells others where the chain is: its id, each
// validator's index, monikers, consensus address and RPC URL, the gRPC
// address, and the control endpoint (control.go) that stops and starts
// validators from another process.
package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cometbft/cometbft/p2p"

	"github.com/valtrack/valtrack/internal/devnetlock"
	"github.com/valtrack/valtrack/internal/ports"

	"github.com/cometbft/cometbft/types"
)

// Errors of StopValidator and StartValidator, matched with errors.Is.
var (
	ErrNoValidator = errors.New("no such validator")
	ErrStopped     = errors.New("validator is already stopped")
	ErrRunning     = errors.New("validator is already running")
	ErrClosed      = errors.New("devnet is closed")
)

// ChainInfo is what chain.json holds.
type ChainInfo struct {
	ChainID    string          `json:"chain_id"`
	Validators []ValidatorInfo `json:"validators"`
	// Control is the base URL of the control endpoint.
	Control string `json:"control"`
	// Genesis is the path of the chain's genesis.json.
	Genesis       string `json:"genesis"`
	BlockInterval string `json:"block_interval"`
	// GRPC is the HOST:PORT of the gRPC listener answering x/staking's
	// Validators and x/slashing's Params (what --cosmos-grpc takes).
	GRPC string `json:"grpc"`
	// SignedBlocksWindow and MinSignedPerWindow are the x/slashing
	// parameters the devnet answers.
	SignedBlocksWindow int64   `json:"signed_blocks_window"`
	MinSignedPerWindow float64 `json:"min_signed_per_window"`
}

// ValidatorInfo describes one validator. Index is its index in CometBFT's
// validator set (all powers are equal, so ascending address order), which
// is also its position in every block's last_commit.signatures: an absent
// signature there has an empty address, so the index is how to find it.
type ValidatorInfo struct {
	Index int `json:"index"`
	// Moniker is the node's (/status); StakingMoniker the x/staking
	// description's, which valtrack shows; OperatorAddress its x/staking
	// operator address.
	Moniker         string `json:"moniker"`
	StakingMoniker  string `json:"staking_moniker"`
	OperatorAddress string `json:"operator_address"`
	// Address is the consensus address, upper-case hex (20 bytes), as
	// CometBFT's RPC prints it.
	Address string `json:"address"`
	RPC     string `json:"rpc"`
	NodeID  string `json:"node_id"`
	P2P     string `json:"p2p"`
	Power   int64  `json:"power"`
	Home    string `json:"home"`
}

// Status is the state of every validator now (GET /status of the control
// endpoint).
type Status struct {
	ChainID    string            `json:"chain_id"`
	Validators []ValidatorStatus `json:"validators"`
}

// ValidatorStatus is one validator's state. Height is its latest stored
// block, 0 while stopped.
type ValidatorStatus struct {
	Index   int    `json:"index"`
	Moniker string `json:"moniker"`
	Address string `json:"address"`
	Running bool   `json:"running"`
	Height  int64  `json:"height"`
	// Peers is the number of validators it is connected to.
	Peers int `json:"peers"`
}

// Devnet is a running chain. Its methods are safe for concurrent use;
// stops and starts of validators run one at a time.
type Devnet struct {
	o    Options
	dir  string
	gen  *types.GenesisDoc
	vals []*validator
	// queries answers x/staking and x/slashing for every validator's
	// application and the gRPC listener.
	queries *queries
	grpc    *grpcServer

	control   *http.Server
	controlLn net.Listener
	served    chan struct{}

	mu      sync.Mutex // guards validator.running and closed
	closed  bool
	release func() // the directory's lock (devnetlock)
}

// Start creates the chain in o.Dir, or resumes the one already there, and
// starts every validator. It returns once every validator has stored a
// new block (the first, on a new chain) and is connected to all the
// others, and chain.json is written; ctx bounds that wait (and
// FirstBlockTimeout), not the devnet's life: Close ends it.
func Start(ctx context.Context, o Options) (_ *Devnet, err error) {
	o, err = o.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("devnet: resolve directory %s: %w", o.Dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devnet: create directory: %w", err)
	}
	// A devnet that still runs keeps its directory: two on one would
	// fight over the validators' stores and chain.json.
	release, err := devnetlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	// A chain.json left by an earlier run names ports that are no longer
	// served: gone until this run's is written.
	if err := os.Remove(filepath.Join(dir, chainFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("devnet: remove the old %s: %w", chainFile, err)
	}

	gen, err := existing(dir)
	if err != nil {
		return nil, err
	}
	if gen == nil {
		if o.Validators == 0 {
			o.Validators = DefaultValidators
		}
		if o.ChainID == "" {
			o.ChainID = DefaultChainID
		}
		if gen, err = create(dir, o.ChainID, o.Validators); err != nil {
			return nil, err
		}
	} else {
		if o.Validators != 0 && o.Validators != len(gen.Validators) {
			return nil, fmt.Errorf("devnet: %s holds a chain of %d validators, asked for %d: give --validators %d, or another directory for a new chain",
				dir, len(gen.Validators), o.Validators, len(gen.Validators))
		}
		if o.ChainID != "" && o.ChainID != gen.ChainID {
			return nil, fmt.Errorf("devnet: %s holds chain %q, asked for %q: give that chain id, or another directory for a new chain", dir, gen.ChainID, o.ChainID)
		}
		o.Validators, o.ChainID = len(gen.Validators), gen.ChainID
	}

	d := &Devnet{o: o, dir: dir, gen: gen, queries: newQueries(gen), served: make(chan struct{}), release: release}
	ports, err := freePorts(2*o.Validators + 2)
	if err != nil {
		return nil, err
	}
	for i, gv := range gen.Validators {
		home := homeDir(dir, i)
		nk, err := loadNodeKey(home)
		if err != nil {
			return nil, err
		}
		d.vals = append(d.vals, &validator{
			index: i, moniker: moniker(i), home: home, address: gv.Address, nodeKey: nk,
			p2pPort: ports[2*i], rpcPort: ports[2*i+1],
		})
	}
	if d.controlLn, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[len(ports)-2])); err != nil {
		return nil, fmt.Errorf("devnet: listen for the control endpoint: %w", err)
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.grpc, err = serveGRPC(fmt.Sprintf("127.0.0.1:%d", ports[len(ports)-1]), d.queries); err != nil {
		return nil, err
	}

	began := time.Now()
	d.mu.Lock()
	for _, v := range d.vals {
		if err = d.start(v); err != nil {
			d.mu.Unlock()
			return nil, fmt.Errorf("devnet: %w", err)
		}
	}
	d.mu.Unlock()
	from := d.heights()
	if err = d.waitFirstBlock(ctx, from); err != nil {
		return nil, err
	}

	d.control = &http.Server{Handler: d.controlHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(d.served)
		_ = d.control.Serve(d.controlLn)
	}()
	if err = writeJSON(filepath.Join(dir, chainFile), d.Info()); err != nil {
		return nil, err
	}
	o.Log.Info("cosmos devnet started", "chain_id", gen.ChainID, "validators", len(d.vals),
		"dir", dir, "took", time.Since(began).Round(time.Millisecond))
	return d, nil
}

// heights is every validator's latest stored height (0 while stopped).
func (d *Devnet) heights() []int64 {
	st := d.Status()
	hs := make([]int64, len(st.Validators))
	for i, v := range st.Validators {
		hs[i] = v.Height
	}
	return hs
}

// waitFirstBlock waits until every validator has stored a block above
// from, its height at start (block 1 on a new chain, the next block on a
// resumed one), and is connected to every other validator: Start returns
// on a chain that moves, and that keeps moving when one validator of four
// is stopped at once (the others reach each other directly).
func (d *Devnet) waitFirstBlock(ctx context.Context, from []int64) error {
	ctx, cancel := context.WithTimeout(ctx, FirstBlockTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		why := d.notReady(from)
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devnet: not ready: %s: %w; run with --log-level debug to see CometBFT's logs", why, context.Cause(ctx))
		case <-tick.C:
		}
	}
}

// notReady says which validator is not yet ready, "" when all are.
func (d *Devnet) notReady(from []int64) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, v := range d.vals {
		if v.running == nil {
			return fmt.Sprintf("validator %d is stopped", i)
		}
		if h := v.running.node.BlockStore().Height(); h <= from[i] {
			return fmt.Sprintf("validator %d has stored no block above height %d", i, from[i])
		}
		if n := v.running.node.Switch().Peers().Size(); n < len(d.vals)-1 {
			return fmt.Sprintf("validator %d is connected to %d of the %d others", i, n, len(d.vals)-1)
		}
	}
	return ""
}

// Info is what chain.json holds.
func (d *Devnet) Info() ChainInfo {
	info := ChainInfo{
		ChainID:            d.gen.ChainID,
		Genesis:            filepath.Join(d.dir, genesisFile),
		BlockInterval:      d.o.BlockInterval.String(),
		SignedBlocksWindow: SignedBlocksWindow, MinSignedPerWindow: MinSignedPerWindow,
	}
	if d.controlLn != nil {
		info.Control = "http://" + d.controlLn.Addr().String()
	}
	if d.grpc != nil {
		info.GRPC = d.grpc.Addr()
	}
	for _, v := range d.vals {
		info.Validators = append(info.Validators, ValidatorInfo{
			Index: v.index, Moniker: v.moniker, StakingMoniker: StakingMoniker(v.index), OperatorAddress: bech32(OperatorPrefix, v.address),
			Address: v.address.String(), RPC: v.rpcURL(),
			NodeID: string(v.nodeKey.ID()), P2P: v.p2pAddr(), Power: Power, Home: v.home,
		})
	}
	return info
}

// Dir is the devnet's directory, absolute.
func (d *Devnet) Dir() string { return d.dir }

// Status reports which validators run and their latest heights.
func (d *Devnet) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Status{ChainID: d.gen.ChainID}
	for _, v := range d.vals {
		vs := ValidatorStatus{Index: v.index, Moniker: v.moniker, Address: v.address.String()}
		if v.running != nil {
			vs.Running = true
			vs.Height = v.running.node.BlockStore().Height()
			vs.Peers = v.running.node.Switch().Peers().Size()
		}
		st.Validators = append(st.Validators, vs)
	}
	return st
}

// StopValidator stops validator i; its home keeps its keys and blocks.
func (d *Devnet) StopValidator(i int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.validator(i)
	if err != nil {
		return err
	}
	if v.running == nil {
		return fmt.Errorf("stop validator %d: %w", i, ErrStopped)
	}
	began := time.Now()
	if err := v.stop(); err != nil {
		return err
	}
	d.o.Log.Info("validator stopped", "validator", i, "address", v.address.String(), "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// StartValidator starts validator i again from its home, on the same
// ports; it catches up with the chain by block sync, then votes again.
func (d *Devnet) StartValidator(i int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, err := d.validator(i)
	if err != nil {
		return err
	}
	if v.running != nil {
		return fmt.Errorf("start validator %d: %w", i, ErrRunning)
	}
	began := time.Now()
	if err := d.start(v); err != nil {
		return err
	}
	d.redial(v)
	d.o.Log.Info("validator started", "validator", i, "address", v.address.String(), "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// redial reconnects the running validators to v, just started again.
// CometBFT dials a persistent peer once when it starts, and again only
// after losing a connection it had; a peer that still lists v — a
// connection of v's previous run it has not seen end — refuses v's dial
// as a duplicate and has no reason to dial itself. Seen: the three others
// listing v as a peer, v with none, 30 s at height 1 while the chain went
// on. Such a connection is dropped (v is a persistent peer, so the peer
// reconnects); a peer without one dials v. Each dial ends by itself
// (CometBFT's dial and handshake timeouts).
func (d *Devnet) redial(v *validator) {
	id := v.nodeKey.ID()
	addr, err := p2p.NewNetAddressString(p2p.IDAddressString(id, v.p2pAddr()))
	if err != nil {
		return
	}
	for _, o := range d.vals {
		if o == v || o.running == nil {
			continue
		}
		sw := o.running.node.Switch()
		if p := sw.Peers().Get(id); p != nil {
			sw.StopPeerForError(p, errors.New("the validator restarted"))
			continue
		}
		go func() { _ = sw.DialPeerWithAddress(addr) }()
	}
}

// validator returns validator i; d.mu is held.
func (d *Devnet) validator(i int) (*validator, error) {
	if d.closed {
		return nil, ErrClosed
	}
	if i < 0 || i >= len(d.vals) {
		return nil, fmt.Errorf("validator %d: %w (the devnet has 0 to %d)", i, ErrNoValidator, len(d.vals)-1)
	}
	return d.vals[i], nil
}

// Close stops the control endpoint and every validator and frees their
// ports. chain.json stays: its control endpoint no longer answering is how
// others learn the devnet is gone. Close is idempotent.
//
// Two idle goroutines per node started stay behind: CometBFT v0.38's WAL
// closes its file but not the autofile's close-timer and SIGHUP
// goroutines (autofile.Group.Close calls closeFile, not Close), and the
// WAL is not reachable from here.
func (d *Devnet) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()

	var errs []error
	if d.control != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := d.control.Shutdown(ctx); err != nil {
			_ = d.control.Close()
		}
		cancel()
		<-d.served
	} else if d.controlLn != nil {
		_ = d.controlLn.Close()
	}
	if d.grpc != nil {
		d.grpc.close()
	}
	// Stops wait for a running stop or start to finish first: d.mu.
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, v := range d.vals {
		if err := v.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	// Last: the directory is free once no validator holds its stores.
	if d.release != nil {
		d.release()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("devnet: close: %w", err)
	}
	return nil
}

// freePorts picks n distinct free ports on 127.0.0.1 (internal/ports:
// below the ephemeral range, so a node's own outgoing connections cannot
// take one before CometBFT binds it).
func freePorts(n int) ([]int, error) {
	ps, err := ports.Pick(n)
	if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	return ps, nil
}

// writeJSON writes v to path through a temporary file, so a reader never
// sees half a file.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("devnet: encode %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("devnet: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("devnet: write %s: %w", path, err)
	}
	return nil
}

// ReadChainInfo reads dir/chain.json.
func ReadChainInfo(dir string) (ChainInfo, error) {
	var info ChainInfo
	path := filepath.Join(dir, chainFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("decode %s: %w", path, err)
	}
	return info, nil
}
