package sentry

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
	"github.com/valtrack/valtrack/internal/cosmos/sink"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// Live events are published once each, on cosmos.<chain>.<kind>, with
// their message ids and the observer; a block's votes count as observed
// from the second block of a session on; block H brings the commit of H−1.
func TestLiveEventsPublished(t *testing.T) {
	n := node(t, 4)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, n.URL()))
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })

	n.Produce(1)
	n.NewRound(2, 0)
	n.Step(2, 0, "RoundStepPropose")
	n.Vote(2, 0, 1, 0)
	n.Vote(2, 0, 1, 0) // the node repeats itself: still one vote
	n.Vote(2, 0, 2, 0)
	n.Produce(2)
	waitFor(t, "block 3 and commit 2", func() bool { return len(blocks(t, pub)[3]) == 1 && len(commits(t, pub)[2]) == 1 })

	votes := pub.of(t, events.KindVote)
	if len(votes) != 2 {
		t.Fatalf("%d votes published, want 2 (a prevote and a precommit):\n%s", len(votes), dump(pub))
	}
	v := votes[0].(*events.Vote)
	host := mustHost(t, n.URL())
	if v.Chain != "test-1" || v.Height != 2 || v.Type != events.Prevote || v.Endpoint != host || v.SentryID != "s1" || v.SeenAt == 0 {
		t.Errorf("vote %+v", v)
	}
	if r := pub.of(t, events.KindNewRound); len(r) != 1 || r[0].(*events.NewRound).Height != 2 {
		t.Errorf("rounds %v", r)
	}
	if st := pub.of(t, events.KindNewRoundStep); len(st) != 1 || st[0].(*events.NewRoundStep).Step != "Propose" {
		t.Errorf("steps %v", st)
	}
	bs, cs := checkHeights(t, pub, 1, 3)
	if t.Failed() {
		t.FailNow()
	}
	if b := bs[1][0]; b.VotesObserved || b.Source != events.SourceLive {
		t.Errorf("block 1 (first of the session) %+v: votes cannot have been observed", b)
	}
	if b := bs[3][0]; !b.VotesObserved || b.Hash != rpctest.BlockHash("test-1", 3) || b.NumTxs != 0 || b.Endpoint != host {
		t.Errorf("block 3 %+v", b)
	}
	if b := bs[2][0]; b.NumTxs != 2 {
		t.Errorf("block 2 has %d txs, want 2", b.NumTxs)
	}
	if c := cs[2][0]; c.Source != events.SourceLive || len(c.Signatures) != 4 || c.Signatures[0].Flag != events.FlagCommit {
		t.Errorf("commit 2 %+v", c)
	}
	if _, ok := cs[1]; !ok {
		t.Error("commit 1 (from block 2's last_commit) not published")
	}
	st := s.Stats()
	if st.Heights != 3 || st.Votes != 2 || st.Endpoints != 1 || st.LastHeight != 3 {
		t.Errorf("stats %+v", st)
	}
}

func mustHost(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// The server drops the connection while blocks are made: the sentry
// reconnects, resubscribes and backfills the missed heights from /commit.
func TestReconnectBackfillsMissedHeights(t *testing.T) {
	n := node(t, 4)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, n.URL()))
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(3)
	waitFor(t, "block 3", func() bool { return len(blocks(t, pub)[3]) == 1 })

	n.SetBroadcast(false)
	n.DropConnections()
	n.Produce(5) // 4..8 made while nobody listens
	n.SetBroadcast(true)
	waitFor(t, "resubscription", func() bool { return n.Subscribed() == 1 && s.eps[0].sub.Stats().Sessions >= 2 })
	n.Produce(2) // 9, 10 live
	waitFor(t, "heights 1..10", func() bool {
		bs, cs := blocks(t, pub), commits(t, pub)
		for h := int64(1); h <= 10; h++ {
			if len(bs[h]) == 0 || (h < 10 && len(cs[h]) == 0) {
				return false
			}
		}
		return true
	})
	bs, cs := checkHeights(t, pub, 1, 10)
	for h := int64(4); h <= 8; h++ {
		if b := bs[h][0]; b.Source != events.SourceBackfill || b.VotesObserved {
			t.Errorf("block %d: source %s, votes observed %v; want a backfill without votes", h, b.Source, b.VotesObserved)
		}
		// commit 8 may come live with block 9, before its backfill
		if c := cs[h][0]; (h < 8 && c.Source != events.SourceBackfill) || len(c.Signatures) != 4 {
			t.Errorf("commit %d %+v", h, c)
		}
	}
	if b := bs[9][0]; b.Source != events.SourceLive || b.VotesObserved {
		t.Errorf("block 9 (first after the reconnect) %+v", b)
	}
	if b := bs[10][0]; !b.VotesObserved {
		t.Errorf("block 10 %+v: its votes were watched", b)
	}
	if st := s.Stats(); st.Backfilled < 5 {
		t.Errorf("stats %+v: at least 5 heights backfilled", st)
	}
}

