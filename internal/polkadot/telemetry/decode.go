// Package telemetry is a client of the substrate-telemetry feed (the
// backend's /feed websocket, the one the telemetry web page reads): it
// subscribes to one chain by genesis hash, tracks which nodes are online,
// since when, where, and how long they were offline this ISO week, and
// publishes an events.Telemetry record per node name.
//
// The feed is hostile input: every frame is bounded, a malformed message
// is skipped (counted) rather than failing its frame, and nothing in a
// frame can make the decoder panic (FuzzDecode).
package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// MaxFrame is the largest frame Decode accepts. The server sends its
// replay in chunks of 64 nodes (~32 KiB each), so a frame this large is
// either a broken or a hostile server.
const MaxFrame = 4 << 20

// Field bounds: the server does not limit what a node reports, so the
// decoder does. A node name over MaxName refuses the message (a
// truncated name could collide with another node's); other strings are
// truncated.
const (
	MaxName  = 512
	MaxField = 256
)

// Action is a feed message's action code (feed_message.rs).
type Action int

// The actions of the feed (FEED_VERSION 33). Codes 16–19 were removed by
// the server; their numbers are not reused.
const (
	ActVersion          Action = 0
	ActBestBlock        Action = 1
	ActBestFinalized    Action = 2
	ActAddedNode        Action = 3
	ActRemovedNode      Action = 4
	ActLocatedNode      Action = 5
	ActImportedBlock    Action = 6
	ActFinalizedBlock   Action = 7
	ActNodeStatsUpdate  Action = 8
	ActHardware         Action = 9
	ActTimeSync         Action = 10
	ActAddedChain       Action = 11
	ActRemovedChain     Action = 12
	ActSubscribedTo     Action = 13
	ActUnsubscribedFrom Action = 14
	ActPong             Action = 15
	ActStaleNode        Action = 20
	ActNodeIOUpdate     Action = 21
	ActChainStatsUpdate Action = 22
	ActTelemetryInfo    Action = 23
)

// known are the actions the server sends; the ones this package has no
// use for decode to Ignored, anything else to Unknown.
func known(a Action) bool { return (a >= 0 && a <= 15) || (a >= 20 && a <= 23) }

// Message is one decoded feed message: one of the types below.
type Message interface{ Action() Action }

// Version is the feed protocol version (33 when this was written).
type Version struct{ Version int64 }

// AddedNode is a node joining the chain, or the replay of a known node on
// subscribe.
type AddedNode struct {
	ID               uint64 // the feed's node id: per chain, reused after removal
	Name             string
	Implementation   string
	Version          string
	ValidatorAddress string
	NetworkID        string
	IP               string           // "" unless the server exposes node details
	Location         *events.Location // nil: not located yet
	StartupTime      int64            // unix ms, 0 unknown
}

// RemovedNode is a node leaving the chain. When the last node of a chain
// leaves, the server sends RemovedChain instead.
type RemovedNode struct{ ID uint64 }

// LocatedNode is the server's geolocation of a node.
type LocatedNode struct {
	ID       uint64
	Location events.Location
}

// StaleNode is a node that stopped reporting blocks (still connected).
type StaleNode struct{ ID uint64 }

// SubscribedTo confirms a subscribe: the replay of the chain's nodes
// follows.
type SubscribedTo struct{ Genesis string }

// UnsubscribedFrom says the feed no longer sends a chain.
type UnsubscribedFrom struct{ Genesis string }

// AddedChain is a chain's label and node count (sent to every feed).
type AddedChain struct {
	Label   string
	Genesis string
	Nodes   uint64
}

// RemovedChain: the chain's last node left, or its label changed (then an
// AddedChain for the same genesis follows in the same frame).
type RemovedChain struct{ Genesis string }

// Pong answers a "ping:<value>" command.
type Pong struct{ Value string }

// Ignored is a known action this package does not use (blocks, stats …).
type Ignored struct{ Act Action }

// Unknown is an action this package does not know.
type Unknown struct{ Act Action }

// Malformed is a message whose action or payload did not decode; it was
// skipped, the rest of the frame was not.
type Malformed struct {
	Act Action // -1 when the action itself was not a number
	Err error
}

func (Version) Action() Action          { return ActVersion }
func (AddedNode) Action() Action        { return ActAddedNode }
func (RemovedNode) Action() Action      { return ActRemovedNode }
func (LocatedNode) Action() Action      { return ActLocatedNode }
func (StaleNode) Action() Action        { return ActStaleNode }
func (SubscribedTo) Action() Action     { return ActSubscribedTo }
func (UnsubscribedFrom) Action() Action { return ActUnsubscribedFrom }
func (AddedChain) Action() Action       { return ActAddedChain }
func (RemovedChain) Action() Action     { return ActRemovedChain }
func (Pong) Action() Action             { return ActPong }
func (m Ignored) Action() Action        { return m.Act }
func (m Unknown) Action() Action        { return m.Act }
func (m Malformed) Action() Action      { return m.Act }

