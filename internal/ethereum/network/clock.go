package network

import (
	"math"
	"time"
)

// SlotAt returns the slot in progress at t (0 before genesis).
func (n *Network) SlotAt(t time.Time) uint64 {
	if !t.After(n.GenesisTime) || n.Config.SecondsPerSlot <= 0 {
		return 0
	}
	return uint64(t.Sub(n.GenesisTime) / n.Config.SecondsPerSlot)
}

// EpochAt returns the epoch in progress at t (0 before genesis).
func (n *Network) EpochAt(t time.Time) uint64 {
	if n.Config.SlotsPerEpoch == 0 {
		return 0 // only a hand-built Config can have it; ParseConfig rejects it
	}
	return n.SlotAt(t) / n.Config.SlotsPerEpoch
}

// SlotStart returns when slot begins. Slots too far out to represent as a
// time.Time saturate rather than wrap around.
func (n *Network) SlotStart(slot uint64) time.Time {
	d := uint64(n.Config.SecondsPerSlot)
	if slot != 0 && d > math.MaxInt64/slot {
		return n.GenesisTime.Add(math.MaxInt64)
	}
	return n.GenesisTime.Add(time.Duration(slot * d))
}

// EpochStart returns when epoch begins (its first slot's start).
func (n *Network) EpochStart(epoch uint64) time.Time {
	spe := n.Config.SlotsPerEpoch
	if epoch != 0 && spe > math.MaxUint64/epoch {
		return n.SlotStart(math.MaxUint64)
	}
	return n.SlotStart(epoch * spe)
}
