package sync

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// A scripted chain and a JSON-RPC server of it (go-ethereum's rpc.Server
// with an "eth" service of our own), on 127.0.0.1.

var (
	contract     = common.HexToAddress("0x00000000000000000000000000000000005A5a01")
	otherAddr    = common.HexToAddress("0x00000000000000000000000000000000000b0b02")
	topicKnown   = common.HexToHash("0x1111111111111111111111111111111111111111111111111111111111111111")
	topicUnknown = common.HexToHash("0x2222222222222222222222222222222222222222222222222222222222222222")
)

type fblock struct {
	h    *types.Header
	hash common.Hash
	logs []types.Log // every log of the block (the contract's and others')
}

type chain struct {
	t0     uint64 // block 0's time: blocks are 12 s apart, the initial head about now
	mu     sync.Mutex
	blocks []*fblock
	seq    uint64 // makes every log's data unique
	subs   []chan struct{}
}

// watch returns a channel that gets a value after each change of the chain.
func (c *chain) watch() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{}, 1)
	c.subs = append(c.subs, ch)
	return ch
}

// logSpec: how many contract logs a block has; bad kinds by log index.
type logSpec struct {
	n         int
	unknown   map[int]bool // topic the decoder does not know
	truncated map[int]bool // data too short
	foreign   int          // logs of another address in the block
}

func newChain(n int, spec map[uint64]logSpec) *chain {
	// Recent block times: the sentry's health compares the processed
	// block's time with the clock.
	c := &chain{t0: uint64(time.Now().Unix()) - 12*uint64(n)}
	c.extend(n, spec, 0)
	return c
}

// newForkChain is newChain with every block tagged fork: another chain
// (other hashes and logs) under the same chain id.
func newForkChain(n int, spec map[uint64]logSpec, fork byte) *chain {
	c := &chain{t0: uint64(time.Now().Unix()) - 12*uint64(n)}
	c.extend(n, spec, fork)
	return c
}

// extend appends n blocks; fork tags the branch (it changes the hashes).
func (c *chain) extend(n int, spec map[uint64]logSpec, fork byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		num := uint64(len(c.blocks))
		parent := common.Hash{}
		if num > 0 {
			parent = c.blocks[num-1].hash
		}
		h := &types.Header{ParentHash: parent, Number: new(big.Int).SetUint64(num), Time: c.t0 + 12*num,
			Difficulty: big.NewInt(0), GasLimit: 30000000, Extra: []byte{fork}}
		b := &fblock{h: h}
		sp := spec[num]
		var bloom types.Bloom
		idx := uint(0)
		add := func(addr common.Address, topic common.Hash, data []byte) {
			b.logs = append(b.logs, types.Log{Address: addr, Topics: []common.Hash{topic}, Data: data, BlockNumber: num,
				TxHash: common.BigToHash(big.NewInt(int64(num*1000 + uint64(idx) + 1))), TxIndex: idx, Index: idx})
			bloom.Add(addr.Bytes())
			bloom.Add(topic.Bytes())
			idx++
		}
		for range sp.foreign {
			add(otherAddr, topicKnown, make([]byte, 32))
		}
		for i := range sp.n {
			c.seq++
			data := make([]byte, 32)
			binary.BigEndian.PutUint64(data[24:], c.seq)
			data[0] = fork
			topic := topicKnown
			if sp.unknown[i] {
				topic = topicUnknown
			}
			if sp.truncated[i] {
				data = data[:7]
			}
			add(contract, topic, data)
		}
		h.Bloom = bloom
		b.hash = h.Hash()
		for i := range b.logs {
			b.logs[i].BlockHash = b.hash
		}
		c.blocks = append(c.blocks, b)
	}
	for _, ch := range c.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// reorg replaces the blocks from `from` on with n new ones.
func (c *chain) reorg(from uint64, n int, spec map[uint64]logSpec, fork byte) {
	c.mu.Lock()
	c.blocks = c.blocks[:from]
	c.mu.Unlock()
	c.extend(n, spec, fork)
}

