package network

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// ForkAt returns the fork in force at epoch (compute_fork_version): the
// last scheduled fork whose epoch is <= epoch.
func (n *Network) ForkAt(epoch uint64) Fork {
	if len(n.Config.Forks) == 0 {
		return Fork{Name: "phase0"} // only a hand-built Config lacks forks
	}
	cur := n.Config.Forks[0]
	for _, f := range n.Config.Forks {
		if f.Epoch == FarFutureEpoch || f.Epoch > epoch {
			break
		}
		cur = f
	}
	return cur
}

// fuluEpoch is FULU_FORK_EPOCH, FarFutureEpoch when Fulu is not scheduled.
func (c *Config) fuluEpoch() uint64 {
	for _, f := range c.Forks {
		if f.Name == "fulu" {
			return f.Epoch
		}
	}
	return FarFutureEpoch
}

func (c *Config) electraEpoch() uint64 {
	for _, f := range c.Forks {
		if f.Name == "electra" {
			return f.Epoch
		}
	}
	return FarFutureEpoch
}

// BlobParamsAt is get_blob_parameters (Fulu beacon-chain.md): the last
// BLOB_SCHEDULE entry with EPOCH <= epoch, else the Electra parameters.
func (c *Config) BlobParamsAt(epoch uint64) BlobParams {
	for i := len(c.BlobSchedule) - 1; i >= 0; i-- {
		if epoch >= c.BlobSchedule[i].Epoch {
			return c.BlobSchedule[i]
		}
	}
	return BlobParams{Epoch: c.electraEpoch(), MaxBlobsPerBlock: c.MaxBlobsPerBlockElectra}
}

// ComputeForkDataRoot is hash_tree_root(ForkData(version, gvr)): the SSZ
// container has two 32-byte chunks (the version right-padded), so its root
// is a single sha256 of both.
func ComputeForkDataRoot(version [4]byte, gvr [32]byte) [32]byte {
	var buf [64]byte
	copy(buf[:4], version[:])
	copy(buf[32:], gvr[:])
	return sha256.Sum256(buf[:])
}

// ComputeForkDigest is compute_fork_digest as modified in Fulu (EIP-7892):
// before Fulu the first 4 bytes of the fork data root; from Fulu on, xored
// with sha256(uint64_le(bp.Epoch) ++ uint64_le(bp.MaxBlobsPerBlock)).
// bp is nil before Fulu.
func ComputeForkDigest(version [4]byte, gvr [32]byte, bp *BlobParams) [4]byte {
	root := ComputeForkDataRoot(version, gvr)
	var d [4]byte
	copy(d[:], root[:4])
	if bp == nil {
		return d
	}
	var in [16]byte
	binary.LittleEndian.PutUint64(in[:8], bp.Epoch)
	binary.LittleEndian.PutUint64(in[8:], bp.MaxBlobsPerBlock)
	mask := sha256.Sum256(in[:])
	for i := range d {
		d[i] ^= mask[i]
	}
	return d
}

// ForkDigest returns the fork digest in force at epoch.
func (n *Network) ForkDigest(epoch uint64) [4]byte {
	f := n.ForkAt(epoch)
	if epoch < n.Config.fuluEpoch() {
		return ComputeForkDigest(f.Version, n.GenesisValidatorsRoot, nil)
	}
	bp := n.Config.BlobParamsAt(epoch)
	return ComputeForkDigest(f.Version, n.GenesisValidatorsRoot, &bp)
}

// Boundaries returns the finite epochs, after genesis, at which the fork
// digest changes: scheduled forks and, from Fulu on, BLOB_SCHEDULE epochs.
func (n *Network) Boundaries() []uint64 {
	var out []uint64
	for _, f := range n.Config.Forks {
		if f.Epoch != 0 && f.Epoch != FarFutureEpoch {
			out = append(out, f.Epoch)
		}
	}
	fulu := n.Config.fuluEpoch()
	for _, b := range n.Config.BlobSchedule {
		if fulu != FarFutureEpoch && b.Epoch > fulu && b.Epoch != FarFutureEpoch {
			out = append(out, b.Epoch)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// nextBoundary returns the first boundary after epoch.
func (n *Network) nextBoundary(epoch uint64) (uint64, bool) {
	for _, b := range n.Boundaries() {
		if b > epoch {
			return b, true
		}
	}
	return 0, false
}

// ENRForkID returns the eth2 ENR entry of a node at epoch (phase0 and Fulu
// p2p-interface.md): the current digest, and the next fork (regular or
// blob-parameter-only) epoch with the version in force then; when nothing
// is scheduled, the current version and FarFutureEpoch.
func (n *Network) ENRForkID(epoch uint64) (digest [4]byte, nextVersion [4]byte, nextEpoch uint64) {
	digest = n.ForkDigest(epoch)
	if next, ok := n.nextBoundary(epoch); ok {
		return digest, n.ForkAt(next).Version, next
	}
	return digest, n.ForkAt(epoch).Version, FarFutureEpoch
}

// NextForkDigest returns the Fulu "nfd" ENR entry at epoch: the digest at
// the next fork or BPO boundary, or zero bytes when none is scheduled
// (Fulu p2p-interface.md, "Next fork digest").
func (n *Network) NextForkDigest(epoch uint64) [4]byte {
	if next, ok := n.nextBoundary(epoch); ok {
		return n.ForkDigest(next)
	}
	return [4]byte{}
}

// KnownDigests maps every digest the network has had or has scheduled to
// the first epoch it is in force. A peer whose digest is here but is not
// the current one is on this network at another fork.
func (n *Network) KnownDigests() map[[4]byte]uint64 {
	out := map[[4]byte]uint64{n.ForkDigest(0): 0}
	for _, b := range n.Boundaries() {
		d := n.ForkDigest(b)
		if _, ok := out[d]; !ok {
			out[d] = b
		}
	}
	return out
}
