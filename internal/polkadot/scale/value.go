package scale

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Kind is the shape of a decoded Value.
type Kind uint8

// The value kinds.
const (
	KindNone      Kind = iota // the zero Value (a missing field)
	KindBool                  // U is 0 or 1
	KindUint                  // U, or Big above 64 bits
	KindInt                   // I, or Big above 64 bits
	KindStr                   // Str (also char)
	KindBytes                 // Bytes: a [u8] sequence or [u8; N] array
	KindComposite             // Fields
	KindVariant               // Name, Index, Fields
	KindSequence              // Items (a sequence or an array)
	KindTuple                 // Items
	KindBits                  // Bytes (the raw store words), Bits the length
)

// Value is a decoded SCALE value.
type Value struct {
	Kind   Kind
	U      uint64
	I      int64
	Big    *big.Int
	Str    string
	Bytes  []byte
	Bits   int
	Name   string // variant name
	Index  uint8  // variant index
	Fields []Field
	Items  []Value
	// Type is the registry type's last path segment ("AccountId32"),
	// "" for anonymous types.
	Type string
}

// Field is a named (or, for tuple-like structs, unnamed) field.
type Field struct {
	Name  string
	Value Value
}

// Valid: the value exists (it is not a missing field's zero Value).
func (v Value) Valid() bool { return v.Kind != KindNone }

// Field returns the field named name of a composite or variant,
// looking through single-field wrappers (Some(x), a newtype) on the way;
// the zero Value when there is none.
func (v Value) Field(name string) Value {
	for i := 0; i < 8; i++ {
		for _, f := range v.Fields {
			if f.Name == name {
				return f.Value
			}
		}
		u, ok := v.unwrapOnce()
		if !ok {
			return Value{}
		}
		v = u
	}
	return Value{}
}

// Find searches v depth-first (fields, variants, tuples; not sequences)
// for the first field named name, so a caller finds e.g. "judgements"
// whether the value is a Registration or a (Registration, Username)
// tuple.
func (v Value) Find(name string) Value {
	return v.find(name, 0)
}

func (v Value) find(name string, depth int) Value {
	if depth > 32 {
		return Value{}
	}
	for _, f := range v.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	for _, f := range v.Fields {
		if r := f.Value.find(name, depth+1); r.Valid() {
			return r
		}
	}
	if v.Kind == KindTuple {
		for _, it := range v.Items {
			if r := it.find(name, depth+1); r.Valid() {
				return r
			}
		}
	}
	return Value{}
}

// unwrapOnce returns the only field of a one-field composite or variant
// (or the only item of a one-item tuple).
func (v Value) unwrapOnce() (Value, bool) {
	switch {
	case (v.Kind == KindComposite || v.Kind == KindVariant) && len(v.Fields) == 1:
		return v.Fields[0].Value, true
	case v.Kind == KindTuple && len(v.Items) == 1:
		return v.Items[0], true
	}
	return Value{}, false
}

// Unwrap strips single-field wrappers (AccountId32([u8;32]), Perbill(u32),
// Some(x)) down to the innermost value.
func (v Value) Unwrap() Value {
	for i := 0; i < 16; i++ {
		u, ok := v.unwrapOnce()
		if !ok {
			return v
		}
		v = u
	}
	return v
}

// IsNone: an Option's None (or a missing value).
func (v Value) IsNone() bool {
	return !v.Valid() || (v.Kind == KindVariant && v.Name == "None" && len(v.Fields) == 0)
}

// Option returns the Some's content; ok false for None.
func (v Value) Option() (Value, bool) {
	if v.Kind == KindVariant && v.Name == "Some" && len(v.Fields) == 1 {
		return v.Fields[0].Value, true
	}
	return Value{}, false
}

// Uint64 is the unsigned integer in v (through wrappers); false when v
// is no unsigned integer or does not fit.
func (v Value) Uint64() (uint64, bool) {
	v = v.Unwrap()
	if v.Kind != KindUint || v.Big != nil {
		return 0, false
	}
	return v.U, true
}