// Two endpoints: the same vote from both is published once, with the
// first observer; when one stops, the other carries on, and the heights in
// between are backfilled with no duplicates.
func TestTwoEndpointsMergeAndFailover(t *testing.T) {
	a, b := node(t, 4), node(t, 4)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, a.URL(), b.URL()))
	waitFor(t, "subscriptions", func() bool { return a.Subscribed() == 1 && b.Subscribed() == 1 })
	hostA, hostB := mustHost(t, a.URL()), mustHost(t, b.URL())

	both := func(f func(n *rpctest.Node)) { f(a); f(b) }
	both(func(n *rpctest.Node) { n.Produce(1) })
	a.Vote(2, 0, 1, 1)
	waitFor(t, "the vote from a", func() bool { return len(pub.of(t, events.KindVote)) == 1 })
	b.Vote(2, 0, 1, 1)
	b.Vote(2, 0, 1, 2) // only b saw this one
	waitFor(t, "the vote from b", func() bool { return len(pub.of(t, events.KindVote)) == 2 })
	both(func(n *rpctest.Node) { n.Produce(2) })
	waitFor(t, "block 3", func() bool { return len(blocks(t, pub)[3]) == 1 })
	votes := pub.of(t, events.KindVote)
	if v := votes[0].(*events.Vote); v.Endpoint != hostA || v.ValidatorIndex != 1 {
		t.Errorf("first vote %+v, want validator 1 seen first by %s", v, hostA)
	}
	if v := votes[1].(*events.Vote); v.Endpoint != hostB || v.ValidatorIndex != 2 {
		t.Errorf("second vote %+v, want validator 2 from %s", v, hostB)
	}

	// a goes away; b misses a few heights too, then carries on alone.
	a.Close()
	b.SetBroadcast(false)
	b.DropConnections()
	b.Produce(4) // 4..7
	b.SetBroadcast(true)
	waitFor(t, "b resubscribed", func() bool { return b.Subscribed() == 1 })
	b.Produce(2) // 8, 9
	waitFor(t, "heights 1..9", func() bool {
		bs, cs := blocks(t, pub), commits(t, pub)
		for h := int64(1); h <= 9; h++ {
			if len(bs[h]) == 0 || (h < 9 && len(cs[h]) == 0) {
				return false
			}
		}
		return true
	})
	bs, _ := checkHeights(t, pub, 1, 9)
	for h := int64(4); h <= 7; h++ {
		if bs[h][0].Source != events.SourceBackfill || bs[h][0].Endpoint != hostB {
			t.Errorf("block %d %+v: want a backfill from %s", h, bs[h][0], hostB)
		}
	}
	waitFor(t, "a unhealthy", func() bool { return s.Stats().EndpointsHealthy <= 1 })
}

