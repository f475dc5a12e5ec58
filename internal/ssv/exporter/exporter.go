// Package exporter is the SSV exporter's WebSocket protocol as valtrack
// serves it over its registry: the message shape, the /query request
// handling (the legacy "operator" and "validator" types, "decided" and
// "error") with the exporter's exact replies and error strings, and the
// /stream messages of registry changes. It knows nothing of WebSockets:
// internal/ssv/httpapi carries the frames.
package exporter

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/exporter/api"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// Message types.
const (
	TypeOperator     = "operator"
	TypeValidator    = "validator"
	TypeDecided      = "decided"
	TypeError        = "error"
	TypeParticipants = "participants"
)

// The exporter's reply strings, exactly.
const (
	ErrParse          = "could not parse network message"
	ErrUnknown        = "unknown error"
	ErrReadKey        = "internal error - could not read validator key"
	ErrKeySize        = "bad size for the provided public key"
	ErrRole           = "role doesn't exist"
	NoMessages        = "no messages"
	ErrGetOperators   = "internal error - could not get operators"
	ErrGetValidators  = "internal error - could not get validators"
	unknownTypeFormat = "bad request - unknown message type '%s'"
)

// PublicKeySize is a BLS public key's size in bytes.
const PublicKeySize = 48

// Roles are the beacon roles a decided query may name (the exporter's
// message.BeaconRoleFromString, upper case, exact).
var Roles = []string{"ATTESTER", "AGGREGATOR", "PROPOSER", "SYNC_COMMITTEE", "SYNC_COMMITTEE_CONTRIBUTION", "VALIDATOR_REGISTRATION", "VOLUNTARY_EXIT"}

// DefaultMaxItems bounds the operators or validators one reply lists: the
// exporter listed a whole range, which over a registry of tens of thousands
// is a frame of megabytes.
const DefaultMaxItems = 1000

// Filter is a message's filter. Key order on the wire: from, to, role,
// publicKey; role and publicKey are omitted when empty.
type Filter struct {
	From      uint64 `json:"from"`
	To        uint64 `json:"to"`
	Role      string `json:"role,omitempty"`
	PublicKey string `json:"publicKey,omitempty"`
}

// Message is a request or a reply. Key order on the wire: type, filter
// (never omitted), data (omitted when empty, as the exporter does).
type Message struct {
	Type   string `json:"type"`
	Filter Filter `json:"filter"`
	Data   any    `json:"data,omitempty"`
}

// Parse reads one request frame as the exporter does (the first JSON value;
// an empty frame is an unexpected EOF). Its error is the decoder's, which
// the reply carries after ErrParse; the frame is decoded into api.Message
// (types named as the exporter's, in a package named as its) so that
// text is the exporter's exactly. Data is dropped, as the exporter does.
func Parse(frame []byte) (Message, error) {
	var r api.Message
	if err := json.NewDecoder(bytes.NewReader(frame)).Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Message{}, err
	}
	f := r.Filter
	return Message{Type: string(r.Type), Filter: Filter{From: f.From, To: f.To, Role: f.Role, PublicKey: f.PublicKey}}, nil
}

// OperatorData is an operator as the exporter's "operator" type carries it
// ({"publicKey","name","ownerAddress","index"}), followed by valtrack's own
// fields (registry.Operator's JSON). index is the operator id; name is
// empty (operators have no name on chain since the v1 contracts);
// ownerAddress is lower-case hex, as go-ethereum encodes an address.
type OperatorData struct {
	PublicKey    string `json:"publicKey"`
	Name         string `json:"name"`
	OwnerAddress string `json:"ownerAddress"`
	Index        uint64 `json:"index"`
	registry.Operator
}

// NodeLink is one operator of a validator in the exporter's model.
type NodeLink struct {
	PublicKey string `json:"publicKey"`
	NodeID    uint64 `json:"nodeId"`
}

