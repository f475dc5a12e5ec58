// Package feedtest is a substrate-telemetry feed for tests, on
// 127.0.0.1: it speaks the /feed protocol of the telemetry backend
// (feed_message.rs, FEED_VERSION 33) for one chain. A connection gets the
// Version / TelemetryInfo / AddedChain greeting; "subscribe:<genesis>" is
// answered with SubscribedTo and the replay of every node as AddedNode
// (+ FinalizedBlock, + StaleNode) in chunks of 64 nodes per frame, as the
// server does; "ping:<v>" with Pong. The test adds, removes and locates
// nodes (each call one binary frame, or one frame per Batch), sends raw
// frames, drops connections and refuses new ones.
package feedtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Version is the FEED_VERSION the server announces.
const Version = 33

// chunk is the server's number of nodes per replay frame.
const chunk = 64

// Node is what a node reports to telemetry.
type Node struct {
	Name, Implementation, Version string
	ValidatorAddress              string // "" is null
	NetworkID                     string
	IP                            string    // "" is null (the server hides IPs unless configured)
	StartupTime                   int64     // unix ms, 0 is null
	Location                      *Location // nil until located
	Stale                         bool
}

// Location is a node's geolocation.
type Location struct {
	Lat, Lon float64
	City     string
}

type conn struct {
	ws         *websocket.Conn
	out        chan []byte
	cancel     context.CancelFunc
	subscribed bool
}

// Server is a feed of one chain.
type Server struct {
	Genesis string
	Label   string

	srv                        *httptest.Server
	mu                         sync.Mutex
	nodes                      map[uint64]*Node
	conns                      map[*conn]struct{}
	refuse                     bool
	batch                      []any // nil: not batching
	batched                    bool
	accepts, subscribes, pings int
}

// New starts a feed for the chain with genesis (0x hash).
func New(genesis string) *Server {
	s := &Server{Genesis: strings.ToLower(genesis), Label: "Testnet", nodes: map[uint64]*Node{}, conns: map[*conn]struct{}{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the feed's ws:// URL (…/feed).
func (s *Server) URL() string { return "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/feed" }

// Close drops every connection and stops the server.
func (s *Server) Close() {
	s.Drop()
	s.srv.Close()
}

// Refuse makes new connections fail (HTTP 503) while on.
func (s *Server) Refuse(on bool) {
	s.mu.Lock()
	s.refuse = on
	s.mu.Unlock()
}

// Drop closes every connection abruptly (no close frame), as a crashed
// server or a broken network would.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.cancel()
		c.ws.CloseNow()
		delete(s.conns, c)
	}
}

// Counts of connections accepted, subscribe commands (to any genesis),
// pings, and connections open now.
func (s *Server) Counts() (accepts, subscribes, pings, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts, s.subscribes, s.pings, len(s.conns)
}

// Add adds a node and tells subscribers; the id is the lowest free slot,
// as the server allocates them (an id is reused after its node left).
func (s *Server) Add(n Node) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var id uint64
	for s.nodes[id] != nil {
		id++
	}
	cp := n
	s.nodes[id] = &cp
	s.emit(3, added(id, &cp))
	return id
}

// Remove removes a node. The last node of the chain is announced as
// RemovedChain, as the server does (it sends no RemovedNode then).
func (s *Server) Remove(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nodes[id] == nil {
		return
	}
	delete(s.nodes, id)
	if len(s.nodes) == 0 {
		s.emit(12, s.Genesis)
		return
	}
	s.emit(4, id)
}

// Locate sets a node's location and tells subscribers.
func (s *Server) Locate(id uint64, lat, lon float64, city string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[id]; n != nil {
		n.Location = &Location{Lat: lat, Lon: lon, City: city}
	}
	s.emit(5, []any{id, lat, lon, city})
}

// Emit sends one message of any action to subscribers (for unknown
// actions and odd payloads).
func (s *Server) Emit(action int, payload any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emit(action, payload)
}