// BigInt is the unsigned or signed integer in v as a big.Int; nil when v
// is no integer.
func (v Value) BigInt() *big.Int {
	v = v.Unwrap()
	switch v.Kind {
	case KindUint:
		if v.Big != nil {
			return new(big.Int).Set(v.Big)
		}
		return new(big.Int).SetUint64(v.U)
	case KindInt:
		if v.Big != nil {
			return new(big.Int).Set(v.Big)
		}
		return big.NewInt(v.I)
	}
	return nil
}

// Bool is the boolean in v.
func (v Value) Bool() (bool, bool) {
	v = v.Unwrap()
	if v.Kind != KindBool {
		return false, false
	}
	return v.U == 1, true
}

// AsBytes is the byte string in v (through wrappers such as AccountId32).
func (v Value) AsBytes() ([]byte, bool) {
	v = v.Unwrap()
	if v.Kind != KindBytes {
		return nil, false
	}
	return v.Bytes, true
}

// List is the items of a sequence, array or tuple (through wrappers
// such as BoundedVec).
func (v Value) List() ([]Value, bool) {
	for i := 0; i < 16; i++ {
		if v.Kind == KindSequence || v.Kind == KindTuple {
			return v.Items, true
		}
		if v.Kind == KindBytes { // a [u8] read as bytes: its items are u8s
			out := make([]Value, len(v.Bytes))
			for k, b := range v.Bytes {
				out[k] = Value{Kind: KindUint, U: uint64(b)}
			}
			return out, true
		}
		u, ok := v.unwrapOnce()
		if !ok {
			return nil, false
		}
		v = u
	}
	return nil, false
}

// String renders v compactly (for logs and test failures).
func (v Value) String() string {
	var b strings.Builder
	v.write(&b, 0)
	return b.String()
}

func (v Value) write(b *strings.Builder, depth int) {
	if depth > 32 {
		b.WriteString("…")
		return
	}
	switch v.Kind {
	case KindNone:
		b.WriteString("<none>")
	case KindBool:
		fmt.Fprint(b, v.U == 1)
	case KindUint, KindInt:
		b.WriteString(v.BigInt().String())
	case KindStr:
		fmt.Fprintf(b, "%q", v.Str)
	case KindBytes, KindBits:
		b.WriteString("0x" + hex.EncodeToString(v.Bytes))
	case KindComposite, KindVariant:
		b.WriteString(v.Name)
		b.WriteString("{")
		for i, f := range v.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			if f.Name != "" {
				b.WriteString(f.Name + ": ")
			}
			f.Value.write(b, depth+1)
		}
		b.WriteString("}")
	case KindSequence, KindTuple:
		b.WriteString("[")
		for i, it := range v.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			it.write(b, depth+1)
		}
		b.WriteString("]")
	}
}

// Limits bound one Decode.
type Limits struct {
	MaxDepth int // nesting (default 96)
	// MaxElems bounds the values decoded in total (default 1<<18: a
	// busy block's events are well below it, and the worst case stays
	// tens of MB).
	MaxElems int
}

// ErrLimit: the input needs more nesting or elements than allowed.
var ErrLimit = errors.New("scale: decode limit exceeded")

type decoder struct {
	reg   *Registry
	r     reader
	elems int
	lim   Limits
}

// Decode decodes one value of type id from data and returns the bytes
// after it.
func (reg *Registry) Decode(id uint32, data []byte) (Value, []byte, error) {
	return reg.DecodeLimits(id, data, Limits{})
}

// DecodeLimits is Decode with explicit limits.
func (reg *Registry) DecodeLimits(id uint32, data []byte, lim Limits) (Value, []byte, error) {
	if reg == nil {
		return Value{}, data, errors.New("scale: no type registry")
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 96
	}
	if lim.MaxElems <= 0 {
		lim.MaxElems = 1 << 18
	}
	d := &decoder{reg: reg, r: reader{b: data}, lim: lim}
	v, err := d.value(id, 0)
	if err != nil {
		return Value{}, data, err
	}
	return v, data[d.r.off:], nil
}

