package chain

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/scale"
)

// emptyAnswers is a node whose session has two validators (v, w) while its
// answers for the intentions and the era's validators are empty or short.
func emptyAnswers(t *testing.T) (*storageNode, *Reader, *scale.Metadata, []byte) {
	t.Helper()
	md := pagedMetadata(t)
	n := &storageNode{store: map[string]string{}}
	v, w := pk(t, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"), pk(t, ferdie)
	c, u := scale.Compact, u32le
	n.set(t, md, cat(u(5), []byte{0}), "Staking", "ActiveEra")
	n.set(t, md, u(5), "Staking", "CurrentEra")
	n.set(t, md, binary.LittleEndian.AppendUint64(nil, 1700000000000), "Timestamp", "Now")
	n.set(t, md, cat(c(2), v, w), "Session", "Validators")
	n.set(t, md, cat(c(300), c(100), u(0), u(0)), "Staking", "ErasStakersOverview", u(5), v)
	srv := n.serve(t)
	r, err := New(Config{Chain: "paged", Relay: []string{srv.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.relay.mds[424242] = md
	return n, r, md, v
}

// An empty (or truncated) listing of the validate intentions while the
// session has validators is a failed read: every record's intention is
// unknown with the reason, never false — 1KV's issue #2805, where a node
// answering [] made every candidate "not have a validate intention".
func TestEmptyIntentionsAnswerIsAFailedRead(t *testing.T) {
	n, r, md, v := emptyAnswers(t)
	ctx := context.Background()
	ch, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := r.Validators(ctx, ch, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ch.SessionValidators {
		in := find(t, vs, s).Intention
		if in.Known || !strings.Contains(in.Err, "listed no validate intention") {
			t.Fatalf("%s: intention %+v: want unknown, the empty answer the reason", s, in)
		}
	}
	// A truncated answer: one key where the chain's counter says two.
	c := scale.Compact
	n.mu.Lock()
	n.set(t, md, cat(c(50_000_000), []byte{0}), "Staking", "Validators", v)
	n.set(t, md, u32le(2), "Staking", "CounterForValidators")
	n.mu.Unlock()
	if vs, err = r.Validators(ctx, ch, nil); err != nil {
		t.Fatal(err)
	}
	if in := find(t, vs, ch.SessionValidators[0]).Intention; in.Known || !strings.Contains(in.Err, "CounterForValidators counts 2") {
		t.Fatalf("intention %+v: want unknown, a listing of 1 of 2 refused", in)
	}
	// The whole set: known, and false only for the one without.
	n.mu.Lock()
	n.set(t, md, u32le(1), "Staking", "CounterForValidators")
	n.mu.Unlock()
	if vs, err = r.Validators(ctx, ch, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range ch.SessionValidators {
		in := find(t, vs, s).Intention
		want := string(pk(t, s)) == string(v)
		if !in.Known || in.Value != want {
			t.Fatalf("%s: intention %+v, want known %v", s, in, want)
		}
	}
}

// An era whose validators the node lists as none, while the session has
// validators, is an error (the sentry retries it), not a finished era with
// an empty set that would cost every candidate a rank period.
func TestEmptyEraAnswerIsAFailedRead(t *testing.T) {
	_, r, _, _ := emptyAnswers(t)
	ctx := context.Background()
	if e, err := r.Era(ctx, 3); err == nil || !strings.Contains(err.Error(), "lists no validators") {
		t.Fatalf("era 3 with no validators listed: %+v, %v: want an error", e, err)
	}
	if e, err := r.Era(ctx, 5); err != nil || len(e.Validators) != 1 {
		t.Fatalf("era 5: %+v, %v: want its one validator", e, err)
	}
}
