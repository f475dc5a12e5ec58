// Command api measures the HTTP API under load: it fills a state store with
// peers (with IP info and estimates), serves the API on 127.0.0.1, runs
// concurrent clients against /validators and /api/v1/ethereum/<net>/peers
// and prints latency percentiles and throughput as a markdown table.
//
//	go run ./bench/api                      # SQLite in a temporary directory
//	go run ./bench/api -db postgres://postgres@127.0.0.1:5432/test?sslmode=disable
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ethereum/httpapi"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
)

type config struct {
	db       string
	peers    int
	clients  int
	requests int
	network  string
	limit    int
}

func main() {
	var c config
	flag.StringVar(&c.db, "db", "", "state store DSN; empty: SQLite in a temporary directory")
	flag.IntVar(&c.peers, "peers", 20000, "peers to store")
	flag.IntVar(&c.clients, "clients", 50, "concurrent clients")
	flag.IntVar(&c.requests, "requests", 1000, "requests per endpoint")
	flag.StringVar(&c.network, "network", "", "network name (default: bench-<unix time>, so runs against a shared Postgres do not mix)")
	flag.IntVar(&c.limit, "limit", 100, "page size of the peers requests")
	flag.Parse()
	if c.network == "" {
		c.network = fmt.Sprintf("bench-%d", time.Now().Unix())
	}
	if c.peers < 1 || c.clients < 1 || c.requests < 1 || c.limit < 1 || c.limit > 1000 {
		fmt.Fprintln(os.Stderr, "bench/api: -peers, -clients, -requests must be positive and -limit within 1..1000")
		os.Exit(2)
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bench/api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp("", "valtrack-bench-api-")
	if err != nil {
		return fmt.Errorf("make a temporary data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, c.db, dir, log, store.WithMigrations(state.Migrations()))
	if err != nil {
		return fmt.Errorf("open the state store: %w", err)
	}
	defer db.Close()
	st := state.New(db)

	start := time.Now()
	if err := fill(ctx, st, c.network, c.peers); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "stored %d peers in %s\n", c.peers, time.Since(start).Round(time.Millisecond))

	srv, err := api.New(api.Options{Domains: []api.Domain{httpapi.New(st, func() []string { return []string{c.network} })}, Log: log, Version: "bench"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback: %w", err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	base := "http://" + ln.Addr().String()

	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: c.clients, MaxIdleConnsPerHost: c.clients, DisableCompression: true}}
	backend := "SQLite"
	if c.db != "" {
		backend = "PostgreSQL"
	}
	fmt.Printf("API with %d peers (%s), %d concurrent clients, %d requests per endpoint\n\n", c.peers, backend, c.clients, c.requests)
	fmt.Println("| endpoint | p50 | p90 | p99 | requests/s | response bytes |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, ep := range []struct{ name, path string }{
		{"/validators", "/validators"},
		{"/api/v1/ethereum/{network}/peers", fmt.Sprintf("/api/v1/ethereum/%s/peers?limit=%d", c.network, c.limit)},
	} {
		r, err := load(client, base+ep.path, c.clients, c.requests)
		if err != nil {
			stop()
			return fmt.Errorf("load %s: %w", ep.name, err)
		}
		fmt.Printf("| `%s` | %s | %s | %s | %.1f | %d |\n", ep.name, ms(r.pct(0.50)), ms(r.pct(0.90)), ms(r.pct(0.99)), r.rps, r.bytes)
	}
	stop()
	return <-served
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// fill writes n handshaken peers with IP info and estimates, in batches.
func fill(ctx context.Context, st state.Store, network string, n int) error {
	const batch = 1000
	clients := []string{"lighthouse", "prysm", "teku", "nimbus", "lodestar", "grandine"}
	countries := []string{"DE", "US", "FR", "FI", "JP", "SG", "NL", "GB"}
	now := time.Now().UTC().Add(-time.Minute)
	for lo := 0; lo < n; lo += batch {
		var b state.Batch
		var infos []state.IPInfo
		var ests []state.Estimate
		for i := lo; i < min(n, lo+batch); i++ {
			id := fmt.Sprintf("16Uiu2HAmBench%08d", i)
			nodeID := fmt.Sprintf("%064x", i+1)
			// 10.0.0.0/8: private addresses, never dialed.
			ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			enr := "enr:-bench-" + id
			seen := now.Add(-time.Duration(i%3600) * time.Second)
			client := clients[i%len(clients)]
			b.Discoveries = append(b.Discoveries, state.Discovery{Network: network, NodeID: nodeID, PeerID: id,
				ENR: enr, ENRSeq: 1, IP: ip, Port: 9000, ForkDigest: "0x01020304", Attnets: "0x0000000000000000",
				Syncnets: "0x00", SameNetwork: true, SentryID: "bench", Time: seen.Add(-time.Minute), MsgID: "d-" + id})
			b.Observations = append(b.Observations, state.Observation{Network: network, PeerID: id, NodeID: nodeID,
				ENR: enr, Multiaddr: fmt.Sprintf("/ip4/%s/tcp/9000/p2p/%s", ip, id), IP: ip, Port: 9000,
				Direction: "outbound", Epoch: 1000, HeadSlot: 32000, ForkDigest: "0x01020304", Seq: 1,
				Attnets: "0x0300000000000000", Syncnets: "0x00", SubscribedSubnets: []int64{int64(i % 64), int64((i + 7) % 64)},
				ClientVersion: client + "/v1.0.0", ClientName: client, ClientVersionNum: "1.0.0", SentryID: "bench",
				Time: seen, MsgID: "o-" + id})
			cc := countries[i%len(countries)]
			infos = append(infos, state.IPInfo{IP: ip, Country: cc, CountryCode: cc, Region: "R", City: "C",
				Latitude: float64(i%180) - 90, Longitude: float64(i%360) - 180, ASN: uint32(64512 + i%100),
				ASOrganization: fmt.Sprintf("Org %d", i%100), Class: []string{"hosting", "residential"}[i%2], UpdatedAt: now})
			if v := i % 5; v > 0 {
				ests = append(ests, state.Estimate{Network: network, PeerID: id, Validators: v, Low: v, High: v + 1,
					Confidence: 0.7, Method: "aggregation", Heuristic: v, Epochs: 3, UpdatedAt: now})
			}
		}
		if err := st.Apply(ctx, b); err != nil {
			return fmt.Errorf("store peers %d..%d: %w", lo, lo+len(b.Observations), err)
		}
		if err := st.PutIPInfo(ctx, infos); err != nil {
			return fmt.Errorf("store IP info: %w", err)
		}
		if err := st.PutEstimates(ctx, ests); err != nil {
			return fmt.Errorf("store estimates: %w", err)
		}
	}
	return nil
}

type result struct {
	lat   []time.Duration
	rps   float64
	bytes int64
}

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
}

// load sends n GETs of url from the given number of concurrent clients.
func load(client *http.Client, url string, clients, n int) (result, error) {
	jobs := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	var (
		mu    sync.Mutex
		lat   = make([]time.Duration, 0, n)
		first error
		size  int64
	)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				t0 := time.Now()
				resp, err := client.Get(url)
				var nb int64
				if err == nil {
					nb, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				d := time.Since(t0)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				lat = append(lat, d)
				size = nb
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return result{}, errors.Join(errors.New("a request failed"), first)
	}
	slices.Sort(lat)
	return result{lat: lat, rps: float64(n) / elapsed.Seconds(), bytes: size}, nil
}
