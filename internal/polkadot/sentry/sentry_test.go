package sentry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

type fakeReader struct {
	mu       sync.Mutex
	block    uint64
	era      uint32
	failEras bool
	faultsAt map[uint64][]events.Fault
	scanned  []uint64
}

func (f *fakeReader) Chain(context.Context) (events.Chain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return events.Chain{Block: f.block, BlockHash: fmt.Sprintf("0x%d", f.block), ActiveEra: f.era, HistoryDepth: 84}, nil
}

func (f *fakeReader) Validators(_ context.Context, at events.Chain, extra []string) ([]events.Validator, error) {
	out := []events.Validator{{Stash: "A", Block: at.Block}}
	for _, e := range extra {
		out = append(out, events.Validator{Stash: e, Block: at.Block})
	}
	return out, nil
}

func (f *fakeReader) Era(_ context.Context, era uint32) (events.Era, error) {
	if f.failEras {
		return events.Era{}, errors.New("rpc down")
	}
	return events.Era{Era: era, Validators: []string{"A"}, Points: map[string]uint32{"A": 20}, Total: 20}, nil
}

func (f *fakeReader) Faults(_ context.Context, hash string) ([]events.Fault, error) {
	var n uint64
	fmt.Sscanf(hash, "0x%d", &n)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scanned = append(f.scanned, n)
	return f.faultsAt[n], nil
}

func (f *fakeReader) BlockHash(_ context.Context, n uint64) (string, error) {
	return fmt.Sprintf("0x%d", n), nil
}

type pub struct {
	mu  sync.Mutex
	ids []string
	by  map[string][]byte
}

func (p *pub) Publish(_ context.Context, subject, id string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.by == nil {
		p.by = map[string][]byte{}
	}
	p.ids = append(p.ids, subject+" "+id)
	p.by[id] = data
	return nil
}

func (p *pub) count(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, id := range p.ids {
		if strings.HasPrefix(id, prefix) {
			n++
		}
	}
	return n
}

