package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

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

// GET /v1/validators pages through the store nodeValidatorsPage
// validators at a time; the whole answer, however long, must be done in
// nodeValidatorsTimeout (under the server's 60 s write timeout).
const (
	nodeValidatorsPage    = 1000
	nodeValidatorsTimeout = 50 * time.Second
)

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
	f, err := nodeFilter(q)
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
	// Page through the store by index (each page one query bounded by the
	// query timeout) and stream the array, so that the answer is complete
	// however many validators match, in memory bounded by a page. The whole
	// answer is bounded by nodeValidatorsTimeout.
	all, cancelAll := context.WithTimeout(r.Context(), nodeValidatorsTimeout)
	defer cancelAll()
	f.Limit = nodeValidatorsPage
	page := func() ([]registry.Validator, error) {
		pctx, cancel := context.WithTimeout(all, h.rt.QueryTimeout())
		defer cancel()
		vs, err := h.r.Validators(pctx, network, f)
		if err != nil {
			h.rt.Log().Error("SSV /v1/validators failed", "network", network, "from_index", f.FromIndex, "err", err)
		}
		return vs, err
	}
	vs, err := page()
	if err != nil {
		return nodeErr(http.StatusInternalServerError, api.InternalErrorMessage)
	}
	more := func() bool {
		if len(vs) < f.Limit || vs[len(vs)-1].Index == math.MaxUint64 {
			return false
		}
		f.FromIndex = vs[len(vs)-1].Index + 1
		return true
	}
	if len(vs) < f.Limit {
		out := make([]nodeValidator, len(vs))
		for i, v := range vs {
			out[i] = toNode(v)
		}
		return api.WriteJSON(w, r, http.StatusOK, struct {
			Data []nodeValidator `json:"data"`
		}{out})
	}
	body := api.StreamBody(w, r, http.StatusOK, "application/json")
	bw := bufio.NewWriterSize(body, 32<<10)
	sep := `{"data":[`
	for {
		for _, v := range vs {
			b, err := json.Marshal(toNode(v))
			if err != nil {
				return err // before the first write it still answers 500
			}
			bw.WriteString(sep)
			bw.Write(b)
			sep = ","
		}
		if !more() {
			break
		}
		if vs, err = page(); err != nil {
			// The status is sent: cut the connection, so that the client
			// cannot take what it got for the whole answer.
			panic(http.ErrAbortHandler)
		}
	}
	bw.WriteString("]}\n") // sep is ",": the first page was full
	// Write errors mean the client went away; there is nobody to tell.
	_ = bw.Flush()
	return body.Close()
}

// toNode is v as the node lists it.
func toNode(v registry.Validator) nodeValidator {
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
	return nv
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

// nodeFilter reads the node's filters.
// The node deletes a removed validator's share: removed validators are
// left out.
func nodeFilter(q api.Query) (registry.ValidatorFilter, error) {
	f := registry.ValidatorFilter{NotRemoved: true}
	var err error
	if f.BeaconIndices, err = parseIndices(q.Get("indices")); err != nil {
		return f, err
	}
	if q.Has("owners") {
		items, err := splitList("owners", q.Get("owners"))
		if err != nil {
			return f, err
		}
		for _, it := range items {
			a, err := parseAddress("owners", it)
			if err != nil {
				return f, err
			}
			f.Owners = append(f.Owners, a)
		}
	}
	if f.Operators, err = parseIDs("operators", q.Get("operators")); err != nil {
		return f, err
	}
	if f.Clusters, err = clusterList("clusters", q.Get("clusters")); err != nil {
		return f, err
	}
	if f.Subclusters, err = clusterList("subclusters", q.Get("subclusters")); err != nil {
		return f, err
	}
	if q.Has("pubkeys") {
		items, err := splitList("pubkeys", q.Get("pubkeys"))
		if err != nil {
			return f, err
		}
		for _, it := range items {
			k, err := parsePublicKey("pubkeys", it)
			if err != nil {
				return f, err
			}
			f.PublicKeys = append(f.PublicKeys, k)
		}
	}
	return f, nil
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
