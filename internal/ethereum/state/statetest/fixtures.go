package statetest

import (
	"fmt"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// At is the fixture time sec seconds after a fixed base; whole seconds,
// since both backends keep microsecond precision.
func At(sec int) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(sec) * time.Second)
}

func nodeID(i int) string { return fmt.Sprintf("%064x", i+1) }

// Obs builds an observation of peer i at second sec after the base time.
func Obs(network string, i, sec int) state.Observation {
	cgc := uint64(4)
	return state.Observation{
		Network:            network,
		PeerID:             PeerID(i),
		NodeID:             nodeID(i),
		Multiaddr:          fmt.Sprintf("/ip4/127.0.0.%d/tcp/9000", i%250+1),
		IP:                 fmt.Sprintf("127.0.0.%d", i%250+1),
		Port:               9000,
		Direction:          "outbound",
		Epoch:              uint64(sec / 384),
		HeadSlot:           uint64(sec / 12),
		ForkDigest:         "0x6a95a1a9",
		Seq:                uint64(sec),
		Attnets:            "0x0300000000000000", // subnets 0 and 1
		Syncnets:           "0x00",
		CGC:                &cgc,
		SubscribedSubnets:  []int64{10},
		SubscribedSyncnets: nil,
		ClientVersion:      "Lighthouse/v7.0.0/x86_64-linux",
		ClientName:         "lighthouse",
		ClientVersionNum:   "7.0.0",
		SentryID:           "sentry-1",
		Time:               At(sec),
		MsgID:              fmt.Sprintf("obs-%s-%d-%d", network, i, sec),
	}
}

// Disc builds a discovery of peer i with ENR sequence seq.
func Disc(network string, i int, seq uint64, sec int) state.Discovery {
	return state.Discovery{
		Network:     network,
		NodeID:      nodeID(i),
		PeerID:      PeerID(i),
		ENR:         fmt.Sprintf("enr:-test-%d-%d", i, seq),
		ENRSeq:      seq,
		IP:          fmt.Sprintf("127.1.0.%d", i%250+1),
		Port:        9100,
		ForkDigest:  "0x6a95a1a9",
		Attnets:     "0x0000000000000080", // subnet 63
		Syncnets:    "0x01",
		SameNetwork: true,
		SentryID:    "sentry-1",
		Time:        At(sec),
		MsgID:       fmt.Sprintf("disc-%s-%d-%d-%d", network, i, seq, sec),
	}
}

// Sub builds a subscription change of peer i.
func Sub(network string, i, subnet int, subscribed bool, sec int) state.SubscriptionChange {
	return state.SubscriptionChange{
		Network:    network,
		PeerID:     PeerID(i),
		Kind:       "attestation",
		Subnet:     subnet,
		Subscribed: subscribed,
		Epoch:      uint64(sec / 384),
		SentryID:   "sentry-1",
		Time:       At(sec),
		MsgID:      fmt.Sprintf("sub-%s-%d-%d-%v-%d", network, i, subnet, subscribed, sec),
	}
}
