package enr

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Input bounds. An encoded record is at most enr.SizeLimit (300) bytes
// (EIP-778), i.e. 400 base64 characters after "enr:"; an enode URL holds a
// 128-hex-digit key, a host and two ports.
const (
	MaxENRTextLen   = len("enr:") + (enr.SizeLimit*4+2)/3
	MaxEnodeTextLen = 512
)

// Record is a decoded consensus-layer node record.
type Record struct {
	Text   string // the record as "enr:..." (or the enode URL it came from)
	NodeID [32]byte
	Seq    uint64
	PeerID peer.ID // libp2p peer id of the secp256k1 key
	PubKey []byte  // compressed secp256k1 key, 33 bytes

	IP4, IP6                          net.IP
	TCP, UDP, QUIC, TCP6, UDP6, QUIC6 int

	HasEth2         bool
	ForkDigest      [4]byte
	NextForkVersion [4]byte
	NextForkEpoch   uint64

	HasAttnets  bool
	Attnets     [8]byte
	HasSyncnets bool
	Syncnets    byte

	CGC *uint64
	NFD *[4]byte

	// Malformed names the entries that are present but could not be
	// decoded. A node with a garbled optional entry is still a node worth
	// recording, so this is not an error; its Has*/pointer field stays unset.
	Malformed []string
}

// Parse decodes "enr:..." text (signature verified) or an "enode://" URL.
func Parse(text string) (*Record, error) {
	var limit int
	switch {
	case strings.HasPrefix(text, "enr:"):
		limit = MaxENRTextLen
	case strings.HasPrefix(text, "enode://"):
		limit = MaxEnodeTextLen
	default:
		return nil, fmt.Errorf("parse node record %.16q...: want an enr: record or an enode:// URL", text)
	}
	if len(text) > limit {
		return nil, fmt.Errorf("parse node record: %d characters, more than the %d a valid one can have", len(text), limit)
	}
	n, err := enode.Parse(enode.ValidSchemes, text)
	if err != nil {
		return nil, fmt.Errorf("parse node record %.24q...: %w", text, err)
	}
	r, err := FromNode(n)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(text, "enr:") {
		r.Text = text
	}
	return r, nil
}

// FromNode decodes a go-ethereum node, such as one found by discv5.
func FromNode(n *enode.Node) (*Record, error) {
	if n == nil {
		return nil, errors.New("decode node record: nil node")
	}
	pub := n.Pubkey()
	if pub == nil {
		return nil, fmt.Errorf("decode node record %s: no secp256k1 key (identity scheme %q); only v4 records are supported", n.ID().TerminalString(), n.Record().IdentityScheme())
	}
	pid, err := PeerIDFromPubkey(pub)
	if err != nil {
		return nil, fmt.Errorf("decode node record %s: %w", n.ID().TerminalString(), err)
	}
	r := &Record{
		Text:   n.String(),
		NodeID: n.ID(),
		Seq:    n.Seq(),
		PeerID: pid,
		PubKey: crypto.CompressPubkey(pub),
	}
	var ip4 enr.IPv4
	if r.load(n, &ip4) {
		r.IP4 = net.IP(ip4)
	}
	var ip6 enr.IPv6
	if r.load(n, &ip6) {
		r.IP6 = net.IP(ip6)
	}
	r.TCP = r.port(n, new(enr.TCP))
	r.UDP = r.port(n, new(enr.UDP))
	r.QUIC = r.port(n, new(enr.QUIC))
	r.TCP6 = r.port(n, new(enr.TCP6))
	r.UDP6 = r.port(n, new(enr.UDP6))
	r.QUIC6 = r.port(n, new(enr.QUIC6))

	var e2 Eth2
	if r.HasEth2 = r.load(n, &e2); r.HasEth2 {
		r.ForkDigest, r.NextForkVersion, r.NextForkEpoch = e2.ForkDigest, e2.NextForkVersion, e2.NextForkEpoch
	}
	var att Attnets
	if r.HasAttnets = r.load(n, &att); r.HasAttnets {
		r.Attnets = att
	}
	var sync Syncnets
	if r.HasSyncnets = r.load(n, &sync); r.HasSyncnets {
		r.Syncnets = byte(sync)
	}
	var cgc CGC
	if r.load(n, &cgc) {
		v := uint64(cgc)
		r.CGC = &v
	}
	var nfd NFD
	if r.load(n, &nfd) {
		d := [4]byte(nfd)
		r.NFD = &d
	}
	return r, nil
}

// load reads one entry, noting it in Malformed when present but undecodable.
func (r *Record) load(n *enode.Node, e enr.Entry) bool {
	err := n.Load(e)
	if err == nil {
		return true
	}
	if !enr.IsNotFound(err) {
		r.Malformed = append(r.Malformed, e.ENRKey())
	}
	return false
}

// port reads a uint16 port entry; 0 when absent or malformed.
func (r *Record) port(n *enode.Node, p enr.Entry) int {
	if !r.load(n, p) {
		return 0
	}
	switch v := p.(type) {
	case *enr.TCP:
		return int(*v)
	case *enr.UDP:
		return int(*v)
	case *enr.QUIC:
		return int(*v)
	case *enr.TCP6:
		return int(*v)
	case *enr.UDP6:
		return int(*v)
	case *enr.QUIC6:
		return int(*v)
	}
	return 0
}

// AttnetsList returns the attestation subnets set in Attnets, ascending.
func (r *Record) AttnetsList() []int {
	return bitList(r.Attnets[:], 64)
}

// SyncnetsList returns the sync committee subnets set in Syncnets, ascending.
func (r *Record) SyncnetsList() []int {
	return bitList([]byte{r.Syncnets}, 4)
}

// bitList lists the set bits of an SSZ bitvector (little-endian bit order).
func bitList(b []byte, n int) []int {
	out := []int{}
	for i := 0; i < n && i/8 < len(b); i++ {
		if b[i/8]&(1<<(i%8)) != 0 {
			out = append(out, i)
		}
	}
	return out
}