// DecodeAll decodes a value that must use all of data (a storage value).
func (reg *Registry) DecodeAll(id uint32, data []byte) (Value, error) {
	v, rest, err := reg.Decode(id, data)
	if err != nil {
		return Value{}, err
	}
	if len(rest) != 0 {
		return Value{}, fmt.Errorf("scale: %d bytes left after the value of type %d", len(rest), id)
	}
	return v, nil
}

func (d *decoder) value(id uint32, depth int) (Value, error) {
	if depth > d.lim.MaxDepth {
		return Value{}, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, d.lim.MaxDepth)
	}
	d.elems++
	if d.elems > d.lim.MaxElems {
		return Value{}, fmt.Errorf("%w: more than %d elements", ErrLimit, d.lim.MaxElems)
	}
	t := d.reg.Type(id)
	if t == nil {
		return Value{}, fmt.Errorf("scale: type %d is not in the registry", id)
	}
	name := t.Name()
	switch t.Kind {
	case DefComposite:
		fs, err := d.fields(t.Fields, depth)
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindComposite, Fields: fs, Type: name}, nil
	case DefVariant:
		at := d.r.off
		idx, err := d.r.u8()
		if err != nil {
			return Value{}, err
		}
		vd := t.Variant(idx)
		if vd == nil {
			return Value{}, fmt.Errorf("scale: variant index %d at offset %d is not in %s (type %d)", idx, at, t.PathString(), id)
		}
		fs, err := d.fields(vd.Fields, depth)
		if err != nil {
			return Value{}, fmt.Errorf("%s::%s: %w", name, vd.Name, err)
		}
		return Value{Kind: KindVariant, Name: vd.Name, Index: idx, Fields: fs, Type: name}, nil
	case DefSequence:
		if d.isU8(t.Elem) {
			b, err := d.r.bytes()
			if err != nil {
				return Value{}, err
			}
			return Value{Kind: KindBytes, Bytes: b, Type: name}, nil
		}
		n, err := d.r.length(1)
		if err != nil {
			return Value{}, err
		}
		return d.items(KindSequence, t.Elem, n, depth, name)
	case DefArray:
		if d.isU8(t.Elem) {
			b, err := d.r.take(int(min(t.Len, uint32(d.r.left()+1))))
			if err != nil {
				return Value{}, err
			}
			return Value{Kind: KindBytes, Bytes: append([]byte(nil), b...), Type: name}, nil
		}
		// An array needs at least one byte per element unless the element
		// is zero-sized; refusing more elements than bytes also bounds a
		// hostile [T; 4e9].
		if uint64(t.Len) > uint64(d.r.left()) && t.Len > 0 {
			return Value{}, fmt.Errorf("%w: array of %d elements with %d bytes left", ErrShort, t.Len, d.r.left())
		}
		return d.items(KindSequence, t.Elem, int(t.Len), depth, name)
	case DefTuple:
		out := Value{Kind: KindTuple, Type: name}
		for _, e := range t.Tuple {
			v, err := d.value(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			out.Items = append(out.Items, v)
		}
		return out, nil
	case DefPrimitive:
		return d.prim(t.Prim)
	case DefCompact:
		u, b, err := d.r.compact()
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindUint, U: u, Big: b, Type: name}, nil
	case DefBitSequence:
		return d.bits(t)
	}
	return Value{}, fmt.Errorf("scale: type %d has unknown kind %d", id, t.Kind)
}

func (d *decoder) isU8(id uint32) bool {
	t := d.reg.Type(id)
	return t != nil && t.Kind == DefPrimitive && t.Prim == PrimU8
}

