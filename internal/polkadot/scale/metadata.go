package scale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Bounds on a metadata blob. Polkadot's metadata holds about 1,000
// types; these leave room for growth and refuse absurd claims.
const (
	maxTypes        = 1 << 20
	MaxMetadataSize = 64 << 20
)

// DefKind is the shape of a registry type.
type DefKind uint8

// The type definition kinds, in scale-info's order (their SCALE index).
const (
	DefComposite DefKind = iota
	DefVariant
	DefSequence
	DefArray
	DefTuple
	DefPrimitive
	DefCompact
	DefBitSequence
)

// Prim is a primitive type, in scale-info's order.
type Prim uint8

// The primitives.
const (
	PrimBool Prim = iota
	PrimChar
	PrimStr
	PrimU8
	PrimU16
	PrimU32
	PrimU64
	PrimU128
	PrimU256
	PrimI8
	PrimI16
	PrimI32
	PrimI64
	PrimI128
	PrimI256
)

// FieldDef is a field of a composite or a variant.
type FieldDef struct {
	Name     string // "" for a tuple-like field
	Type     uint32
	TypeName string
}

// VariantDef is one variant of an enum.
type VariantDef struct {
	Name   string
	Index  uint8
	Fields []FieldDef
}

// Type is one registry type.
type Type struct {
	ID       uint32
	Path     []string
	Kind     DefKind
	Fields   []FieldDef   // composite
	Variants []VariantDef // variant
	Elem     uint32       // sequence, array, compact: the element type
	Len      uint32       // array
	Tuple    []uint32     // tuple
	Prim     Prim         // primitive
	BitStore uint32       // bit sequence
	BitOrder uint32
}

// Name is the last path segment ("AccountId32", "Perbill"), "" when the
// type has no path.
func (t *Type) Name() string {
	if len(t.Path) == 0 {
		return ""
	}
	return t.Path[len(t.Path)-1]
}

// Variant finds a variant by index.
func (t *Type) Variant(idx uint8) *VariantDef {
	for i := range t.Variants {
		if t.Variants[i].Index == idx {
			return &t.Variants[i]
		}
	}
	return nil
}

// Registry is the portable type registry of a runtime.
type Registry struct {
	types map[uint32]*Type
	dense []*Type // types by id when the ids are dense (they are, in practice)
}

// Type returns the type with id, or nil.
func (r *Registry) Type(id uint32) *Type {
	if r == nil {
		return nil
	}
	if r.dense != nil {
		if int(id) < len(r.dense) {
			return r.dense[id]
		}
		return nil
	}
	return r.types[id]
}

// index builds the dense lookup when no id exceeds twice the count (a
// hostile registry with sparse huge ids keeps the map).
func (r *Registry) index() {
	maxID := uint32(0)
	for id := range r.types {
		maxID = max(maxID, id)
	}
	if int(maxID) >= 2*len(r.types)+16 {
		return
	}
	r.dense = make([]*Type, maxID+1)
	for id, t := range r.types {
		r.dense[id] = t
	}
}

// Len is the number of types.
func (r *Registry) Len() int { return len(r.types) }

// IDs returns every type id (unordered).
func (r *Registry) IDs() []uint32 {
	out := make([]uint32, 0, len(r.types))
	for id := range r.types {
		out = append(out, id)
	}
	return out
}

// Hasher is a storage key hasher, in the metadata's order.
type Hasher uint8

// The hashers.
const (
	Blake2_128 Hasher = iota
	Blake2_256
	Blake2_128Concat
	Twox128
	Twox256
	Twox64Concat
	Identity
)

func (h Hasher) String() string {
	switch h {
	case Blake2_128:
		return "Blake2_128"
	case Blake2_256:
		return "Blake2_256"
	case Blake2_128Concat:
		return "Blake2_128Concat"
	case Twox128:
		return "Twox128"
	case Twox256:
		return "Twox256"
	case Twox64Concat:
		return "Twox64Concat"
	case Identity:
		return "Identity"
	}
	return fmt.Sprintf("Hasher(%d)", uint8(h))
}

// StorageEntry is one storage item.
type StorageEntry struct {
	Name     string
	Optional bool // modifier Optional (no default value)
	Map      bool
	Hashers  []Hasher
	Key      uint32 // map: the key type (a tuple for several hashers)
	Value    uint32
	Default  []byte
}

// Constant is a pallet constant.
type Constant struct {
	Name  string
	Type  uint32
	Value []byte
}

// Pallet is one pallet of the runtime.
type Pallet struct {
	Name      string
	Index     uint8
	Prefix    string // storage prefix ("" without storage)
	Storage   []StorageEntry
	Calls     *uint32
	Events    *uint32
	Errors    *uint32
	Constants []Constant
}

// Entry finds a storage item by name.
func (p *Pallet) Entry(name string) *StorageEntry {
	if p == nil {
		return nil
	}
	for i := range p.Storage {
		if p.Storage[i].Name == name {
			return &p.Storage[i]
		}
	}
	return nil
}

