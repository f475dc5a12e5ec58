// Package devnet runs a real local Ethereum consensus p2p network inside one
// process, for people trying valtrack and for tests. Every node is a real
// discv5 node (go-ethereum) and a real libp2p host that answers Status,
// MetaData, Ping and Goodbye and announces gossipsub subscriptions the way
// the consensus spec says a beacon node with its validators would. The
// validators behind each node are known and written to truth.json, so an
// estimator can be scored against them.
package devnet

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Defaults of Options.
const (
	DefaultName                        = "devnet"
	DefaultSlotDuration                = 2 * time.Second
	DefaultSlotsPerEpoch               = 8
	DefaultValidators                  = "0:35%,1-4:30%,5-32:20%,33-128:10%,129-400:5%"
	DefaultLargeNodeShare              = 0.04
	DefaultQUICShare                   = 0.5
	DefaultBindIP                      = "127.0.0.1"
	DefaultEpochsPerSubnetSubscription = 256
	DefaultEpochsPerSyncPeriod         = 8
)

// Limits on Options; a devnet is a local tool and these keep a typo from
// eating the machine.
const (
	MaxNodes      = 5000
	maxValidators = 1 << 22
	maxSlotsEpoch = 1024
)

// DefaultClients returns realistic agent strings, assigned round-robin.
func DefaultClients() []string {
	return []string{
		"Lighthouse/v7.1.0-cfb1f73/x86_64-linux",
		"Prysm/v6.0.4/3a0c5a9b3d5e7b1f0c2d4e6f8a9b0c1d2e3f4a5b",
		"teku/v25.6.0/linux-x86_64/-eclipseadoptium-openjdk64bitservervm-java-21",
		"nimbus",
		"lodestar/v1.31.0/2e5b1c4",
		"Grandine/1.1.2-8e2b5ab/x86_64-linux",
	}
}

// Options configure a devnet. Zero fields take the defaults.
type Options struct {
	Nodes int
	Dir   string
	// Name is CONFIG_NAME; default "devnet".
	Name string
	// SlotDuration defaults to 2s; it is written as SLOT_DURATION_MS.
	SlotDuration  time.Duration
	SlotsPerEpoch uint64
	// Validators is either a distribution, "COUNT|LO-HI:SHARE%,...", of
	// validator counts over nodes (shares of nodes, counts drawn uniformly
	// in each range), or an explicit comma-separated per-node list of counts
	// ("64,0,3"), repeated when shorter than Nodes.
	Validators string
	// LargeNodeShare is the share of nodes subscribed to all subnets.
	LargeNodeShare float64
	// ActiveValidators is written to genesis.json; default: the sum of the
	// nodes' validators. Duties are always computed over the nodes' own
	// validators.
	ActiveValidators uint64
	// Seed makes keys, distribution and duties reproducible; 0 picks one.
	Seed   int64
	BindIP string
	// QUICShare is the share of nodes also listening on QUIC.
	QUICShare float64
	// Clients are identify agent strings assigned round-robin.
	Clients []string
	// EpochsPerSubnetSubscription is written to config.yaml and drives the
	// rotation of long-lived subnets; small values make them rotate in tests.
	EpochsPerSubnetSubscription uint64
	// EpochsPerSyncCommitteePeriod is written to config.yaml.
	EpochsPerSyncCommitteePeriod uint64
	Log                          *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Nodes <= 0 || o.Nodes > MaxNodes {
		return o, fmt.Errorf("devnet: nodes = %d; give between 1 and %d", o.Nodes, MaxNodes)
	}
	if o.Dir == "" {
		return o, errors.New("devnet: no directory given; set Dir (--dir) to where config.yaml and truth.json should go")
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	for _, r := range o.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return o, fmt.Errorf("devnet: name %q may hold only letters, digits, - and _ (it becomes a bus subject token)", o.Name)
		}
	}
	if o.SlotDuration == 0 {
		o.SlotDuration = DefaultSlotDuration
	}
	if o.SlotDuration < 100*time.Millisecond || o.SlotDuration > time.Hour {
		return o, fmt.Errorf("devnet: slot duration %s; give between 100ms and 1h", o.SlotDuration)
	}
	if o.SlotDuration%time.Millisecond != 0 {
		return o, fmt.Errorf("devnet: slot duration %s must be whole milliseconds (SLOT_DURATION_MS)", o.SlotDuration)
	}
	if o.SlotsPerEpoch == 0 {
		o.SlotsPerEpoch = DefaultSlotsPerEpoch
	}
	if o.SlotsPerEpoch > maxSlotsEpoch {
		return o, fmt.Errorf("devnet: slots per epoch %d; give at most %d", o.SlotsPerEpoch, maxSlotsEpoch)
	}
	if o.Validators == "" {
		o.Validators = DefaultValidators
	}
	if o.LargeNodeShare == 0 {
		o.LargeNodeShare = DefaultLargeNodeShare
	}
	if o.LargeNodeShare < 0 || o.LargeNodeShare > 1 {
		return o, fmt.Errorf("devnet: large node share %v; give a fraction between 0 and 1 (negative: none)", o.LargeNodeShare)
	}
	if o.QUICShare == 0 {
		o.QUICShare = DefaultQUICShare
	}
	if o.QUICShare < 0 {
		o.QUICShare = 0
	}
	if o.QUICShare > 1 {
		return o, fmt.Errorf("devnet: QUIC share %v; give a fraction between 0 and 1", o.QUICShare)
	}
	if o.BindIP == "" {
		o.BindIP = DefaultBindIP
	}
	ip, err := netip.ParseAddr(o.BindIP)
	if err != nil || !ip.Is4() {
		return o, fmt.Errorf("devnet: bind IP %q is not an IPv4 address such as 127.0.0.1", o.BindIP)
	}
	if len(o.Clients) == 0 {
		o.Clients = DefaultClients()
	}
	if o.EpochsPerSubnetSubscription == 0 {
		o.EpochsPerSubnetSubscription = DefaultEpochsPerSubnetSubscription
	}
	if o.EpochsPerSyncCommitteePeriod == 0 {
		o.EpochsPerSyncCommitteePeriod = DefaultEpochsPerSyncPeriod
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
