package ssv_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/emitter"
	"github.com/valtrack/valtrack/internal/ssv/httpapi"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// TestSkippedLogsRecordedAndServed: on a real chain, a log of an unknown
// topic and an OperatorAdded whose data is cut short are skipped by the
// sentry, recorded by the sink with their place, topic, reason and the
// start of their data, and served by GET …/skipped (newest first, paged
// by before) and counted in GET …/sync; the events around them, in the
// same block and after it, are applied: the sync goes on.
func TestSkippedLogsRecordedAndServed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := newSimEnv(t, ctx)
	sentry, stop := env.start(nil)

	owner := common.HexToAddress("0x000000000000000000000000000000000000a11c")
	opAdded := func(id uint64) []byte {
		return event(t, "OperatorAdded", map[string]any{"operatorId": id, "owner": owner,
			"publicKey": fmt.Sprintf("LS0tLS1CRUdJTiBSU0EgUFVCTElDIEtFWS0tLS0t%d", id), "fee": big.NewInt(1000)})
	}
	raw := func(topics []common.Hash, data []byte) []byte {
		in, err := emitter.Calldata(topics, data)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	unknownTopic := common.HexToHash("0x" + strings.Repeat("5a", 32))
	unknownData := make([]byte, 200) // more than a record keeps
	for i := range unknownData {
		unknownData[i] = byte(i)
	}
	topics, data, err := abi.Encode("OperatorAdded", map[string]any{"operatorId": uint64(9), "owner": owner, "publicKey": "LS0tLS1CRUdJTg==", "fee": big.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	truncated := data[:40]

	env.c.block(opAdded(1))
	hBad, rsBad := env.c.block(raw([]common.Hash{unknownTopic}, unknownData), raw(topics, truncated), opAdded(2))
	env.c.block(opAdded(3))
	hLast, _ := env.c.block()
	env.c.block() // the follow distance: hLast is then processed
	waitProcessed(t, env.pub, sentry, env.reg, hLast.Number.Uint64(), hLast.Hash())
	stop()

	ops, err := env.reg.Operators(ctx, reorgNet, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || ops[0].ID != 1 || ops[1].ID != 2 || ops[2].ID != 3 {
		t.Fatalf("operators %+v: want 1, 2 and 3 (the skipped logs stop nothing)", ops)
	}
	if op, err := env.reg.Operator(ctx, reorgNet, 9); err != nil || op != nil {
		t.Fatalf("operator 9 (the truncated OperatorAdded) = %+v, %v: want none", op, err)
	}
	if st := sentry.Stats(); st.Skipped != 2 {
		t.Fatalf("sentry stats %+v: want 2 skipped", st)
	}

	// Served over REST.
	a, err := api.New(api.Options{Log: slog.New(slog.NewTextHandler(&apitest.SyncBuffer{}, nil)), CacheTTL: -1,
		Domains: []api.Domain{httpapi.New(env.reg, func() []string { return []string{reorgNet} })}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	base := "/api/v1/ssv/" + reorgNet
	var got struct{ Skipped []registry.Skipped }
	apitest.GetJSON(t, srv, base+"/skipped", "", http.StatusOK, &got)
	bad := hBad.Number.Uint64()
	want := []registry.Skipped{
		{Block: bad, BlockHash: hBad.Hash().Hex(), TxHash: rsBad[1].TxHash.Hex(), LogIndex: 1, Topic0: topics[0].Hex(), Data: hexutil.Encode(truncated), DataLen: 40},
		{Block: bad, BlockHash: hBad.Hash().Hex(), TxHash: rsBad[0].TxHash.Hex(), LogIndex: 0, Topic0: unknownTopic.Hex(), Data: hexutil.Encode(unknownData[:128]), DataLen: 200},
	}
	if len(got.Skipped) != 2 {
		t.Fatalf("skipped %+v: want the two logs of block %d", got.Skipped, bad)
	}
	for i, w := range want {
		g := got.Skipped[i]
		if g.Reason == "" {
			t.Errorf("skipped log %d has no reason", g.LogIndex)
		}
		g.Reason = ""
		if g != w {
			t.Errorf("skipped[%d]\n got %+v\nwant %+v", i, g, w)
		}
	}
	if r := got.Skipped[0].Reason; !strings.Contains(r, "OperatorAdded") {
		t.Errorf("the truncated log's reason %q does not name the event", r)
	}
	if r := got.Skipped[1].Reason; !strings.Contains(strings.ToLower(r), "unknown") {
		t.Errorf("the unknown topic's reason %q does not say so", r)
	}
	var page struct{ Skipped []registry.Skipped }
	apitest.GetJSON(t, srv, fmt.Sprintf("%s/skipped?limit=1&before=%d:1", base, bad), "", http.StatusOK, &page)
	if len(page.Skipped) != 1 || page.Skipped[0].LogIndex != 0 {
		t.Fatalf("the page before %d:1 = %+v, want log 0 only", bad, page.Skipped)
	}
	if code, _, body := apitest.Get(t, srv, base+"/skipped?before=x", ""); code != http.StatusBadRequest || !strings.Contains(string(body), "before") {
		t.Fatalf("a malformed before: %d %s", code, body)
	}
	var sy map[string]any
	apitest.GetJSON(t, srv, base+"/sync", "", http.StatusOK, &sy)
	if sy["skipped_logs"] != 2.0 || sy["last_block"] != float64(hLast.Number.Uint64()) {
		t.Fatalf("sync %v: want 2 skipped logs and the last block %d", sy, hLast.Number)
	}
}
