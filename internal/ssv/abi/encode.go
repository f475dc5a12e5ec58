package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"

	gethabi "github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Encode is Decode's inverse: the topics and data of the log the contract
// emits for an event. args is a map by ABI parameter name, JSON (a
// json.RawMessage, e.g. what Decode returned) or one of this package's
// typed structs. Integers are decimal strings, json.Number, Go integers or
// *big.Int; bytes and bytes32 0x-hex strings or []byte; addresses hex
// strings or common.Address. OperatorAdded's publicKey is the key string,
// wrapped as ABI-encoded bytes as registerOperator's callers do.
func Encode(name string, args any) (topics []common.Hash, data []byte, err error) {
	t, err := load()
	if err != nil {
		return nil, nil, err
	}
	e := t.byKey[name]
	if e == nil {
		return nil, nil, fmt.Errorf("encode %s: no such event", name)
	}
	m, err := argsMap(args)
	if err != nil {
		return nil, nil, errorf(name, "%v", err)
	}
	if name == "OperatorMaximumFeeUpdated" {
		if v, err := toBig(m["maxFee"]); err == nil && v.BitLen() > 64 {
			e = t.byKey[V2MaxFeeName]
		}
	}
	defer func() {
		if r := recover(); r != nil {
			topics, data, err = nil, nil, errorf(name, "%v", r)
		}
	}()
	for k := range m {
		if !hasInput(e.ev.Inputs, k) {
			return nil, nil, errorf(name, "unknown argument %q", k)
		}
	}
	topics = []common.Hash{e.ev.ID}
	var vals []any
	for _, in := range e.ev.Inputs {
		raw, ok := m[in.Name]
		if !ok {
			return nil, nil, errorf(name, "missing argument %q", in.Name)
		}
		if e.name == "OperatorAdded" && in.Name == "publicKey" {
			s, ok := raw.(string)
			if !ok {
				return nil, nil, errorf(name, "publicKey: %T, want the key string", raw)
			}
			wrapped, err := t.bytesTy.Pack([]byte(s))
			if err != nil {
				return nil, nil, errorf(name, "wrap publicKey: %v", err)
			}
			vals = append(vals, wrapped)
			continue
		}
		v, err := goValue(in.Type, raw)
		if err != nil {
			return nil, nil, errorf(name, "%s: %v", in.Name, err)
		}
		if !in.Indexed {
			vals = append(vals, v)
			continue
		}
		h, err := topicOf(in.Type, v)
		if err != nil {
			return nil, nil, errorf(name, "%s: %v", in.Name, err)
		}
		topics = append(topics, h)
	}
	data, err = e.data.Pack(vals...)
	if err != nil {
		return nil, nil, errorf(name, "pack: %v", err)
	}
	return topics, data, nil
}

func hasInput(ins gethabi.Arguments, k string) bool {
	for _, in := range ins {
		if in.Name == k {
			return true
		}
	}
	return false
}

// argsMap normalises Encode's args to a map.
func argsMap(args any) (map[string]any, error) {
	switch a := args.(type) {
	case map[string]any:
		return a, nil
	case nil:
		return map[string]any{}, nil
	case json.RawMessage:
		return jsonMap(a)
	case []byte:
		return jsonMap(a)
	}
	b, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("args %T: %w", args, err)
	}
	return jsonMap(b)
}

func jsonMap(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("args are not a JSON object: %w", err)
	}
	return m, nil
}