// ErrFrameTooBig refuses a frame over MaxFrame.
var ErrFrameTooBig = errors.New("telemetry feed frame too big")

// Decode splits a frame, a JSON array [action, payload, action, payload …],
// into its messages. It fails only when the frame is over MaxFrame or is
// not a JSON array; a message that does not decode is returned as
// Malformed, an action it does not know as Unknown.
func Decode(frame []byte) ([]Message, error) {
	if len(frame) > MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d (a broken or hostile feed)", ErrFrameTooBig, len(frame), MaxFrame)
	}
	parts, err := splitArray(frame, nil)
	if err != nil {
		return nil, fmt.Errorf("telemetry feed frame is not a JSON array (%d bytes; skipped): %w", len(frame), err)
	}
	out := make([]Message, 0, len(parts)/2+1)
	for i := 0; i < len(parts); i += 2 {
		a, err := parseInt(parts[i])
		if err != nil || a < 0 || a > math.MaxInt32 {
			// Without a valid action the pairing of the rest is still the
			// server's; keep going two by two.
			out = append(out, Malformed{Act: -1, Err: fmt.Errorf("message %d: action %.32q is not a small non-negative integer", i/2, parts[i])})
			continue
		}
		act := Action(a)
		if i+1 >= len(parts) {
			out = append(out, Malformed{Act: act, Err: fmt.Errorf("message %d (action %d): no payload", i/2, act)})
			break
		}
		m, err := decodeOne(act, parts[i+1])
		if err != nil {
			out = append(out, Malformed{Act: act, Err: fmt.Errorf("message %d (action %d): %w", i/2, act, err)})
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func decodeOne(act Action, p []byte) (Message, error) {
	switch act {
	case ActVersion:
		v, err := parseInt(p)
		if err != nil {
			return nil, fmt.Errorf("version: %w", err)
		}
		return Version{Version: v}, nil
	case ActAddedNode:
		return decodeAdded(p)
	case ActRemovedNode, ActStaleNode:
		id, err := decodeID(p)
		if err != nil {
			return nil, err
		}
		if act == ActStaleNode {
			return StaleNode{ID: id}, nil
		}
		return RemovedNode{ID: id}, nil
	case ActLocatedNode:
		t, err := splitArray(p, nil)
		if err != nil || len(t) < 3 {
			return nil, errors.New("located node: want [id, lat, lon, city]")
		}
		id, err := parseUint(t[0])
		if err != nil {
			return nil, fmt.Errorf("located node id: %w", err)
		}
		var city []byte
		if len(t) > 3 {
			city = t[3]
		}
		loc, err := decodeLocation(t[1], t[2], city)
		if err != nil {
			return nil, err
		}
		return LocatedNode{ID: id, Location: loc}, nil
	case ActSubscribedTo, ActUnsubscribedFrom, ActRemovedChain:
		g, err := decodeHash(p)
		if err != nil {
			return nil, err
		}
		switch act {
		case ActSubscribedTo:
			return SubscribedTo{Genesis: g}, nil
		case ActUnsubscribedFrom:
			return UnsubscribedFrom{Genesis: g}, nil
		}
		return RemovedChain{Genesis: g}, nil
	case ActAddedChain:
		t, err := splitArray(p, nil)
		if err != nil || len(t) < 3 {
			return nil, errors.New("added chain: want [label, genesis, node count]")
		}
		label, err := str(t[0], MaxField)
		if err != nil {
			return nil, fmt.Errorf("added chain label: %w", err)
		}
		g, err := decodeHash(t[1])
		if err != nil {
			return nil, err
		}
		n, err := parseUint(t[2])
		if err != nil {
			return nil, fmt.Errorf("added chain node count: %w", err)
		}
		return AddedChain{Label: label, Genesis: g, Nodes: n}, nil
	case ActPong:
		v, err := str(p, MaxField)
		if err != nil {
			return nil, fmt.Errorf("pong: %w", err)
		}
		return Pong{Value: v}, nil
	}
	if known(act) {
		return Ignored{Act: act}, nil
	}
	return Unknown{Act: act}, nil
}

func decodeID(p []byte) (uint64, error) {
	id, err := parseUint(p)
	if err != nil {
		return 0, fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// decodeHash reads a 0x-prefixed 32-byte hash, lower-cased.
func decodeHash(p []byte) (string, error) {
	s, err := str(p, 66)
	if err != nil {
		return "", fmt.Errorf("hash: %w", err)
	}
	if !IsGenesis(s) {
		return "", fmt.Errorf("hash %q is not 0x and 64 hex digits", s)
	}
	return strings.ToLower(s), nil
}

// IsGenesis reports whether s is a 0x-prefixed 32-byte hex hash.
func IsGenesis(s string) bool {
	if len(s) != 66 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range []byte(s[2:]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

var null = []byte("null")

func isNull(p []byte) bool { return len(p) == 0 || bytes.Equal(p, null) }

// str decodes a JSON string (null is ""), truncated to max bytes on a
// rune boundary, invalid UTF-8 replaced.
func str(p []byte, max int) (string, error) {
	if isNull(p) {
		return "", nil
	}
	s, err := parseString(p)
	if err != nil {
		return "", err
	}
	return clip(s, max), nil
}

func clip(s string, max int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// decodeLocation reads lat, lon (f32 in the server) and city; a position
// outside the globe is refused.
func decodeLocation(lat, lon, city []byte) (events.Location, error) {
	var l events.Location
	var err error
	if l.Lat, err = parseFloat(lat); err != nil {
		return l, fmt.Errorf("latitude: %w", err)
	}
	if l.Lon, err = parseFloat(lon); err != nil {
		return l, fmt.Errorf("longitude: %w", err)
	}
	if math.IsNaN(l.Lat) || math.IsNaN(l.Lon) || l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 {
		return l, fmt.Errorf("location %g,%g is not on the globe", l.Lat, l.Lon)
	}
	c, err := str(city, MaxField)
	if err != nil {
		return l, fmt.Errorf("city: %w", err)
	}
	l.City = c
	return l, nil
}

// decodeAdded reads an AddedNode payload. The server's layout changed
// over time (feed_message.rs); all of them share [id, details, stats, io,
// hardware, blockDetails, location, startupTime] at the top, and details
// always start [name, implementation, version, validator, networkId]. The
// IP sits at details[8] since the 11-field layout (2024: target os, arch
// and env inserted before it) and at details[5] in the 6-, 7- and 8-field
// layouts before. Anything after startupTime (hwbench in some readings of
// the protocol) is ignored.
func decodeAdded(p []byte) (Message, error) {
	var buf [24][]byte // both splits below fit: no allocation for them
	top, err := splitArray(p, buf[:0:12])
	if err != nil || len(top) < 2 {
		return nil, errors.New("added node: want [id, details, …]")
	}
	var n AddedNode
	if n.ID, err = parseUint(top[0]); err != nil {
		return nil, fmt.Errorf("added node id: %w", err)
	}
	d, err := splitArray(top[1], buf[12:12:24])
	if err != nil || len(d) < 3 {
		return nil, fmt.Errorf("added node %d: details are not [name, implementation, version, …]", n.ID)
	}
	if isNull(d[0]) {
		return nil, fmt.Errorf("added node %d: no name", n.ID)
	}
	s, err := parseString(d[0])
	if err != nil {
		return nil, fmt.Errorf("added node %d: name: %w", n.ID, err)
	}
	if len(s) > MaxName {
		return nil, fmt.Errorf("added node %d: name of %d bytes (the limit is %d)", n.ID, len(s), MaxName)
	}
	n.Name = clip(s, MaxName)
	fields := []struct {
		i   int
		dst *string
	}{{1, &n.Implementation}, {2, &n.Version}, {3, &n.ValidatorAddress}, {4, &n.NetworkID}}
	ipAt := 5
	if len(d) >= 11 {
		ipAt = 8
	}
	fields = append(fields, struct {
		i   int
		dst *string
	}{ipAt, &n.IP})
	for _, f := range fields {
		if f.i >= len(d) {
			continue
		}
		v, err := str(d[f.i], MaxField)
		if err != nil {
			return nil, fmt.Errorf("added node %d: details[%d]: %w", n.ID, f.i, err)
		}
		*f.dst = v
	}
	if len(top) > 6 && !isNull(top[6]) {
		l, err := splitArray(top[6], nil)
		if err != nil || len(l) < 2 {
			return nil, fmt.Errorf("added node %d: location is not [lat, lon, city] or null", n.ID)
		}
		var city []byte
		if len(l) > 2 {
			city = l[2]
		}
		loc, err := decodeLocation(l[0], l[1], city)
		if err != nil {
			return nil, fmt.Errorf("added node %d: %w", n.ID, err)
		}
		n.Location = &loc
	}
	if len(top) > 7 && !isNull(top[7]) {
		st, err := parseUint(top[7])
		if err != nil {
			return nil, fmt.Errorf("added node %d: startup time: %w", n.ID, err)
		}
		if st <= math.MaxInt64 {
			n.StartupTime = int64(st)
		}
	}
	return n, nil
}