// Constant finds a constant by name.
func (p *Pallet) Constant(name string) *Constant {
	if p == nil {
		return nil
	}
	for i := range p.Constants {
		if p.Constants[i].Name == name {
			return &p.Constants[i]
		}
	}
	return nil
}

// Metadata is the part of a runtime's metadata the reader uses.
type Metadata struct {
	Version uint8
	Types   *Registry
	Pallets []Pallet
}

// Pallet finds a pallet by name, nil when the runtime has none.
func (m *Metadata) Pallet(name string) *Pallet {
	if m == nil {
		return nil
	}
	for i := range m.Pallets {
		if m.Pallets[i].Name == name {
			return &m.Pallets[i]
		}
	}
	return nil
}

// Entry finds pallet.item, nil when absent.
func (m *Metadata) Entry(pallet, item string) *StorageEntry {
	return m.Pallet(pallet).Entry(item)
}

// magic is "meta" as the little-endian u32 every metadata blob starts with.
const magic = 0x6174656d

// ParseMetadata parses a SCALE metadata blob (state_getMetadata's bytes)
// of version 14 or 15. Only the registry and the pallets are read; what
// follows them (extrinsic, runtime APIs) is ignored.
func ParseMetadata(b []byte) (*Metadata, error) {
	if len(b) > MaxMetadataSize {
		return nil, fmt.Errorf("metadata of %d bytes exceeds the %d-byte bound", len(b), MaxMetadataSize)
	}
	if len(b) < 5 || binary.LittleEndian.Uint32(b) != magic {
		return nil, errors.New("not runtime metadata (no \"meta\" magic): is the URL a Substrate node?")
	}
	m := &Metadata{Version: b[4]}
	if m.Version != 14 && m.Version != 15 {
		return nil, fmt.Errorf("metadata version %d is not supported (14 and 15 are)", m.Version)
	}
	r := &reader{b: b, off: 5}
	reg, err := parseRegistry(r)
	if err != nil {
		return nil, fmt.Errorf("metadata types: %w", err)
	}
	m.Types = reg
	n, err := r.length(1)
	if err != nil {
		return nil, fmt.Errorf("metadata pallets: %w", err)
	}
	for i := 0; i < n; i++ {
		p, err := parsePallet(r, m.Version)
		if err != nil {
			return nil, fmt.Errorf("metadata pallet %d: %w", i, err)
		}
		m.Pallets = append(m.Pallets, p)
	}
	return m, nil
}

func parseRegistry(r *reader) (*Registry, error) {
	n, err := r.length(2)
	if err != nil {
		return nil, err
	}
	reg := &Registry{types: make(map[uint32]*Type, min(n, 4096))}
	for i := 0; i < n; i++ {
		id, err := r.typeID()
		if err != nil {
			return nil, err
		}
		t, err := parseType(r)
		if err != nil {
			return nil, fmt.Errorf("type %d: %w", id, err)
		}
		t.ID = id
		reg.types[id] = t
	}
	reg.index()
	return reg, nil
}

