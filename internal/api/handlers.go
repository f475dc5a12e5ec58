package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// peerIDRE bounds {peer_id}: libp2p peer ids are base58 (or base32 CIDs),
// around 52 characters.
var peerIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

const defaultValidatorsSpan = 24 * time.Hour

func (s *Server) params(r *http.Request) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, badParam("query", "the query string is malformed: %v", err)
	}
	return query{v}, nil
}

// detachedCtx bounds a query whose result other requests may share: it
// outlives the request that started it, up to the query timeout.
func (s *Server) detachedCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), s.o.QueryTimeout)
}

func (s *Server) queryCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.o.QueryTimeout)
}

// networkRequest is the common start of the /api/v1/ethereum/{network}
// handlers: the parsed query, a context bounded by the query timeout (cancel
// is never nil) and the resolved network.
func (s *Server) networkRequest(r *http.Request) (query, context.Context, context.CancelFunc, string, error) {
	ctx, cancel := s.queryCtx(r)
	q, err := s.params(r)
	if err != nil {
		return q, ctx, cancel, "", err
	}
	network, err := s.network(ctx, r)
	return q, ctx, cancel, network, err
}

// network resolves {network} to a known network or a 404.
func (s *Server) network(ctx context.Context, r *http.Request) (string, error) {
	name := r.PathValue("network")
	unknown := notFound("network", "unknown network; GET /api/v1/networks lists the known ones")
	if !networkNameRE.MatchString(name) {
		return "", unknown
	}
	for _, miss := range []bool{false, true} {
		names, _, err := s.networks(ctx, miss)
		if err != nil {
			return "", err
		}
		if _, ok := names[name]; ok {
			return name, nil
		}
	}
	return "", unknown
}

func (s *Server) handleValidators(w http.ResponseWriter, r *http.Request, c caller) error {
	q, err := s.params(r)
	if err != nil {
		return err
	}
	from, to, err := q.timeRange()
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
		return badParam("from", "from must not be after to (to defaults to now)")
	}
	key := cacheKey("validators", c.admin, q, "from", "to")
	body, err := s.cache.get(r.Context(), key, func() ([]byte, error) {
		ctx, cancel := s.detachedCtx(r)
		defer cancel()
		peers, err := s.o.Store.ValidatorNodes(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("list validator nodes: %w", err)
		}
		rows := make([]validatorRow, 0, len(peers))
		for i := range peers {
			rows = append(rows, newValidatorRow(&peers[i], c.admin))
		}
		return marshalJSON(rows)
	})
	if err != nil {
		return err
	}
	s.writeBody(w, r, http.StatusOK, "application/json", body)
	return nil
}

