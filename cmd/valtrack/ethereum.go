package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
)

func ethFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "eth", Usage: "Ethereum network: " + strings.Join(network.Builtin(), ", ") + ", or a DIR with config.yaml, bootstrap_nodes.txt and genesis.json (as `valtrack devnet ethereum` writes); repeatable", Sources: env("eth")},
		&cli.StringFlag{Name: "eth-beacon-api", Usage: "beacon node REST API URL, used for the network's active validator count (else the network's known figure)", Sources: env("eth-beacon-api")},
		&cli.StringFlag{Name: "sentry-id", Usage: "this sentry's id in events (default: hostname)", Sources: env("sentry-id")},
		&cli.StringFlag{Name: "sentry-location", Usage: "this sentry's location in events, e.g. eu-central", Sources: env("sentry-location")},
		&cli.StringFlag{Name: "p2p-ip", Value: "0.0.0.0", Usage: "IP the sentry's discv5 and libp2p listen on", Sources: env("p2p-ip")},
		&cli.IntFlag{Name: "p2p-port", Value: 9000, Usage: "UDP port (discv5), TCP port (libp2p) and UDP port+1 (QUIC); 0 picks free ports", Sources: env("p2p-port")},
		&cli.IntFlag{Name: "dial-workers", Value: 32, Usage: "concurrent outbound dials", Sources: env("dial-workers")},
	}
}

// loadNetworks loads every --eth network (default: mainnet).
func loadNetworks(cmd *cli.Command, def string) ([]*network.Network, error) {
	names := cmd.StringSlice("eth")
	if len(names) == 0 && def != "" {
		names = []string{def}
	}
	var out []*network.Network
	seen := map[string]bool{}
	for _, n := range names {
		net, err := network.Load(n)
		if err != nil {
			return nil, fmt.Errorf("--eth %s: %w", n, err)
		}
		if seen[net.Name] {
			return nil, fmt.Errorf("--eth %s: network %q given twice", n, net.Name)
		}
		seen[net.Name] = true
		out = append(out, net)
	}
	return out, nil
}

// activeValidators asks a beacon API for the number of active validators:
// the committees of the current epoch hold every active validator once.
func activeValidators(ctx context.Context, baseURL string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/eth/v1/beacon/states/head/committees", nil)
	if err != nil {
		return 0, fmt.Errorf("beacon API request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("beacon API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("beacon API answered %s for /eth/v1/beacon/states/head/committees", resp.Status)
	}
	var body struct {
		Data []struct {
			Validators []json.RawMessage `json:"validators"`
		} `json:"data"`
	}
	// Mainnet's answer is a few tens of MB; bound it well above that.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&body); err != nil {
		return 0, fmt.Errorf("beacon API committees: %w", err)
	}
	var n uint64
	for _, c := range body.Data {
		n += uint64(len(c.Validators))
	}
	if n == 0 {
		return 0, fmt.Errorf("beacon API returned no committees")
	}
	return n, nil
}

// estimateParams returns the estimator parameters of the networks, with the
// active validator count from --eth-beacon-api when given.
func estimateParams(ctx context.Context, cmd *cli.Command, nets []*network.Network, log *slog.Logger) map[string]estimate.Params {
	out := map[string]estimate.Params{}
	for _, n := range nets {
		p := estimate.ParamsFor(n)
		if url := cmd.String("eth-beacon-api"); url != "" {
			if v, err := activeValidators(ctx, url); err != nil {
				log.Warn("could not read the active validator count from the beacon API; using the network's known figure", "network", n.Name, "err", err)
			} else {
				p.ActiveValidators = v
			}
		}
		if p.ActiveValidators == 0 {
			log.Warn("active validator count unknown: estimates assume a small network; pass --eth-beacon-api", "network", n.Name)
		}
		out[n.Name] = p
	}
	return out
}

func sentryID(cmd *cli.Command) string {
	if id := cmd.String("sentry-id"); id != "" {
		return id
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "valtrack"
	}
	return h
}

// newSentry builds the sentry of one network. Each network gets its own
// directory in the data dir (peerstore, node key) and, when several run in
// one process, its own ports (base port + 10·i).
func newSentry(cmd *cli.Command, n *network.Network, i int, pub sentry.Publisher, reg prometheus.Registerer, log *slog.Logger) (*sentry.Sentry, error) {
	port := int(cmd.Int("p2p-port"))
	if port != 0 {
		port += 10 * i
	}
	quic := 0
	if port != 0 {
		quic = port + 1
	}
	var r prometheus.Registerer = reg
	if reg != nil {
		r = prometheus.WrapRegistererWith(prometheus.Labels{"network": n.Name}, reg)
	}
	return sentry.New(sentry.Config{
		Network:        n,
		DataDir:        filepath.Join(cmd.String("data-dir"), "sentry", n.Name),
		ListenIP:       cmd.String("p2p-ip"),
		DiscPort:       port,
		TCPPort:        port,
		QUICPort:       quic,
		DialWorkers:    int(cmd.Int("dial-workers")),
		SentryID:       sentryID(cmd),
		SentryLocation: cmd.String("sentry-location"),
		Registerer:     r,
		Log:            log,
	}, pub)
}
