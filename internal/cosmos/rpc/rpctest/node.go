// Package rpctest is a scripted stand-in for a CometBFT node's RPC, for
// tests of the rpc client and the sentry: HTTP routes (/status,
// /validators, /commit, /block) and /websocket subscriptions, answering
// with the JSON shapes of CometBFT v0.38 (int64 as strings, int32 as
// numbers, typed keys), and able to send hostile messages on demand. It
// listens on 127.0.0.1 only.
//
// It is not a consensus engine: tests drive it (Produce, Vote, Send…).
// Tests that need real consensus use the cosmos devnet.
package rpctest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// Genesis is the header time of height 1; height h is h seconds later.
var Genesis = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Validator is a member of the fake chain's set.
type Validator struct {
	Address     string // upper-case hex, 20 bytes
	PubKeyType  string
	PubKey      string // base64
	VotingPower int64
}

// MakeValidators returns n validators; the second (if any) has a key type
// no client knows, like a Union chain's bn254 keys.
func MakeValidators(seed string, n int) []Validator {
	vs := make([]Validator, n)
	for i := range vs {
		sum := sha256.Sum256([]byte(seed + "/" + strconv.Itoa(i)))
		vs[i] = Validator{Address: strings.ToUpper(hex.EncodeToString(sum[:20])), PubKeyType: "tendermint/PubKeyEd25519",
			PubKey: base64.StdEncoding.EncodeToString(sum[:]), VotingPower: int64(1000 - i%900)}
		if i == 1 {
			vs[i].PubKeyType = "cometbft/PubKeyBn254"
		}
	}
	return vs
}

type setFrom struct {
	from int64
	vals []Validator
	hash string
}

// Node is one fake node.
type Node struct {
	srv *httptest.Server

	mu          sync.Mutex
	chainID     string
	network     string // what /status says (normally chainID)
	moniker     string
	height      int64
	lowest      int64
	setsLowest  int64 // /validators below this answers pruned (0: lowest applies)
	catchingUp  bool
	staleBy     time.Duration // latest_block_time is this old
	frozen      int64         // > 0: /status reports this height forever, with a fresh time
	sets        []setFrom
	absent      map[string]bool // addresses absent from commits
	selfIndex   int             // index of the node's own validator; -1 none
	conns       map[*conn]bool
	broadcast   bool
	commitCalls map[int64]int
	valCalls    int
	failHTTP    bool
	abciValue   []byte // abci_query's answer value (nil: empty, as kvstore answers)
	abciCode    int
	abciPaths   map[string]int // abci_query calls by path
	abciFunc    ABCIFunc
}

type conn struct {
	c   *websocket.Conn
	wmu sync.Mutex
	mu  sync.Mutex
	ids map[string]json.RawMessage // query → request id
}

// New starts a node of chainID at height 0 with the given validators.
func New(chainID string, vals []Validator) *Node {
	n := &Node{chainID: chainID, network: chainID, moniker: "fake-" + chainID, lowest: 1, selfIndex: -1,
		conns: map[*conn]bool{}, broadcast: true, absent: map[string]bool{}, commitCalls: map[int64]int{}, abciPaths: map[string]int{}}
	n.sets = []setFrom{{from: 1, vals: vals, hash: setHash(vals)}}
	mux := http.NewServeMux()
	mux.HandleFunc("/status", n.handleStatus)
	mux.HandleFunc("/validators", n.handleValidators)
	mux.HandleFunc("/commit", n.handleCommit)
	mux.HandleFunc("/block", n.handleBlock)
	mux.HandleFunc("/abci_query", n.handleABCIQuery)
	mux.HandleFunc("/websocket", n.handleWS)
	n.srv = httptest.NewServer(mux)
	return n
}

// URL is the node's RPC base URL (http://127.0.0.1:port).
func (n *Node) URL() string { return n.srv.URL }

// Close stops the server and drops every connection.
func (n *Node) Close() {
	n.DropConnections()
	n.srv.CloseClientConnections()
	n.srv.Close()
}

