package enr

import (
	"encoding/base64"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/valtrack/valtrack/internal/ethereum/network"
)

func builtinBootnodes(t testing.TB, name string) []string {
	t.Helper()
	n, err := network.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return n.Bootnodes
}

func TestParseBuiltinBootnodes(t *testing.T) {
	for _, name := range network.Builtin() {
		var eth2 int
		for _, text := range builtinBootnodes(t, name) {
			r, err := Parse(text)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if len(r.PubKey) != 33 || r.PeerID == "" || r.NodeID == ([32]byte{}) || r.Text != text {
				t.Errorf("%s: incomplete record %+v", name, r)
			}
			if len(r.Malformed) != 0 {
				t.Errorf("%s: malformed entries %v in %s", name, r.Malformed, text)
			}
			if r.IP4 == nil && r.IP6 == nil {
				t.Errorf("%s: bootnode without an IP: %s", name, text)
			}
			if r.HasEth2 {
				eth2++
			}
			// The node id is keccak256 of the uncompressed key (v4 scheme).
			pub, err := crypto.DecompressPubkey(r.PubKey)
			if err != nil || enode.PubkeyToIDV4(pub) != r.NodeID {
				t.Errorf("%s: node id does not match key", name)
			}
		}
		if eth2 == 0 {
			t.Errorf("%s: no bootnode carries eth2", name)
		}
	}
}

// A known mainnet bootnode (Teku's, from eth-clients/mainnet
// bootstrap_nodes.yaml): eth2 b5303f2a, next 0x01000000 at 74240, udp 9000.
func TestParseKnownMainnetBootnode(t *testing.T) {
	var text string
	for _, b := range builtinBootnodes(t, "mainnet") {
		r, err := Parse(b)
		if err == nil && r.HasEth2 && r.NextForkEpoch == 74240 {
			text = b
			break
		}
	}
	if text == "" {
		t.Fatal("no mainnet bootnode announcing Altair at 74240")
	}
	r, _ := Parse(text)
	if r.ForkDigest != [4]byte{0xb5, 0x30, 0x3f, 0x2a} || r.NextForkVersion != [4]byte{1, 0, 0, 0} {
		t.Errorf("eth2 = %x %x", r.ForkDigest, r.NextForkVersion)
	}
	if r.HasAttnets && len(r.AttnetsList()) != 0 {
		t.Errorf("a bootnode subscribes to no attestation subnet, got %v", r.AttnetsList())
	}
	if r.UDP == 0 {
		t.Error("no udp port")
	}
}

type fullRecord struct {
	rec  *enr.Record
	text string
}

func buildRecord(t *testing.T) (fullRecord, *Record) {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var r enr.Record
	r.SetSeq(7)
	r.Set(enr.IPv4(net.IPv4(127, 0, 0, 1)))
	r.Set(enr.IPv6(net.ParseIP("::1")))
	r.Set(enr.TCP(9000))
	r.Set(enr.UDP(9001))
	r.Set(QUIC(9002))
	r.Set(enr.TCP6(9100))
	r.Set(enr.UDP6(9101))
	r.Set(QUIC6(9102))
	r.Set(Eth2{ForkDigest: [4]byte{0xcc, 0x2c, 0x5c, 0xdb}, NextForkVersion: [4]byte{6, 0, 0, 0}, NextForkEpoch: 412672})
	r.Set(Attnets{0x03, 0, 0, 0, 0, 0, 0, 0x80})
	r.Set(Syncnets(0x09))
	r.Set(CGC(128))
	r.Set(NFD{0xcb, 0x0d, 0x1a, 0xcc})
	if err := enode.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	n, err := enode.New(enode.ValidSchemes, &r)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := PeerIDFromPubkey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cgc := uint64(128)
	nfd := [4]byte{0xcb, 0x0d, 0x1a, 0xcc}
	want := &Record{
		Text: n.String(), NodeID: n.ID(), Seq: 7, PeerID: pid, PubKey: crypto.CompressPubkey(&key.PublicKey),
		IP4: net.IPv4(127, 0, 0, 1).To4(), IP6: net.ParseIP("::1"),
		TCP: 9000, UDP: 9001, QUIC: 9002, TCP6: 9100, UDP6: 9101, QUIC6: 9102,
		HasEth2: true, ForkDigest: [4]byte{0xcc, 0x2c, 0x5c, 0xdb}, NextForkVersion: [4]byte{6, 0, 0, 0}, NextForkEpoch: 412672,
		HasAttnets: true, Attnets: [8]byte{0x03, 0, 0, 0, 0, 0, 0, 0x80}, HasSyncnets: true, Syncnets: 0x09,
		CGC: &cgc, NFD: &nfd,
	}
	return fullRecord{&r, n.String()}, want
}