func (c *chain) head() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return uint64(len(c.blocks) - 1)
}

func (c *chain) block(n uint64) *fblock {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n >= uint64(len(c.blocks)) {
		return nil
	}
	return c.blocks[n]
}

// contractLogs are the canonical contract logs of blocks from..to.
func (c *chain) contractLogs(from, to uint64) []types.Log {
	var out []types.Log
	for n := from; n <= to; n++ {
		for _, l := range c.block(n).logs {
			if l.Address == contract {
				out = append(out, l)
			}
		}
	}
	return out
}

// node is one endpoint serving a chain, with faults.
type node struct {
	t       *testing.T
	c       *chain
	chainID uint64
	srv     *httptest.Server
	rpc     *rpc.Server

	maxRange   atomic.Uint64 // >0: -32005 above this many blocks
	fail       atomic.Bool   // HTTP 500 to everything
	hang       atomic.Bool   // no answer until the client gives up
	failLogs   atomic.Bool   // HTTP 500 to eth_getLogs and headers, but eth_blockNumber answers
	noReceipts atomic.Bool   // eth_getBlockReceipts unknown
	dropEvery  atomic.Int64  // >0: drop each contract log whose data ends with a multiple of this
	dropBlock  atomic.Int64  // >0: eth_getLogs returns no log of this block
	// rangeOnly: dropEvery and dropBlock apply to eth_getLogs over block
	// ranges only (a node's log index missing logs), not by block hash.
	rangeOnly atomic.Bool
	// rateLimit > 0: that many eth_getLogs range calls are refused by a
	// rate limit, as HTTP 429 with rateHTTP, else as Infura's -32005.
	rateLimit atomic.Int64
	rateHTTP  atomic.Bool
	// subFail > 0: that many eth_subscribe calls fail (a busy node, or
	// one that answers after the client gave up).
	subFail atomic.Int64
	// stallFrom > 0: eth_getLogs ranges that reach this block fail, as a
	// node that has not indexed its logs yet: a sentry stops exactly
	// before it, so a test knows which block its cursor ends on.
	stallFrom atomic.Uint64
	// faultFrom > 0: the first eth_getLogs range that reaches this block
	// runs onFault first (a node failing at a known point of the sync,
	// whatever the machine's speed).
	faultFrom atomic.Uint64
	onFault   func()

	mu     sync.Mutex
	calls  map[string]int
	ranges [][3]uint64 // from, to, ok (1) or refused (0)
	// getLogs is every eth_getLogs call in order, ranges and by block hash
	// (as the block it names), answered or not.
	getLogs []logsCall
	// onCall answers eth_call (nil: unsupported).
	onCall func(to common.Address, block string) (hexutil.Bytes, error)
}

func newNode(t *testing.T, c *chain, chainID uint64) *node {
	n := &node{t: t, c: c, chainID: chainID, calls: map[string]int{}}
	srv := rpc.NewServer()
	if err := srv.RegisterName("eth", &ethService{n: n}); err != nil {
		t.Fatal(err)
	}
	n.rpc = srv
	ws := srv.WebsocketHandler([]string{"*"})
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			ws.ServeHTTP(w, r)
			return
		}
		if n.hang.Load() {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		if n.fail.Load() {
			http.Error(w, "backend down", http.StatusInternalServerError)
			return
		}
		if n.rateHTTP.Load() && n.rateLimit.Load() > 0 {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if bytes.Contains(body, []byte(`"eth_getLogs"`)) && bytes.Contains(body, []byte(`"fromBlock"`)) && n.rateLimit.Add(-1) >= 0 {
				n.inc("rate_limited")
				http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		n.srv.Close()
		srv.Stop()
	})
	return n
}

func (n *node) url() string { return n.srv.URL + "/v1/secretapikey0123456789?key=topsecret" }

func (n *node) wsURL() string { return "ws" + strings.TrimPrefix(n.url(), "http") }

func (n *node) count(m string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[m]
}

func (n *node) logRanges() [][3]uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([][3]uint64(nil), n.ranges...)
}