func setHash(vals []Validator) string {
	h := sha256.New()
	for _, v := range vals {
		h.Write([]byte(v.Address))
	}
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// BlockHash is the fake hash of a height's block.
func BlockHash(chainID string, h int64) string {
	sum := sha256.Sum256([]byte(chainID + "/block/" + strconv.FormatInt(h, 10)))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Height is the latest height.
func (n *Node) Height() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.height
}

// SetHeight jumps to height h without sending any event (blocks made while
// the node was out of sight).
func (n *Node) SetHeight(h int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.height = h
}

// Set changes what /status says.
func (n *Node) SetNetwork(s string)      { n.with(func() { n.network = s }) }
func (n *Node) SetMoniker(s string)      { n.with(func() { n.moniker = s }) }
func (n *Node) SetCatchingUp(b bool)     { n.with(func() { n.catchingUp = b }) }
func (n *Node) SetStale(d time.Duration) { n.with(func() { n.staleBy = d }) }
func (n *Node) SetLowest(h int64)        { n.with(func() { n.lowest = h }) }

// SetLowestValidators makes /validators answer that heights below h are
// pruned, while blocks and commits stay (state pruned apart from blocks).
func (n *Node) SetLowestValidators(h int64)   { n.with(func() { n.setsLowest = h }) }
func (n *Node) SetSelf(i int)                 { n.with(func() { n.selfIndex = i }) }
func (n *Node) SetAbsent(addr string, b bool) { n.with(func() { n.absent[addr] = b }) }

// SetBroadcast stops (false) or resumes the sending of Produce's events.
func (n *Node) SetBroadcast(b bool) { n.with(func() { n.broadcast = b }) }

// SetFailHTTP makes every HTTP route answer 503.
func (n *Node) SetFailHTTP(b bool) { n.with(func() { n.failHTTP = b }) }

// Freeze makes /status report the current height forever, with a fresh
// time and catching_up false: a stuck node.
func (n *Node) Freeze() { n.with(func() { n.frozen = max(n.height, 1) }) }

func (n *Node) with(f func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f()
}

// ChangeValidators makes vals the set from the next height on.
func (n *Node) ChangeValidators(vals []Validator) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sets = append(n.sets, setFrom{from: n.height + 1, vals: vals, hash: setHash(vals)})
}

// CommitCalls is how often /commit?height=h was asked for.
func (n *Node) CommitCalls(h int64) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.commitCalls[h]
}

func (n *Node) setAt(h int64) setFrom {
	s := n.sets[0]
	for _, x := range n.sets {
		if x.from <= h {
			s = x
		}
	}
	return s
}

// Produce makes k blocks; each is sent as a NewBlock event to subscribers
// unless broadcasting is off.
func (n *Node) Produce(k int) {
	for range k {
		n.mu.Lock()
		n.height++
		h, on := n.height, n.broadcast
		var data json.RawMessage
		if on {
			data = n.blockJSON(h)
		}
		n.mu.Unlock()
		if on {
			n.SendEvent("tm.event='NewBlock'", `{"type":"tendermint/event/NewBlock","value":`+string(data)+`}`)
		}
	}
}

func (n *Node) commitJSON(h int64) map[string]any {
	set := n.setAt(h)
	sigs := make([]map[string]any, len(set.vals))
	t := Genesis.Add(time.Duration(h) * time.Second)
	for i, v := range set.vals {
		if n.absent[v.Address] {
			sigs[i] = map[string]any{"block_id_flag": 1, "validator_address": "", "timestamp": "0001-01-01T00:00:00Z", "signature": nil}
			continue
		}
		sigs[i] = map[string]any{"block_id_flag": 2, "validator_address": v.Address,
			"timestamp": t.Add(500 * time.Millisecond).Format(time.RFC3339Nano), "signature": "c2ln"}
	}
	return map[string]any{"height": strconv.FormatInt(h, 10), "round": 0,
		"block_id":   map[string]any{"hash": BlockHash(n.chainID, h), "parts": map[string]any{"total": 1, "hash": "AA"}},
		"signatures": sigs}
}

func (n *Node) headerJSON(h int64) map[string]any {
	set := n.setAt(h)
	prop := set.vals[int(h)%len(set.vals)]
	return map[string]any{"version": map[string]any{"block": "11"}, "chain_id": n.chainID,
		"height": strconv.FormatInt(h, 10), "time": Genesis.Add(time.Duration(h) * time.Second).Format(time.RFC3339Nano),
		"last_block_id":   map[string]any{"hash": BlockHash(n.chainID, h-1)},
		"validators_hash": set.hash, "next_validators_hash": n.setAt(h + 1).hash,
		"proposer_address": prop.Address, "app_hash": "", "data_hash": ""}
}

