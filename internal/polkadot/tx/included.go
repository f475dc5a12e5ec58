package tx

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/centrifuge/go-substrate-rpc-client/v4/registry"
	"github.com/centrifuge/go-substrate-rpc-client/v4/registry/parser"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/xxhash"
	"golang.org/x/crypto/blake2b"
)

// Failed is an extrinsic that was included but failed: System's
// ExtrinsicFailed, or a nested call's error a wrapper reported in an event
// of its own (Proxy.ProxyExecuted, Sudo.Sudid, Utility.BatchInterrupted
// succeed as extrinsics while the call they wrap failed).
type Failed struct {
	// Event names the event carrying the error (System.ExtrinsicFailed …).
	Event string
	// Reason is the module error (Proxy.Unannounced …) or the
	// DispatchError variant (BadOrigin …); Docs the runtime's text.
	Reason, Docs string
}

func (f *Failed) Error() string {
	s := "extrinsic failed: " + f.Event + ": " + f.Reason
	if f.Docs != "" {
		s += " (" + f.Docs + ")"
	}
	return s
}

// Event is one decoded event of an extrinsic.
type Event struct {
	Name   string // Pallet.Event
	Fields registry.DecodedFields
}

// maxExtrinsics bounds a block's extrinsic list (a 5 MB block of the
// smallest extrinsics stays far below).
const maxExtrinsics = 100_000

// Included looks for the extrinsic txHash in block blockHash. ok: it is
// there and succeeded. A *Failed error: it is there and failed (use
// errors.As). (false, nil): the block does not hold it. Any other error:
// the block or its events could not be read.
func (c *Client) Included(ctx context.Context, blockHash, txHash [32]byte) (ok bool, failed error) {
	_, evs, err := c.ExtrinsicEvents(ctx, blockHash, txHash)
	if err != nil || evs == nil {
		return false, err
	}
	if f := failure(c.Metadata(), c.typesByID(), evs); f != nil {
		return false, f
	}
	for _, e := range evs {
		if e.Name == "System.ExtrinsicSuccess" {
			return true, nil
		}
	}
	return false, fmt.Errorf("extrinsic %x in block %x has neither ExtrinsicSuccess nor ExtrinsicFailed", txHash, blockHash)
}

func (c *Client) typesByID() map[int64]types.Si1Type {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.builder == nil {
		return nil
	}
	return c.builder.types
}

// ExtrinsicEvents returns the index of txHash in the block and the events
// of its phase; nil events (and no error) when the block does not hold
// it.
func (c *Client) ExtrinsicEvents(ctx context.Context, blockHash, txHash [32]byte) (int, []Event, error) {
	var blk struct {
		Block struct {
			Extrinsics []string `json:"extrinsics"`
		} `json:"block"`
	}
	bh := "0x" + hex.EncodeToString(blockHash[:])
	if err := c.rpc.CallContext(ctx, &blk, "chain_getBlock", bh); err != nil {
		return 0, nil, fmt.Errorf("chain_getBlock %s: %w", bh, err)
	}
	if len(blk.Block.Extrinsics) > maxExtrinsics {
		return 0, nil, fmt.Errorf("block %s has %d extrinsics, over the %d read", bh, len(blk.Block.Extrinsics), maxExtrinsics)
	}
	idx := -1
	for i, x := range blk.Block.Extrinsics {
		b, err := hex.DecodeString(strings.TrimPrefix(x, "0x"))
		if err != nil {
			return 0, nil, fmt.Errorf("block %s extrinsic %d is not hex", bh, i)
		}
		if blake2b.Sum256(b) == txHash {
			idx = i
			break
		}
	}
	if idx < 0 {
		return -1, nil, nil
	}
	all, err := c.Events(ctx, blockHash)
	if err != nil {
		return idx, nil, err
	}
	evs := []Event{}
	for _, e := range all {
		if e.Phase != nil && e.Phase.IsApplyExtrinsic && int(e.Phase.AsApplyExtrinsic) == idx {
			evs = append(evs, Event{Name: e.Name, Fields: e.Fields})
		}
	}
	return idx, evs, nil
}

// Events decodes System.Events of a block with the metadata (a
// metadata-driven decode: events the library has no struct for decode
// too).
func (c *Client) Events(ctx context.Context, blockHash [32]byte) ([]*parser.Event, error) {
	key := append(xxhash.New128([]byte("System")).Sum(nil), xxhash.New128([]byte("Events")).Sum(nil)...)
	bh := "0x" + hex.EncodeToString(blockHash[:])
	var raw *string
	if err := c.rpc.CallContext(ctx, &raw, "state_getStorage", "0x"+hex.EncodeToString(key), bh); err != nil {
		return nil, fmt.Errorf("System.Events at %s: %w", bh, err)
	}
	if raw == nil {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(*raw, "0x"))
	if err != nil {
		return nil, fmt.Errorf("System.Events at %s is not hex", bh)
	}
	c.mu.Lock()
	reg := c.events
	c.mu.Unlock()
	sd := types.StorageDataRaw(b)
	evs, err := parser.NewEventParser().ParseEvents(reg, &sd)
	if err != nil {
		return nil, fmt.Errorf("System.Events at %s do not decode with the runtime's metadata: %w", bh, err)
	}
	return evs, nil
}

