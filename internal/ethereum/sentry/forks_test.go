package sentry

import (
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/enr"
	"github.com/valtrack/valtrack/internal/ethereum/network"
)

// forkingNetwork has one-second epochs and a fork at epoch 10.
func forkingNetwork(genesis time.Time) *network.Network {
	return &network.Network{
		Name: "forking",
		Config: &network.Config{
			SecondsPerSlot: time.Second,
			SlotsPerEpoch:  1,
			Forks: []network.Fork{
				{Name: "phase0", Version: [4]byte{0, 0, 0, 1}, Epoch: 0},
				{Name: "altair", Version: [4]byte{1, 0, 0, 1}, Epoch: 10},
			},
		},
		GenesisTime: genesis,
	}
}

func TestForkStateFollowsBoundary(t *testing.T) {
	genesis := time.Now().Add(-5 * time.Second)
	n := forkingNetwork(genesis)
	before, after := n.ForkDigest(0), n.ForkDigest(10)
	f := newForkState(n, genesis.Add(5*time.Second))
	if _, d := f.current(); d != before {
		t.Fatalf("digest %x at epoch 5, want %x", d, before)
	}
	if _, changed := f.update(genesis.Add(9500 * time.Millisecond)); changed {
		t.Fatal("digest changed before the boundary")
	}
	if !f.statusAccepted(after) {
		t.Fatal("the next epoch's digest is refused one epoch before the fork")
	}
	d, changed := f.update(genesis.Add(10500 * time.Millisecond))
	if !changed || d != after {
		t.Fatalf("at the boundary: digest %x changed %v, want %x true", d, changed, after)
	}
	if !f.statusAccepted(before) {
		t.Fatal("the previous digest is refused right after the fork")
	}
	f.update(genesis.Add(15 * time.Second))
	if f.statusAccepted(before) {
		t.Fatal("the old digest is still accepted in Status five epochs after the fork")
	}
	if !f.sameNetwork(before) || !f.sameNetwork(after) || f.sameNetwork([4]byte{9, 9, 9, 9}) {
		t.Fatal("sameNetwork does not know exactly the network's digests")
	}
}

// TestSentryCrossesForkBoundary checks that the sentry's ENR and Status
// follow the digest at an epoch tick, without a restart.
func TestSentryCrossesForkBoundary(t *testing.T) {
	genesis := time.Now().Add(-5 * time.Second)
	n := forkingNetwork(genesis)
	s, err := New(testConfig(t, n, t.TempDir()), newRecorder())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	eth2 := func() enr.Eth2 {
		var e enr.Eth2
		if err := s.Self().Load(&e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	if e := eth2(); e.ForkDigest != n.ForkDigest(0) || e.NextForkEpoch != 10 {
		t.Fatalf("ENR eth2 before the fork: %+v", e)
	}
	seq := s.Self().Seq()
	s.onEpoch(genesis.Add(10500 * time.Millisecond))
	if e := eth2(); e.ForkDigest != n.ForkDigest(10) {
		t.Fatalf("ENR eth2 after the fork: %x, want %x", e.ForkDigest, n.ForkDigest(10))
	}
	if s.Self().Seq() <= seq {
		t.Fatal("ENR seq did not grow with the new eth2 entry")
	}
	if st := s.localStatus(); st.ForkDigest != n.ForkDigest(10) {
		t.Fatalf("Status digest %x after the fork", st.ForkDigest)
	}
}