func (s *Server) peerFilter(q query, network string) (state.PeerFilter, error) {
	f := state.PeerFilter{Network: network}
	var err error
	if f.Client, err = q.str("client", maxClientLen); err != nil {
		return f, err
	}
	if cc := q.v.Get("country"); cc != "" {
		if !countryRE.MatchString(cc) {
			return f, badParam("country", "country must be a two-letter ISO 3166-1 code such as DE")
		}
		f.CountryCode = strings.ToUpper(cc)
	}
	if f.ASN, err = q.asn("asn"); err != nil {
		return f, err
	}
	if q.has("subnet") {
		n, err := q.intRange("subnet", 0, 0, attestationSubnets-1)
		if err != nil {
			return f, err
		}
		f.Subnet = &n
	}
	if f.MinValidators, err = q.nonNegInt("min_validators"); err != nil {
		return f, err
	}
	if f.SeenFrom, f.SeenTo, err = q.timeRange(); err != nil {
		return f, err
	}
	if f.OnlyHandshaken, err = q.boolean("handshaken"); err != nil {
		return f, err
	}
	if f.Limit, err = q.intRange("limit", defaultLimit, 1, maxLimit); err != nil {
		return f, err
	}
	if f.Cursor, err = q.str("cursor", maxCursorLen); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) handlePeers(w http.ResponseWriter, r *http.Request, c caller) error {
	q, ctx, cancel, network, err := s.networkRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	f, err := s.peerFilter(q, network)
	if err != nil {
		return err
	}
	key := cacheKey("peers|"+network, c.admin, q, "client", "country", "asn", "subnet",
		"min_validators", "from", "to", "handshaken", "limit", "cursor")
	body, err := s.cache.get(ctx, key, func() ([]byte, error) {
		ctx, cancel := s.detachedCtx(r)
		defer cancel()
		page, err := s.o.Store.ListPeers(ctx, f)
		// Every other filter field was validated above, so a filter the store
		// refuses is the cursor.
		if errors.Is(err, state.ErrInvalidFilter) && f.Cursor != "" {
			return nil, badParam("cursor", "cursor is not one this API returned; start again without it")
		}
		if err != nil {
			return nil, fmt.Errorf("list peers of %s: %w", network, err)
		}
		resp := peersResponse{Peers: make([]peerView, 0, len(page.Peers)), NextCursor: page.NextCursor}
		for i := range page.Peers {
			resp.Peers = append(resp.Peers, newPeerView(&page.Peers[i], c.admin))
		}
		return marshalJSON(resp)
	})
	if err != nil {
		return err
	}
	s.writeBody(w, r, http.StatusOK, "application/json", body)
	return nil
}

func (s *Server) handlePeer(w http.ResponseWriter, r *http.Request, c caller) error {
	q, ctx, cancel, network, err := s.networkRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	limit, err := q.intRange("history_limit", defaultHistory, 1, maxHistoryLimit)
	if err != nil {
		return err
	}
	id := r.PathValue("peer_id")
	unknown := notFound("peer_id", "unknown peer in this network")
	if !peerIDRE.MatchString(id) {
		return unknown
	}
	d, err := s.o.Store.GetPeer(ctx, network, id, limit)
	if errors.Is(err, state.ErrNotFound) {
		return unknown
	}
	if err != nil {
		return fmt.Errorf("get peer of %s: %w", network, err)
	}
	s.writeJSON(w, r, http.StatusOK, newPeerDetail(d, c.admin))
	return nil
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request, _ caller) error {
	q, ctx, cancel, network, err := s.networkRequest(r)
	defer cancel()
	if err != nil {
		return err
	}
	window, err := q.window("window")
	if err != nil {
		return err
	}
	since := time.Now().Add(-window)
	st, err := s.o.Store.Stats(ctx, network, since)
	if err != nil {
		return fmt.Errorf("stats of %s: %w", network, err)
	}
	s.writeJSON(w, r, http.StatusOK, newStats(st, window, since))
	return nil
}

func (s *Server) handleNetworks(w http.ResponseWriter, r *http.Request, _ caller) error {
	ctx, cancel := s.queryCtx(r)
	defer cancel()
	_, list, err := s.networks(ctx, false)
	if err != nil {
		return err
	}
	if list == nil {
		list = []networkView{}
	}
	s.writeJSON(w, r, http.StatusOK, struct {
		Networks []networkView `json:"networks"`
	}{list})
	return nil
}

// healthTimeout bounds the store probe: a health check must answer quickly
// even when the store hangs.
const healthTimeout = 3 * time.Second

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ caller) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	type health struct {
		Status  string `json:"status"`
		Version string `json:"version,omitempty"`
		Error   string `json:"error,omitempty"`
	}
	if err := s.o.Health(ctx); err != nil {
		s.log.Warn("health check: state store unreachable", "err", err)
		s.writeJSON(w, r, http.StatusServiceUnavailable, health{Status: "unavailable", Version: s.o.Version,
			Error: "state store unreachable; see the server log"})
		return nil
	}
	s.writeJSON(w, r, http.StatusOK, health{Status: "ok", Version: s.o.Version})
	return nil
}
