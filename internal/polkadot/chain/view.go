package chain

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/valtrack/valtrack/internal/polkadot/scale"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

// view reads one chain at one block with that block's metadata.
type view struct {
	c     *Client
	at    string
	block uint64
	md    *scale.Metadata
	rv    RuntimeVersion
}

func openView(ctx context.Context, c *Client, at string) (*view, error) {
	if at == "" {
		h, err := c.FinalizedHead(ctx)
		if err != nil {
			return nil, err
		}
		at = h
	}
	_, n, err := c.Header(ctx, at)
	if err != nil {
		return nil, err
	}
	md, rv, err := c.Metadata(ctx, at)
	if err != nil {
		return nil, err
	}
	return &view{c: c, at: at, block: n, md: md, rv: rv}, nil
}

func (v *view) has(pallet, item string) bool { return v.md.Entry(pallet, item) != nil }

// slot is one read storage value.
type slot struct {
	Val scale.Value
	Ok  bool // a value is stored (or the item has a default)
	Err error
}

// decode a raw storage value: absent is the entry's default for
// ValueQuery items, "no value" for OptionQuery ones.
func (v *view) decode(e *scale.StorageEntry, raw []byte) slot {
	if raw == nil {
		if e.Optional || len(e.Default) == 0 {
			return slot{}
		}
		raw = e.Default
	}
	val, err := v.md.Types.DecodeAll(e.Value, raw)
	if err != nil {
		return slot{Err: fmt.Errorf("decode %s: %w", e.Name, err)}
	}
	return slot{Val: val, Ok: true}
}

func (v *view) entry(pallet, item string) (*scale.StorageEntry, error) {
	e := v.md.Entry(pallet, item)
	if e == nil {
		return nil, fmt.Errorf("runtime %s %d has no storage %s.%s", v.rv.SpecName, v.rv.SpecVersion, pallet, item)
	}
	return e, nil
}

// get reads one value.
func (v *view) get(ctx context.Context, pallet, item string, keys ...[]byte) slot {
	e, err := v.entry(pallet, item)
	if err != nil {
		return slot{Err: err}
	}
	k, err := Key(v.md, pallet, item, keys...)
	if err != nil {
		return slot{Err: err}
	}
	raw, err := v.c.Storage(ctx, k, v.at)
	if err != nil {
		return slot{Err: err}
	}
	return v.decode(e, raw)
}

// many reads pallet.item for each key tuple in one batched query; a
// failed query fails every slot, a bad value only its own.
func (v *view) many(ctx context.Context, pallet, item string, args [][][]byte) ([]slot, error) {
	e, err := v.entry(pallet, item)
	if err != nil {
		return nil, err
	}
	keys := make([][]byte, len(args))
	for i, a := range args {
		if keys[i], err = Key(v.md, pallet, item, a...); err != nil {
			return nil, err
		}
	}
	raws, err := v.c.QueryStorage(ctx, keys, v.at)
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", pallet, item, err)
	}
	out := make([]slot, len(args))
	for i, raw := range raws {
		out[i] = v.decode(e, raw)
	}
	return out, nil
}

// entries lists the keys of a map under the given leading keys and
// reads their values.
func (v *view) entries(ctx context.Context, pallet, item string, lead ...[]byte) ([][][]byte, []slot, error) {
	e, err := v.entry(pallet, item)
	if err != nil {
		return nil, nil, err
	}
	prefix, err := Key(v.md, pallet, item, lead...)
	if err != nil {
		return nil, nil, err
	}
	keys, err := v.c.Keys(ctx, prefix, v.at)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s.%s: %w", pallet, item, err)
	}
	args := make([][][]byte, 0, len(keys))
	for _, k := range keys {
		a, err := KeyArgs(v.md, pallet, item, k)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, a)
	}
	raws, err := v.c.QueryStorage(ctx, keys, v.at)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s.%s: %w", pallet, item, err)
	}
	out := make([]slot, len(raws))
	for i, raw := range raws {
		out[i] = v.decode(e, raw)
	}
	return args, out, nil
}

// keyArgs lists only the keys of a map under the leading keys.
func (v *view) keyArgs(ctx context.Context, pallet, item string, lead ...[]byte) ([][][]byte, error) {
	prefix, err := Key(v.md, pallet, item, lead...)
	if err != nil {
		return nil, err
	}
	keys, err := v.c.Keys(ctx, prefix, v.at)
	if err != nil {
		return nil, fmt.Errorf("list %s.%s: %w", pallet, item, err)
	}
	out := make([][][]byte, 0, len(keys))
	for _, k := range keys {
		a, err := KeyArgs(v.md, pallet, item, k)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// constant decodes a pallet constant; ok false when absent.
func (v *view) constant(pallet, name string) (scale.Value, bool) {
	c := v.md.Pallet(pallet).Constant(name)
	if c == nil {
		return scale.Value{}, false
	}
	val, err := v.md.Types.DecodeAll(c.Type, c.Value)
	if err != nil {
		return scale.Value{}, false
	}
	return val, true
}

func u32le(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

type account [32]byte

func accountOf(val scale.Value) (account, bool) {
	var a account
	b, ok := val.AsBytes()
	if !ok || len(b) != 32 {
		return a, false
	}
	copy(a[:], b)
	return a, true
}

func (a account) ss58(prefix uint16) string { return ss58.Encode(a, prefix) }
