// Package abi decodes and encodes the logs of the SSVNetwork contract.
//
// ssvnetwork.abi.json is this project's own ABI of the events, written from
// the Solidity signatures of ssvlabs/ssv-network v1.2.0
// (contracts/interfaces/ISSV*.sol, plus the OpenZeppelin proxy and
// ownership events of the deployed ABI) and of v2.0.0 as its docs/SPEC.md
// §7 lists them. topic0 of every event is derived from it by go-ethereum's
// accounts/abi, never typed by hand.
//
// Decoded arguments are a JSON object keyed by the ABI parameter names, in
// declaration order: integers as decimal strings, bytes and bytes32 as
// 0x-hex, addresses in EIP-55 form, arrays as arrays, the Cluster tuple as
// {"validatorCount","networkFeeIndex","index","active","balance"}.
// OperatorAdded's publicKey is ABI-encoded bytes inside the bytes argument
// (the SSV node unwraps it the same way, eth/eventparser): Decode gives the
// inner string, the base64 PEM RSA key, and refuses a key that does not
// unwrap, as the node does.
//
// Two events share a name: OperatorMaximumFeeUpdated(uint64 maxFee) of v1
// and OperatorMaximumFeeUpdated(uint256 maxFee) of v2. Decode names both
// OperatorMaximumFeeUpdated (their arguments read the same); Encode of that
// name writes the v1 form when maxFee fits in 64 bits, else the v2 form,
// and Encode of OperatorMaximumFeeUpdatedV2 always the v2 form.
package abi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"unicode/utf8"

	gethabi "github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

//go:embed ssvnetwork.abi.json
var abiJSON []byte

// Limits on what Decode reads.
const (
	// MaxLogData bounds a log's data: a ValidatorAdded of 13 operators has
	// about 4.5 KB; 256 KiB keeps the JSON of the hex under events.MaxArgs.
	MaxLogData = 256 << 10
	// MaxOperatorKey bounds OperatorAdded's unwrapped key (an RSA-2048 PEM
	// in base64 is 612 characters).
	MaxOperatorKey = 4096
)

// V2MaxFeeName is the Encode name of the v2 form of OperatorMaximumFeeUpdated.
const V2MaxFeeName = "OperatorMaximumFeeUpdatedV2"

// ErrUnknownTopic: the log has no topic or a topic0 no event of the ABI has.
var ErrUnknownTopic = errors.New("unknown event topic")

type event struct {
	name    string // the Solidity name
	ev      gethabi.Event
	indexed gethabi.Arguments
	data    gethabi.Arguments
}

type table struct {
	byTopic map[common.Hash]*event
	byKey   map[string]*event // Solidity names; the v2 max fee under V2MaxFeeName
	names   []string
	bytesTy gethabi.Arguments // (bytes): OperatorAdded's inner key
}

var load = sync.OnceValues(func() (*table, error) {
	parsed, err := gethabi.JSON(bytes.NewReader(abiJSON))
	if err != nil {
		return nil, fmt.Errorf("parse the SSVNetwork ABI: %w", err)
	}
	t := &table{byTopic: map[common.Hash]*event{}, byKey: map[string]*event{}}
	seen := map[string]bool{}
	for key, ev := range parsed.Events {
		e := &event{name: ev.RawName, ev: ev}
		for _, in := range ev.Inputs {
			if in.Indexed {
				e.indexed = append(e.indexed, in)
			} else {
				e.data = append(e.data, in)
			}
		}
		t.byTopic[ev.ID] = e
		if key != ev.RawName { // go-ethereum renames the second of two overloads
			key = V2MaxFeeName
		}
		t.byKey[key] = e
		if !seen[ev.RawName] {
			seen[ev.RawName] = true
			t.names = append(t.names, ev.RawName)
		}
	}
	if v1, v2 := t.byKey["OperatorMaximumFeeUpdated"], t.byKey[V2MaxFeeName]; v1 == nil || v2 == nil {
		return nil, errors.New("SSVNetwork ABI: both forms of OperatorMaximumFeeUpdated are needed")
	} else if v1.data[0].Type.Size != 64 { // map order decided which one was renamed
		t.byKey["OperatorMaximumFeeUpdated"], t.byKey[V2MaxFeeName] = v2, v1
	}
	sort.Strings(t.names)
	bt, _ := gethabi.NewType("bytes", "", nil)
	t.bytesTy = gethabi.Arguments{{Type: bt}}
	return t, nil
})