// blockJSON is the value of NewBlock (0.38 shape), with h%3 transactions.
func (n *Node) blockJSON(h int64) json.RawMessage {
	txs := make([]string, h%3)
	for i := range txs {
		txs[i] = "dHg="
	}
	last := map[string]any{"height": "0", "round": 0, "block_id": map[string]any{"hash": ""}, "signatures": []any{}}
	if h > 1 {
		last = n.commitJSON(h - 1)
	}
	b, _ := json.Marshal(map[string]any{
		"block": map[string]any{"header": n.headerJSON(h), "data": map[string]any{"txs": txs},
			"evidence": map[string]any{"evidence": []any{}}, "last_commit": last},
		"block_id":              map[string]any{"hash": BlockHash(n.chainID, h), "parts": map[string]any{"total": 1, "hash": "AA"}},
		"result_finalize_block": map[string]any{"events": []any{}, "tx_results": []any{}, "app_hash": "AAAA"},
	})
	return b
}

// BlockEventJSON is the data of a NewBlock event for height h.
func (n *Node) BlockEventJSON(h int64) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return `{"type":"tendermint/event/NewBlock","value":` + string(n.blockJSON(h)) + `}`
}

// VoteJSON is the data of a Vote event.
func VoteJSON(h int64, round int32, typ int, addr string, index int) string {
	return fmt.Sprintf(`{"type":"tendermint/event/Vote","value":{"Vote":{"type":%d,"height":"%d","round":%d,`+
		`"block_id":{"hash":"%s","parts":{"total":1,"hash":"AA"}},"timestamp":"%s","validator_address":"%s",`+
		`"validator_index":%d,"signature":"c2ln","extension":null,"extension_signature":null}}}`,
		typ, h, round, BlockHash("x", h), Genesis.Add(time.Duration(h)*time.Second).Format(time.RFC3339Nano), addr, index)
}

// Vote sends a vote of the validator at index i of the set.
func (n *Node) Vote(h int64, round int32, typ int, i int) {
	n.mu.Lock()
	v := n.setAt(h).vals[i]
	n.mu.Unlock()
	n.SendEvent("tm.event='Vote'", VoteJSON(h, round, typ, v.Address, i))
}

// NewRound sends a NewRound event.
func (n *Node) NewRound(h int64, round int32) {
	n.mu.Lock()
	v := n.setAt(h).vals[0]
	n.mu.Unlock()
	n.SendEvent("tm.event='NewRound'", fmt.Sprintf(`{"type":"tendermint/event/NewRound","value":{"height":"%d","round":%d,"step":"RoundStepNewRound","proposer":{"address":"%s","index":0}}}`, h, round, v.Address))
}

// Step sends a NewRoundStep event (step as CometBFT names it, e.g. RoundStepPropose).
func (n *Node) Step(h int64, round int32, step string) {
	n.SendEvent("tm.event='NewRoundStep'", fmt.Sprintf(`{"type":"tendermint/event/RoundState","value":{"height":"%d","round":%d,"step":"%s"}}`, h, round, step))
}

// SendEvent sends data (the JSON of result.data) as an event of query to
// every connection subscribed to it.
func (n *Node) SendEvent(query, data string) {
	for _, c := range n.connections() {
		c.mu.Lock()
		id, ok := c.ids[query]
		c.mu.Unlock()
		if !ok {
			continue
		}
		c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"query":%q,"data":%s,"events":{"tm.event":["x"]}}}`, id, query, data))
	}
}

// SendRaw sends text as it is to every connection.
func (n *Node) SendRaw(text string) {
	for _, c := range n.connections() {
		c.write(text)
	}
}

// CancelSubscription sends the error CometBFT sends to a subscriber it
// dropped for being slow.
func (n *Node) CancelSubscription(query string) {
	for _, c := range n.connections() {
		c.mu.Lock()
		id, ok := c.ids[query]
		c.mu.Unlock()
		if ok {
			c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32000,"message":"Server error","data":"subscription was canceled (reason: internal subscription event buffer is out of capacity)"}}`, id))
		}
	}
}

func (c *conn) write(text string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.c.Write(ctx, websocket.MessageText, []byte(text))
}

func (n *Node) connections() []*conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*conn, 0, len(n.conns))
	for c := range n.conns {
		out = append(out, c)
	}
	return out
}