// ValidatorData is a validator as the exporter's "validator" type carries
// it ({"publicKey","operators":[{"publicKey","nodeId"}],"index"}), followed
// by valtrack's own fields (registry.Validator's JSON, whose index is the
// same as the exporter's). publicKey is bare hex, as the exporter's.
type ValidatorData struct {
	PublicKey string     `json:"publicKey"`
	Operators []NodeLink `json:"operators"`
	Index     uint64     `json:"index"`
	registry.Validator
}

// NewOperatorData makes the exporter's model of op.
func NewOperatorData(op registry.Operator) OperatorData {
	return OperatorData{PublicKey: op.PublicKey, OwnerAddress: strings.ToLower(op.Owner), Index: op.ID, Operator: op}
}

// operatorKeys looks operators' public keys up once per reply, and through
// shared (when set) across replies.
type operatorKeys struct {
	r       registry.Reader
	network string
	keys    map[uint64]string
	shared  *KeyCache
}

// KeyCache keeps operators' public keys between replies for a short
// while: a validator reply names every operator of every validator, and
// reading an operator from the store costs a count of its validators
// (about 1 ms on SQLite at 10,000 validators), while its key never changes
// but by a reorg — which the short lifetime covers.
type KeyCache struct {
	mu      sync.Mutex
	entries map[keyID]keyEntry
	now     func() time.Time
}

type keyID struct {
	network string
	id      uint64
}

type keyEntry struct {
	key string
	at  time.Time
}

const (
	keyCacheTTL = 10 * time.Second
	keyCacheMax = 100000
)

func (c *KeyCache) get(network string, id uint64) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[keyID{network, id}]
	if !ok || c.clock().Sub(e.at) > keyCacheTTL {
		return "", false
	}
	return e.key, true
}

func (c *KeyCache) put(network string, id uint64, key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= keyCacheMax {
		c.entries = map[keyID]keyEntry{} // bounded: start again
	}
	c.entries[keyID{network, id}] = keyEntry{key, c.clock()}
}

