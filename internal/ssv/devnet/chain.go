package devnet

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// devKeySeed derives the funded dev account's key: the same account on
// every run, so that a transaction in a log can be recognised.
const devKeySeed = "valtrack ssv devnet dev account"

// poolTimeout bounds the wait for sent transactions to be pending.
const poolTimeout = 10 * time.Second

// chain is an in-process go-ethereum node in dev mode, what `geth --dev`
// runs: the dev chain config (every fork from genesis, chain id 1337), a
// funded account, and catalyst's simulated beacon in place of a consensus
// client, here sealing a block only when seal is called. Its JSON-RPC is
// served over HTTP and WebSocket on one loopback port.
type chain struct {
	stack  *node.Node
	eth    *eth.Ethereum
	beacon *catalyst.SimulatedBeacon
	client *ethclient.Client

	key    *ecdsa.PrivateKey
	from   common.Address
	nonce  uint64
	signer types.Signer
	id     *big.Int
}

func startChain() (_ *chain, err error) {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte(devKeySeed)))
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: dev account key: %w", err)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)

	nodeConf := node.DefaultConfig
	nodeConf.DataDir = "" // in memory
	nodeConf.P2P = p2p.Config{NoDiscovery: true, MaxPeers: 0, ListenAddr: ""}
	nodeConf.HTTPHost, nodeConf.HTTPPort = "127.0.0.1", 0 // a free port, read back after Start
	nodeConf.HTTPModules = []string{"eth", "net", "web3"}
	nodeConf.HTTPVirtualHosts = []string{"localhost", "127.0.0.1"}
	// WSPort equal to HTTPPort puts WebSocket on the HTTP server (node's
	// wsServerForPort): both on the one free port.
	nodeConf.WSHost, nodeConf.WSPort = "127.0.0.1", 0
	nodeConf.WSModules = []string{"eth", "net", "web3"}
	nodeConf.WSOrigins = []string{"*"}
	nodeConf.AuthPort = 0
	nodeConf.IPCPath = ""

	alloc := core.SystemContractAllocs() // the dev forks' system contracts
	maps.Copy(alloc, types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 128)}})
	ethConf := ethconfig.Defaults
	ethConf.Genesis = &core.Genesis{
		Config:   params.AllDevChainProtocolChanges,
		GasLimit: ethconfig.Defaults.Miner.GasCeil,
		Alloc:    alloc,
	}
	ethConf.SyncMode = ethconfig.FullSync
	MinerAllowance(&nodeConf, &ethConf)
	ethConf.TxPool.NoLocals = true
	// No log index: eth_getLogs searches the blocks themselves, with no
	// background indexer that could lag behind the head.
	ethConf.LogNoHistory = true

	stack, err := node.New(&nodeConf)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: create the go-ethereum node: %w", err)
	}
	defer func() {
		if err != nil {
			stack.Close()
		}
	}()
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: create the eth service: %w", err)
	}
	// eth_getLogs, eth_newFilter and eth_subscribe (newHeads, logs).
	fs := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(fs)}})
	if err := stack.Start(); err != nil {
		return nil, fmt.Errorf("ssv devnet: start the go-ethereum node (HTTP/WS on 127.0.0.1): %w", err)
	}
	// Period 0 and never started: blocks are sealed by seal, on the
	// devnet's schedule.
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		return nil, fmt.Errorf("ssv devnet: create the simulated beacon: %w", err)
	}
	id := backend.BlockChain().Config().ChainID
	return &chain{
		stack: stack, eth: backend, beacon: beacon, client: ethclient.NewClient(stack.Attach()),
		key: key, from: from, signer: types.LatestSignerForChainID(id), id: id,
	}, nil
}

func (c *chain) httpURL() string { return c.stack.HTTPEndpoint() }
func (c *chain) wsURL() string   { return c.stack.WSEndpoint() }

func (c *chain) head() *types.Header { return c.eth.BlockChain().CurrentBlock() }

// send signs a transaction from the dev account (to nil: a deployment)
// and adds it to the pool for the next seal.
func (c *chain) send(ctx context.Context, to *common.Address, data []byte, gas uint64) (*types.Transaction, error) {
	tx := types.MustSignNewTx(c.key, c.signer, &types.DynamicFeeTx{
		ChainID: c.id, Nonce: c.nonce, To: to, Data: data, Gas: gas,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(1000 * params.GWei),
	})
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		return nil, fmt.Errorf("send transaction %d: %w", c.nonce, err)
	}
	c.nonce++
	return tx, nil
}

// seal commits a block with the pending transactions and returns it with
// the receipts of txs, which must all be in it and have succeeded.
// MinerAllowance gives the miner a minute to fill a block: it stops after
// Recommit (2 s by default) and seals what it has, which on a loaded
// machine left a scripted transaction out of the block meant to hold it.
// A block here holds a handful of transactions, so the allowance costs
// nothing. Its signature is simulated.NewBackend's option's.
func MinerAllowance(_ *node.Config, c *ethconfig.Config) { c.Miner.Recommit = time.Minute }

func (c *chain) seal(txs []*types.Transaction) (*types.Header, []*types.Receipt, error) {
	// The pool promotes sent transactions to pending in the background;
	// a block built before that would leave some out.
	deadline := time.Now().Add(poolTimeout)
	for {
		pending, _ := c.eth.TxPool().ContentFrom(c.from)
		if len(pending) >= len(txs) {
			break
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("seal a block: %d of %d transactions pending after %s", len(pending), len(txs), poolTimeout)
		}
		time.Sleep(time.Millisecond)
	}
	parent := c.head().Number.Uint64()
	c.beacon.Commit()
	h := c.head()
	if h.Number.Uint64() != parent+1 {
		return nil, nil, fmt.Errorf("seal a block on %d: the head is %d", parent, h.Number)
	}
	// From the chain itself: the RPC's eth_getTransactionReceipt waits on
	// the transaction indexer, which runs behind the head.
	rs := c.eth.BlockChain().GetReceiptsByHash(h.Hash())
	if len(rs) != len(txs) {
		return nil, nil, fmt.Errorf("block %d holds %d transactions, %d were sent (block gas limit reached?)", h.Number, len(rs), len(txs))
	}
	for i, tx := range txs {
		r := rs[i]
		if r.TxHash != tx.Hash() {
			return nil, nil, fmt.Errorf("transaction %d of block %d is %s, want %s", i, h.Number, r.TxHash, tx.Hash())
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return nil, nil, fmt.Errorf("transaction %s failed in block %d (gas used %d of %d)", tx.Hash(), h.Number, r.GasUsed, tx.Gas())
		}
	}
	return h, rs, nil
}

func (c *chain) close() error {
	c.client.Close()
	return errors.Join(c.beacon.Stop(), c.stack.Close())
}
