package tx

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"
	"github.com/vedhavyas/go-subkey/v2"
	"github.com/vedhavyas/go-subkey/v2/sr25519"
	"golang.org/x/crypto/blake2b"
)

// westend9320 is the metadata of the Westend runtime the chopsticks tests
// run (its extensions: CheckNonZeroSender, CheckSpecVersion,
// CheckTxVersion, CheckGenesis, CheckMortality, CheckNonce, CheckWeight,
// ChargeTransactionPayment).
func westend9320(t *testing.T) *types.Metadata {
	t.Helper()
	f, err := os.Open("../scale/testdata/westend-dev-9320.scale.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	var m types.Metadata
	if err := codec.Decode(raw, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// builder is a call builder over m for spec 9320.
func builder(t *testing.T, m *types.Metadata) *Builder {
	t.Helper()
	b, err := NewBuilder(m, 9320)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verifies(t *testing.T, s *Signer, payload, sig []byte) bool {
	t.Helper()
	if len(payload) > 256 {
		h := blake2b.Sum256(payload)
		payload = h[:]
	}
	kp, err := subkey.DeriveKeyPair(sr25519.Scheme{}, s.pair.URI)
	if err != nil {
		t.Fatal(err)
	}
	return kp.Verify(payload, sig)
}

// sigOffset is where the signature starts in a signed extrinsic with a
// MultiAddress Id and a MultiSignature: after the compact length, the
// version byte 0x84, the address and the signature's variant byte.
func sigOffset(t *testing.T, ext []byte) int {
	t.Helper()
	n := map[byte]int{0: 1, 1: 2, 2: 4}[ext[0]&3]
	if n == 0 || len(ext) < n+1+33+1+64 || ext[n] != 0x84 {
		t.Fatalf("extrinsic %x is not a signed v4 extrinsic", ext)
	}
	return n + 1 + 33 + 1
}

var testSigning = signing{
	nonce:      7,
	spec:       9320,
	txv:        12,
	genesis:    [32]byte{0x45, 0x45, 0x45},
	immortalAt: [32]byte{0x45, 0x45, 0x45},
}

// The metadata-driven signer produces, for the extensions the library
// knows, the extrinsic go-substrate-rpc-client produces, and a signature
// over the payload the library signs.
func TestSignedExtrinsicMatchesTheLibraryOnWestend(t *testing.T) {
	m := westend9320(t)
	b := builder(t, m)
	alice := dev(t, "//Alice")
	c, err := b.Transfer(AccountID{1, 2, 3}, big.NewInt(12345))
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.signedExtrinsic(c, alice, testSigning)
	if err != nil {
		t.Fatal(err)
	}

	ext := types.NewExtrinsic(c.call)
	opts := types.SignatureOptions{
		BlockHash:          types.Hash(testSigning.immortalAt),
		Era:                types.ExtrinsicEra{IsImmortalEra: true},
		GenesisHash:        types.Hash(testSigning.genesis),
		Nonce:              types.NewUCompactFromUInt(testSigning.nonce),
		SpecVersion:        types.U32(testSigning.spec),
		Tip:                types.NewUCompactFromUInt(0),
		TransactionVersion: types.U32(testSigning.txv),
	}
	if err := ext.Sign(alice.pair, opts); err != nil {
		t.Fatal(err)
	}
	want, err := codec.Encode(ext)
	if err != nil {
		t.Fatal(err)
	}
	// sr25519 signatures are randomised: compare around them.
	sigAt := bytes.Index(want, ext.Signature.Signature.AsSr25519[:])
	if sigAt < 0 || len(got) != len(want) {
		t.Fatalf("extrinsic of %d bytes, the library's is %d", len(got), len(want))
	}
	if !bytes.Equal(got[:sigAt], want[:sigAt]) || !bytes.Equal(got[sigAt+64:], want[sigAt+64:]) {
		t.Fatalf("extrinsic differs from the library's outside the signature:\n got %x\nwant %x", got, want)
	}
	payload, err := codec.Encode(types.ExtrinsicPayloadV4{
		ExtrinsicPayloadV3: types.ExtrinsicPayloadV3{
			Method: c.Encode(), Era: opts.Era, Nonce: opts.Nonce, Tip: opts.Tip,
			SpecVersion: opts.SpecVersion, GenesisHash: opts.GenesisHash, BlockHash: opts.BlockHash,
		},
		TransactionVersion: opts.TransactionVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !verifies(t, alice, payload, got[sigAt:sigAt+64]) {
		t.Fatal("the signature does not verify over the library's signing payload")
	}
}

// withExtension appends a transaction extension to the metadata, with its
// types added to the registry: what a runtime newer than 9320 lists.
func withExtension(t *testing.T, m *types.Metadata, name string, extra, additional []types.Si1Type) {
	t.Helper()
	reg := &m.AsMetadataV14.Lookup.Types
	add := func(ty types.Si1Type) types.Si1LookupTypeID {
		id := types.NewSi1LookupTypeIDFromUInt(uint64(len(*reg)) + 100000)
		*reg = append(*reg, types.PortableTypeV14{ID: id, Type: ty})
		return id
	}
	chain := func(ts []types.Si1Type) types.Si1LookupTypeID {
		// Each type may refer to the one before it as field 0.
		var id types.Si1LookupTypeID
		for i, ty := range ts {
			if i > 0 {
				ty = refer(ty, id)
			}
			id = add(ty)
		}
		return id
	}
	m.AsMetadataV14.Extrinsic.SignedExtensions = append(m.AsMetadataV14.Extrinsic.SignedExtensions, types.SignedExtensionMetadataV14{
		Identifier: types.Text(name), Type: chain(extra), AdditionalSigned: chain(additional),
	})
}

// refer points the first field of a composite, the data of an Option's
// Some or an array's element at id.
func refer(ty types.Si1Type, id types.Si1LookupTypeID) types.Si1Type {
	switch {
	case ty.Def.IsComposite:
		ty.Def.Composite.Fields[0].Type = id
	case ty.Def.IsArray:
		ty.Def.Array.Type = id
	case ty.Def.IsVariant:
		for i := range ty.Def.Variant.Variants {
			if len(ty.Def.Variant.Variants[i].Fields) > 0 {
				ty.Def.Variant.Variants[i].Fields[0].Type = id
			}
		}
	}
	return ty
}

var (
	u8Type   = types.Si1Type{Def: types.Si1TypeDef{IsPrimitive: true, Primitive: types.Si1TypeDefPrimitive{Si0TypeDefPrimitive: types.IsU8}}}
	u32Type  = types.Si1Type{Def: types.Si1TypeDef{IsPrimitive: true, Primitive: types.Si1TypeDefPrimitive{Si0TypeDefPrimitive: types.IsU32}}}
	unitType = types.Si1Type{Def: types.Si1TypeDef{IsTuple: true}}
	hashType = types.Si1Type{Def: types.Si1TypeDef{IsArray: true, Array: types.Si1TypeDefArray{Len: 32}}}
	modeType = types.Si1Type{
		Path: types.Si1Path{"frame_metadata_hash_extension", "Mode"},
		Def: types.Si1TypeDef{IsVariant: true, Variant: types.Si1TypeDefVariant{Variants: []types.Si1Variant{
			{Name: "Disabled", Index: 0}, {Name: "Enabled", Index: 1},
		}}},
	}
	checkMetadataHashType = types.Si1Type{
		Path: types.Si1Path{"frame_metadata_hash_extension", "CheckMetadataHash"},
		Def: types.Si1TypeDef{IsComposite: true, Composite: types.Si1TypeDefComposite{Fields: []types.Si1Field{
			{HasName: true, Name: "mode"},
		}}},
	}
	optionHashType = types.Si1Type{
		Path: types.Si1Path{"Option"},
		Def: types.Si1TypeDef{IsVariant: true, Variant: types.Si1TypeDefVariant{Variants: []types.Si1Variant{
			{Name: "None", Index: 0}, {Name: "Some", Index: 1, Fields: []types.Si1Field{{}}},
		}}},
	}
)

// A runtime with CheckMetadataHash (today's Polkadot and Kusama) gets mode
// Disabled in the extrinsic and None in the signed payload (RFC-0078),
// after the extensions before it.
func TestSignedExtrinsicFillsCheckMetadataHash(t *testing.T) {
	plain := westend9320(t)
	pb := builder(t, plain)
	m := westend9320(t)
	withExtension(t, m, "CheckMetadataHash",
		[]types.Si1Type{modeType, checkMetadataHashType},
		[]types.Si1Type{u8Type, hashType, optionHashType})
	b := builder(t, m)
	alice := dev(t, "//Alice")
	c, err := b.Transfer(AccountID{9}, big.NewInt(1))
	if err != nil {
		t.Fatal(err)
	}
	before, err := pb.signedExtrinsic(c, alice, testSigning)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.signedExtrinsic(c, alice, testSigning)
	if err != nil {
		t.Fatal(err)
	}
	// Layout: compact length, 0x84, MultiAddress Id (1+32), MultiSignature
	// Sr25519 (1+64), extra, call. One byte more than without the
	// extension, the 0x00 of mode Disabled just before the call.
	sigAt := sigOffset(t, got)
	call := c.Encode()
	if len(got) != len(before)+1 || !bytes.HasSuffix(got, call) {
		t.Fatalf("extrinsic %x: want %d bytes ending in the call", got, len(before)+1)
	}
	extraWas := before[sigAt+64 : len(before)-len(call)]
	extra := got[sigAt+64 : len(got)-len(call)]
	if !bytes.Equal(extra, append(append([]byte{}, extraWas...), 0x00)) {
		t.Fatalf("extra %x, want %x then mode Disabled (00)", extra, extraWas)
	}
	var additional []byte
	additional = append(additional, 0x68, 0x24, 0, 0) // spec 9320
	additional = append(additional, 12, 0, 0, 0)      // transaction version
	additional = append(additional, testSigning.genesis[:]...)
	additional = append(additional, testSigning.immortalAt[:]...)
	additional = append(additional, 0x00) // no metadata hash
	payload := append(append(append([]byte{}, call...), extra...), additional...)
	if !verifies(t, alice, payload, got[sigAt:sigAt+64]) {
		t.Fatal("the signature does not verify over call ‖ extra ‖ additional with the metadata hash None")
	}
}

// An extension valtrack does not know is accepted when it carries no
// data, and refused by name when it does: never a transaction the runtime
// would reject as a bad signature.
func TestSignedExtrinsicUnknownExtensions(t *testing.T) {
	alice := dev(t, "//Alice")
	m := westend9320(t)
	withExtension(t, m, "StorageWeightReclaim", []types.Si1Type{unitType}, []types.Si1Type{unitType})
	b := builder(t, m)
	c, err := b.Chill()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.signedExtrinsic(c, alice, testSigning); err != nil {
		t.Fatalf("an extension without data is refused: %v", err)
	}

	withExtension(t, m, "CheckSomethingNew", []types.Si1Type{unitType}, []types.Si1Type{u32Type})
	b = builder(t, m)
	c, _ = b.Chill()
	_, err = b.signedExtrinsic(c, alice, testSigning)
	if err == nil || !strings.Contains(err.Error(), "CheckSomethingNew") || !strings.Contains(err.Error(), "additional signed data") {
		t.Fatalf("err = %v, want a refusal naming CheckSomethingNew's additional signed data", err)
	}
}

// A payload over 256 bytes is signed by its blake2_256 hash, as the
// runtime verifies it.
func TestSignedExtrinsicLongPayloadSignsItsHash(t *testing.T) {
	m := westend9320(t)
	b := builder(t, m)
	alice := dev(t, "//Alice")
	targets := make([]AccountID, 16)
	for i := range targets {
		targets[i][0] = byte(i + 1)
	}
	c, err := b.Nominate(targets)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.signedExtrinsic(c, alice, testSigning)
	if err != nil {
		t.Fatal(err)
	}
	sigAt := sigOffset(t, got)
	call := c.Encode()
	extra := got[sigAt+64 : len(got)-len(call)]
	payload := append(append([]byte{}, call...), extra...)
	payload = append(payload, 0x68, 0x24, 0, 0, 12, 0, 0, 0)
	payload = append(payload, testSigning.genesis[:]...)
	payload = append(payload, testSigning.immortalAt[:]...)
	if len(payload) <= 256 {
		t.Fatalf("payload of %d bytes: the test needs one over 256", len(payload))
	}
	if !verifies(t, alice, payload, got[sigAt:sigAt+64]) {
		t.Fatal("the signature does not verify over the payload's hash")
	}
}
