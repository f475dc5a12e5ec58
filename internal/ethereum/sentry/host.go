package sentry

import (
	"crypto/ecdsa"
	"fmt"
	"time"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p"
	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// connGrace keeps a fresh connection out of the connection manager's trims
// long enough for the handshake and the first subscription announcements.
const connGrace = time.Minute

// newHost builds the libp2p host: TCP and QUIC, noise, yamux (go-libp2p no
// longer ships mplex), identify with our agent, a connection manager and a
// resource manager sized for MaxConns.
func newHost(cfg *Config, key *ecdsa.PrivateKey) (host.Host, error) {
	sk, err := libp2pcrypto.UnmarshalSecp256k1PrivateKey(gethcrypto.FromECDSA(key))
	if err != nil {
		return nil, fmt.Errorf("sentry: convert node key for libp2p: %w", err)
	}
	low := cfg.MaxConns * 9 / 10
	cm, err := connmgr.NewConnManager(low, cfg.MaxConns, connmgr.WithGracePeriod(connGrace))
	if err != nil {
		return nil, fmt.Errorf("sentry: connection manager: %w", err)
	}
	conns := rcmgr.LimitVal(cfg.MaxConns + cfg.MaxConns/2)
	limits := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns:         conns,
			ConnsInbound:  conns,
			ConnsOutbound: conns,
			Streams:       rcmgr.LimitVal(16 * cfg.MaxConns),
			FD:            conns + 64,
		},
		Transient: rcmgr.ResourceLimits{
			Conns:         rcmgr.LimitVal(cfg.DialWorkers * 4),
			ConnsInbound:  rcmgr.LimitVal(cfg.DialWorkers * 4),
			ConnsOutbound: rcmgr.LimitVal(cfg.DialWorkers * 4),
		},
	}.Build(rcmgr.DefaultLimits.AutoScale())
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits), rcmgr.WithMetricsDisabled())
	if err != nil {
		return nil, fmt.Errorf("sentry: resource manager: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Identity(sk),
		libp2p.ListenAddrStrings(
			fmt.Sprintf("/ip4/%s/tcp/%d", cfg.ListenIP, cfg.TCPPort),
			fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", cfg.ListenIP, cfg.QUICPort),
		),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.UserAgent("valtrack/"+cfg.Version),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.WithDialTimeout(cfg.DialTimeout),
		libp2p.DisableMetrics(), // the sentry's own metrics go to cfg.Registerer
		libp2p.DisableRelay(),
		libp2p.Ping(false),
	)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("sentry: start libp2p host on %s (tcp %d, quic %d): %w (is a port in use?)", cfg.ListenIP, cfg.TCPPort, cfg.QUICPort, err)
	}
	return h, nil
}

// peerIDFromPubkey derives the libp2p peer id of a discv5 node's key.
func peerIDFromPubkey(pub *ecdsa.PublicKey) (peer.ID, error) {
	pk, err := libp2pcrypto.UnmarshalSecp256k1PublicKey(gethcrypto.CompressPubkey(pub))
	if err != nil {
		return "", err
	}
	return peer.IDFromPublicKey(pk)
}

// nodeIDFromPeer derives the discv5 node id (keccak256 of the uncompressed
// key) of a libp2p peer with a secp256k1 key; "" for other key types.
func nodeIDFromPeer(p peer.ID) string {
	pk, err := p.ExtractPublicKey()
	if err != nil || pk.Type() != libp2pcrypto.Secp256k1 {
		return ""
	}
	raw, err := pk.Raw()
	if err != nil {
		return ""
	}
	pub, err := gethcrypto.DecompressPubkey(raw)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%x", gethcrypto.Keccak256(gethcrypto.FromECDSAPub(pub)[1:]))
}
