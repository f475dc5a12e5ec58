// Package e2e holds end-to-end tests: a real devnet, the sentry, the bus,
// the consumer, the archive, the state store, the analyzers and the API,
// wired the way `valtrack run` wires them.
package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/analyzers"
	"github.com/valtrack/valtrack/internal/ethereum/devnet"
	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/httpapi"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
	"github.com/valtrack/valtrack/internal/ethereum/sink"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/geo"
)

const adminKey = "e2e-admin-key-0123456789"

func testLog() *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startDevnet(t *testing.T, nodes int, validators string, seed int64) *devnet.Devnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := devnet.Start(ctx, devnet.Options{
		Nodes: nodes, Dir: t.TempDir(), SlotDuration: time.Second, SlotsPerEpoch: 4,
		Seed: seed, Validators: validators, Log: testLog(),
	})
	if err != nil {
		t.Fatalf("start devnet: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// pipeline is everything `valtrack run` starts, minus the CLI.
type pipeline struct {
	dn      *devnet.Devnet
	net     *network.Network
	params  estimate.Params
	st      state.Store
	dataDir string
	srv     *httptest.Server
	sentry  *sentry.Sentry
	cons    *consumer.Consumer
}

func startPipeline(t *testing.T, dn *devnet.Devnet, b *bus.Bus, st state.Store) *pipeline {
	t.Helper()
	n, err := network.Load(dn.Dir())
	if err != nil {
		t.Fatalf("load devnet network: %v", err)
	}
	dataDir := t.TempDir()
	log := testLog()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	arch, err := archive.Open(archive.Options{Root: dataDir, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arch.Close() })
	params := estimate.ParamsFor(n)
	sk, err := sink.New(sink.Config{State: st, Archive: arch, Params: map[string]estimate.Params{n.Name: params}})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := consumer.New(consumer.Config{
		Bus: b, Domain: events.Domain, Sink: sk, Archive: arch, BatchSize: 200, MaxWait: 100 * time.Millisecond,
		Registerer: prometheus.NewRegistry(), Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := b.NewPublisher(log)
	s, err := sentry.New(sentry.Config{
		Network: n, DataDir: filepath.Join(dataDir, "sentry"), ListenIP: "127.0.0.1",
		DialWorkers: 16, DialTimeout: 3 * time.Second, SettleDelay: 300 * time.Millisecond,
		BackoffBase: 500 * time.Millisecond, BackoffMax: 2 * time.Second, SaveInterval: time.Second,
		IdentifyWait: 2 * time.Second, CrawlRequery: 2 * time.Second, SentryID: "e2e",
		ReqResp:    reqresp.Options{TTFBTimeout: time.Second, RespTimeout: time.Second},
		Registerer: prometheus.NewRegistry(), Log: log,
	}, pub)
	if err != nil {
		t.Fatalf("new sentry: %v", err)
	}
	g, err := geo.Open(geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("admin:"+adminKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	as, err := analyzers.New(analyzers.Config{State: st, Geo: g, Networks: map[string]estimate.Params{n.Name: params},
		Window: time.Hour, Every: time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv, err := api.New(api.Options{Domains: []api.Domain{httpapi.New(st, func() []string { return []string{n.Name} })}, Log: log, KeysFile: keys, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(apiSrv.Handler())
	t.Cleanup(srv.Close)

	wg.Add(3)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	go func() { defer wg.Done(); _ = cons.Run(ctx) }()
	go func() {
		defer wg.Done()
		_ = analyze.Run(ctx, as, analyze.Options{Log: log})
	}()
	t.Cleanup(func() { pub.Close(context.Background()) })
	return &pipeline{dn: dn, net: n, params: params, st: st, dataDir: dataDir, srv: srv, sentry: s, cons: cons}
}

func (p *pipeline) get(t *testing.T, path, key string, out any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: decode: %v (%.200s)", path, err, body)
		}
	}
	return resp.StatusCode
}

type apiPeer struct {
	PeerID            string  `json:"peer_id"`
	NodeID            string  `json:"node_id"`
	IP                string  `json:"ip"`
	ENR               string  `json:"enr"`
	Seq               uint64  `json:"seq"`
	Attnets           string  `json:"attnets"`
	Syncnets          string  `json:"syncnets"`
	ForkDigest        string  `json:"fork_digest"`
	SubscribedSubnets []int64 `json:"subscribed_subnets"`
	ClientName        string  `json:"client_name"`
	ClientVersion     string  `json:"client_version"`
	Handshaken        bool    `json:"handshaken"`
	Estimate          *struct {
		Validators int     `json:"validators"`
		Heuristic  int     `json:"heuristic"`
		Epochs     int     `json:"epochs"`
		Confidence float64 `json:"confidence"`
		Method     string  `json:"method"`
	} `json:"estimate"`
}

func (p *pipeline) peers(t *testing.T, key string) map[string]apiPeer {
	t.Helper()
	var page struct {
		Peers      []apiPeer `json:"peers"`
		NextCursor string    `json:"next_cursor"`
	}
	out := map[string]apiPeer{}
	cursor := ""
	for i := 0; i < 100; i++ {
		path := "/api/v1/ethereum/" + p.net.Name + "/peers?limit=50"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if code := p.get(t, path, key, &page); code != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, code)
		}
		for _, pp := range page.Peers {
			out[pp.PeerID] = pp
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
		page.Peers, page.NextCursor = nil, ""
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s (last: %s)", d, what, last)
}

// checkPipeline is the body of the end-to-end tests: it asserts the API's
// answers against the devnet's truth.
func checkPipeline(t *testing.T, p *pipeline) {
	truth := p.dn.Truth()
	n := len(truth.Nodes)
	// Every node handshaken and estimated from at least 3 epochs.
	waitFor(t, "every devnet node handshaken and estimated over 3 epochs", 150*time.Second, func() (bool, string) {
		ps := p.peers(t, adminKey)
		ready := 0
		for _, tn := range truth.Nodes {
			pp, ok := ps[tn.PeerID]
			if ok && pp.Handshaken && pp.Estimate != nil && pp.Estimate.Epochs >= 3 {
				ready++
			}
		}
		return ready == n, fmt.Sprintf("%d of %d ready, sentry %+v, stored %d", ready, n, p.sentry.Stats(), p.cons.Processed())
	})

	ps := p.peers(t, adminKey)
	nodes := map[string]devnet.NodeInfo{}
	for _, ni := range p.dn.Nodes() {
		nodes[ni.PeerID] = ni
	}
	digest := p.net.ForkDigest(p.net.EpochAt(time.Now()))
	seqMatches := 0
	for _, tn := range truth.Nodes {
		pp := ps[tn.PeerID]
		if pp.NodeID != strings.TrimPrefix(tn.NodeID, "0x") && "0x"+pp.NodeID != tn.NodeID && pp.NodeID != tn.NodeID {
			t.Errorf("peer %s: node id %q, truth %q", tn.PeerID, pp.NodeID, tn.NodeID)
		}
		if pp.ClientVersion != tn.Client {
			t.Errorf("peer %s: client %q, truth %q", tn.PeerID, pp.ClientVersion, tn.Client)
		}
		if pp.ForkDigest != fmt.Sprintf("0x%x", digest[:]) {
			t.Errorf("peer %s: fork digest %s, network %x", tn.PeerID, pp.ForkDigest, digest)
		}
		ni := nodes[tn.PeerID]
		if pp.Seq == ni.MetaData.SeqNumber {
			seqMatches++
			if want := fmt.Sprintf("0x%x", ni.MetaData.Attnets[:]); pp.Attnets != want {
				t.Errorf("peer %s: attnets %s, node has %s at the same seq", tn.PeerID, pp.Attnets, want)
			}
			if want := fmt.Sprintf("0x%02x", ni.MetaData.Syncnets); pp.Syncnets != want {
				t.Errorf("peer %s: syncnets %s, node has %s at the same seq", tn.PeerID, pp.Syncnets, want)
			}
		}
	}
	if seqMatches < n*9/10 {
		t.Errorf("only %d of %d peers have the node's current metadata seq", seqMatches, n)
	}

	// Stats: every node, grouped by client as the truth says.
	var stats struct {
		Nodes    int `json:"nodes"`
		ByClient []struct {
			Key   string `json:"key"`
			Nodes int    `json:"nodes"`
		} `json:"by_client"`
	}
	if code := p.get(t, "/api/v1/ethereum/"+p.net.Name+"/stats", "", &stats); code != http.StatusOK {
		t.Fatalf("stats: %d", code)
	}
	if stats.Nodes != n {
		t.Errorf("stats: %d nodes, devnet has %d", stats.Nodes, n)
	}
	byClient := map[string]int{}
	for _, tn := range truth.Nodes {
		byClient[ps[tn.PeerID].ClientName]++
	}
	for _, g := range stats.ByClient {
		if byClient[g.Key] != g.Nodes {
			t.Errorf("stats: client %s has %d nodes, truth %d", g.Key, g.Nodes, byClient[g.Key])
		}
	}

	// Estimates: valtrack against Valtrack's heuristic on the same observations.
	var errEst, errHeur float64
	sumTrue, sumEst := 0, 0
	for _, tn := range truth.Nodes {
		e := ps[tn.PeerID].Estimate
		errEst += abs(e.Validators - tn.Validators)
		errHeur += abs(e.Heuristic - tn.Validators)
		sumTrue += tn.Validators
		sumEst += e.Validators
	}
	t.Logf("per-node MAE: valtrack %.2f, heuristic %.2f; total: truth %d, valtrack %d", errEst/float64(n), errHeur/float64(n), sumTrue, sumEst)
	if errEst >= errHeur {
		t.Errorf("valtrack's per-node error %.2f is not below the heuristic's %.2f", errEst/float64(n), errHeur/float64(n))
	}

	// /validators: public rows hide where a node is; admin rows show it.
	type vrow struct {
		PeerID         string `json:"peer_id"`
		IP             string `json:"ip"`
		ENR            string `json:"enr"`
		Multiaddr      string `json:"multiaddr"`
		ValidatorCount int    `json:"validator_count"`
	}
	var pub, adm []vrow
	p.get(t, "/validators", "", &pub)
	p.get(t, "/validators", adminKey, &adm)
	if len(adm) == 0 || len(pub) != len(adm) {
		t.Fatalf("/validators: %d public rows, %d admin rows", len(pub), len(adm))
	}
	for _, r := range pub {
		if r.IP != "" || r.ENR != "" || r.Multiaddr != "" {
			t.Errorf("/validators without a key shows ip/enr/multiaddr of %s", r.PeerID)
		}
	}
	for _, r := range adm {
		if r.IP != "127.0.0.1" || r.ENR == "" || r.Multiaddr == "" {
			t.Errorf("/validators with the key: row %+v lacks ip/enr/multiaddr", r)
		}
		if ps[r.PeerID].Estimate == nil || r.ValidatorCount != ps[r.PeerID].Estimate.Validators || r.ValidatorCount <= 0 {
			t.Errorf("/validators: %s count %d disagrees with its peer estimate", r.PeerID, r.ValidatorCount)
		}
	}

	// The archive: every file readable, no message archived twice.
	checkArchive(t, p.dataDir, n)
	checkValidatorRows(t, p.dataDir)
}

// checkValidatorRows: validator_metadata_events split a node's subscriptions
// into the long-lived subnets it declares (its attnets, which the devnet
// sets to its spec long-lived subnets, or all 64) and the short-lived rest.
func checkValidatorRows(t *testing.T, dataDir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dataDir, "parquet", "ethereum", "*", sink.TableValidatorMetadata, "*", "*", "*.parquet"))
	rows := 0
	for _, f := range files {
		rs, err := parquet.ReadFile[sink.ValidatorMetadataRow](f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		for _, r := range rs {
			rows++
			declared := map[int64]bool{}
			b, err := hex.DecodeString(strings.TrimPrefix(r.Attnets, "0x"))
			if err != nil || len(b) != 8 {
				t.Fatalf("validator row of %s: attnets %q", r.PeerID, r.Attnets)
			}
			for i := 0; i < 64; i++ {
				if b[i/8]&(1<<(i%8)) != 0 {
					declared[int64(i)] = true
				}
			}
			long := map[int64]bool{}
			for _, s := range r.LongLivedSubnets {
				long[s] = true
			}
			for s := range declared {
				if !long[s] {
					t.Errorf("validator row of %s: declared long-lived subnet %d missing from long_lived_subnets %v", r.PeerID, s, r.LongLivedSubnets)
				}
			}
			if len(r.ShortLivedSubnets) == 0 {
				t.Errorf("validator row of %s without short-lived subnets", r.PeerID)
			}
			for _, s := range r.ShortLivedSubnets {
				if long[s] {
					t.Errorf("validator row of %s calls long-lived subnet %d short-lived", r.PeerID, s)
				}
			}
		}
	}
	if rows == 0 {
		t.Error("no validator_metadata_events were archived")
	}
}

func abs(x int) float64 {
	if x < 0 {
		return float64(-x)
	}
	return float64(x)
}