// logsCall is one eth_getLogs: blocks from..to; byHash for a call by
// block hash (from == to, the block of that hash, or ^0 for an unknown one).
type logsCall struct {
	from, to uint64
	byHash   bool
}

func (n *node) logsCalls() []logsCall {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]logsCall(nil), n.getLogs...)
}

func (n *node) inc(m string) {
	n.mu.Lock()
	n.calls[m]++
	n.mu.Unlock()
}

type ethService struct{ n *node }

// NewHeads is eth_subscribe("newHeads"): the head header after each change.
func (s *ethService) NewHeads(ctx context.Context) (*rpc.Subscription, error) {
	s.n.inc("eth_subscribe")
	if s.n.subFail.Add(-1) >= 0 {
		return nil, &rpcErr{-32000, "too many subscriptions: try again later"}
	}
	notifier, ok := rpc.NotifierFromContext(ctx)
	if !ok {
		return nil, rpc.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	ch := s.n.c.watch()
	go func() {
		for {
			select {
			case <-sub.Err():
				return
			case <-ch:
				_ = notifier.Notify(sub.ID, s.n.c.block(s.n.c.head()).h)
			}
		}
	}()
	return sub, nil
}

type rpcErr struct {
	code int
	msg  string
}

func (e *rpcErr) Error() string  { return e.msg }
func (e *rpcErr) ErrorCode() int { return e.code }

var errDown = errors.New("internal error: backend down")

func (s *ethService) ChainId() hexutil.Uint64 {
	s.n.inc("eth_chainId")
	return hexutil.Uint64(s.n.chainID)
}

func (s *ethService) BlockNumber() hexutil.Uint64 {
	s.n.inc("eth_blockNumber")
	return hexutil.Uint64(s.n.c.head())
}

func (s *ethService) GetBlockByNumber(num hexutil.Uint64, full bool) (*types.Header, error) {
	s.n.inc("eth_getBlockByNumber")
	if s.n.failLogs.Load() {
		return nil, errDown
	}
	b := s.n.c.block(uint64(num))
	if b == nil {
		return nil, nil
	}
	return b.h, nil
}

type callArg struct {
	To   common.Address `json:"to"`
	Data hexutil.Bytes  `json:"data"`
}

func (s *ethService) Call(a callArg, block string) (hexutil.Bytes, error) {
	s.n.inc("eth_call")
	s.n.mu.Lock()
	f := s.n.onCall
	s.n.mu.Unlock()
	if f == nil {
		return nil, &rpcErr{code: -32601, msg: "the method eth_call does not exist"}
	}
	return f(a.To, block)
}

type filterArg struct {
	Address   common.Address  `json:"address"`
	FromBlock *hexutil.Uint64 `json:"fromBlock"`
	ToBlock   *hexutil.Uint64 `json:"toBlock"`
	BlockHash *common.Hash    `json:"blockHash"`
}

func (s *ethService) GetLogs(f filterArg) ([]types.Log, error) {
	s.n.inc("eth_getLogs")
	if s.n.failLogs.Load() {
		return nil, errDown
	}
	var blocks []*fblock
	if f.BlockHash != nil {
		s.n.c.mu.Lock()
		for _, b := range s.n.c.blocks {
			if b.hash == *f.BlockHash {
				blocks = append(blocks, b)
			}
		}
		s.n.c.mu.Unlock()
		call := logsCall{from: ^uint64(0), to: ^uint64(0), byHash: true}
		if len(blocks) > 0 {
			call.from, call.to = blocks[0].h.Number.Uint64(), blocks[0].h.Number.Uint64()
		}
		s.n.mu.Lock()
		s.n.getLogs = append(s.n.getLogs, call)
		s.n.mu.Unlock()
		if len(blocks) == 0 {
			return nil, &rpcErr{-32000, "unknown block"}
		}
	} else {
		from, to := uint64(*f.FromBlock), uint64(*f.ToBlock)
		s.n.mu.Lock()
		s.n.getLogs = append(s.n.getLogs, logsCall{from: from, to: to})
		var fault func()
		if at := s.n.faultFrom.Load(); at > 0 && to >= at {
			fault, s.n.onFault = s.n.onFault, nil
		}
		s.n.mu.Unlock()
		if fault != nil {
			fault()
		}
		if st := s.n.stallFrom.Load(); st > 0 && to >= st {
			return nil, &rpcErr{-32000, fmt.Sprintf("logs from block %d are not indexed yet", st)}
		}
		if !s.n.rateHTTP.Load() && s.n.rateLimit.Load() > 0 && s.n.rateLimit.Add(-1) >= 0 {
			s.n.inc("rate_limited")
			return nil, &rpcErr{-32005, "project ID request rate exceeded"}
		}
		if m := s.n.maxRange.Load(); m > 0 && to-from+1 > m {
			s.n.mu.Lock()
			s.n.ranges = append(s.n.ranges, [3]uint64{from, to, 0})
			s.n.mu.Unlock()
			return nil, &rpcErr{-32005, "query returned more than 10000 results"}
		}
		s.n.mu.Lock()
		s.n.ranges = append(s.n.ranges, [3]uint64{from, to, 1})
		s.n.mu.Unlock()
		for i := from; i <= to; i++ {
			if b := s.n.c.block(i); b != nil {
				blocks = append(blocks, b)
			}
		}
	}
	out := []types.Log{}
	drops := f.BlockHash == nil || !s.n.rangeOnly.Load()
	for _, b := range blocks {
		for _, l := range b.logs {
			if l.Address != f.Address {
				continue
			}
			if d := s.n.dropBlock.Load(); drops && d > 0 && b.h.Number.Uint64() == uint64(d) {
				continue
			}
			if d := s.n.dropEvery.Load(); drops && d > 0 && len(l.Data) == 32 && binary.BigEndian.Uint64(l.Data[24:])%uint64(d) == 0 {
				continue
			}
			out = append(out, l)
		}
	}
	return out, nil
}

func (s *ethService) GetBlockReceipts(hash common.Hash) ([]map[string]any, error) {
	s.n.inc("eth_getBlockReceipts")
	if s.n.noReceipts.Load() {
		return nil, &rpcErr{-32601, "the method eth_getBlockReceipts does not exist/is not available"}
	}
	s.n.c.mu.Lock()
	defer s.n.c.mu.Unlock()
	for _, b := range s.n.c.blocks {
		if b.hash == hash {
			out := []map[string]any{}
			for _, l := range b.logs {
				out = append(out, map[string]any{"transactionIndex": hexutil.Uint(l.TxIndex), "logs": []types.Log{l}})
			}
			return out, nil
		}
	}
	return nil, nil
}

// testDecoder knows topicKnown with 32 bytes of data.
func testDecoder(l types.Log) (string, json.RawMessage, error) {
	if len(l.Topics) == 0 || l.Topics[0] != topicKnown {
		return "", nil, fmt.Errorf("%w: %s", ErrUnknownTopic, l.Topics)
	}
	if len(l.Data) != 32 {
		return "", nil, fmt.Errorf("%w: %d bytes of data, want 32", ErrMalformed, len(l.Data))
	}
	return "OperatorAdded", json.RawMessage(fmt.Sprintf(`{"operatorId":"%d"}`, binary.BigEndian.Uint64(l.Data[24:]))), nil
}

type record struct {
	subject, msgID string
	data           []byte
}

// memPublisher records what is published, in order.
type memPublisher struct {
	mu  sync.Mutex
	out []record
}

func (p *memPublisher) Publish(_ context.Context, subject, msgID string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, record{subject, msgID, append([]byte(nil), data...)})
	return nil
}

// records returns what was published, sync statuses left out.
func (p *memPublisher) records() []record {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []record
	for _, r := range p.out {
		if !strings.HasSuffix(r.subject, ".sync_status") {
			out = append(out, r)
		}
	}
	return out
}

func (p *memPublisher) statuses() []record {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []record
	for _, r := range p.out {
		if strings.HasSuffix(r.subject, ".sync_status") {
			out = append(out, r)
		}
	}
	return out
}
