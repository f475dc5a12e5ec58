package sink_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const net = "testnet"

func dialects(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	dialectsOpen(t, func(t *testing.T, open func() *store.DB) { fn(t, open()) })
}

// dialectsOpen runs fn per dialect with a function opening fresh databases.
func dialectsOpen(t *testing.T, fn func(t *testing.T, open func() *store.DB)) {
	for _, d := range []struct {
		name string
		open func(testing.TB, ...store.Option) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			fn(t, func() *store.DB { return d.open(t, store.WithMigrations(state.Migrations())) })
		})
	}
}

func hash(parts ...any) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return "0x" + hex.EncodeToString(h[:])
}

func addr(i int) string { return common.HexToAddress(fmt.Sprintf("0x%040xab", i+1)[:42]).Hex() }

// chain builds blocks of contract events and their markers.
type chain struct {
	fork   string // part of the block hashes: two forks have different hashes
	number uint64
	parent string
	// chained: the markers carry PrevMarker, the previous marker's block
	// (prev, nil before the first), as a sentry's do.
	chained bool
	prev    *uint64
}

type ev struct {
	name string
	args map[string]any
}

// block returns the events of the next block and its marker.
func (c *chain) block(evs ...ev) []consumer.Event {
	c.number++
	h := hash(c.fork, c.number)
	var out []consumer.Event
	for i, e := range evs {
		args, err := json.Marshal(e.args)
		if err != nil {
			panic(err)
		}
		ce := &events.ContractEvent{V: 1, Network: net, Name: e.name, Block: c.number, BlockHash: h, TxHash: hash("tx", h, i),
			TxIndex: uint(i), LogIndex: uint(i * 2), Contract: addr(100), Args: args}
		out = append(out, consumer.Event{Network: net, Kind: events.Kind(e.name), MsgID: ce.MsgID(), Value: ce})
	}
	parent := c.parent
	if parent == "" {
		parent = hash("genesis")
	}
	m := &events.Block{V: 1, Network: net, Number: c.number, Hash: h, ParentHash: parent, Time: int64(c.number) * 12000, Events: len(evs)}
	if c.chained {
		m.PrevMarker = c.prev
		n := c.number
		c.prev = &n
	}
	c.parent = h
	return append(out, consumer.Event{Network: net, Kind: events.KindBlock, MsgID: m.MsgID(), Value: m})
}

func cat(bs ...[]consumer.Event) []consumer.Event {
	var out []consumer.Event
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func ids(xs ...uint64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	return out
}

func opAdded(id uint64, owner string, fee string) ev {
	return ev{"OperatorAdded", map[string]any{"operatorId": fmt.Sprint(id), "owner": owner, "publicKey": fmt.Sprintf("LS0tLS1CRUdJTi%d", id), "fee": fee}}
}

func tuple(count int, active bool, balance string) map[string]any {
	return map[string]any{"validatorCount": fmt.Sprint(count), "networkFeeIndex": "7", "index": "9", "active": active, "balance": balance}
}

// pubkey i: 48 bytes.
func pubkey(i int) []byte {
	k := make([]byte, 48)
	copy(k, fmt.Sprintf("validator-%d", i))
	return k
}

func hexOf(b []byte) string { return "0x" + hex.EncodeToString(b) }

func zeroShares(n int) string { return hexOf(make([]byte, 96+n*(48+256))) }

func valAdded(owner string, key []byte, ops []uint64) ev {
	return ev{"ValidatorAdded", map[string]any{"owner": owner, "operatorIds": ids(ops...), "publicKey": hexOf(key),
		"shares": zeroShares(len(ops)), "cluster": tuple(1, true, "1000")}}
}

func valEvent(name, owner string, key []byte, ops []uint64) ev {
	args := map[string]any{"owner": owner, "operatorIds": ids(ops...), "publicKey": hexOf(key)}
	if name == "ValidatorRemoved" {
		args["cluster"] = tuple(0, true, "900")
	}
	return ev{name, args}
}

func clusterEv(name, owner string, ops []uint64, active bool, balance string) ev {
	return ev{name, map[string]any{"owner": owner, "operatorIds": ids(ops...), "cluster": tuple(1, active, balance), "value": "5"}}
}

func newSink(t testing.TB, db *store.DB, check sink.CheckFunc) *sink.Sink {
	t.Helper()
	sk, err := sink.New(sink.Config{DB: db, Check: check})
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func mustApply(t testing.TB, sk *sink.Sink, evs []consumer.Event) {
	t.Helper()
	if err := sk.Apply(context.Background(), evs); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// dump is every row of a table, as text, in key order.
func dump(t testing.TB, db *store.DB, table, order string) []string {
	t.Helper()
	rows, err := db.Reader().Query("SELECT * FROM " + table + " ORDER BY " + order)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// registryDump is the registry's tables (not the logs, blocks or changes).
func registryDump(t testing.TB, db *store.DB) string {
	var b strings.Builder
	for _, tq := range [][2]string{{"ssv_operators", "id"}, {"ssv_operator_whitelist", "operator_id, address"}, {"ssv_validators", "idx"},
		{"ssv_validator_operators", "operator_id, validator_idx"}, {"ssv_clusters", "id"}, {"ssv_owners", "address"},
		{"ssv_network_params", "name"}, {"ssv_invalid", "block, log_index"}} {
		fmt.Fprintln(&b, tq[0], dump(t, db, tq[0], tq[1]))
	}
	return b.String()
}
