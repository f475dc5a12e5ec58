package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// request is the common start of the /api/v1/ssv/{network} handlers: the
// parsed query, a context bounded by the query timeout (cancel is never
// nil) and the resolved network.
func (h *handlers) request(r *http.Request) (api.Query, context.Context, context.CancelFunc, string, error) {
	ctx, cancel := h.rt.QueryContext(r)
	q, err := api.ParseQuery(r)
	if err != nil {
		return q, ctx, cancel, "", err
	}
	network, err := h.nets.Resolve(ctx, r)
	return q, ctx, cancel, network, err
}

func ok(w http.ResponseWriter, r *http.Request, v any) error {
	return api.WriteJSON(w, r, http.StatusOK, v)
}

// Sync states: the registry has no sync status of the network yet (its
// sentry has not reached an RPC endpoint, or not reported); else the
// status's mode (history, live).
const stateConnecting = "connecting"

// syncView is registry.Sync with the lag behind the head, whether
// anything is synced and the state. Its times are null while unknown,
// not the zero time.
type syncView struct {
	Synced bool   `json:"synced"`
	State  string `json:"state"`
	*registry.Sync
	Lag uint64 `json:"lag"`
	// These shadow registry.Sync's (a field of the outer struct wins in
	// encoding/json).
	LastBlockTime *time.Time `json:"last_block_time"`
	StatusAt      *time.Time `json:"status_at"`
	// LastError is, while connecting, the latest error of this process's
	// sentry's first failing endpoint, after its URL as domain.ShowURL
	// shows it; absent otherwise.
	LastError string `json:"last_error,omitempty"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (h *handlers) newSyncView(network string, s *registry.Sync) syncView {
	v := syncView{Synced: s != nil, Sync: s}
	if s == nil {
		v.Sync = &registry.Sync{Network: network}
	}
	s = v.Sync
	if s.Endpoints == nil {
		s.Endpoints = []registry.Endpoint{}
	}
	v.LastBlockTime, v.StatusAt = timeOrNil(s.LastBlockTime), timeOrNil(s.StatusAt)
	if s.Head > s.LastBlock {
		v.Lag = s.Head - s.LastBlock
	}
	v.State = s.Mode
	if !s.StatusAt.IsZero() && s.Mode != "" {
		return v
	}
	// No status from the sentry yet: what this process knows instead.
	v.State = stateConnecting
	if h.o.Pending == nil {
		return v
	}
	p := h.o.Pending(network)
	if p == nil {
		return v
	}
	if s.Contract == "" {
		s.Contract = p.Contract
	}
	if len(s.Endpoints) == 0 {
		for _, e := range p.Endpoints {
			s.Endpoints = append(s.Endpoints, registry.Endpoint{Name: e.Name, Error: e.Error})
		}
	}
	for _, e := range p.Endpoints {
		if e.Error != "" {
			v.LastError = e.URL + ": " + e.Error
			break
		}
	}
	return v
}

func (h *handlers) handleSummary(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	c, err := h.r.Counts(ctx, network)
	if err != nil {
		return fmt.Errorf("counts of %s: %w", network, err)
	}
	if c.ByStatus == nil {
		c.ByStatus = map[string]int{}
	}
	if c.ClusterSizes == nil {
		c.ClusterSizes = map[int]int{}
	}
	s, err := h.r.Sync(ctx, network)
	if err != nil {
		return fmt.Errorf("sync state of %s: %w", network, err)
	}
	return ok(w, r, struct {
		Network string `json:"network"`
		registry.Counts
		Sync syncView `json:"sync"`
	}{network, c, h.newSyncView(network, s)})
}

func (h *handlers) handleOperators(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	from, to, err := idRange(q)
	if err != nil {
		return err
	}
	limit, err := q.IntRange("limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	ops, err := h.r.Operators(ctx, network, from, to, limit)
	if err != nil {
		return fmt.Errorf("operators of %s: %w", network, err)
	}
	if ops == nil {
		ops = []registry.Operator{}
	}
	return ok(w, r, struct {
		Operators []registry.Operator `json:"operators"`
	}{ops})
}

func (h *handlers) handleOperator(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	id, err := parseID("id", r.PathValue("id"))
	if err != nil {
		return err
	}
	op, err := h.r.Operator(ctx, network, id)
	if err != nil {
		return fmt.Errorf("operator %d of %s: %w", id, network, err)
	}
	if op == nil {
		return api.NotFound("id", "no operator %d on %s", id, network)
	}
	return ok(w, r, op)
}

func (h *handlers) handleValidators(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	f, err := validatorFilter(q)
	if err != nil {
		return err
	}
	vs, err := h.r.Validators(ctx, network, f)
	if err != nil {
		return fmt.Errorf("validators of %s: %w", network, err)
	}
	if vs == nil {
		vs = []registry.Validator{}
	}
	return ok(w, r, struct {
		Validators []registry.Validator `json:"validators"`
	}{vs})
}

func (h *handlers) handleValidator(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	key, err := parsePublicKey("pubkey", r.PathValue("pubkey"))
	if err != nil {
		return err
	}
	vs, err := h.r.ValidatorsByKey(ctx, network, key)
	if err != nil {
		return fmt.Errorf("validator %s of %s: %w", key, network, err)
	}
	if len(vs) == 0 {
		return api.NotFound("pubkey", "no validator %s registered on %s", key, network)
	}
	if len(vs) > maxLimit {
		vs = vs[:maxLimit]
	}
	return ok(w, r, struct {
		PublicKey     string               `json:"public_key"`
		Registrations []registry.Validator `json:"registrations"`
	}{key, vs})
}

func (h *handlers) handleClusters(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	limit, err := q.IntRange("limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	after, err := clusterAfter(q)
	if err != nil {
		return err
	}
	cs, err := h.r.Clusters(ctx, network, registry.ClusterFilter{After: after, Limit: limit})
	if err != nil {
		return fmt.Errorf("clusters of %s: %w", network, err)
	}
	if cs == nil {
		cs = []registry.Cluster{}
	}
	return ok(w, r, struct {
		Clusters []registry.Cluster `json:"clusters"`
	}{cs})
}

func (h *handlers) handleOwnerClusters(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	owner, err := parseAddress("owner", r.PathValue("owner"))
	if err != nil {
		return err
	}
	limit, err := q.IntRange("limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	after, err := clusterAfter(q)
	if err != nil {
		return err
	}
	cs, err := h.r.Clusters(ctx, network, registry.ClusterFilter{Owner: owner, After: after, Limit: limit})
	if err != nil {
		return fmt.Errorf("clusters of %s on %s: %w", owner, network, err)
	}
	if len(cs) == 0 && after == "" {
		return api.NotFound("owner", "%s has no clusters on %s", owner, network)
	}
	return ok(w, r, struct {
		Owner    string             `json:"owner"`
		Clusters []registry.Cluster `json:"clusters"`
	}{owner, cs})
}

func (h *handlers) handleOwner(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	addr, err := parseAddress("address", r.PathValue("address"))
	if err != nil {
		return err
	}
	o, err := h.r.Owner(ctx, network, addr)
	if err != nil {
		return fmt.Errorf("owner %s on %s: %w", addr, network, err)
	}
	cs, err := h.r.Clusters(ctx, network, registry.ClusterFilter{Owner: addr, Limit: maxLimit})
	if err != nil {
		return fmt.Errorf("clusters of %s on %s: %w", addr, network, err)
	}
	if o == nil && len(cs) == 0 {
		return api.NotFound("address", "%s is not an owner on %s", addr, network)
	}
	if o == nil {
		o = &registry.Owner{Address: addr}
	}
	if cs == nil {
		cs = []registry.Cluster{}
	}
	return ok(w, r, struct {
		*registry.Owner
		Clusters []registry.Cluster `json:"clusters"`
	}{o, cs})
}

func (h *handlers) handleSync(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	_, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	s, err := h.r.Sync(ctx, network)
	if err != nil {
		return fmt.Errorf("sync state of %s: %w", network, err)
	}
	return ok(w, r, h.newSyncView(network, s))
}

func (h *handlers) handleInvalid(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	return h.newestFirst(w, r, "invalid registrations", func(ctx context.Context, network string, f registry.InvalidFilter) (any, error) {
		inv, err := h.r.Invalid(ctx, network, f)
		if inv == nil {
			inv = []registry.Invalid{}
		}
		return struct {
			Invalid []registry.Invalid `json:"invalid"`
		}{inv}, err
	})
}

func (h *handlers) handleSkipped(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	return h.newestFirst(w, r, "skipped logs", func(ctx context.Context, network string, f registry.SkippedFilter) (any, error) {
		sk, err := h.r.Skipped(ctx, network, f)
		if sk == nil {
			sk = []registry.Skipped{}
		}
		return struct {
			Skipped []registry.Skipped `json:"skipped"`
		}{sk}, err
	})
}

// newestFirst serves a list of logged items newest first, paged by limit
// and before (BLOCK or BLOCK:LOG_INDEX of the previous page's last item).
func (h *handlers) newestFirst(w http.ResponseWriter, r *http.Request, what string, list func(context.Context, string, registry.InvalidFilter) (any, error)) error {
	q, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		return err
	}
	limit, err := q.IntRange("limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	block, logIndex, err := placeBefore(q)
	if err != nil {
		return err
	}
	body, err := list(ctx, network, registry.InvalidFilter{BeforeBlock: block, BeforeLogIndex: logIndex, Limit: limit})
	if err != nil {
		return fmt.Errorf("%s of %s: %w", what, network, err)
	}
	return ok(w, r, body)
}