func TestRoundTripAllEntries(t *testing.T) {
	fr, want := buildRecord(t)
	got, err := Parse(fr.text)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text || got.NodeID != want.NodeID || got.Seq != want.Seq || got.PeerID != want.PeerID || string(got.PubKey) != string(want.PubKey) {
		t.Errorf("identity: got %+v want %+v", got, want)
	}
	if !got.IP4.Equal(want.IP4) || !got.IP6.Equal(want.IP6) {
		t.Errorf("ips %v %v", got.IP4, got.IP6)
	}
	if got.TCP != 9000 || got.UDP != 9001 || got.QUIC != 9002 || got.TCP6 != 9100 || got.UDP6 != 9101 || got.QUIC6 != 9102 {
		t.Errorf("ports %+v", got)
	}
	if !got.HasEth2 || got.ForkDigest != want.ForkDigest || got.NextForkVersion != want.NextForkVersion || got.NextForkEpoch != 412672 {
		t.Errorf("eth2 %+v", got)
	}
	if !got.HasAttnets || got.Attnets != want.Attnets || !got.HasSyncnets || got.Syncnets != 0x09 {
		t.Errorf("subnets %x %x", got.Attnets, got.Syncnets)
	}
	if got.CGC == nil || *got.CGC != 128 || got.NFD == nil || *got.NFD != *want.NFD {
		t.Errorf("cgc/nfd %v %v", got.CGC, got.NFD)
	}
	if l := got.AttnetsList(); !slices.Equal(l, []int{0, 1, 63}) {
		t.Errorf("AttnetsList = %v", l)
	}
	if l := got.SyncnetsList(); !slices.Equal(l, []int{0, 3}) {
		t.Errorf("SyncnetsList = %v", l)
	}
	if len(got.Malformed) != 0 {
		t.Errorf("Malformed = %v", got.Malformed)
	}
	// Entries must also decode through go-ethereum's own record.
	var e Eth2
	if err := fr.rec.Load(&e); err != nil || e.NextForkEpoch != 412672 {
		t.Errorf("Eth2 via enr.Record: %v %+v", err, e)
	}
	id := got.PeerID.String()
	wantAddrs := []string{
		"/ip4/127.0.0.1/tcp/9000/p2p/" + id,
		"/ip4/127.0.0.1/udp/9002/quic-v1/p2p/" + id,
		"/ip6/::1/tcp/9100/p2p/" + id,
		"/ip6/::1/udp/9102/quic-v1/p2p/" + id,
	}
	var gotAddrs []string
	for _, m := range got.Multiaddrs() {
		gotAddrs = append(gotAddrs, m.String())
	}
	if !slices.Equal(gotAddrs, wantAddrs) {
		t.Errorf("Multiaddrs = %v\nwant %v", gotAddrs, wantAddrs)
	}
}