// A set of 250 validators (3 pages of at most 100) is indexed in full, in
// the node's order, with an unknown key type kept; a change of the
// validators hash indexes the new set at its first height, and the sink
// records its additions, removals and power changes, those of pages 2
// and 3 included.
func TestValidatorSetIndexedInFull(t *testing.T) {
	vals := rpctest.MakeValidators("v", 250)
	n := rpctest.New("test-1", vals)
	t.Cleanup(n.Close)
	pub := &memPublisher{}
	run(t, testConfig(pub, n.URL()))
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(2)
	waitFor(t, "a validator set", func() bool { return len(pub.of(t, events.KindValidatorSet)) == 1 })
	set := pub.of(t, events.KindValidatorSet)[0].(*events.ValidatorSet)
	if len(set.Validators) != 250 || set.Height != 1 {
		t.Fatalf("set of height %d with %d validators, want 250 at height 1", set.Height, len(set.Validators))
	}
	for i, v := range set.Validators {
		if v.Address != vals[i].Address {
			t.Fatalf("validator %d is %s, want %s", i, v.Address, vals[i].Address)
		}
	}
	if set.Validators[1].PubKeyType != "cometbft/PubKeyBn254" {
		t.Errorf("key type %q", set.Validators[1].PubKeyType)
	}
	// Changes on pages 2 and 3 (members 100..) of a 250 set: removals,
	// additions and voting-power changes, all in the set indexed at the
	// height it takes effect.
	next := append([]rpctest.Validator(nil), vals...)
	extra := rpctest.MakeValidators("w", 2)
	next[130].VotingPower += 7           // page 2
	next[240].VotingPower = 1            // page 3
	next = slices.Delete(next, 220, 221) // page 3
	next = slices.Delete(next, 150, 151) // page 2
	next = append(next, extra...)        // the end of page 3
	n.ChangeValidators(next)
	n.Produce(2) // 3 has it
	waitFor(t, "the set changed on pages 2 and 3", func() bool { return len(pub.of(t, events.KindValidatorSet)) == 2 })
	set = pub.of(t, events.KindValidatorSet)[1].(*events.ValidatorSet)
	if set.Height != 3 || len(set.Validators) != len(next) {
		t.Fatalf("set at height %d with %d validators, want %d at 3", set.Height, len(set.Validators), len(next))
	}
	for i, v := range set.Validators {
		if v.Address != next[i].Address || v.VotingPower != next[i].VotingPower {
			t.Fatalf("validator %d is %s with power %d, want %s with %d", i, v.Address, v.VotingPower, next[i].Address, next[i].VotingPower)
		}
	}
	n.ChangeValidators(vals[:120])
	n.Produce(2) // 5 has the new set
	waitFor(t, "the changed set", func() bool { return len(pub.of(t, events.KindValidatorSet)) == 3 })
	set = pub.of(t, events.KindValidatorSet)[2].(*events.ValidatorSet)
	if set.Height != 5 || len(set.Validators) != 120 {
		t.Errorf("changed set at height %d with %d validators, want 120 at 5", set.Height, len(set.Validators))
	}

	got := setChanges(t, pub.of(t, events.KindValidatorSet))
	want := []string{
		fmt.Sprintf("3 %s removed %d 0", vals[150].Address, vals[150].VotingPower),
		fmt.Sprintf("3 %s removed %d 0", vals[220].Address, vals[220].VotingPower),
		fmt.Sprintf("3 %s power %d %d", vals[130].Address, vals[130].VotingPower, vals[130].VotingPower+7),
		fmt.Sprintf("3 %s power %d 1", vals[240].Address, vals[240].VotingPower),
	}
	for _, v := range extra {
		want = append(want, fmt.Sprintf("3 %s added 0 %d", v.Address, v.VotingPower))
	}
	for _, v := range next[120:] {
		want = append(want, fmt.Sprintf("5 %s removed %d 0", v.Address, v.VotingPower))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("recorded changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// setChanges stores the published sets as the consumer does and returns
// the recorded changes, "height address change old_power new_power", sorted.
func setChanges(t *testing.T, sets []events.Event) []string {
	t.Helper()
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	sk, err := sink.New(sink.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sets {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sk.Decode(events.Kind(e), data)
		if err != nil {
			t.Fatal(err)
		}
		if err := sk.Apply(t.Context(), []consumer.Event{{Network: e.ChainName(), Kind: events.Kind(e), MsgID: e.MsgID(), Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Reader().Query("SELECT height, address, change, old_power, new_power FROM cosmos_validator_changes")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h, oldP, newP int64
		var addr, change string
		if err := rows.Scan(&h, &addr, &change, &oldP, &newP); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %s %d %d", h, addr, change, oldP, newP))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// Wrong chain id, catching up, a stale block time and a stuck height each
// make an endpoint unhealthy, with the reason in its status event.
func TestUnhealthyEndpoints(t *testing.T) {
	good, wrong, catching, stale, stuck := node(t, 4), node(t, 4), node(t, 4), node(t, 4), node(t, 4)
	for _, n := range []*rpctest.Node{good, wrong, catching, stale, stuck} {
		n.SetHeight(5)
	}
	wrong.SetNetwork("other-7")
	catching.SetCatchingUp(true)
	stale.SetStale(5 * 60e9)
	stuck.Freeze()
	good.SetSelf(2)
	good.SetMoniker("val-two")
	pub := &memPublisher{}
	cfg := testConfig(pub, good.URL(), wrong.URL(), catching.URL(), stale.URL(), stuck.URL())
	cfg.StuckAfter = 1500e6 // the good node advances every 20 ms: a wide margin
	s, _ := run(t, cfg)
	want := map[string]string{mustHost(t, wrong.URL()): "chain id", mustHost(t, catching.URL()): "catching up",
		mustHost(t, stale.URL()): "latest block", mustHost(t, stuck.URL()): "has not advanced"}
	goodHost := mustHost(t, good.URL())
	stopAdvance := make(chan struct{})
	defer close(stopAdvance)
	go func() { // the good node keeps making blocks
		for {
			select {
			case <-stopAdvance:
				return
			default:
				good.Produce(1)
				sleep(t.Context(), 20e6)
			}
		}
	}()
	waitFor(t, "every reason", func() bool {
		found := map[string]bool{}
		for _, e := range pub.of(t, events.KindEndpointStatus) {
			st := e.(*events.EndpointStatus)
			if st.Healthy && st.Endpoint == goodHost {
				found[goodHost] = true
			}
			if w, ok := want[st.Endpoint]; ok && !st.Healthy && contains(st.Reason, w) {
				found[st.Endpoint] = true
			}
		}
		return len(found) == 5
	})
	for _, e := range pub.of(t, events.KindEndpointStatus) {
		if st := e.(*events.EndpointStatus); st.Endpoint == goodHost && !st.Healthy {
			t.Errorf("the good endpoint reported unhealthy: %s", st.Reason)
		}
	}
	if st := s.Stats(); st.EndpointsHealthy != 1 || st.Endpoints != 5 {
		t.Errorf("stats %+v", st)
	}
	infos := pub.of(t, events.KindValidatorInfo)
	if len(infos) != 1 || infos[0].(*events.ValidatorInfo).Moniker != "val-two" || infos[0].(*events.ValidatorInfo).Source != "status" {
		t.Errorf("validator infos %v, want val-two from /status once", infos)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// A restarted sentry reads its cursor and backfills from where it stopped.
func TestCursorRestartBackfills(t *testing.T) {
	n := node(t, 4)
	dir := t.TempDir()
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.DataDir = dir
	_, stop := run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(5)
	waitFor(t, "block 5", func() bool { return len(blocks(t, pub)[5]) == 1 })
	stop()
	b, err := os.ReadFile(filepath.Join(dir, "cosmos-test-1.cursor"))
	if err != nil || string(b) != `{"chain":"test-1","height":4}` {
		t.Fatalf("cursor %q, %v; want height 4 (block 5's commit is not out yet)", b, err)
	}

	n.Produce(5) // 6..10 while stopped
	pub2 := &memPublisher{}
	cfg.Publisher = pub2
	cfg.Registerer = nil
	run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1) // 11
	waitFor(t, "heights 5..11", func() bool {
		bs, cs := blocks(t, pub2), commits(t, pub2)
		for h := int64(5); h <= 11; h++ {
			if len(bs[h]) == 0 || (h < 11 && len(cs[h]) == 0) {
				return false
			}
		}
		return true
	})
	bs, _ := checkHeights(t, pub2, 5, 11)
	for h := range bs {
		if h < 5 {
			t.Errorf("block %d republished after the restart (cursor was 4)", h)
		}
	}
	for h := int64(6); h <= 10; h++ {
		if bs[h][0].Source != events.SourceBackfill {
			t.Errorf("block %d: source %s", h, bs[h][0].Source)
		}
	}
}

// Heights pruned on every endpoint are skipped: the backfill jumps to the
// lowest height available.
func TestPrunedHeightsSkipped(t *testing.T) {
	n := node(t, 4)
	n.SetHeight(30)
	n.SetLowest(20)
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.FromHeight = 5
	s, _ := run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1) // 31
	waitFor(t, "heights 20..31", func() bool {
		bs := blocks(t, pub)
		for h := int64(20); h <= 31; h++ {
			if len(bs[h]) == 0 {
				return false
			}
		}
		return true
	})
	bs, _ := checkHeights(t, pub, 20, 31)
	for h := range bs {
		if h < 20 {
			t.Errorf("block %d published below the lowest height", h)
		}
	}
	if c := n.CommitCalls(5) + n.CommitCalls(6); c == 0 {
		t.Error("the pruned heights were not even tried")
	}
	if got := testutil.ToFloat64(s.m.pruned.WithLabelValues("test-1")); got != 15 {
		t.Errorf("pruned heights counted %v, want 15 (5..19)", got)
	}
	// The analyzer is told, as one range, so that it skips them at once.
	ps := pub.of(t, events.KindPrunedHeights)
	if len(ps) != 1 {
		t.Fatalf("%d pruned_heights events, want 1", len(ps))
	}
	if p := ps[0].(*events.PrunedHeights); p.Chain != "test-1" || p.From != 5 || p.To != 19 || p.LowestAvailable != 20 ||
		p.Endpoints != 1 || p.Endpoint == "" || p.SeenAt == 0 {
		t.Errorf("pruned_heights %+v, want 5..19, lowest 20, from the one endpoint", p)
	}
}

func TestEndpointNames(t *testing.T) {
	got, err := endpointNames([]string{"https://user:pw@rpc.example.com/?apikey=x", "https://rpc.example.com:443/key/abc",
		"http://127.0.0.1:26657", "http://127.0.0.1:26657/"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rpc.example.com:443", "rpc.example.com:443#2", "127.0.0.1:26657", "127.0.0.1:26657#2"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("name %d = %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := New(Config{Chain: "bad.chain", Endpoints: []string{"http://x"}, Publisher: &memPublisher{}}); err == nil {
		t.Error("a chain name that is no subject token accepted")
	}
	if _, err := New(Config{Chain: "c", Publisher: &memPublisher{}}); err == nil {
		t.Error("no endpoints accepted")
	}
}

// An endpoint that dies in the middle of a height saw only part of its
// votes: when another endpoint, connected after the height began, brings
// the block, its votes count as not observed, so that the votes the dead
// endpoint never delivered cannot become misses.
func TestEndpointDeathMidHeightVotesNotObserved(t *testing.T) {
	a, b := node(t, 4), node(t, 4)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, a.URL(), b.URL()))
	waitFor(t, "subscriptions", func() bool { return a.Subscribed() == 1 && b.Subscribed() == 1 })

	b.SetBroadcast(false) // b's session does not deliver 1 and 2: its run starts at 3
	b.Produce(2)
	a.Produce(2)
	waitFor(t, "block 2 from a", func() bool { return len(blocks(t, pub)[2]) == 1 })
	a.Vote(3, 0, 1, 0) // a sees one prevote of height 3, then dies
	waitFor(t, "the vote", func() bool { return len(pub.of(t, events.KindVote)) == 1 })
	a.Close()
	waitFor(t, "a's connection ended", func() bool { return s.eps[0].sub.Stats().Reconnects >= 1 })

	b.SetBroadcast(true)
	b.Produce(2) // 3, 4 from b
	waitFor(t, "block 4", func() bool { return len(blocks(t, pub)[4]) == 1 })
	bs := blocks(t, pub)
	if bl := bs[3][0]; bl.VotesObserved {
		t.Errorf("block 3 %+v: votes observed, but a died with one vote of 3 and b's run starts at 3", bl)
	}
	if bl := bs[4][0]; !bl.VotesObserved {
		t.Errorf("block 4 %+v: b delivered 3 and 4, so its votes were watched", bl)
	}
	if bl := bs[2][0]; !bl.VotesObserved {
		t.Errorf("block 2 %+v: a delivered 1 and 2", bl)
	}
}

// More set changes than any queue held before (the indexer used a channel
// of 64 and skipped the rest, and gave up after 5 attempts) arrive while
// the nodes' HTTP routes fail: every one is indexed once they answer
// again, each carrying the validators_hash of the block that asked for it.
func TestValidatorSetRequestsNeverDropped(t *testing.T) {
	vals := rpctest.MakeValidators("v", 90)
	n := rpctest.New("test-1", vals)
	t.Cleanup(n.Close)
	pub := &memPublisher{}
	run(t, testConfig(pub, n.URL()))
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1)
	waitFor(t, "the first set", func() bool { return len(pub.of(t, events.KindValidatorSet)) == 1 })

	n.SetFailHTTP(true)
	const changes = 80
	for i := 1; i <= changes; i++ {
		n.ChangeValidators(vals[:90-i]) // from the next height on
		n.Produce(1)
	}
	waitFor(t, "the blocks", func() bool { return len(blocks(t, pub)[changes+1]) == 1 })
	n.SetFailHTTP(false)
	waitFor(t, "every set", func() bool { return len(pub.of(t, events.KindValidatorSet)) == changes+1 })

	bs := blocks(t, pub)
	for _, e := range pub.of(t, events.KindValidatorSet) {
		set := e.(*events.ValidatorSet)
		b := bs[set.Height]
		if len(b) != 1 || set.ValidatorsHash == "" || set.ValidatorsHash != b[0].ValidatorsHash {
			t.Errorf("set of %d has hash %q, its block %v", set.Height, set.ValidatorsHash, b)
		}
		if want := 90 - int(set.Height-1); len(set.Validators) != want {
			t.Errorf("set of %d has %d validators, want %d", set.Height, len(set.Validators), want)
		}
	}
}

// A validator set pruned on every endpoint (blocks kept, sets below 15
// gone) is reported as a pruned_heights range of what validator_set, from
// the height of the set change to below the lowest height a set is held
// at, and the set of that height is indexed instead; when one endpoint
// still holds the set, it is read there and nothing is reported pruned.
func TestPrunedValidatorSetReported(t *testing.T) {
	start := func(t *testing.T, pruneB bool) (*memPublisher, *rpctest.Node) {
		vals := rpctest.MakeValidators("v", 4)
		a, b := rpctest.New("test-1", vals), rpctest.New("test-1", vals)
		for _, n := range []*rpctest.Node{a, b} {
			t.Cleanup(n.Close)
			n.SetHeight(10)
			n.ChangeValidators(vals[:3]) // from 11
			n.SetHeight(20)
			n.SetLowestValidators(15)
		}
		if !pruneB {
			b.SetLowestValidators(0)
		}
		pub := &memPublisher{}
		cfg := testConfig(pub, a.URL(), b.URL())
		cfg.FromHeight = 5 // the set is asked at the first height seen, and at 11 where it changed
		run(t, cfg)
		waitFor(t, "subscriptions", func() bool { return a.Subscribed() == 1 && b.Subscribed() == 1 })
		return pub, a
	}
	setAt := func(pub *memPublisher, h int64) *events.ValidatorSet {
		for _, e := range pub.of(t, events.KindValidatorSet) {
			if s := e.(*events.ValidatorSet); s.Height == h {
				return s
			}
		}
		return nil
	}
	t.Run("everywhere", func(t *testing.T) {
		pub, _ := start(t, true)
		waitFor(t, "the set of 15", func() bool { return setAt(pub, 15) != nil })
		if s := setAt(pub, 15); len(s.Validators) != 3 || s.ValidatorsHash != "" {
			t.Errorf("set of 15: %d validators, hash %q; want the 3 of the new set, no hash", len(s.Validators), s.ValidatorsHash)
		}
		waitFor(t, "the block of 11", func() bool { return len(blocks(t, pub)[11]) > 0 })
		newHash := blocks(t, pub)[11][0].ValidatorsHash
		var found bool
		waitFor(t, "the pruned sets of 11", func() bool {
			for _, e := range pub.of(t, events.KindPrunedHeights) {
				if e.(*events.PrunedHeights).From == 11 {
					return true
				}
			}
			return false
		})
		for _, e := range pub.of(t, events.KindPrunedHeights) {
			p := e.(*events.PrunedHeights)
			if p.What != events.PrunedValidatorSet || p.To != 14 || p.LowestAvailable != 15 || p.Endpoints != 2 || p.Endpoint == "" || p.SeenAt == 0 {
				t.Errorf("pruned_heights %+v, want sets up to 14, lowest 15, said by both endpoints", p)
			}
			if p.From == 11 && p.ValidatorsHash == newHash {
				found = true
			}
			checkEvent(t, p)
		}
		if !found {
			t.Errorf("no pruned validator_set range from 11 with the new set's hash %s in %s", newHash, dump(pub))
		}
		for _, e := range pub.of(t, events.KindValidatorSet) {
			if h := e.(*events.ValidatorSet).Height; h < 15 {
				t.Errorf("a set published at %d, below the lowest held", h)
			}
		}
	})
	t.Run("one endpoint holds it", func(t *testing.T) {
		pub, _ := start(t, false)
		waitFor(t, "the set of 11", func() bool { return setAt(pub, 11) != nil })
		if ps := pub.of(t, events.KindPrunedHeights); len(ps) != 0 {
			t.Errorf("pruned_heights %+v although endpoint b holds the sets", ps)
		}
	})
}