// A poll publishes the chain, every validator and candidate, each era of
// the window (complete ones once per run) and the faults of new blocks;
// the fault cursor survives a restart, so no block is scanned twice and
// none is skipped.
func TestPollPublishesAndResumes(t *testing.T) {
	dir := t.TempDir()
	r := &fakeReader{block: 1000, era: 10, faultsAt: map[uint64][]events.Fault{
		995: {{ID: "995-3", Stash: "A", Kind: events.FaultChilled, Reason: "A was chilled"}},
	}}
	p := &pub{}
	s, err := New(Config{Chain: "westend", Reader: r, Publisher: p, DataDir: dir, FaultBlocks: 10,
		Extra: func() []string { return []string{"C1"} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := p.count("polkadot.westend.chain "); n != 1 {
		t.Errorf("%d chain events, want 1", n)
	}
	if n := p.count("polkadot.westend.validator "); n != 2 {
		t.Errorf("%d validator events, want 2 (A and the candidate C1)", n)
	}
	if n := p.count("polkadot.westend.era "); n != 11 {
		t.Errorf("%d era events, want 11 (eras 0..10)", n)
	}
	if n := p.count("polkadot.westend.fault "); n != 1 {
		t.Errorf("%d fault events, want 1", n)
	}
	var f events.Fault
	if err := json.Unmarshal(p.by["westend-fault-995-3"], &f); err != nil || f.Block != 995 || f.Chain != "westend" || f.V != events.SchemaVersion {
		t.Errorf("fault %+v (%v): want block 995 of westend, v%d", f, err, events.SchemaVersion)
	}
	if len(r.scanned) != 10 || r.scanned[0] != 991 || r.scanned[9] != 1000 {
		t.Errorf("scanned %v, want 991..1000", r.scanned)
	}
	// A second poll in the same run: complete eras are not read again, the
	// active one is; no new block, no fault scan.
	if err := s.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := p.count("polkadot.westend.era "); n != 12 {
		t.Errorf("%d era events after the second poll, want 12 (only the active era again)", n)
	}
	// A restart five blocks later resumes the fault scan after block 1000.
	r.mu.Lock()
	r.block, r.scanned = 1005, nil
	r.mu.Unlock()
	s2, err := New(Config{Chain: "westend", Reader: r, Publisher: p, DataDir: dir, FaultBlocks: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.scanned) != 5 || r.scanned[0] != 1001 || r.scanned[4] != 1005 {
		t.Errorf("after a restart scanned %v, want 1001..1005", r.scanned)
	}
}

// Catching up is bounded per poll, and a failing era read is an error of
// the poll that leaves the rest published.
func TestPollBoundedAndErrors(t *testing.T) {
	r := &fakeReader{block: 5000, era: 3, failEras: true}
	p := &pub{}
	s, err := New(Config{Chain: "westend", Reader: r, Publisher: p, FaultBlocks: 1000, MaxFaultBlocks: 50})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "rpc down") {
		t.Fatalf("poll error %v, want the era read's", err)
	}
	if len(r.scanned) != 50 {
		t.Errorf("scanned %d blocks in one poll, want 50", len(r.scanned))
	}
	if p.count("polkadot.westend.validator ") != 1 || p.count("polkadot.westend.chain ") != 1 {
		t.Errorf("the chain and validators were not published beside the failing eras: %v", p.ids)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{Chain: "Bad Name", Reader: &fakeReader{}, Publisher: &pub{}}); err == nil {
		t.Error("a chain name that is not a subject token was accepted")
	}
	if _, err := New(Config{Chain: "westend"}); err == nil {
		t.Error("a sentry without reader and publisher was accepted")
	}
}

// stakingReader is fakeReader with staking on a chain of its own (Asset
// Hub), whose blocks hold the Staking faults.
type stakingReader struct {
	*fakeReader
	head     uint64
	faultsAt map[uint64][]events.Fault
	scanned  []uint64
}

func (s *stakingReader) SeparateStaking() bool { return true }
func (s *stakingReader) StakingHead(context.Context) (uint64, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head, fmt.Sprintf("0xa%d", s.head), nil
}
func (s *stakingReader) StakingBlockHash(_ context.Context, n uint64) (string, error) {
	return fmt.Sprintf("0xa%d", n), nil
}
func (s *stakingReader) StakingFaults(_ context.Context, hash string) ([]events.Fault, error) {
	var n uint64
	if _, err := fmt.Sscanf(hash, "0xa%d", &n); err != nil {
		return nil, fmt.Errorf("not a staking chain hash: %s", hash)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanned = append(s.scanned, n)
	return s.faultsAt[n], nil
}

// With staking on Asset Hub, a slash and a chill are emitted there: the
// sentry scans the staking chain's blocks too, with a cursor of its own
// that survives a restart, next to the relay's (whose block numbers are
// another chain's).
func TestStakingChainFaultsAreScanned(t *testing.T) {
	dir := t.TempDir()
	relay := &fakeReader{block: 1000, era: 10, faultsAt: map[uint64][]events.Fault{}}
	r := &stakingReader{fakeReader: relay, head: 300, faultsAt: map[uint64][]events.Fault{
		295: {{ID: "staking-295-2-A", Stash: "A", Kind: events.FaultSlash, Reason: "Staking.Slashed in staking chain block 295"}},
		298: {{ID: "staking-298-1-A", Stash: "A", Kind: events.FaultChilled, Reason: "Staking.Chilled in staking chain block 298"}},
	}}
	p := &pub{}
	cfg := Config{Chain: "polkadot", Reader: r, Publisher: p, DataDir: dir, FaultBlocks: 10}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	var f events.Fault
	if err := json.Unmarshal(p.by["polkadot-fault-staking-295-2-A"], &f); err != nil || f.Kind != events.FaultSlash || f.Block != 295 {
		t.Fatalf("the staking chain's slash: %+v (%v); published %v", f, err, p.ids)
	}
	if _, ok := p.by["polkadot-fault-staking-298-1-A"]; !ok {
		t.Fatalf("the staking chain's chill not published: %v", p.ids)
	}
	if st := s.Stats(); st.StakingFaultsScanned != 300 || st.FaultsScanned != 1000 {
		t.Fatalf("stats %+v: want the staking chain scanned to 300 and the relay to 1000", st)
	}
	// A restart: the staking chain's cursor is kept apart from the relay's.
	r.mu.Lock()
	r.head, r.scanned = 302, nil
	r.mu.Unlock()
	s, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(r.scanned) != 2 || r.scanned[0] != 301 || r.scanned[1] != 302 {
		t.Fatalf("after the restart the staking chain's blocks scanned were %v, want [301 302]", r.scanned)
	}
}