// toBig reads an integer argument.
func toBig(v any) (*big.Int, error) {
	switch x := v.(type) {
	case *big.Int:
		if x == nil {
			return nil, errors.New("nil integer")
		}
		return new(big.Int).Set(x), nil
	case big.Int:
		return new(big.Int).Set(&x), nil
	case string:
		if b, ok := new(big.Int).SetString(x, 10); ok && !strings.HasPrefix(x, "+") {
			return b, nil
		}
		if strings.HasPrefix(x, "0x") {
			if b, err := hexutil.DecodeBig(x); err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("%q is not an integer", truncate(x))
	case json.Number:
		return toBig(string(x))
	case float64:
		b, acc := big.NewFloat(x).Int(nil)
		if acc != big.Exact || x > 1<<53 || x < -(1<<53) {
			return nil, fmt.Errorf("%v is not an exact integer (give large values as decimal strings)", x)
		}
		return b, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return big.NewInt(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return new(big.Int).SetUint64(rv.Uint()), nil
	}
	return nil, fmt.Errorf("%T is not an integer", v)
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func toBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case hexutil.Bytes:
		return x, nil
	case string:
		b, err := hexutil.Decode(x)
		if err != nil {
			if x == "0x" {
				return []byte{}, nil
			}
			return nil, fmt.Errorf("%q is not 0x-hex: %w", truncate(x), err)
		}
		return b, nil
	case common.Hash:
		return x[:], nil
	case [32]byte:
		return x[:], nil
	}
	return nil, fmt.Errorf("%T is not bytes", v)
}

// goValue converts an argument to the Go type go-ethereum packs for ty.
func goValue(ty gethabi.Type, v any) (any, error) {
	switch ty.T {
	case gethabi.UintTy, gethabi.IntTy:
		b, err := toBig(v)
		if err != nil {
			return nil, err
		}
		if ty.T == gethabi.UintTy && (b.Sign() < 0 || b.BitLen() > ty.Size) {
			return nil, fmt.Errorf("%s out of range for %s", b, ty.String())
		}
		if ty.T == gethabi.IntTy && b.BitLen() >= ty.Size {
			return nil, fmt.Errorf("%s out of range for %s", b, ty.String())
		}
		if ty.Size > 64 {
			return b, nil
		}
		out := reflect.New(ty.GetType()).Elem()
		if ty.T == gethabi.UintTy {
			out.SetUint(b.Uint64())
		} else {
			out.SetInt(b.Int64())
		}
		return out.Interface(), nil
	case gethabi.BoolTy:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%T is not a bool", v)
	case gethabi.AddressTy:
		switch x := v.(type) {
		case common.Address:
			return x, nil
		case string:
			if !common.IsHexAddress(x) || !strings.HasPrefix(x, "0x") {
				return nil, fmt.Errorf("%q is not a 0x-hex address", truncate(x))
			}
			return common.HexToAddress(x), nil
		}
		return nil, fmt.Errorf("%T is not an address", v)
	case gethabi.StringTy:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("%T is not a string", v)
	case gethabi.BytesTy:
		return toBytes(v)
	case gethabi.FixedBytesTy:
		b, err := toBytes(v)
		if err != nil {
			return nil, err
		}
		if len(b) != ty.Size {
			return nil, fmt.Errorf("%d bytes, want %d", len(b), ty.Size)
		}
		out := reflect.New(ty.GetType()).Elem()
		reflect.Copy(out, reflect.ValueOf(b))
		return out.Interface(), nil
	case gethabi.SliceTy, gethabi.ArrayTy:
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return nil, fmt.Errorf("%T is not an array", v)
		}
		if ty.T == gethabi.ArrayTy && rv.Len() != ty.Size {
			return nil, fmt.Errorf("%d elements, want %d", rv.Len(), ty.Size)
		}
		var out reflect.Value
		if ty.T == gethabi.SliceTy {
			out = reflect.MakeSlice(ty.GetType(), rv.Len(), rv.Len())
		} else {
			out = reflect.New(ty.GetType()).Elem()
		}
		for i := range rv.Len() {
			x, err := goValue(*ty.Elem, rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out.Index(i).Set(reflect.ValueOf(x))
		}
		return out.Interface(), nil
	case gethabi.TupleTy:
		m, ok := v.(map[string]any)
		if !ok {
			var err error
			if m, err = argsMap(v); err != nil {
				return nil, err
			}
		}
		out := reflect.New(ty.TupleType).Elem()
		for k := range m {
			found := false
			for _, n := range ty.TupleRawNames {
				found = found || n == k
			}
			if !found {
				return nil, fmt.Errorf("unknown field %q", k)
			}
		}
		for i, et := range ty.TupleElems {
			n := ty.TupleRawNames[i]
			raw, ok := m[n]
			if !ok {
				return nil, fmt.Errorf("missing field %q", n)
			}
			x, err := goValue(*et, raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			out.Field(i).Set(reflect.ValueOf(x))
		}
		return out.Interface(), nil
	}
	return nil, fmt.Errorf("type %s not supported", ty.String())
}

// topicOf encodes an indexed value (value types only) as its topic.
func topicOf(ty gethabi.Type, v any) (common.Hash, error) {
	var h common.Hash
	switch ty.T {
	case gethabi.UintTy:
		b, err := toBig(v)
		if err != nil {
			return h, err
		}
		b.FillBytes(h[:])
	case gethabi.AddressTy:
		a, _ := v.(common.Address)
		copy(h[12:], a[:])
	case gethabi.FixedBytesTy:
		rv := reflect.ValueOf(v)
		if ty.Size != 32 || rv.Kind() != reflect.Array || rv.Len() != 32 {
			return h, fmt.Errorf("indexed %s not supported", ty.String())
		}
		reflect.Copy(reflect.ValueOf(h[:]), rv)
	default:
		return h, fmt.Errorf("indexed %s not supported", ty.String())
	}
	return h, nil
}
