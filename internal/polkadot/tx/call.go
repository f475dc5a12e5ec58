package tx

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"

	"github.com/centrifuge/go-substrate-rpc-client/v4/scale"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"golang.org/x/crypto/blake2b"
)

// Call is an encoded runtime call: the pallet and call indices the
// metadata gave, then the arguments in the runtime's encoding.
type Call struct {
	Pallet, Name string
	call         types.Call
	// spec is the runtime spec version whose metadata built the call;
	// Submit refuses it after a runtime upgrade.
	spec uint32
}

// Encode is the call's SCALE encoding (indices then arguments), what
// proxy announcements hash and nested calls embed.
func (c Call) Encode() []byte {
	b := make([]byte, 0, 2+len(c.call.Args))
	b = append(b, c.call.CallIndex.SectionIndex, c.call.CallIndex.MethodIndex)
	return append(b, c.call.Args...)
}

// Hash is blake2_256 of the encoded call: the call_hash of
// proxy.announce and proxy.remove_announcement.
func (c Call) Hash() [32]byte { return blake2b.Sum256(c.Encode()) }

func (c Call) String() string { return c.Pallet + "." + c.Name }

// Builder builds calls from one runtime's metadata (v14).
type Builder struct {
	meta  *types.Metadata
	types map[int64]types.Si1Type
	spec  uint32
}

// NewBuilder indexes the metadata's types; spec is the runtime's spec
// version (recorded in each call).
func NewBuilder(meta *types.Metadata, spec uint32) (*Builder, error) {
	if meta == nil || meta.Version != 14 {
		return nil, errors.New("call builder: metadata v14 is required (the node returned another version)")
	}
	b := &Builder{meta: meta, types: make(map[int64]types.Si1Type, len(meta.AsMetadataV14.Lookup.Types)), spec: spec}
	for _, t := range meta.AsMetadataV14.Lookup.Types {
		b.types[t.ID.Int64()] = t.Type
	}
	return b, nil
}

// arg encodes one argument as the metadata type id says.
type arg func(b *Builder, typeID int64, w *bytes.Buffer) error

// build encodes pallet.name with its arguments by metadata field name:
// every field the runtime declares must have a value, and every value a
// field, so a runtime with another signature is an error, not a wrong
// extrinsic.
func (b *Builder) build(pallet, name string, args map[string]arg) (Call, error) {
	var p *types.PalletMetadataV14
	for i := range b.meta.AsMetadataV14.Pallets {
		if string(b.meta.AsMetadataV14.Pallets[i].Name) == pallet {
			p = &b.meta.AsMetadataV14.Pallets[i]
			break
		}
	}
	if p == nil || !p.HasCalls {
		return Call{}, fmt.Errorf("the runtime has no %s pallet with calls", pallet)
	}
	ct, ok := b.types[p.Calls.Type.Int64()]
	if !ok || !ct.Def.IsVariant {
		return Call{}, fmt.Errorf("%s: the call type is not in the metadata", pallet)
	}
	for _, v := range ct.Def.Variant.Variants {
		if string(v.Name) != name {
			continue
		}
		var w bytes.Buffer
		used := 0
		for _, f := range v.Fields {
			a, ok := args[string(f.Name)]
			if !ok {
				return Call{}, fmt.Errorf("%s.%s on this runtime takes argument %q, which valtrack does not know how to fill", pallet, name, f.Name)
			}
			if err := a(b, f.Type.Int64(), &w); err != nil {
				return Call{}, fmt.Errorf("%s.%s argument %s: %w", pallet, name, f.Name, err)
			}
			used++
		}
		if used != len(args) {
			return Call{}, fmt.Errorf("%s.%s on this runtime takes %d arguments, not the %d valtrack gives: the runtime's signature changed", pallet, name, used, len(args))
		}
		return Call{Pallet: pallet, Name: name, spec: b.spec, call: types.Call{
			CallIndex: types.CallIndex{SectionIndex: uint8(p.Index), MethodIndex: uint8(v.Index)},
			Args:      w.Bytes(),
		}}, nil
	}
	return Call{}, fmt.Errorf("the runtime's %s pallet has no call %s", pallet, name)
}

func (b *Builder) typ(id int64) (types.Si1Type, error) {
	t, ok := b.types[id]
	if !ok {
		return t, fmt.Errorf("type %d is not in the metadata", id)
	}
	return t, nil
}

func pathName(t types.Si1Type) string {
	if len(t.Path) == 0 {
		return ""
	}
	return string(t.Path[len(t.Path)-1])
}

// account encodes an account as the argument's type wants it: a
// MultiAddress (the Id variant) or a bare AccountId32.
func account(a AccountID) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		switch {
		case pathName(t) == "MultiAddress" && t.Def.IsVariant:
			for _, v := range t.Def.Variant.Variants {
				if v.Name == "Id" {
					w.WriteByte(byte(v.Index))
					w.Write(a[:])
					return nil
				}
			}
			return errors.New("MultiAddress without an Id variant")
		case pathName(t) == "AccountId32" || (t.Def.IsArray && t.Def.Array.Len == 32):
			w.Write(a[:])
			return nil
		}
		return fmt.Errorf("an account of type %v is not supported", t.Path)
	}
}