func (c *KeyCache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func (k *operatorKeys) key(ctx context.Context, id uint64) (string, error) {
	if s, ok := k.keys[id]; ok {
		return s, nil
	}
	if s, ok := k.shared.get(k.network, id); ok {
		return s, nil
	}
	op, err := k.r.Operator(ctx, k.network, id)
	if err != nil {
		return "", fmt.Errorf("read operator %d: %w", id, err)
	}
	s := ""
	if op != nil {
		s = op.PublicKey
	}
	if k.keys == nil {
		k.keys = map[uint64]string{}
	}
	k.keys[id] = s
	if op != nil {
		k.shared.put(k.network, id, s)
	}
	return s, nil
}

func (k *operatorKeys) validator(ctx context.Context, v registry.Validator) (ValidatorData, error) {
	d := ValidatorData{PublicKey: strings.TrimPrefix(strings.ToLower(v.PublicKey), "0x"), Operators: make([]NodeLink, 0, len(v.OperatorIDs)), Index: v.Index, Validator: v}
	for _, id := range v.OperatorIDs {
		pk, err := k.key(ctx, id)
		if err != nil {
			return d, err
		}
		d.Operators = append(d.Operators, NodeLink{PublicKey: pk, NodeID: id})
	}
	return d, nil
}

// Querier answers /query requests over a registry.
type Querier struct {
	R registry.Reader
	// MaxItems bounds the items of one reply (DefaultMaxItems when <= 0).
	MaxItems int
	// Keys, when set, keeps operators' keys between replies.
	Keys *KeyCache
}

// Reply is the encoded reply to one request frame. err, when not nil, is an
// internal failure (a store error) to log; the reply then carries the
// exporter's internal-error string and is still to be sent.
func (q *Querier) Reply(ctx context.Context, network string, frame []byte) (reply []byte, err error) {
	m, perr := Parse(frame)
	var out Message
	switch {
	case perr != nil:
		out = Message{Type: TypeError, Data: []string{ErrParse, perr.Error()}}
	case m.Type == TypeError:
		// The exporter drops the client's data (it decodes as []any, never
		// the []string it looks for), so this is always "unknown error".
		out = Message{Type: TypeError, Data: []string{ErrUnknown}}
	case m.Type == TypeDecided:
		out = decided(m)
	case m.Type == TypeOperator:
		out, err = q.operators(ctx, network, m)
	case m.Type == TypeValidator:
		out, err = q.validators(ctx, network, m)
	default:
		out = Message{Type: TypeError, Data: []string{fmt.Sprintf(unknownTypeFormat, m.Type)}}
	}
	b, merr := json.Marshal(out)
	if merr != nil {
		return nil, fmt.Errorf("encode %s reply: %w", out.Type, merr)
	}
	return b, err
}

// decided validates a decided query as the exporter does, in its order,
// and answers "no messages": valtrack collects no decided messages.
func decided(m Message) Message {
	out := Message{Type: m.Type, Filter: m.Filter}
	pk, err := hex.DecodeString(m.Filter.PublicKey)
	switch {
	case err != nil:
		out.Data = []string{ErrReadKey}
	case len(pk) != PublicKeySize:
		out.Data = []string{ErrKeySize}
	case !validRole(m.Filter.Role):
		out.Data = []string{ErrRole}
	default:
		out.Data = []string{NoMessages}
	}
	return out
}

func validRole(s string) bool {
	for _, r := range Roles {
		if r == s {
			return true
		}
	}
	return false
}

func (q *Querier) maxItems() int {
	if q.MaxItems <= 0 {
		return DefaultMaxItems
	}
	return q.MaxItems
}

// operators answers an operator query: with publicKey, the operator of that
// key, as the legacy exporter looked one up (its base64 PEM, exactly; the
// filter is echoed, and an unknown key is its "internal error - could not
// get operators", which is what it answered when its lookup found
// nothing); otherwise the operators with from <= id <= to. from = to = 0
// names operator 0, which does not exist (ids start at 1): the reply has no
// data, unlike the exporter's bug #550 that listed everything.
func (q *Querier) operators(ctx context.Context, network string, m Message) (Message, error) {
	out := Message{Type: m.Type, Filter: m.Filter}
	if m.Filter.PublicKey != "" {
		ops, err := q.R.OperatorsByKey(ctx, network, m.Filter.PublicKey, q.maxItems())
		if err != nil {
			out.Data = []string{ErrGetOperators}
			return out, fmt.Errorf("operator by public key on %s: %w", network, err)
		}
		if len(ops) == 0 {
			out.Data = []string{ErrGetOperators}
			return out, nil
		}
		data := make([]OperatorData, 0, len(ops))
		for _, op := range ops {
			data = append(data, NewOperatorData(op))
		}
		out.Data = data
		return out, nil
	}
	from, to := m.Filter.From, m.Filter.To
	if from == 0 {
		from = 1
	}
	if to == 0 || from > to {
		return out, nil
	}
	ops, err := q.R.Operators(ctx, network, from, to, q.maxItems())
	if err != nil {
		out.Data = []string{ErrGetOperators}
		return out, fmt.Errorf("operators %d..%d of %s: %w", from, to, network, err)
	}
	if len(ops) > 0 {
		data := make([]OperatorData, 0, len(ops))
		for _, op := range ops {
			data = append(data, NewOperatorData(op))
		}
		out.Data = data
	}
	return out, nil
}

// NormalizeKey returns a validator public key as the registry keeps it
// (0x and lower-case hex), accepting it with or without 0x; ok is false
// when it is not hex, and the key is not 48 bytes when size is false.
func NormalizeKey(s string) (key string, hexOK, sizeOK bool) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", false, false
	}
	return "0x" + hex.EncodeToString(b), true, len(b) == PublicKeySize
}

