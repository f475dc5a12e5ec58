package tx

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"

	"github.com/centrifuge/go-substrate-rpc-client/v4/scale"
	"github.com/centrifuge/go-substrate-rpc-client/v4/signature"
)

// signing is what a signed extrinsic commits to beside its call.
type signing struct {
	nonce      uint64
	tip        *big.Int
	spec, txv  uint32
	genesis    [32]byte
	immortalAt [32]byte // the block an immortal era names: the genesis
}

// extension fills one transaction extension (signed extension): the
// bytes it adds to the extrinsic (extra) and those only the signature
// covers (additional). A nil side must encode to nothing.
type extension struct {
	extra, additional func(p signing) arg
}

// extensions are the transaction extensions valtrack knows how to fill,
// by the identifier the runtime's metadata gives them (substrate's
// frame_system, pallet_transaction_payment, pallet_asset_tx_payment and
// frame_metadata_hash_extension). An extension not listed here is
// accepted only when it carries no data on either side (CheckWeight,
// CheckNonZeroSender, PrevalidateAttests, StorageWeightReclaim…), so a
// runtime that adds one with data is refused by name rather than sent a
// transaction it would reject as a bad signature.
var extensions = map[string]extension{
	"CheckSpecVersion": {additional: func(p signing) arg { return u32(p.spec) }},
	"CheckTxVersion":   {additional: func(p signing) arg { return u32(p.txv) }},
	"CheckGenesis":     {additional: func(p signing) arg { return hash32(p.genesis) }},
	// An immortal era: valid until the nonce is used, so a transaction
	// that waits for inclusion across blocks cannot expire.
	"CheckMortality": {
		extra:      func(signing) arg { return newtype(variant("Immortal")) },
		additional: func(p signing) arg { return hash32(p.immortalAt) },
	},
	"CheckEra": {
		extra:      func(signing) arg { return newtype(variant("Immortal")) },
		additional: func(p signing) arg { return hash32(p.immortalAt) },
	},
	"CheckNonce":               {extra: func(p signing) arg { return uint(new(big.Int).SetUint64(p.nonce)) }},
	"ChargeTransactionPayment": {extra: func(p signing) arg { return uint(p.tip) }},
	// Asset Hub's: the tip, and the fee paid in the native token.
	"ChargeAssetTxPayment": {extra: func(p signing) arg {
		return composite(map[string]arg{"tip": uint(p.tip), "asset_id": option(nil)})
	}},
	// RFC-0078 (polkadot-fellows/RFCs 0078-merkleized-metadata): mode
	// Disabled in the extrinsic, no metadata hash in what is signed.
	// Live Polkadot, Kusama and their system chains carry it since 2024.
	"CheckMetadataHash": {
		extra:      func(signing) arg { return newtype(variant("Disabled")) },
		additional: func(signing) arg { return option(nil) },
	},
}