// uint encodes an unsigned integer: compact or fixed width as the type
// says.
func uint(v *big.Int) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		if v == nil || v.Sign() < 0 {
			return errors.New("a non-negative amount is required")
		}
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if t.Def.IsComposite && len(t.Def.Composite.Fields) == 1 {
			// A newtype such as Perbill(u32).
			return uint(v)(b, t.Def.Composite.Fields[0].Type.Int64(), w)
		}
		if t.Def.IsCompact {
			if v.BitLen() > 128 {
				return errors.New("amount over 128 bits")
			}
			return scale.NewEncoder(w).EncodeUintCompact(*v)
		}
		if !t.Def.IsPrimitive {
			return fmt.Errorf("type %v is not an integer", t.Path)
		}
		var n int
		switch t.Def.Primitive.Si0TypeDefPrimitive {
		case types.IsU8:
			n = 1
		case types.IsU16:
			n = 2
		case types.IsU32:
			n = 4
		case types.IsU64:
			n = 8
		case types.IsU128:
			n = 16
		default:
			return errors.New("not an unsigned integer type")
		}
		if v.BitLen() > 8*n {
			return fmt.Errorf("%s does not fit in %d bytes", v, n)
		}
		le := make([]byte, n)
		be := v.Bytes()
		for i := range be {
			le[i] = be[len(be)-1-i]
		}
		w.Write(le)
		return nil
	}
}

func u32(v uint32) arg { return uint(new(big.Int).SetUint64(uint64(v))) }

func boolean(v bool) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if !t.Def.IsPrimitive || t.Def.Primitive.Si0TypeDefPrimitive != types.IsBool {
			return errors.New("not a bool")
		}
		if v {
			w.WriteByte(1)
		} else {
			w.WriteByte(0)
		}
		return nil
	}
}

// variant encodes a field-less enum value by its name (ProxyType Staking,
// RewardDestination Staked…).
func variant(name string) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if !t.Def.IsVariant {
			return fmt.Errorf("type %v is not an enum", t.Path)
		}
		for _, v := range t.Def.Variant.Variants {
			if string(v.Name) == name {
				if len(v.Fields) != 0 {
					return fmt.Errorf("%v::%s carries data", t.Path, name)
				}
				w.WriteByte(byte(v.Index))
				return nil
			}
		}
		return fmt.Errorf("enum %v has no variant %s", t.Path, name)
	}
}

// option encodes an Option: None when inner is nil.
func option(inner arg) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if pathName(t) != "Option" || !t.Def.IsVariant {
			return fmt.Errorf("type %v is not an Option", t.Path)
		}
		for _, v := range t.Def.Variant.Variants {
			switch {
			case inner == nil && v.Name == "None":
				w.WriteByte(byte(v.Index))
				return nil
			case inner != nil && v.Name == "Some" && len(v.Fields) == 1:
				w.WriteByte(byte(v.Index))
				return inner(b, v.Fields[0].Type.Int64(), w)
			}
		}
		return errors.New("malformed Option type")
	}
}

// call embeds an encoded call (Box<RuntimeCall>).
func call(c Call) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if !t.Def.IsVariant || pathName(t) != "RuntimeCall" && pathName(t) != "Call" {
			return fmt.Errorf("type %v is not the runtime's call", t.Path)
		}
		if c.spec != b.spec {
			return fmt.Errorf("nested %s was built for runtime %d, this builder is for %d", c, c.spec, b.spec)
		}
		w.Write(c.Encode())
		return nil
	}
}

// hash32 encodes a 32-byte hash (H256).
func hash32(h [32]byte) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		return fixed(h[:])(b, id, w)
	}
}

// fixed writes bytes for a fixed-size array type (or a newtype of one),
// checking the length.
func fixed(v []byte) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		for t.Def.IsComposite && len(t.Def.Composite.Fields) == 1 {
			if t, err = b.typ(t.Def.Composite.Fields[0].Type.Int64()); err != nil {
				return err
			}
		}
		if !t.Def.IsArray {
			return fmt.Errorf("type %v is not a byte array", t.Path)
		}
		if int(t.Def.Array.Len) != len(v) {
			return fmt.Errorf("%d bytes given, the type holds %d", len(v), t.Def.Array.Len)
		}
		w.Write(v)
		return nil
	}
}

// bytesArg encodes a Vec<u8>.
func bytesArg(v []byte) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if !t.Def.IsSequence {
			return errors.New("not a sequence")
		}
		if err := scale.NewEncoder(w).EncodeUintCompact(*big.NewInt(int64(len(v)))); err != nil {
			return err
		}
		w.Write(v)
		return nil
	}
}

// seq encodes a Vec of items, each as the element type wants.
func seq(items []arg) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if !t.Def.IsSequence {
			return fmt.Errorf("type %v is not a sequence", t.Path)
		}
		if err := scale.NewEncoder(w).EncodeUintCompact(*big.NewInt(int64(len(items)))); err != nil {
			return err
		}
		for i, it := range items {
			if err := it(b, t.Def.Sequence.Type.Int64(), w); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		return nil
	}
}

// composite encodes a struct by field name; all fields are required.
func composite(fields map[string]arg) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if !t.Def.IsComposite {
			return fmt.Errorf("type %v is not a struct", t.Path)
		}
		if len(t.Def.Composite.Fields) != len(fields) {
			return fmt.Errorf("struct %v has %d fields, %d given", t.Path, len(t.Def.Composite.Fields), len(fields))
		}
		for _, f := range t.Def.Composite.Fields {
			a, ok := fields[string(f.Name)]
			if !ok {
				return fmt.Errorf("struct %v field %q is not given", t.Path, f.Name)
			}
			if err := a(b, f.Type.Int64(), w); err != nil {
				return fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		return nil
	}
}
