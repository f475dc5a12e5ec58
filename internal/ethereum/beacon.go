package ethereum

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/safe"
)

// checkBeaconURL refuses a --eth-beacon-api that is not an http(s) URL
// with a host, before anything starts.
func checkBeaconURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--eth-beacon-api: give the beacon node's http(s)://host:port URL (an API key may be in its path or query), e.g. http://127.0.0.1:5052")
	}
	return nil
}

// activeValidators asks a beacon API for the number of active validators:
// the committees of the current epoch hold every active validator once.
// The node must be on the network: its genesis validators root is
// compared with root first (one URL serves every --eth network, and a
// count from another network would skew every estimate). Errors never
// hold the URL's secrets (API keys in the path or query).
func activeValidators(ctx context.Context, baseURL string, root [32]byte) (n uint64, err error) {
	secrets := safe.URLSecrets(baseURL)
	defer func() { err = safe.Scrub(err, secrets) }()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var genesis struct {
		Data struct {
			Root string `json:"genesis_validators_root"`
		} `json:"data"`
	}
	if err := beaconGet(ctx, baseURL, "eth/v1/beacon/genesis", 1<<16, &genesis); err != nil {
		return 0, err
	}
	if want := "0x" + hex.EncodeToString(root[:]); !strings.EqualFold(genesis.Data.Root, want) {
		return 0, fmt.Errorf("the beacon node is on another network: genesis validators root %s, this network's %s", safe.String(genesis.Data.Root, 80), want)
	}
	var body struct {
		Data []struct {
			Validators []json.RawMessage `json:"validators"`
		} `json:"data"`
	}
	// Mainnet's answer is a few tens of MB; bound it well above that.
	if err := beaconGet(ctx, baseURL, "eth/v1/beacon/states/head/committees", 256<<20, &body); err != nil {
		return 0, err
	}
	for _, c := range body.Data {
		n += uint64(len(c.Validators))
	}
	if n == 0 {
		return 0, fmt.Errorf("beacon API returned no committees")
	}
	return n, nil
}

// beaconGet decodes the JSON answer of GET base/path (the path appended
// to the URL's own, so that an API key in it stays before, the query
// kept), read up to max bytes.
func beaconGet(ctx context.Context, base, path string, max int64, out any) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("beacon API URL: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.JoinPath(path).String(), nil)
	if err != nil {
		return fmt.Errorf("beacon API request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("beacon API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("beacon API answered %s for /%s", resp.Status, path)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, max)).Decode(out); err != nil {
		return fmt.Errorf("beacon API /%s: %w", path, err)
	}
	return nil
}
