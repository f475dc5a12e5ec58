package ethereum

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

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