// failure finds a DispatchError in the extrinsic's events: ExtrinsicFailed
// carries one, and so do wrappers whose inner call failed (their result is
// Err(DispatchError); an Ok result has no DispatchError in it).
func failure(meta *types.Metadata, tys map[int64]types.Si1Type, evs []Event) *Failed {
	for _, e := range evs {
		if v, id, ok := findDispatchError(tys, e.Fields, 0); ok {
			name, docs := describeDispatchError(meta, tys, id, v)
			return &Failed{Event: e.Name, Reason: name, Docs: docs}
		}
	}
	return nil
}

// maxDepth bounds the walk through decoded values.
const maxDepth = 16

func findDispatchError(tys map[int64]types.Si1Type, fs registry.DecodedFields, depth int) (any, int64, bool) {
	if depth > maxDepth {
		return nil, 0, false
	}
	for _, f := range fs {
		if t, ok := tys[f.LookupIndex]; ok && pathName(t) == "DispatchError" {
			return f.Value, f.LookupIndex, true
		}
		if inner, ok := f.Value.(registry.DecodedFields); ok {
			if v, id, ok := findDispatchError(tys, inner, depth+1); ok {
				return v, id, true
			}
		}
	}
	return nil, 0, false
}

// describeDispatchError names a decoded DispatchError. The library's
// variant decoding drops the variant index of variants with data, so a
// variant is told by its shape: a bare byte is a field-less variant
// (BadOrigin …); fields index and error are Module.
func describeDispatchError(meta *types.Metadata, tys map[int64]types.Si1Type, id int64, v any) (string, string) {
	t := tys[id]
	switch x := v.(type) {
	case byte:
		for _, vr := range t.Def.Variant.Variants {
			if byte(vr.Index) == x {
				return string(vr.Name), ""
			}
		}
		return fmt.Sprintf("DispatchError variant %d", x), ""
	case registry.DecodedFields:
		var mod byte
		var errIdx [4]types.U8
		var haveMod, haveErr bool
		var walk func(registry.DecodedFields, int)
		walk = func(fs registry.DecodedFields, depth int) {
			if depth > maxDepth {
				return
			}
			for _, f := range fs {
				switch f.Name {
				case "index":
					if b, ok := asByte(f.Value); ok {
						mod, haveMod = b, true
					}
				case "error":
					if bs, ok := asBytes(f.Value); ok {
						for i := 0; i < len(bs) && i < 4; i++ {
							errIdx[i] = types.U8(bs[i])
						}
						haveErr = true
					} else if b, ok := asByte(f.Value); ok {
						errIdx[0], haveErr = types.U8(b), true
					}
				default:
					if inner, ok := f.Value.(registry.DecodedFields); ok {
						walk(inner, depth+1)
					}
				}
			}
		}
		walk(x, 0)
		if !haveMod && len(x) == 1 {
			// A variant with one enum field (Token(BelowMinimum),
			// Arithmetic(Overflow) …): the outer variant is the one whose
			// field has the inner value's type.
			f := x[0]
			inner, isByte := asByte(f.Value)
			it, ok := tys[f.LookupIndex]
			if isByte && ok && it.Def.IsVariant {
				for _, vr := range t.Def.Variant.Variants {
					if len(vr.Fields) == 1 && vr.Fields[0].Type.Int64() == f.LookupIndex {
						for _, iv := range it.Def.Variant.Variants {
							if byte(iv.Index) == inner {
								return string(vr.Name) + "." + string(iv.Name), ""
							}
						}
					}
				}
			}
		}
		if haveMod && haveErr && meta != nil {
			if me, err := meta.FindError(types.U8(mod), errIdx); err == nil {
				pallet := fmt.Sprint(mod)
				for _, p := range meta.AsMetadataV14.Pallets {
					if byte(p.Index) == mod {
						pallet = string(p.Name)
					}
				}
				return pallet + "." + me.Name, me.Value
			}
			return fmt.Sprintf("module %d error %d", mod, errIdx[0]), ""
		}
		return fmt.Sprintf("DispatchError %v", x), ""
	}
	return fmt.Sprintf("DispatchError %v", v), ""
}

func asByte(v any) (byte, bool) {
	switch x := v.(type) {
	case byte:
		return x, true
	case types.U8:
		return byte(x), true
	}
	return 0, false
}

func asBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case []any:
		out := make([]byte, 0, len(x))
		for _, e := range x {
			b, ok := asByte(e)
			if !ok {
				return nil, false
			}
			out = append(out, b)
		}
		return out, true
	case [4]types.U8:
		return []byte{byte(x[0]), byte(x[1]), byte(x[2]), byte(x[3])}, true
	}
	return nil, false
}
