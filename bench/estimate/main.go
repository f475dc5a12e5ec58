// Command bench-estimate measures the validator estimate on a local devnet:
// after watching the network for a number of epochs, the per-node mean
// absolute error against the devnet's truth and the error of the network
// total, beside Valtrack's heuristic (count of short-lived subnets, most
// frequent value) computed on the same observations.
//
//	go run ./bench/estimate -nodes 60 -epochs 3
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/ethereum/devnet"
	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
)

// recorder turns the sentry's events straight into estimator histories.
type recorder struct {
	mu sync.Mutex
	hs map[string]*estimate.History
}

func (r *recorder) Publish(_ context.Context, subject, _ string, data []byte) error {
	_, kind, err := events.SplitSubject(subject)
	if err != nil {
		return err
	}
	v, err := events.Decode(kind, data)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	get := func(peerID string) *estimate.History {
		h := r.hs[peerID]
		if h == nil {
			h = &estimate.History{PeerID: peerID}
			r.hs[peerID] = h
		}
		return h
	}
	switch e := v.(type) {
	case *events.MetadataReceived:
		h := get(e.PeerID)
		h.NodeID = e.ID
		h.Snapshots = append(h.Snapshots, estimate.Snapshot{Epoch: e.Epoch, Attnets: e.MetaData.Attnets,
			Subscribed: e.SubscribedSubnets, Time: time.UnixMilli(e.Timestamp)})
	case *events.Subscription:
		if e.Kind != "attestation" {
			break
		}
		h := get(e.PeerID)
		h.Changes = append(h.Changes, estimate.Change{Subnet: e.Subnet, Subscribed: e.Subscribed, Time: time.UnixMilli(e.Timestamp)})
	}
	return nil
}

func main() {
	nodes := flag.Int("nodes", 60, "devnet nodes")
	epochs := flag.Int("epochs", 3, "epochs of observation after every node is handshaken")
	slot := flag.Duration("slot", time.Second, "slot duration")
	spe := flag.Uint64("slots-per-epoch", 8, "slots per epoch")
	dist := flag.String("validators", "0:25%,1-8:30%,10-40:25%,60-150:20%", "validators per node distribution")
	seed := flag.Int64("seed", 5, "devnet seed")
	flag.Parse()
	if err := run(*nodes, *epochs, *slot, *spe, *dist, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "bench-estimate:", err)
		os.Exit(1)
	}
}

func run(nodes, epochs int, slot time.Duration, spe uint64, dist string, seed int64) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	dir, err := os.MkdirTemp("", "bench-estimate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dn, err := devnet.Start(ctx, devnet.Options{Nodes: nodes, Dir: dir + "/devnet", SlotDuration: slot, SlotsPerEpoch: spe,
		Validators: dist, Seed: seed, Log: quiet})
	if err != nil {
		return err
	}
	defer dn.Close()
	n, err := network.Load(dn.Dir())
	if err != nil {
		return err
	}
	rec := &recorder{hs: map[string]*estimate.History{}}
	s, err := sentry.New(sentry.Config{Network: n, DataDir: dir + "/sentry", ListenIP: "127.0.0.1",
		SettleDelay: 300 * time.Millisecond, ReqResp: reqresp.Options{TTFBTimeout: 2 * time.Second, RespTimeout: 2 * time.Second},
		Registerer: prometheus.NewRegistry(), Log: quiet}, rec)
	if err != nil {
		return err
	}
	go func() { _ = s.Run(ctx) }()
	start := time.Now()
	for s.Stats().Handshaken < nodes {
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("only %d of %d nodes handshaken after 5 minutes", s.Stats().Handshaken, nodes)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "all %d nodes handshaken after %s; observing %d epochs\n", nodes, time.Since(start).Round(time.Second), epochs)
	time.Sleep(time.Duration(epochs) * time.Duration(spe) * slot)

	rec.mu.Lock()
	var hs []estimate.History
	for _, h := range rec.hs {
		hs = append(hs, *h)
	}
	rec.mu.Unlock()
	p := estimate.ParamsFor(n)
	est := map[string]estimate.Estimate{}
	for _, e := range estimate.Network(hs, p) {
		est[e.PeerID] = e
	}
	truth := dn.Truth()
	type row struct{ truth, est, heur int }
	var rows []row
	var errEst, errHeur float64
	sumT, sumE, sumH, inside := 0, 0, 0, 0
	ownN, ownT, ownE, ownH := 0, 0, 0, 0 // nodes estimated from their own subscriptions
	for _, tn := range truth.Nodes {
		e := est[tn.PeerID]
		rows = append(rows, row{tn.Validators, e.Validators, e.Heuristic})
		errEst += math.Abs(float64(e.Validators - tn.Validators))
		errHeur += math.Abs(float64(e.Heuristic - tn.Validators))
		sumT += tn.Validators
		sumE += e.Validators
		sumH += e.Heuristic
		if e.Low <= tn.Validators && tn.Validators <= e.High {
			inside++
		}
		if e.Method == estimate.MethodAggregation {
			ownN++
			ownT += tn.Validators
			ownE += e.Validators
			ownH += e.Heuristic
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].truth < rows[j].truth })
	k := float64(len(truth.Nodes))
	fmt.Printf("devnet: %d nodes, %d validators, %d slots of %s per epoch, %d epochs observed\n\n", nodes, sumT, spe, slot, epochs)
	fmt.Printf("| estimator | per-node MAE | network total (truth %d) | total error |\n|---|---|---|---|\n", sumT)
	fmt.Printf("| valtrack (aggregation likelihood) | %.2f | %d | %+.1f%% |\n", errEst/k, sumE, 100*float64(sumE-sumT)/float64(sumT))
	fmt.Printf("| Valtrack heuristic (short-lived subnet count) | %.2f | %d | %+.1f%% |\n", errHeur/k, sumH, 100*float64(sumH-sumT)/float64(sumT))
	fmt.Printf("\nnodes estimated from their own subscriptions (not on every subnet, not saturated): %d; their total: truth %d, valtrack %d (%+.1f%%), heuristic %d\n",
		ownN, ownT, ownE, 100*float64(ownE-ownT)/math.Max(1, float64(ownT)), ownH)
	fmt.Printf("truth inside valtrack's 95%% range for %d of %d nodes\n", inside, len(truth.Nodes))
	return nil
}