// validators lists validators by public key (every registration of it) or
// by index range from..to inclusive (indices start at 1, so from = to = 0
// lists nothing).
func (q *Querier) validators(ctx context.Context, network string, m Message) (Message, error) {
	out := Message{Type: m.Type, Filter: m.Filter}
	var vs []registry.Validator
	var err error
	if m.Filter.PublicKey != "" {
		key, hexOK, sizeOK := NormalizeKey(m.Filter.PublicKey)
		switch {
		case !hexOK:
			out.Data = []string{ErrReadKey}
			return out, nil
		case !sizeOK:
			out.Data = []string{ErrKeySize}
			return out, nil
		}
		vs, err = q.R.ValidatorsByKey(ctx, network, key)
		if len(vs) > q.maxItems() {
			vs = vs[:q.maxItems()]
		}
	} else {
		from, to := m.Filter.From, m.Filter.To
		if from == 0 {
			from = 1
		}
		if to == 0 || from > to {
			return out, nil
		}
		vs, err = q.R.Validators(ctx, network, registry.ValidatorFilter{FromIndex: from, ToIndex: to, Limit: q.maxItems()})
	}
	if err != nil {
		out.Data = []string{ErrGetValidators}
		return out, fmt.Errorf("validators of %s: %w", network, err)
	}
	if len(vs) > 0 {
		keys := operatorKeys{r: q.R, network: network, shared: q.Keys}
		data := make([]ValidatorData, 0, len(vs))
		for _, v := range vs {
			d, err := keys.validator(ctx, v)
			if err != nil {
				out.Data = []string{ErrGetValidators}
				return out, fmt.Errorf("validators of %s: %w", network, err)
			}
			data = append(data, d)
		}
		out.Data = data
	}
	return out, nil
}

// GoneOperator is the data of a /stream message for an operator the
// registry no longer holds at all (a reorg rolled back its OperatorAdded):
// its id as the exporter's index and valtrack's id, removed, and gone —
// which an operator removed on chain (OperatorRemoved, still listed with
// removed true) is not.
type GoneOperator struct {
	Index   uint64 `json:"index"`
	ID      uint64 `json:"id"`
	Removed bool   `json:"removed"`
	Gone    bool   `json:"gone"`
}

// GoneValidator is the data of a /stream message for a validator index
// the registry no longer holds (a reorg rolled back its ValidatorAdded):
// status removed, and gone.
type GoneValidator struct {
	Index  uint64 `json:"index"`
	Status string `json:"status"`
	Gone   bool   `json:"gone"`
}

// StreamMessage is the /stream message of one registry change:
// {"type":"operator"|"validator","filter":{"from":id,"to":id},"data":[…]}.
// A change of an item the registry no longer holds (a reorg rolled it
// back) is sent too, with GoneOperator or GoneValidator as its data: a
// client that kept the item must learn it is gone. ok is false for a kind
// this protocol does not carry: nothing is to be sent.
func StreamMessage(ctx context.Context, r registry.Reader, network string, c registry.Change) (msg []byte, ok bool, err error) {
	out := Message{Type: c.Kind, Filter: Filter{From: c.ID, To: c.ID}}
	switch c.Kind {
	case TypeOperator:
		op, err := r.Operator(ctx, network, c.ID)
		if err != nil {
			return nil, false, fmt.Errorf("read operator %d of %s: %w", c.ID, network, err)
		}
		if op == nil {
			out.Data = []GoneOperator{{Index: c.ID, ID: c.ID, Removed: true, Gone: true}}
			break
		}
		out.Data = []OperatorData{NewOperatorData(*op)}
	case TypeValidator:
		vs, err := r.Validators(ctx, network, registry.ValidatorFilter{FromIndex: c.ID, ToIndex: c.ID, Limit: 1})
		if err != nil {
			return nil, false, fmt.Errorf("read validator %d of %s: %w", c.ID, network, err)
		}
		if len(vs) == 0 || vs[0].Index != c.ID {
			out.Data = []GoneValidator{{Index: c.ID, Status: registry.StatusRemoved, Gone: true}}
			break
		}
		keys := operatorKeys{r: r, network: network}
		d, err := keys.validator(ctx, vs[0])
		if err != nil {
			return nil, false, err
		}
		out.Data = []ValidatorData{d}
	default:
		return nil, false, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, false, fmt.Errorf("encode %s change: %w", c.Kind, err)
	}
	return b, true, nil
}