// Batch sends the messages of the calls fn makes as one frame.
func (s *Server) Batch(fn func()) {
	s.mu.Lock()
	s.batch, s.batched = []any{}, true
	s.mu.Unlock()
	fn()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.batch
	s.batch, s.batched = nil, false
	if len(b) > 0 {
		s.broadcast(frame(b))
	}
}

// SendRaw sends a frame as it is to subscribers.
func (s *Server) SendRaw(f []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broadcast(f)
}

func (s *Server) emit(action int, payload any) {
	if s.batched {
		s.batch = append(s.batch, action, payload)
		return
	}
	s.broadcast(frame([]any{action, payload}))
}

func (s *Server) broadcast(f []byte) {
	for c := range s.conns {
		if c.subscribed {
			s.send(c, f)
		}
	}
}

// send queues a frame; a connection that does not keep up is dropped, as
// the server drops slow feeds.
func (s *Server) send(c *conn, f []byte) {
	select {
	case c.out <- f:
	default:
		c.cancel()
		c.ws.CloseNow()
		delete(s.conns, c)
	}
}

func frame(parts []any) []byte {
	b, err := json.Marshal(parts)
	if err != nil {
		panic("feedtest: " + err.Error()) // only our own values are marshalled
	}
	return b
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const zeroHash = "0x0000000000000000000000000000000000000000000000000000000000000000"

// added is an AddedNode payload in the current (11-field details) layout.
func added(id uint64, n *Node) any {
	details := []any{n.Name, n.Implementation, n.Version, orNull(n.ValidatorAddress), n.NetworkID,
		"linux", "x86_64", "gnu", orNull(n.IP), nil, nil}
	var loc any
	if n.Location != nil {
		loc = []any{n.Location.Lat, n.Location.Lon, n.Location.City}
	}
	var st any
	if n.StartupTime != 0 {
		st = n.StartupTime
	}
	return []any{id, details, []any{12, 0}, []any{[]any{}}, []any{[]any{}, []any{}, []any{}},
		[]any{100, zeroHash, 6000, 1700000000000, nil}, loc, st}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/feed" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	refuse := s.refuse
	s.mu.Unlock()
	if refuse {
		http.Error(w, "feedtest: refusing connections", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 10) // commands are short
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{ws: ws, out: make(chan []byte, 4096), cancel: cancel}
	s.mu.Lock()
	s.accepts++
	s.conns[c] = struct{}{}
	s.send(c, frame([]any{0, Version, 23, map[string]string{"git_hash": "feedtest"}, 11, []any{s.Label, s.Genesis, len(s.nodes)}}))
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		cancel()
		ws.CloseNow()
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-c.out:
				wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
				err := ws.Write(wctx, websocket.MessageBinary, f)
				wcancel()
				if err != nil {
					cancel()
					ws.CloseNow()
					return
				}
			}
		}
	}()
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue // the server ignores all but text commands
		}
		cmd, val, ok := strings.Cut(string(data), ":")
		if !ok {
			continue
		}
		s.mu.Lock()
		switch cmd {
		case "ping":
			s.pings++
			s.send(c, frame([]any{15, val}))
		case "subscribe":
			s.subscribes++
			// The server ignores a subscribe to a chain it does not know.
			if strings.ToLower(val) == s.Genesis {
				s.subscribe(c)
			}
		}
		s.mu.Unlock()
	}
}

// subscribe answers a subscribe and replays the nodes (under s.mu, so no
// broadcast is missed or sent twice).
func (s *Server) subscribe(c *conn) {
	s.send(c, frame([]any{13, s.Genesis, 10, time.Now().UnixMilli(), 1, []any{100, 1700000000000, 6000},
		2, []any{99, zeroHash}, 22, map[string]any{}}))
	var ids []uint64
	for id := range s.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i := 0; i < len(ids); i += chunk {
		var parts []any
		for _, id := range ids[i:min(i+chunk, len(ids))] {
			n := s.nodes[id]
			parts = append(parts, 3, added(id, n), 7, []any{id, 99, zeroHash})
			if n.Stale {
				parts = append(parts, 20, id)
			}
		}
		s.send(c, frame(parts))
	}
	c.subscribed = true
}
