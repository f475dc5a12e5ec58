package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"
)

const (
	networkCacheTTL     = 5 * time.Second
	networkMissRefresh  = 1 * time.Second // an unknown name refreshes at most this often
	maxConfiguredListed = 1000
)

// networkNameRE bounds {network} before any lookup.
var networkNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Networks resolves a domain's {network} path values: the union of the
// networks it is configured with and those its store has data of. The union
// is cached so that resolving does not cost a query per request. It is safe
// for concurrent use.
type Networks struct {
	configured func() []string
	stored     func(context.Context) ([]string, error)
	now        func() time.Time

	mu      sync.Mutex
	at      time.Time
	names   map[string]networkView
	ordered []networkView
}

// networkView is one entry of /api/v1/networks.
type networkView struct {
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	Configured bool   `json:"configured"`
	HasData    bool   `json:"has_data"`
}

// NewNetworks makes a resolver; configured lists the networks the process
// runs (nil: none) and stored those with data (nil: none).
func NewNetworks(configured func() []string, stored func(context.Context) ([]string, error)) *Networks {
	if configured == nil {
		configured = func() []string { return nil }
	}
	if stored == nil {
		stored = func(context.Context) ([]string, error) { return nil, nil }
	}
	return &Networks{configured: configured, stored: stored, now: time.Now}
}

// Resolve returns the request's {network} path value when it names a known
// network, else a 404 naming the parameter network.
func (n *Networks) Resolve(ctx context.Context, r *http.Request) (string, error) {
	name := r.PathValue("network")
	unknown := NotFound("network", "unknown network; GET /api/v1/networks lists the known ones")
	if !networkNameRE.MatchString(name) {
		return "", unknown
	}
	for _, miss := range []bool{false, true} {
		names, _, err := n.list(ctx, miss)
		if err != nil {
			return "", err
		}
		if _, ok := names[name]; ok {
			return name, nil
		}
	}
	return "", unknown
}

// list returns the known networks; miss forces a refresh when the cache is
// older than networkMissRefresh (a network may just have appeared).
func (n *Networks) list(ctx context.Context, miss bool) (map[string]networkView, []networkView, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	age := n.now().Sub(n.at)
	if n.names != nil && age < networkCacheTTL && (!miss || age < networkMissRefresh) {
		return n.names, n.ordered, nil
	}
	stored, err := n.stored(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list networks in the store: %w", err)
	}
	names := make(map[string]networkView)
	var ordered []string
	configured := n.configured()
	if len(configured) > maxConfiguredListed {
		configured = configured[:maxConfiguredListed]
	}
	for _, c := range configured {
		if _, ok := names[c]; !ok {
			ordered = append(ordered, c)
		}
		names[c] = networkView{Name: c, Configured: true}
	}
	for _, s := range stored {
		v, ok := names[s]
		if !ok {
			ordered = append(ordered, s)
		}
		v.Name, v.HasData = s, true
		names[s] = v
	}
	n.ordered = n.ordered[:0:0]
	for _, o := range ordered {
		n.ordered = append(n.ordered, names[o])
	}
	n.names, n.at = names, n.now()
	return n.names, n.ordered, nil
}
