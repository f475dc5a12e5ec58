package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/safe"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// nodeValidator is one entry of the SSV node's GET /v1/validators. The
// beacon-chain fields (index, status, activation_epoch, exit_epoch) are
// the beacon node's where --ssv-beacon gives one and it knows the key;
// otherwise index and epochs are zero and status is the registry's
// (active, exited). graffiti, quorum and partial_quorum are empty, as the
// node leaves them. public_key and owner are bare hex, as the node's hex
// type encodes them.
type nodeValidator struct {
	PublicKey       string   `json:"public_key"`
	Index           uint64   `json:"index"`
	Status          string   `json:"status"`
	ActivationEpoch uint64   `json:"activation_epoch"`
	ExitEpoch       uint64   `json:"exit_epoch"`
	Owner           string   `json:"owner"`
	Committee       []uint64 `json:"committee"`
	Quorum          uint64   `json:"quorum"`
	PartialQuorum   uint64   `json:"partial_quorum"`
	Graffiti        string   `json:"graffiti"`
	Liquidated      bool     `json:"liquidated"`
}

// nodeError is the node's error body.
type nodeError struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// handleNodeValidators is the SSV node's GET /v1/validators, with its
// filters (owners, operators, pubkeys: comma lists; clusters, subclusters:
// space-separated lists of comma-separated operator ids, exact and subset
// match), its answer {"data":[…]} and its error bodies.
func (h *handlers) handleNodeValidators(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	nodeErr := func(status int, msg string) error {
		text := http.StatusText(status)
		if status == http.StatusNotFound {
			text = "Resource not found."
		}
		return api.WriteJSON(w, r, status, nodeError{Status: text, Error: msg})
	}
	if r.PathValue("network") == "" {
		n, err := h.single(r.URL.Path, "/node"+r.URL.Path)
		if err != nil {
			ae, _ := api.AsError(err)
			return nodeErr(http.StatusNotFound, ae.Message)
		}
		r.SetPathValue("network", n)
	}
	q, ctx, cancel, network, err := h.request(r)
	defer cancel()
	if err != nil {
		if ae, ok := api.AsError(err); ok {
			return nodeErr(ae.Status, ae.Message)
		}
		return err
	}
	f, subclusters, err := nodeFilter(q)
	if err != nil {
		ae, _ := api.AsError(err)
		return nodeErr(http.StatusBadRequest, ae.Message)
	}
	if len(f.BeaconIndices) > 0 {
		has, err := h.r.HasBeacon(ctx, network)
		if err != nil {
			h.rt.Log().Error("SSV /v1/validators failed", "network", network, "err", err)
			return nodeErr(http.StatusInternalServerError, api.InternalErrorMessage)
		}
		if !has {
			return nodeErr(http.StatusBadRequest, "indices: valtrack has no beacon-chain data for network "+network+
				"; start it with --ssv-beacon URL (a beacon node), or filter by pubkeys, owners, operators or clusters")
		}
	}
	if len(subclusters) > 0 && len(f.Operators) == 0 {
		// A validator of a subcluster has its first operator: read those,
		// then keep the ones with the whole subcluster.
		for _, sc := range subclusters {
			if !slices.Contains(f.Operators, sc[0]) {
				f.Operators = append(f.Operators, sc[0])
			}
		}
	}
	vs, err := h.r.Validators(ctx, network, f)
	if err != nil {
		h.rt.Log().Error("SSV /v1/validators failed", "network", network, "err", err)
		return nodeErr(http.StatusInternalServerError, api.InternalErrorMessage)
	}
	out := make([]nodeValidator, 0, len(vs))
	for _, v := range vs {
		if v.Status == registry.StatusRemoved {
			continue // the node deletes a removed validator's share
		}
		if len(subclusters) > 0 && !slices.ContainsFunc(subclusters, func(sc []uint64) bool { return subset(sc, v.OperatorIDs) }) {
			continue
		}
		committee := v.OperatorIDs
		if committee == nil {
			committee = []uint64{}
		}
		nv := nodeValidator{
			PublicKey:  strings.TrimPrefix(strings.ToLower(v.PublicKey), "0x"),
			Status:     v.Status,
			Owner:      strings.TrimPrefix(strings.ToLower(v.Owner), "0x"),
			Committee:  committee,
			Liquidated: v.Liquidated,
		}
		if b := v.Beacon; b != nil {
			nv.Index, nv.Status, nv.ActivationEpoch, nv.ExitEpoch = b.Index, b.Status, b.ActivationEpoch, b.ExitEpoch
		}
		out = append(out, nv)
	}
	return api.WriteJSON(w, r, http.StatusOK, struct {
		Data []nodeValidator `json:"data"`
	}{out})
}

// parseIndices reads the node's indices filter: beacon-chain validator
// indices, from 0.
func parseIndices(s string) ([]uint64, error) {
	items, err := splitList("indices", s)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, 0, len(items))
	for _, it := range items {
		n, err := strconv.ParseUint(strings.TrimSpace(it), 10, 64)
		if err != nil {
			return nil, api.BadParam("indices", "indices must be comma-separated validator indices (e.g. 0,17,4242); %q is not one", safe.String(it, 40))
		}
		out = append(out, n)
	}
	return out, nil
}

func subset(sub, set []uint64) bool {
	for _, id := range sub {
		if !slices.Contains(set, id) {
			return false
		}
	}
	return true
}

// nodeFilter reads the node's filters.
func nodeFilter(q api.Query) (registry.ValidatorFilter, [][]uint64, error) {
	f := registry.ValidatorFilter{Limit: maxNodeValidators}
	var err error
	if f.BeaconIndices, err = parseIndices(q.Get("indices")); err != nil {
		return f, nil, err
	}
	if q.Has("owners") {
		items, err := splitList("owners", q.Get("owners"))
		if err != nil {
			return f, nil, err
		}
		for _, it := range items {
			a, err := parseAddress("owners", it)
			if err != nil {
				return f, nil, err
			}
			f.Owners = append(f.Owners, a)
		}
	}
	if f.Operators, err = parseIDs("operators", q.Get("operators")); err != nil {
		return f, nil, err
	}
	if f.Clusters, err = clusterList("clusters", q.Get("clusters")); err != nil {
		return f, nil, err
	}
	sub, err := clusterList("subclusters", q.Get("subclusters"))
	if err != nil {
		return f, nil, err
	}
	if q.Has("pubkeys") {
		items, err := splitList("pubkeys", q.Get("pubkeys"))
		if err != nil {
			return f, nil, err
		}
		for _, it := range items {
			k, err := parsePublicKey("pubkeys", it)
			if err != nil {
				return f, nil, err
			}
			f.PublicKeys = append(f.PublicKeys, k)
		}
	}
	return f, sub, nil
}

// clusterList reads a space-separated list of comma-separated operator-id
// lists ("1,2,3,4 5,6,7,8"; a + in a URL is a space).
func clusterList(param, s string) ([][]uint64, error) {
	if len(s) > maxParamLen {
		return nil, api.BadParam(param, "%s must be at most %d characters", param, maxParamLen)
	}
	var out [][]uint64
	for _, part := range strings.Fields(s) {
		if len(out) == maxListItems {
			return nil, api.BadParam(param, "%s lists at most %d clusters", param, maxListItems)
		}
		c, err := parseCluster(param, part)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