// Subscribed is the number of connections with all four subscriptions.
func (n *Node) Subscribed() int {
	k := 0
	for _, c := range n.connections() {
		c.mu.Lock()
		if len(c.ids) == 4 {
			k++
		}
		c.mu.Unlock()
	}
	return k
}

// DropConnections closes every WebSocket connection abruptly.
func (n *Node) DropConnections() {
	for _, c := range n.connections() {
		c.c.CloseNow()
	}
}

func (n *Node) handleWS(w http.ResponseWriter, r *http.Request) {
	wc, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	wc.SetReadLimit(1 << 20)
	c := &conn{c: wc, ids: map[string]json.RawMessage{}}
	n.with(func() { n.conns[c] = true })
	defer func() {
		n.with(func() { delete(n.conns, c) })
		wc.CloseNow()
	}()
	for {
		_, data, err := wc.Read(r.Context())
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Query string `json:"query"`
			} `json:"params"`
		}
		if json.Unmarshal(data, &req) != nil || req.Method != "subscribe" {
			continue
		}
		c.mu.Lock()
		_, dup := c.ids[req.Params.Query]
		if !dup {
			c.ids[req.Params.Query] = req.ID
		}
		c.mu.Unlock()
		if dup {
			c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32603,"message":"Internal error","data":"failed to subscribe: already subscribed"}}`, req.ID))
			continue
		}
		c.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{}}`, req.ID))
	}
}

func writeResult(w http.ResponseWriter, result any) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": -1, "result": result})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func writeError(w http.ResponseWriter, code int, data string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": -1, "error": map[string]any{"code": code, "message": "Internal error", "data": data}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(b)
}

func (n *Node) failing(w http.ResponseWriter) bool {
	if n.failHTTP {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return true
	}
	return false
}

func (n *Node) handleStatus(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failing(w) {
		return
	}
	h := n.height
	t := time.Now().Add(-n.staleBy)
	if n.frozen > 0 {
		h = n.frozen
	}
	vi := map[string]any{"address": "", "pub_key": map[string]any{"type": "tendermint/PubKeyEd25519", "value": ""}, "voting_power": "0"}
	if n.selfIndex >= 0 {
		v := n.setAt(h).vals[n.selfIndex]
		vi = map[string]any{"address": v.Address, "pub_key": map[string]any{"type": v.PubKeyType, "value": v.PubKey}, "voting_power": strconv.FormatInt(v.VotingPower, 10)}
	}
	writeResult(w, map[string]any{
		"node_info": map[string]any{"protocol_version": map[string]any{"p2p": "8", "block": "11", "app": "0"},
			"id": "abcd", "network": n.network, "version": "0.38.26", "moniker": n.moniker,
			"other": map[string]any{"tx_index": "on", "rpc_address": "tcp://0.0.0.0:26657"}},
		"sync_info": map[string]any{"latest_block_hash": BlockHash(n.chainID, h), "latest_app_hash": "",
			"latest_block_height": strconv.FormatInt(h, 10), "latest_block_time": t.UTC().Format(time.RFC3339Nano),
			"earliest_block_height": strconv.FormatInt(n.lowest, 10), "catching_up": n.catchingUp},
		"validator_info": vi,
	})
}

// heightParam parses ?height= as CometBFT does, answering its errors.
func (n *Node) heightParam(w http.ResponseWriter, r *http.Request) (int64, bool) {
	hs := strings.Trim(r.URL.Query().Get("height"), `"`)
	if hs == "" {
		return n.height, true
	}
	h, err := strconv.ParseInt(hs, 10, 64)
	if err != nil || h <= 0 {
		writeError(w, -32603, "height must be greater than 0, but got "+hs)
		return 0, false
	}
	if h > n.height {
		writeError(w, -32603, fmt.Sprintf("height %d must be less than or equal to the current blockchain height %d", h, n.height))
		return 0, false
	}
	if h < n.lowest {
		writeError(w, -32603, fmt.Sprintf("height %d is not available, lowest height is %d", h, n.lowest))
		return 0, false
	}
	return h, true
}

