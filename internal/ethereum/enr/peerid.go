package enr

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net"
	"strconv"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// PeerIDFromPubkey derives the libp2p peer id of a secp256k1 key, the id a
// consensus client's libp2p host has for the same key as its ENR.
func PeerIDFromPubkey(pub *ecdsa.PublicKey) (peer.ID, error) {
	if pub == nil || pub.X == nil || pub.Y == nil {
		return "", errors.New("derive peer id: no public key")
	}
	k, err := crypto.UnmarshalSecp256k1PublicKey(gcrypto.CompressPubkey(pub))
	if err != nil {
		return "", fmt.Errorf("derive peer id: key is not a valid secp256k1 point: %w", err)
	}
	id, err := peer.IDFromPublicKey(k)
	if err != nil {
		return "", fmt.Errorf("derive peer id: %w", err)
	}
	return id, nil
}

// Multiaddrs returns the libp2p addresses the record announces:
// /ip4|ip6/<ip>/tcp/<port>/p2p/<id> and /ip4|ip6/<ip>/udp/<port>/quic-v1/p2p/<id>.
// IPv6 ports fall back to the IPv4 ones when tcp6/quic6 are absent
// (EIP-778: "tcp6 ... if omitted, same as tcp").
func (r *Record) Multiaddrs() []multiaddr.Multiaddr {
	var out []multiaddr.Multiaddr
	add := func(ip net.IP, proto string, tcp, quic int) {
		if ip == nil || ip.IsUnspecified() {
			return
		}
		base := "/" + proto + "/" + ip.String()
		suffix := "/p2p/" + r.PeerID.String()
		if r.PeerID == "" {
			suffix = ""
		}
		if tcp > 0 {
			if m, err := multiaddr.NewMultiaddr(base + "/tcp/" + strconv.Itoa(tcp) + suffix); err == nil {
				out = append(out, m)
			}
		}
		if quic > 0 {
			if m, err := multiaddr.NewMultiaddr(base + "/udp/" + strconv.Itoa(quic) + "/quic-v1" + suffix); err == nil {
				out = append(out, m)
			}
		}
	}
	if ip4 := r.IP4.To4(); ip4 != nil {
		add(ip4, "ip4", r.TCP, r.QUIC)
	}
	if len(r.IP6) == net.IPv6len && r.IP6.To4() == nil {
		tcp6, quic6 := r.TCP6, r.QUIC6
		if tcp6 == 0 {
			tcp6 = r.TCP
		}
		if quic6 == 0 {
			quic6 = r.QUIC
		}
		add(r.IP6, "ip6", tcp6, quic6)
	}
	return out
}
