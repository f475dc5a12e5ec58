package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// networkRequest is the common start of the /api/v1/ethereum/{network}
// handlers: the parsed query, a context bounded by the query timeout (cancel
// is never nil) and the resolved network.
func (h *handlers) networkRequest(r *http.Request) (api.Query, context.Context, context.CancelFunc, string, error) {
	ctx, cancel := h.rt.QueryContext(r)
	q, err := api.ParseQuery(r)
	if err != nil {
		return q, ctx, cancel, "", err
	}
	network, err := h.nets.Resolve(ctx, r)
	return q, ctx, cancel, network, err
}

func (h *handlers) handleValidators(w http.ResponseWriter, r *http.Request, c api.Caller) error {
	q, err := api.ParseQuery(r)
	if err != nil {
		return err
	}
	from, to, err := q.TimeRange()
	if err != nil {
		return err
	}
	if to.IsZero() {
		to = time.Now().UTC()
	}
	if from.IsZero() {
		from = to.Add(-defaultValidatorsSpan)
	}
	if from.After(to) {
		return api.BadParam("from", "from must not be after to (to defaults to now)")
	}
	key := api.CacheKey("validators", c.Admin, q, "from", "to")
	body, err := h.rt.Cache().Get(r.Context(), key, func() ([]byte, error) {
		ctx, cancel := h.rt.DetachedContext(r)
		defer cancel()
		peers, err := h.st.ValidatorNodes(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("list validator nodes: %w", err)
		}
		rows := make([]validatorRow, 0, len(peers))
		for i := range peers {
			rows = append(rows, newValidatorRow(&peers[i], c.Admin))
		}
		return api.MarshalJSON(rows)
	})
	if err != nil {
		return err
	}
	api.WriteBody(w, r, http.StatusOK, "application/json", body)
	return nil
}

func (h *handlers) peerFilter(q api.Query, network string) (state.PeerFilter, error) {
	f := state.PeerFilter{Network: network}
	var err error
	if f.Client, err = q.Str("client", maxClientLen); err != nil {
		return f, err
	}
	if cc := q.Get("country"); cc != "" {
		if !countryRE.MatchString(cc) {
			return f, api.BadParam("country", "country must be a two-letter ISO 3166-1 code such as DE")
		}
		f.CountryCode = strings.ToUpper(cc)
	}
	if f.ASN, err = q.ASN("asn"); err != nil {
		return f, err
	}
	if q.Has("subnet") {
		n, err := q.IntRange("subnet", 0, 0, attestationSubnets-1)
		if err != nil {
			return f, err
		}
		f.Subnet = &n
	}
	if f.MinValidators, err = q.NonNegInt("min_validators"); err != nil {
		return f, err
	}
	if f.SeenFrom, f.SeenTo, err = q.TimeRange(); err != nil {
		return f, err
	}
	if f.OnlyHandshaken, err = q.Bool("handshaken"); err != nil {
		return f, err
	}
	if f.Limit, err = q.IntRange("limit", defaultLimit, 1, maxLimit); err != nil {
		return f, err
	}
	if f.Cursor, err = q.Str("cursor", maxCursorLen); err != nil {
		return f, err
	}
	return f, nil
}

func (h *handlers) handlePeers(w http.ResponseWriter, r *http.Request, c api.Caller) error {
	q, ctx, cancel, network, err := h.networkRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	f, err := h.peerFilter(q, network)
	if err != nil {
		return err
	}
	key := api.CacheKey("peers|"+network, c.Admin, q, "client", "country", "asn", "subnet",
		"min_validators", "from", "to", "handshaken", "limit", "cursor")
	body, err := h.rt.Cache().Get(ctx, key, func() ([]byte, error) {
		ctx, cancel := h.rt.DetachedContext(r)
		defer cancel()
		page, err := h.st.ListPeers(ctx, f)
		// Every other filter field was validated above, so a filter the store
		// refuses is the cursor.
		if errors.Is(err, state.ErrInvalidFilter) && f.Cursor != "" {
			return nil, api.BadParam("cursor", "cursor is not one this API returned; start again without it")
		}
		if err != nil {
			return nil, fmt.Errorf("list peers of %s: %w", network, err)
		}
		resp := peersResponse{Peers: make([]peerView, 0, len(page.Peers)), NextCursor: page.NextCursor}
		for i := range page.Peers {
			resp.Peers = append(resp.Peers, newPeerView(&page.Peers[i], c.Admin))
		}
		return api.MarshalJSON(resp)
	})
	if err != nil {
		return err
	}
	api.WriteBody(w, r, http.StatusOK, "application/json", body)
	return nil
}

func (h *handlers) handlePeer(w http.ResponseWriter, r *http.Request, c api.Caller) error {
	q, ctx, cancel, network, err := h.networkRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	limit, err := q.IntRange("history_limit", defaultHistory, 1, maxHistoryLimit)
	if err != nil {
		return err
	}
	id := r.PathValue("peer_id")
	unknown := api.NotFound("peer_id", "unknown peer in this network")
	if !peerIDRE.MatchString(id) {
		return unknown
	}
	d, err := h.st.GetPeer(ctx, network, id, limit)
	if errors.Is(err, state.ErrNotFound) {
		return unknown
	}
	if err != nil {
		return fmt.Errorf("get peer of %s: %w", network, err)
	}
	return api.WriteJSON(w, r, http.StatusOK, newPeerDetail(d, c.Admin))
}

func (h *handlers) handleStats(w http.ResponseWriter, r *http.Request, _ api.Caller) error {
	q, ctx, cancel, network, err := h.networkRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	window, err := q.Window("window")
	if err != nil {
		return err
	}
	since := time.Now().Add(-window)
	st, err := h.st.Stats(ctx, network, since)
	if err != nil {
		return fmt.Errorf("stats of %s: %w", network, err)
	}
	return api.WriteJSON(w, r, http.StatusOK, newStats(st, window, since))
}