func (d *decoder) fields(defs []FieldDef, depth int) ([]Field, error) {
	if len(defs) == 0 {
		return nil, nil
	}
	out := make([]Field, 0, len(defs))
	for _, f := range defs {
		v, err := d.value(f.Type, depth+1)
		if err != nil {
			if f.Name != "" {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			return nil, err
		}
		out = append(out, Field{Name: f.Name, Value: v})
	}
	return out, nil
}

func (d *decoder) items(k Kind, elem uint32, n, depth int, name string) (Value, error) {
	if n > d.lim.MaxElems-d.elems {
		return Value{}, fmt.Errorf("%w: %d items would exceed %d elements", ErrLimit, n, d.lim.MaxElems)
	}
	// Grow with what really decodes: a claimed length is only an upper
	// bound, and preallocating it would let a few bytes reserve megabytes.
	out := Value{Kind: k, Items: make([]Value, 0, min(n, 4096)), Type: name}
	for i := 0; i < n; i++ {
		v, err := d.value(elem, depth+1)
		if err != nil {
			return Value{}, fmt.Errorf("item %d: %w", i, err)
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

func (d *decoder) prim(p Prim) (Value, error) {
	switch p {
	case PrimBool:
		b, err := d.r.boolean()
		if err != nil {
			return Value{}, err
		}
		v := Value{Kind: KindBool}
		if b {
			v.U = 1
		}
		return v, nil
	case PrimChar:
		u, err := d.r.u32()
		if err != nil {
			return Value{}, err
		}
		if u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF) {
			return Value{}, fmt.Errorf("scale: char %#x is not a Unicode scalar", u)
		}
		return Value{Kind: KindStr, Str: string(rune(u))}, nil
	case PrimStr:
		s, err := d.r.str()
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindStr, Str: s}, nil
	}
	n := primSize[p]
	if n == 0 {
		return Value{}, fmt.Errorf("scale: unknown primitive %d", p)
	}
	b, err := d.r.take(n)
	if err != nil {
		return Value{}, err
	}
	signed := p >= PrimI8
	if n <= 8 {
		var buf [8]byte
		copy(buf[:], b)
		u := binary.LittleEndian.Uint64(buf[:])
		if !signed {
			return Value{Kind: KindUint, U: u}, nil
		}
		shift := uint(64 - 8*n)
		return Value{Kind: KindInt, I: int64(u<<shift) >> shift}, nil
	}
	be := make([]byte, n)
	for i := range b {
		be[n-1-i] = b[i]
	}
	x := new(big.Int).SetBytes(be)
	if signed && b[n-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	if !signed {
		if x.IsUint64() {
			return Value{Kind: KindUint, U: x.Uint64()}, nil
		}
		return Value{Kind: KindUint, Big: x}, nil
	}
	if x.IsInt64() {
		return Value{Kind: KindInt, I: x.Int64()}, nil
	}
	return Value{Kind: KindInt, Big: x}, nil
}

func (d *decoder) bits(t *Type) (Value, error) {
	st := d.reg.Type(t.BitStore)
	word := 1
	if st != nil && st.Kind == DefPrimitive {
		switch st.Prim {
		case PrimU16:
			word = 2
		case PrimU32:
			word = 4
		case PrimU64:
			word = 8
		}
	}
	at := d.r.off
	u, b, err := d.r.compact()
	if err != nil {
		return Value{}, err
	}
	if b != nil || u > uint64(d.r.left())*8 {
		return Value{}, fmt.Errorf("scale: bit sequence length at offset %d exceeds the %d bytes left", at, d.r.left())
	}
	bitsPerWord := uint64(word * 8)
	words := (u + bitsPerWord - 1) / bitsPerWord
	p, err := d.r.take(int(words) * word)
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: KindBits, Bits: int(u), Bytes: append([]byte(nil), p...), Type: t.Name()}, nil
}

// primSize is the byte width of the fixed-size integer primitives.
var primSize = [...]int{PrimU8: 1, PrimU16: 2, PrimU32: 4, PrimU64: 8, PrimU128: 16, PrimU256: 32,
	PrimI8: 1, PrimI16: 2, PrimI32: 4, PrimI64: 8, PrimI128: 16, PrimI256: 32}