// Topics maps every event's topic0 to its Solidity name.
func Topics() map[common.Hash]string {
	t, err := load()
	if err != nil {
		return nil
	}
	m := make(map[common.Hash]string, len(t.byTopic))
	for h, e := range t.byTopic {
		m[h] = e.name
	}
	return m
}

// Names are the event names Decode returns, sorted.
func Names() []string {
	t, err := load()
	if err != nil {
		return nil
	}
	return append([]string(nil), t.names...)
}

// Signature is the canonical signature of an event (by Encode name), e.g.
// "OperatorRemoved(uint64)"; "" when unknown.
func Signature(name string) string {
	t, err := load()
	if err != nil || t.byKey[name] == nil {
		return ""
	}
	return t.byKey[name].ev.Sig
}

// Decode reads an SSVNetwork log into its event name and arguments.
func Decode(l types.Log) (name string, args json.RawMessage, err error) {
	t, err := load()
	if err != nil {
		return "", nil, err
	}
	if len(l.Topics) == 0 {
		return "", nil, fmt.Errorf("%w: the log has no topics", ErrUnknownTopic)
	}
	e := t.byTopic[l.Topics[0]]
	if e == nil {
		return "", nil, fmt.Errorf("%w %s", ErrUnknownTopic, l.Topics[0].Hex())
	}
	defer func() {
		if r := recover(); r != nil {
			name, args, err = "", nil, fmt.Errorf("decode %s: malformed log (%v)", e.name, r)
		}
	}()
	obj, err := t.decode(e, l.Topics[1:], l.Data)
	if err != nil {
		return "", nil, fmt.Errorf("decode %s: %w", e.name, err)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return "", nil, fmt.Errorf("decode %s: %w", e.name, err)
	}
	return e.name, out, nil
}

func (t *table) decode(e *event, topics []common.Hash, data []byte) (object, error) {
	if len(topics) != len(e.indexed) {
		return nil, fmt.Errorf("%d indexed topics, want %d", len(topics), len(e.indexed))
	}
	if len(data) > MaxLogData {
		return nil, fmt.Errorf("%d bytes of data, at most %d", len(data), MaxLogData)
	}
	if len(data)%32 != 0 {
		return nil, fmt.Errorf("%d bytes of data, not whole 32-byte words", len(data))
	}
	vals, err := e.data.UnpackValues(data)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if len(vals) != len(e.data) {
		return nil, fmt.Errorf("data: %d values, want %d", len(vals), len(e.data))
	}
	obj := make(object, 0, len(e.ev.Inputs))
	ti, di := 0, 0
	for _, in := range e.ev.Inputs {
		var v any
		if in.Indexed {
			v, err = topicValue(in.Type, topics[ti])
			ti++
			if err != nil {
				return nil, fmt.Errorf("topic %d (%s): %w", ti, in.Name, err)
			}
		} else {
			v, err = jsonValue(in.Type, reflect.ValueOf(vals[di]))
			di++
			if err != nil {
				return nil, fmt.Errorf("%s: %w", in.Name, err)
			}
			if e.name == "OperatorAdded" && in.Name == "publicKey" {
				v, err = t.unwrapKey(vals[di-1])
				if err != nil {
					return nil, err
				}
			}
		}
		obj = append(obj, kv{in.Name, v})
	}
	return obj, nil
}

// unwrapKey reads OperatorAdded's publicKey: ABI-encoded bytes holding the
// operator's base64 PEM key.
func (t *table) unwrapKey(v any) (string, error) {
	outer, ok := v.([]byte)
	if !ok {
		return "", fmt.Errorf("publicKey: %T, want bytes", v)
	}
	inner, err := t.bytesTy.UnpackValues(outer)
	if err != nil || len(inner) != 1 {
		return "", fmt.Errorf("publicKey (%d bytes) is not ABI-encoded bytes: %v", len(outer), err)
	}
	k, _ := inner[0].([]byte)
	switch {
	case len(k) > MaxOperatorKey:
		return "", fmt.Errorf("publicKey: %d bytes, at most %d", len(k), MaxOperatorKey)
	case !utf8.Valid(k):
		return "", errors.New("publicKey is not valid UTF-8")
	case bytes.IndexByte(k, 0) >= 0:
		return "", errors.New("publicKey contains NUL")
	}
	return string(k), nil
}