// The wire encodings of the Fulu entries follow p2p-interface.md: cgc is a
// big-endian integer without leading zeros (0 = empty string); nfd,
// attnets and syncnets are SSZ byte strings.
func TestEntryEncodings(t *testing.T) {
	cases := []struct {
		e    enr.Entry
		want []byte
	}{
		{CGC(0), []byte{0x80}},
		{CGC(4), []byte{0x04}},
		{CGC(128), []byte{0x81, 0x80}},
		{CGC(0x1234), []byte{0x82, 0x12, 0x34}},
		{Syncnets(0), []byte{0x00}},
		{Syncnets(0x0f), []byte{0x0f}},
		{NFD{1, 2, 3, 4}, []byte{0x84, 1, 2, 3, 4}},
		{Attnets{0xff}, []byte{0x88, 0xff, 0, 0, 0, 0, 0, 0, 0}},
		{Eth2{[4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1}, []byte{0x90, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, c := range cases {
		got, err := rlp.EncodeToBytes(c.e)
		if err != nil || string(got) != string(c.want) {
			t.Errorf("%s %v: encoded %x (%v), want %x", c.e.ENRKey(), c.e, got, err, c.want)
		}
	}
	// A padded cgc still decodes; one longer than a uint64 does not.
	var c CGC
	if err := rlp.DecodeBytes([]byte{0x82, 0x00, 0x08}, &c); err != nil || c != 8 {
		t.Errorf("padded cgc: %v %d", err, c)
	}
	if err := rlp.DecodeBytes(append([]byte{0x89}, make([]byte, 9)...), &c); err == nil {
		t.Error("9-byte cgc accepted")
	}
	var s Syncnets
	if err := rlp.DecodeBytes([]byte{0x10}, &s); err == nil {
		t.Error("syncnets with bit 4 set accepted")
	}
	var e Eth2
	if err := rlp.DecodeBytes([]byte{0x84, 1, 2, 3, 4}, &e); err == nil {
		t.Error("4-byte eth2 accepted")
	}
}

// A record with a garbled optional entry still parses, naming the entry.
func TestMalformedEntryIsReported(t *testing.T) {
	key, _ := crypto.GenerateKey()
	var r enr.Record
	r.Set(enr.IPv4(net.IPv4(127, 0, 0, 1)))
	r.Set(enr.WithEntry(KeyEth2, []byte{1, 2, 3}))
	r.Set(enr.WithEntry(KeyAttnets, []byte{1}))
	if err := enode.SignV4(&r, key); err != nil {
		t.Fatal(err)
	}
	n, _ := enode.New(enode.ValidSchemes, &r)
	got, err := FromNode(n)
	if err != nil {
		t.Fatal(err)
	}
	if got.HasEth2 || got.HasAttnets || !slices.Equal(got.Malformed, []string{KeyEth2, KeyAttnets}) {
		t.Errorf("HasEth2 %v HasAttnets %v Malformed %v", got.HasEth2, got.HasAttnets, got.Malformed)
	}
}

func TestParseEnodeURL(t *testing.T) {
	key, _ := crypto.GenerateKey()
	n := enode.NewV4(&key.PublicKey, net.IPv4(127, 0, 0, 1), 30303, 30304)
	got, err := Parse(n.URLv4())
	if err != nil {
		t.Fatal(err)
	}
	if got.TCP != 30303 || got.UDP != 30304 || !got.IP4.Equal(net.IPv4(127, 0, 0, 1)) || got.HasEth2 || got.NodeID != n.ID() {
		t.Errorf("enode record %+v", got)
	}
	if len(got.Multiaddrs()) != 1 {
		t.Errorf("Multiaddrs = %v", got.Multiaddrs())
	}
}

func TestParseRejects(t *testing.T) {
	fr, _ := buildRecord(t)
	raw, _ := base64.RawURLEncoding.DecodeString(fr.text[4:])
	tampered := append([]byte(nil), raw...)
	tampered[len(tampered)-1] ^= 1 // inside the last entry: the signature no longer verifies
	oversized := make([]byte, 400)
	cases := map[string]string{
		"empty":          "",
		"no prefix":      fr.text[4:],
		"bad base64":     "enr:!!!",
		"not rlp":        "enr:" + base64.RawURLEncoding.EncodeToString([]byte{0xff, 0x00}),
		"tampered":       "enr:" + base64.RawURLEncoding.EncodeToString(tampered),
		"too long text":  "enr:" + strings.Repeat("A", MaxENRTextLen),
		"over 300 bytes": "enr:" + base64.RawURLEncoding.EncodeToString(append([]byte{0xf9, 0x01, 0x8d}, oversized[:397]...)),
		"truncated":      fr.text[:len(fr.text)/2],
		"enode no key":   "enode://127.0.0.1:30303",
		"enode too long": "enode://" + strings.Repeat("a", MaxEnodeTextLen),
	}
	for name, text := range cases {
		if r, err := Parse(text); err == nil {
			t.Errorf("%s: accepted %+v", name, r)
		}
	}
	if _, err := FromNode(nil); err == nil {
		t.Error("FromNode(nil) accepted")
	}
	if _, err := PeerIDFromPubkey(nil); err == nil {
		t.Error("PeerIDFromPubkey(nil) accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range network.Builtin() {
		for _, b := range builtinBootnodes(f, name) {
			f.Add(b)
		}
	}
	f.Add("enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@127.0.0.1:30303?discport=30301")
	f.Add("enr:")
	f.Fuzz(func(t *testing.T, text string) {
		r, err := Parse(text)
		if err != nil {
			return
		}
		if r.PeerID == "" || len(r.PubKey) != 33 {
			t.Fatalf("accepted record without identity: %+v", r)
		}
		_ = r.Multiaddrs()
		if len(r.AttnetsList()) > 64 || len(r.SyncnetsList()) > 4 {
			t.Fatal("subnet list longer than the bitvector")
		}
		if strings.HasPrefix(text, "enr:") {
			// A record that parsed must re-parse from its own text.
			again, err := Parse(r.Text)
			if err != nil || again.NodeID != r.NodeID || again.Seq != r.Seq {
				t.Fatalf("re-parse of %q: %v", r.Text, err)
			}
		}
	})
}

// FuzzEntries signs records whose eth2-specific entries carry arbitrary
// byte strings, so the entry decoders see what a hostile peer can send
// (random mutations of a signed ENR rarely keep a valid signature).
func FuzzEntries(f *testing.F) {
	f.Add([]byte{0xcc, 0x2c, 0x5c, 0xdb, 6, 0, 0, 0, 0, 0x4c, 6, 0, 0, 0, 0, 0}, []byte{3, 0, 0, 0, 0, 0, 0, 0x80}, []byte{9}, []byte{0x80}, []byte{1, 2, 3, 4})
	f.Add([]byte{}, []byte{1}, []byte{0xff}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{})
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("valtrack enr fuzz key")))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, eth2, attnets, syncnets, cgc, nfd []byte) {
		var r enr.Record
		r.Set(enr.IPv4(net.IPv4(127, 0, 0, 1)))
		r.Set(enr.WithEntry(KeyEth2, eth2))
		r.Set(enr.WithEntry(KeyAttnets, attnets))
		r.Set(enr.WithEntry(KeySyncnets, syncnets))
		r.Set(enr.WithEntry(KeyCGC, cgc))
		r.Set(enr.WithEntry(KeyNFD, nfd))
		if err := enode.SignV4(&r, key); err != nil {
			return // over the 300-byte limit
		}
		n, err := enode.New(enode.ValidSchemes, &r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(n.String())
		if err != nil {
			t.Fatalf("signed record rejected: %v", err)
		}
		if got.HasEth2 != (len(eth2) == 16) || got.HasAttnets != (len(attnets) == 8) || (got.NFD != nil) != (len(nfd) == 4) || (got.CGC != nil) != (len(cgc) <= 8) {
			t.Fatalf("entry presence wrong: %+v", got)
		}
		if got.HasSyncnets && (len(syncnets) != 1 || syncnets[0] > 0x0f) {
			t.Fatalf("syncnets %x accepted", syncnets)
		}
		if got.HasEth2 && got.ForkDigest != [4]byte(eth2[:4]) {
			t.Fatal("eth2 digest mismatch")
		}
	})
}