func (n *Node) handleValidators(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failing(w) {
		return
	}
	n.valCalls++
	h, ok := n.heightParam(w, r)
	if !ok {
		return
	}
	if h < n.setsLowest {
		writeError(w, -32603, fmt.Sprintf("height %d is not available, lowest height is %d", h, n.setsLowest))
		return
	}
	vals := n.setAt(h).vals
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if page == 0 {
		page = 1
	}
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	pages := (len(vals) + per - 1) / per
	if page < 1 || page > pages {
		writeError(w, -32603, fmt.Sprintf("page should be within [1, %d] range, given %d", pages, page))
		return
	}
	lo, hi := (page-1)*per, min(page*per, len(vals))
	out := make([]map[string]any, 0, hi-lo)
	for _, v := range vals[lo:hi] {
		out = append(out, map[string]any{"address": v.Address, "pub_key": map[string]any{"type": v.PubKeyType, "value": v.PubKey},
			"voting_power": strconv.FormatInt(v.VotingPower, 10), "proposer_priority": "-5"})
	}
	writeResult(w, map[string]any{"block_height": strconv.FormatInt(h, 10), "validators": out,
		"count": strconv.Itoa(len(out)), "total": strconv.Itoa(len(vals))})
}

func (n *Node) handleCommit(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failing(w) {
		return
	}
	hq, _ := strconv.ParseInt(r.URL.Query().Get("height"), 10, 64)
	n.commitCalls[hq]++
	h, ok := n.heightParam(w, r)
	if !ok {
		return
	}
	writeResult(w, map[string]any{"signed_header": map[string]any{"header": n.headerJSON(h), "commit": n.commitJSON(h)},
		"canonical": h < n.height})
}

func (n *Node) handleBlock(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failing(w) {
		return
	}
	h, ok := n.heightParam(w, r)
	if !ok {
		return
	}
	writeResult(w, json.RawMessage(n.blockJSON(h)))
}

// SetABCIAnswer sets what abci_query answers for any path: a code and a
// value (protobuf bytes). The default, code 0 and no value, is what the
// kvstore application answers for a path it does not know.
func (n *Node) SetABCIAnswer(code int, value []byte) {
	n.with(func() { n.abciCode, n.abciValue = code, append([]byte(nil), value...) })
}

// ABCIFunc answers abci_query in place of SetABCIAnswer: path and data as
// the client sent them (data nil when absent or not 0x-hex); code and
// value as the application answers.
type ABCIFunc func(path string, data []byte) (code int, value []byte)

// SetABCIFunc makes f answer every abci_query (nil: SetABCIAnswer's
// answer again). f runs outside the node's lock.
func (n *Node) SetABCIFunc(f ABCIFunc) { n.with(func() { n.abciFunc = f }) }

// ABCICallsFor counts abci_query requests of one path.
func (n *Node) ABCICallsFor(path string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.abciPaths[path]
}

func (n *Node) handleABCIQuery(w http.ResponseWriter, r *http.Request) {
	// CometBFT's URI form quotes strings and writes bytes as 0x-hex.
	path, err := strconv.Unquote(r.URL.Query().Get("path"))
	if err != nil {
		path = r.URL.Query().Get("path")
	}
	data, _ := hex.DecodeString(strings.TrimPrefix(r.URL.Query().Get("data"), "0x"))
	n.mu.Lock()
	n.abciPaths[path]++
	if n.failing(w) {
		n.mu.Unlock()
		return
	}
	f, code, value, height := n.abciFunc, n.abciCode, n.abciValue, n.height
	n.mu.Unlock()
	if f != nil {
		code, value = f(path, data)
	}
	var v any
	if len(value) > 0 {
		v = value // []byte marshals as base64
	}
	writeResult(w, map[string]any{"response": map[string]any{"code": code, "log": "", "info": "", "index": "0",
		"key": nil, "value": v, "proofOps": nil, "height": strconv.FormatInt(height, 10), "codespace": ""}})
}

// SlashingParamsResponse is x/slashing's QueryParamsResponse{params: Params{window, min, …}}
// with the fields x/slashing also sends (downtime_jail_duration, the two
// slash fractions), and one unknown field of each wire type.
func SlashingParamsResponse(window uint64, minDec string) []byte {
	p := rpc.EncodeSlashingParams(rpc.SlashingRecord{SignedBlocksWindow: int64(window), MinSignedPerWindow: minDec,
		DowntimeJailSeconds: 600, SlashFractionDoubleSign: "50000000000000000", SlashFractionDowntime: "10000000000000000"})
	p = append(p, rpc.ProtoField(99, 1, []byte{1, 2, 3, 4, 5, 6, 7, 8})...)
	p = append(p, rpc.ProtoField(98, 5, []byte{1, 2, 3, 4})...)
	return rpc.EncodeSlashingParamsResponse(p)
}
