package devnet

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

func TestParseValidatorsBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	got, err := parseValidators("0:40%,1-4:30%,8-32:20%,64-200:10%", 100, rng)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Fatalf("got %d nodes", len(got))
	}
	var zero, small, mid, big int
	for _, c := range got {
		switch {
		case c == 0:
			zero++
		case c >= 1 && c <= 4:
			small++
		case c >= 8 && c <= 32:
			mid++
		case c >= 64 && c <= 200:
			big++
		default:
			t.Fatalf("count %d is in no bucket", c)
		}
	}
	if zero != 40 || small != 30 || mid != 20 || big != 10 {
		t.Fatalf("bucket sizes %d/%d/%d/%d, want 40/30/20/10", zero, small, mid, big)
	}
}

func TestParseValidatorsSmallNetworkKeepsEveryBucket(t *testing.T) {
	got, err := parseValidators("0:50%,100:25%,7:25%", 4, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for _, c := range got {
		seen[c]++
	}
	if seen[0] != 2 || seen[100] != 1 || seen[7] != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestParseValidatorsExplicitList(t *testing.T) {
	got, err := parseValidators("64, 0,3", 5, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	want := []int{64, 0, 3, 64, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestParseValidatorsRejects(t *testing.T) {
	for _, spec := range []string{"", "x", "1-:5%", "5-1:10%", "1:-3%", "0:0%", "-1", "1:abc", "a-b:1%"} {
		if _, err := parseValidators(spec, 3, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("spec %q accepted", spec)
		}
	}
}

func FuzzParseValidators(f *testing.F) {
	for _, s := range []string{DefaultValidators, "64,0,3", "0:1%", "1-2:3", ":", ",", "5-:%"} {
		f.Add(s, 7)
	}
	f.Fuzz(func(t *testing.T, spec string, nodes int) {
		nodes = 1 + abs(nodes)%50
		got, err := parseValidators(spec, nodes, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			return
		}
		if len(got) != nodes {
			t.Fatalf("got %d counts for %d nodes", len(got), nodes)
		}
		for _, c := range got {
			if c < 0 || c > maxValidators {
				t.Fatalf("count %d out of range", c)
			}
		}
	})
}

func abs(x int) int {
	if x < 0 {
		if -x < 0 {
			return 0
		}
		return -x
	}
	return x
}

// truth.json as a devnet writes it, and the ways it can be wrong.
func TestParseTruthChecksConsistency(t *testing.T) {
	good := `{"network":"devnet","total_validators":5,"nodes":[
		{"peer_id":"a","validators":3,"validator_indices":[0,2],"long_lived_subnets":[1,63],"tcp_port":9000},
		{"peer_id":"b","validators":0,"long_lived_subnets":[]},
		{"peer_id":"c","validators":2,"validator_indices":[3,4]}]}`
	if _, err := ParseTruth([]byte(good)); err != nil {
		t.Fatalf("a consistent truth refused: %v", err)
	}
	bad := map[string]string{
		"total":      `{"total_validators":4,"nodes":[{"peer_id":"a","validators":3}]}`,
		"negative":   `{"total_validators":0,"nodes":[{"peer_id":"a","validators":-1},{"peer_id":"b","validators":1}]}`,
		"no peer":    `{"total_validators":1,"nodes":[{"validators":1}]}`,
		"twice":      `{"total_validators":2,"nodes":[{"peer_id":"a","validators":1},{"peer_id":"a","validators":1}]}`,
		"range":      `{"total_validators":3,"nodes":[{"peer_id":"a","validators":3,"validator_indices":[0,1]}]}`,
		"reversed":   `{"total_validators":3,"nodes":[{"peer_id":"a","validators":3,"validator_indices":[2,0]}]}`,
		"overlap":    `{"total_validators":4,"nodes":[{"peer_id":"a","validators":2,"validator_indices":[0,1]},{"peer_id":"b","validators":2,"validator_indices":[1,2]}]}`,
		"idle":       `{"total_validators":0,"nodes":[{"peer_id":"a","validators":0,"validator_indices":[0,0]}]}`,
		"subnet":     `{"total_validators":0,"nodes":[{"peer_id":"a","long_lived_subnets":[64]}]}`,
		"port":       `{"total_validators":0,"nodes":[{"peer_id":"a","udp_port":70000}]}`,
		"not json":   `[`,
		"wrong type": `{"nodes":{}}`,
	}
	for name, b := range bad {
		if _, err := ParseTruth([]byte(b)); err == nil {
			t.Errorf("%s: accepted %s", name, b)
		}
	}
}

// Whatever ParseTruth accepts is consistent and survives a write and a
// read unchanged: the comparisons that read it back see what was written.
func FuzzParseTruth(f *testing.F) {
	f.Add([]byte(`{"network":"devnet","nodes":[{"peer_id":"x","validators":3,"validator_indices":[7,9]}],"total_validators":3}`))
	f.Add([]byte(`{"nodes":null}`))
	f.Add([]byte(`{"total_validators":2,"nodes":[{"peer_id":"a","validators":1},{"peer_id":"b","validators":1,"long_lived_subnets":[5]}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTruth(b)
		if err != nil {
			return
		}
		if tr == nil {
			t.Fatal("nil truth without error")
		}
		var sum uint64
		for _, n := range tr.Nodes {
			if n.Validators < 0 || n.PeerID == "" {
				t.Fatalf("accepted node %+v", n)
			}
			sum += uint64(n.Validators)
		}
		if sum != tr.TotalValidators {
			t.Fatalf("accepted a truth whose nodes run %d of %d validators", sum, tr.TotalValidators)
		}
		again, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseTruth(again)
		if err != nil {
			t.Fatalf("a truth written back is refused: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(normalTruth(back), normalTruth(tr)) {
			t.Fatalf("changed by a round trip:\n%+v\n%+v", tr, back)
		}
	})
}

// normalTruth treats an empty list and no list alike, as JSON does not
// keep the difference through omitempty.
func normalTruth(t *Truth) Truth {
	c := *t
	c.Nodes = nil
	for _, n := range t.Nodes {
		if len(n.ValidatorIndices) == 0 {
			n.ValidatorIndices = nil
		}
		if len(n.LongLivedSubnets) == 0 {
			n.LongLivedSubnets = nil
		}
		c.Nodes = append(c.Nodes, n)
	}
	return c
}

func TestOptionsValidation(t *testing.T) {
	bad := []Options{
		{Nodes: 0, Dir: "x"},
		{Nodes: MaxNodes + 1, Dir: "x"},
		{Nodes: 3},
		{Nodes: 3, Dir: "x", Name: "a b"},
		{Nodes: 3, Dir: "x", SlotDuration: time.Millisecond},
		{Nodes: 3, Dir: "x", BindIP: "::1"},
		{Nodes: 3, Dir: "x", LargeNodeShare: 2},
	}
	for i, o := range bad {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("options %d accepted: %+v", i, o)
		}
	}
	o, err := Options{Nodes: 3, Dir: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != DefaultName || o.SlotDuration != DefaultSlotDuration || o.SlotsPerEpoch != DefaultSlotsPerEpoch || o.BindIP != DefaultBindIP || len(o.Clients) == 0 {
		t.Fatalf("defaults not applied: %+v", o)
	}
}

func testSchedule(counts []int) *schedule {
	p := subnets.ParamsMinimal()
	p.TargetCommitteeSize = targetCommitteeSize
	p.MaxCommitteesPerSlot = maxCommitteesPerSlot
	return newSchedule(counts, 42, p, 8)
}

func TestScheduleOwner(t *testing.T) {
	s := testSchedule([]int{3, 0, 2})
	want := []int{0, 0, 0, 2, 2}
	for v, w := range want {
		if got := s.owner(uint64(v)); got != w {
			t.Fatalf("owner(%d) = %d, want %d", v, got, w)
		}
	}
}

func TestAggregatorDutiesFollowSpec(t *testing.T) {
	counts := []int{500, 0, 300, 200, 1000}
	s := testSchedule(counts)
	total := uint64(2000)
	cps := subnets.CommitteesPerSlot(total, s.p)
	duties := s.aggregatorDuties(3)
	if len(duties) == 0 {
		t.Fatal("no duties for 2000 validators")
	}
	perNode := make([]int, len(counts))
	seen := map[uint64]bool{}
	for _, du := range duties {
		if du.Slot/s.p.SlotsPerEpoch != 3 {
			t.Fatalf("duty at slot %d is outside epoch 3", du.Slot)
		}
		if du.CommitteeIndex >= cps {
			t.Fatalf("committee index %d >= %d", du.CommitteeIndex, cps)
		}
		if want := subnets.SubnetForAttestation(cps, du.Slot, du.CommitteeIndex, s.p); du.Subnet != want {
			t.Fatalf("subnet %d, want %d", du.Subnet, want)
		}
		if s.owner(du.Validator) != du.Node {
			t.Fatalf("validator %d attributed to node %d", du.Validator, du.Node)
		}
		if seen[du.Validator] {
			t.Fatalf("validator %d aggregates twice in one epoch", du.Validator)
		}
		seen[du.Validator] = true
		perNode[du.Node]++
	}
	if perNode[1] != 0 {
		t.Fatal("a node without validators got a duty")
	}
	// 2000 validators, 8 slots, 1 committee of 250 per slot: modulo 15,
	// so about 133 duties; a fair selection stays within 70..200.
	if len(duties) < 70 || len(duties) > 200 {
		t.Fatalf("%d duties, expected about 133", len(duties))
	}
	if perNode[4] <= perNode[3] {
		t.Fatalf("node with 1000 validators has %d duties, node with 200 has %d", perNode[4], perNode[3])
	}
}

func TestSyncSubnetsCoverCommittee(t *testing.T) {
	s := testSchedule([]int{1, 0, 1})
	bits := s.syncSubnets(0)
	// Two validators fill 32 positions over 4 subnets between them.
	if bits[1] != 0 {
		t.Fatal("node without validators is in the sync committee")
	}
	if bits[0]|bits[2] != 0x0f {
		t.Fatalf("syncnets %04b|%04b do not cover all 4 subnets", bits[0], bits[2])
	}
	if empty := testSchedule([]int{0, 0}).syncSubnets(0); empty[0] != 0 || empty[1] != 0 {
		t.Fatal("syncnets set with no validators")
	}
}

func TestConfigYAMLParses(t *testing.T) {
	o, _ := Options{Nodes: 1, Dir: "x", SlotDuration: 1500 * time.Millisecond}.withDefaults()
	y := string(configYAML(o))
	for _, k := range []string{"SLOT_DURATION_MS: 1500", "SECONDS_PER_SLOT: 1", "FULU_FORK_EPOCH: 0", "PRESET_BASE: 'minimal'"} {
		if !strings.Contains(y, k) {
			t.Fatalf("config.yaml lacks %q:\n%s", k, y)
		}
	}
	cfg, err := network.ParseConfig(strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SecondsPerSlot != 1500*time.Millisecond || cfg.SlotsPerEpoch != DefaultSlotsPerEpoch || cfg.TargetCommitteeSize != targetCommitteeSize {
		t.Fatalf("parsed config differs: %+v", cfg)
	}
	if len(cfg.Forks) != len(forkVersions) || len(cfg.BlobSchedule) != 1 {
		t.Fatalf("forks %v, blob schedule %v", cfg.Forks, cfg.BlobSchedule)
	}
}

func TestCustodyGroupCount(t *testing.T) {
	cases := []struct {
		v     int
		large bool
		want  uint64
	}{{0, false, 4}, {1, false, 8}, {50, false, 50}, {500, false, 128}, {0, true, 128}}
	for _, c := range cases {
		if got := custodyGroupCount(c.v, c.large); got != c.want {
			t.Errorf("custodyGroupCount(%d,%v) = %d, want %d", c.v, c.large, got, c.want)
		}
	}
}