// signedExtrinsic is call signed by s as a v4 extrinsic, with every
// transaction extension the runtime's metadata lists, in its order: the
// SCALE encoding with its length prefix, what author_submitExtrinsic
// takes.
func (b *Builder) signedExtrinsic(c Call, s *Signer, p signing) ([]byte, error) {
	if p.tip == nil {
		p.tip = new(big.Int)
	}
	x := b.meta.AsMetadataV14.Extrinsic
	if x.Version != 4 {
		return nil, fmt.Errorf("the runtime's extrinsics are version %d; valtrack signs version 4", x.Version)
	}
	var extra, additional bytes.Buffer
	for _, e := range x.SignedExtensions {
		name := string(e.Identifier)
		f, known := extensions[name]
		for _, side := range []struct {
			what string
			id   int64
			fill func(signing) arg
			w    *bytes.Buffer
		}{
			{"extra", e.Type.Int64(), f.extra, &extra},
			{"additional signed data", e.AdditionalSigned.Int64(), f.additional, &additional},
		} {
			if side.fill == nil {
				empty, err := b.empty(side.id, 0)
				if err != nil {
					return nil, fmt.Errorf("transaction extension %s: %w", name, err)
				}
				if !empty {
					if !known {
						return nil, fmt.Errorf("the runtime requires transaction extension %s, whose %s valtrack does not know how to fill: a newer valtrack may", name, side.what)
					}
					return nil, fmt.Errorf("transaction extension %s carries %s valtrack does not expect", name, side.what)
				}
				continue
			}
			if err := side.fill(p)(b, side.id, side.w); err != nil {
				return nil, fmt.Errorf("transaction extension %s, %s: %w", name, side.what, err)
			}
		}
	}
	addrT, sigT, err := b.extrinsicParams(x.Type.Int64())
	if err != nil {
		return nil, err
	}
	payload := append(append(c.Encode(), extra.Bytes()...), additional.Bytes()...)
	// signature.Sign hashes a payload over 256 bytes with blake2_256, as
	// the runtime does before it verifies.
	sig, err := signature.Sign(payload, s.pair.URI)
	if err != nil {
		return nil, fmt.Errorf("sign: %v", redact(err, s))
	}
	var body bytes.Buffer
	body.WriteByte(0x80 | 4) // signed, version 4
	if err := account(s.account)(b, addrT, &body); err != nil {
		return nil, fmt.Errorf("the extrinsic's address: %w", err)
	}
	if err := sr25519Signature(sig)(b, sigT, &body); err != nil {
		return nil, fmt.Errorf("the extrinsic's signature: %w", err)
	}
	body.Write(extra.Bytes())
	body.Write(c.Encode())
	var out bytes.Buffer
	if err := scale.NewEncoder(&out).EncodeUintCompact(*big.NewInt(int64(body.Len()))); err != nil {
		return nil, err
	}
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

// extrinsicParams are the Address and Signature type parameters of the
// runtime's UncheckedExtrinsic.
func (b *Builder) extrinsicParams(id int64) (addr, sig int64, err error) {
	t, err := b.typ(id)
	if err != nil {
		return 0, 0, fmt.Errorf("the extrinsic type: %w", err)
	}
	addr, sig = -1, -1
	for _, p := range t.Params {
		if !p.HasType {
			continue
		}
		switch p.Name {
		case "Address":
			addr = p.Type.Int64()
		case "Signature":
			sig = p.Type.Int64()
		}
	}
	if addr < 0 || sig < 0 {
		return 0, 0, fmt.Errorf("the extrinsic type %v names no Address or Signature parameter", t.Path)
	}
	return addr, sig, nil
}

// sr25519Signature encodes a signature as the runtime's Signature type
// wants it: MultiSignature's Sr25519 variant, or a bare 64-byte array.
func sr25519Signature(sig []byte) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		if t.Def.IsVariant {
			for _, v := range t.Def.Variant.Variants {
				if v.Name == "Sr25519" && len(v.Fields) == 1 {
					w.WriteByte(byte(v.Index))
					return fixed(sig)(b, v.Fields[0].Type.Int64(), w)
				}
			}
			return fmt.Errorf("signature type %v has no Sr25519 variant", t.Path)
		}
		return fixed(sig)(b, id, w)
	}
}

// newtype applies inner through single-field structs, the way a
// transaction extension wraps its value (CheckMortality(Era),
// CheckMetadataHash { mode }).
func newtype(inner arg) arg {
	return func(b *Builder, id int64, w *bytes.Buffer) error {
		t, err := b.typ(id)
		if err != nil {
			return err
		}
		for t.Def.IsComposite && len(t.Def.Composite.Fields) == 1 {
			id = t.Def.Composite.Fields[0].Type.Int64()
			if t, err = b.typ(id); err != nil {
				return err
			}
		}
		return inner(b, id, w)
	}
}

// empty tells whether values of a type encode to no bytes: a unit struct,
// an empty tuple or array, or a struct of such.
func (b *Builder) empty(id int64, depth int) (bool, error) {
	if depth > 16 {
		return false, errors.New("type nesting too deep")
	}
	t, err := b.typ(id)
	if err != nil {
		return false, err
	}
	d := t.Def
	switch {
	case d.IsComposite:
		for _, f := range d.Composite.Fields {
			if e, err := b.empty(f.Type.Int64(), depth+1); err != nil || !e {
				return false, err
			}
		}
		return true, nil
	case d.IsTuple:
		for _, el := range d.Tuple {
			if e, err := b.empty(el.Int64(), depth+1); err != nil || !e {
				return false, err
			}
		}
		return true, nil
	case d.IsArray:
		if d.Array.Len == 0 {
			return true, nil
		}
		return b.empty(d.Array.Type.Int64(), depth+1)
	}
	return false, nil
}