// topicValue reads an indexed value, refusing a topic that no contract
// writes for its type (high bits set in a small integer or an address).
func topicValue(ty gethabi.Type, h common.Hash) (any, error) {
	switch ty.T {
	case gethabi.UintTy:
		v := new(big.Int).SetBytes(h[:])
		if v.BitLen() > ty.Size {
			return nil, fmt.Errorf("%s out of range: %s", ty.String(), h.Hex())
		}
		return v.String(), nil
	case gethabi.AddressTy:
		if !bytes.Equal(h[:12], make([]byte, 12)) {
			return nil, fmt.Errorf("address with high bytes set: %s", h.Hex())
		}
		return common.BytesToAddress(h[12:]).Hex(), nil
	case gethabi.FixedBytesTy:
		if ty.Size == 32 {
			return h.Hex(), nil
		}
	}
	return nil, fmt.Errorf("indexed %s not supported", ty.String())
}

// jsonValue turns a value go-ethereum unpacked into its JSON form.
func jsonValue(ty gethabi.Type, v reflect.Value) (any, error) {
	switch ty.T {
	case gethabi.UintTy, gethabi.IntTy:
		if b, ok := v.Interface().(*big.Int); ok {
			if b == nil {
				return nil, errors.New("nil integer")
			}
			return b.String(), nil
		}
		switch v.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			return strconv.FormatUint(v.Uint(), 10), nil
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return strconv.FormatInt(v.Int(), 10), nil
		}
	case gethabi.BoolTy:
		if v.Kind() == reflect.Bool {
			return v.Bool(), nil
		}
	case gethabi.AddressTy:
		if a, ok := v.Interface().(common.Address); ok {
			return a.Hex(), nil
		}
	case gethabi.StringTy:
		if v.Kind() == reflect.String {
			if !utf8.ValidString(v.String()) {
				return nil, errors.New("string is not valid UTF-8")
			}
			return v.String(), nil
		}
	case gethabi.BytesTy:
		if b, ok := v.Interface().([]byte); ok {
			return hexutil.Encode(b), nil
		}
	case gethabi.FixedBytesTy:
		if v.Kind() == reflect.Array {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return hexutil.Encode(b), nil
		}
	case gethabi.SliceTy, gethabi.ArrayTy:
		if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
			out := make([]any, v.Len())
			for i := range out {
				x, err := jsonValue(*ty.Elem, v.Index(i))
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				out[i] = x
			}
			return out, nil
		}
	case gethabi.TupleTy:
		if v.Kind() == reflect.Struct && v.NumField() == len(ty.TupleElems) {
			obj := make(object, len(ty.TupleElems))
			for i, et := range ty.TupleElems {
				x, err := jsonValue(*et, v.Field(i))
				if err != nil {
					return nil, fmt.Errorf("%s: %w", ty.TupleRawNames[i], err)
				}
				obj[i] = kv{ty.TupleRawNames[i], x}
			}
			return obj, nil
		}
	}
	return nil, fmt.Errorf("%s: unexpected Go value %s", ty.String(), v.Type())
}

// object is a JSON object that keeps its keys' order.
type object []kv

type kv struct {
	k string
	v any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ClusterID is the cluster's id as the contract and the node compute it:
// keccak256(owner ‖ each operator id, sorted, as 32 bytes big-endian) —
// abi.encodePacked(owner, operatorIds) in ssv-network's ClusterLib.
func ClusterID(owner common.Address, operatorIDs []uint64) common.Hash {
	ids := append([]uint64(nil), operatorIDs...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	buf := make([]byte, 0, common.AddressLength+32*len(ids))
	buf = append(buf, owner[:]...)
	for _, id := range ids {
		var w [32]byte
		new(big.Int).SetUint64(id).FillBytes(w[:])
		buf = append(buf, w[:]...)
	}
	return crypto.Keccak256Hash(buf)
}

// errorf names the event an Encode failure is about.
func errorf(name, format string, a ...any) error {
	return fmt.Errorf("encode %s: %s", name, fmt.Sprintf(format, a...))
}