func parseFields(r *reader) ([]FieldDef, error) {
	n, err := r.length(3)
	if err != nil {
		return nil, err
	}
	out := make([]FieldDef, 0, min(n, 64))
	for i := 0; i < n; i++ {
		var f FieldDef
		if f.Name, _, err = r.optStr(); err != nil {
			return nil, err
		}
		if f.Type, err = r.typeID(); err != nil {
			return nil, err
		}
		if f.TypeName, _, err = r.optStr(); err != nil {
			return nil, err
		}
		if _, err = r.strs(); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func parseType(r *reader) (*Type, error) {
	t := &Type{}
	var err error
	if t.Path, err = r.strs(); err != nil {
		return nil, err
	}
	np, err := r.length(2)
	if err != nil {
		return nil, err
	}
	for i := 0; i < np; i++ { // type parameters: not needed to decode
		if _, err := r.str(); err != nil {
			return nil, err
		}
		ok, err := r.boolean()
		if err != nil {
			return nil, err
		}
		if ok {
			if _, err := r.typeID(); err != nil {
				return nil, err
			}
		}
	}
	k, err := r.u8()
	if err != nil {
		return nil, err
	}
	t.Kind = DefKind(k)
	switch t.Kind {
	case DefComposite:
		if t.Fields, err = parseFields(r); err != nil {
			return nil, err
		}
	case DefVariant:
		n, err := r.length(4)
		if err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			var v VariantDef
			if v.Name, err = r.str(); err != nil {
				return nil, err
			}
			if v.Fields, err = parseFields(r); err != nil {
				return nil, err
			}
			if v.Index, err = r.u8(); err != nil {
				return nil, err
			}
			if _, err = r.strs(); err != nil {
				return nil, err
			}
			t.Variants = append(t.Variants, v)
		}
	case DefSequence, DefCompact:
		if t.Elem, err = r.typeID(); err != nil {
			return nil, err
		}
	case DefArray:
		if t.Len, err = r.u32(); err != nil {
			return nil, err
		}
		if t.Elem, err = r.typeID(); err != nil {
			return nil, err
		}
	case DefTuple:
		n, err := r.length(1)
		if err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			id, err := r.typeID()
			if err != nil {
				return nil, err
			}
			t.Tuple = append(t.Tuple, id)
		}
	case DefPrimitive:
		p, err := r.u8()
		if err != nil {
			return nil, err
		}
		if p > uint8(PrimI256) {
			return nil, fmt.Errorf("unknown primitive %d", p)
		}
		t.Prim = Prim(p)
	case DefBitSequence:
		if t.BitStore, err = r.typeID(); err != nil {
			return nil, err
		}
		if t.BitOrder, err = r.typeID(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown type definition kind %d", k)
	}
	if _, err = r.strs(); err != nil { // docs
		return nil, err
	}
	return t, nil
}

func optType(r *reader) (*uint32, error) {
	ok, err := r.boolean()
	if err != nil || !ok {
		return nil, err
	}
	id, err := r.typeID()
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func parsePallet(r *reader, version uint8) (Pallet, error) {
	var p Pallet
	var err error
	if p.Name, err = r.str(); err != nil {
		return p, err
	}
	hasStorage, err := r.boolean()
	if err != nil {
		return p, err
	}
	if hasStorage {
		if p.Prefix, err = r.str(); err != nil {
			return p, err
		}
		n, err := r.length(4)
		if err != nil {
			return p, err
		}
		for i := 0; i < n; i++ {
			e, err := parseEntry(r)
			if err != nil {
				return p, fmt.Errorf("%s storage: %w", p.Name, err)
			}
			p.Storage = append(p.Storage, e)
		}
	}
	if p.Calls, err = optType(r); err != nil {
		return p, err
	}
	if p.Events, err = optType(r); err != nil {
		return p, err
	}
	nc, err := r.length(3)
	if err != nil {
		return p, err
	}
	for i := 0; i < nc; i++ {
		var c Constant
		if c.Name, err = r.str(); err != nil {
			return p, err
		}
		if c.Type, err = r.typeID(); err != nil {
			return p, err
		}
		if c.Value, err = r.bytes(); err != nil {
			return p, err
		}
		if _, err = r.strs(); err != nil {
			return p, err
		}
		p.Constants = append(p.Constants, c)
	}
	if p.Errors, err = optType(r); err != nil {
		return p, err
	}
	if p.Index, err = r.u8(); err != nil {
		return p, err
	}
	if version >= 15 {
		if _, err = r.strs(); err != nil {
			return p, err
		}
	}
	return p, nil
}

func parseEntry(r *reader) (StorageEntry, error) {
	var e StorageEntry
	var err error
	if e.Name, err = r.str(); err != nil {
		return e, err
	}
	mod, err := r.u8()
	if err != nil {
		return e, err
	}
	e.Optional = mod == 0
	kind, err := r.u8()
	if err != nil {
		return e, err
	}
	switch kind {
	case 0:
		if e.Value, err = r.typeID(); err != nil {
			return e, err
		}
	case 1:
		e.Map = true
		n, err := r.length(1)
		if err != nil {
			return e, err
		}
		for i := 0; i < n; i++ {
			h, err := r.u8()
			if err != nil {
				return e, err
			}
			if h > uint8(Identity) {
				return e, fmt.Errorf("%s: unknown hasher %d", e.Name, h)
			}
			e.Hashers = append(e.Hashers, Hasher(h))
		}
		if e.Key, err = r.typeID(); err != nil {
			return e, err
		}
		if e.Value, err = r.typeID(); err != nil {
			return e, err
		}
	default:
		return e, fmt.Errorf("%s: unknown storage entry kind %d", e.Name, kind)
	}
	if e.Default, err = r.bytes(); err != nil {
		return e, err
	}
	if _, err = r.strs(); err != nil {
		return e, err
	}
	return e, nil
}

// PalletByIndex finds a pallet by its index.
func (m *Metadata) PalletByIndex(i uint8) *Pallet {
	for k := range m.Pallets {
		if m.Pallets[k].Index == i {
			return &m.Pallets[k]
		}
	}
	return nil
}

// KeyTypes returns the type of each key of a map entry: the key type
// itself for one hasher, the tuple's elements for several.
func (m *Metadata) KeyTypes(e *StorageEntry) ([]uint32, error) {
	if !e.Map {
		return nil, nil
	}
	if len(e.Hashers) == 1 {
		return []uint32{e.Key}, nil
	}
	t := m.Types.Type(e.Key)
	if t == nil || t.Kind != DefTuple || len(t.Tuple) != len(e.Hashers) {
		return nil, fmt.Errorf("storage %s: %d hashers but key type %d is not a tuple of as many", e.Name, len(e.Hashers), e.Key)
	}
	return t.Tuple, nil
}

// PathString is a type's path joined with "::" (for errors).
func (t *Type) PathString() string { return strings.Join(t.Path, "::") }

// NewRegistry builds a registry from types (their ID fields are their
// ids), e.g. to extend a runtime's registry with items it lacks in a test.
func NewRegistry(types []*Type) *Registry {
	r := &Registry{types: make(map[uint32]*Type, len(types))}
	for _, t := range types {
		r.types[t.ID] = t
	}
	r.index()
	return r
}

// Types returns every type (unordered).
func (r *Registry) Types() []*Type {
	out := make([]*Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	return out
}
