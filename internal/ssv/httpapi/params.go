package httpapi

import (
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ssv/exporter"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// Limits of the REST routes' parameters and answers: everything in a path
// or query string comes from an anonymous client.
const (
	defaultLimit = 100
	maxLimit     = 1000
	// maxListItems bounds a comma-separated list (owners, operator ids,
	// public keys, clusters).
	maxListItems = 100
	// maxParamLen bounds a raw list parameter before it is split.
	maxParamLen = 16 << 10
	// maxOperators is the most operators a cluster has.
	maxOperators = 13
)

// parseAddress reads an Ethereum address, 40 hex characters with or
// without 0x, and returns it EIP-55 checksummed (as the registry keeps it).
func parseAddress(param, s string) (string, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	if len(h) != 40 {
		return "", api.BadParam(param, "%s must be an Ethereum address: 40 hex characters, with or without 0x", param)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", api.BadParam(param, "%s must be an Ethereum address: 40 hex characters, with or without 0x", param)
	}
	return common.HexToAddress(h).Hex(), nil
}

// parsePublicKey reads a validator public key, 96 hex characters with or
// without 0x, and returns it 0x and lower-case (as the registry keeps it).
func parsePublicKey(param, s string) (string, error) {
	key, hexOK, sizeOK := exporter.NormalizeKey(strings.TrimSpace(s))
	if !hexOK || !sizeOK {
		return "", api.BadParam(param, "%s must be a validator public key: 48 bytes, 96 hex characters, with or without 0x", param)
	}
	return key, nil
}

// parseID reads an operator id or an index, from 1.
func parseID(param, s string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || n == 0 {
		return 0, api.BadParam(param, "%s must be an integer from 1 to 18446744073709551615", param)
	}
	return n, nil
}

// splitList splits a comma-separated parameter, dropping empty items, at
// most maxListItems.
func splitList(param, s string) ([]string, error) {
	if len(s) > maxParamLen {
		return nil, api.BadParam(param, "%s must be at most %d characters", param, maxParamLen)
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) > maxListItems {
		return nil, api.BadParam(param, "%s lists at most %d items", param, maxListItems)
	}
	return out, nil
}

func parseIDs(param, s string) ([]uint64, error) {
	items, err := splitList(param, s)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, 0, len(items))
	for _, it := range items {
		id, err := parseID(param, it)
		if err != nil {
			return nil, api.BadParam(param, "%s must be comma-separated integers from 1 (e.g. 1,2,3,4); %q is not one", param, it)
		}
		out = append(out, id)
	}
	return out, nil
}

// parseCluster reads one cluster: 1 to 13 distinct operator ids, returned
// sorted.
func parseCluster(param, s string) ([]uint64, error) {
	ids, err := parseIDs(param, s)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > maxOperators {
		return nil, api.BadParam(param, "%s must list 1 to %d operator ids, comma-separated (e.g. 1,2,3,4)", param, maxOperators)
	}
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		return nil, api.BadParam(param, "%s lists an operator id twice", param)
	}
	return ids, nil
}

func parseStatus(param, s string) (string, error) {
	switch s {
	case "", registry.StatusActive, registry.StatusExited, registry.StatusRemoved:
		return s, nil
	}
	return "", api.BadParam(param, "%s must be %s, %s or %s", param, registry.StatusActive, registry.StatusExited, registry.StatusRemoved)
}

// optID reads an optional id parameter (0 when absent).
func optID(q api.Query, name string) (uint64, error) {
	if !q.Has(name) {
		return 0, nil
	}
	return parseID(name, q.Get(name))
}

// idRange reads from/to (ids or indices, inclusive) and rejects from > to.
func idRange(q api.Query) (from, to uint64, err error) {
	if from, err = optID(q, "from"); err != nil {
		return
	}
	if to, err = optID(q, "to"); err != nil {
		return
	}
	if to != 0 && from > to {
		err = api.BadParam("from", "from (%d) must not be above to (%d)", from, to)
	}
	return
}

// validatorFilter reads GET …/validators's parameters.
func validatorFilter(q api.Query) (registry.ValidatorFilter, error) {
	var f registry.ValidatorFilter
	var err error
	if q.Has("owner") {
		items, err := splitList("owner", q.Get("owner"))
		if err != nil {
			return f, err
		}
		for _, it := range items {
			a, err := parseAddress("owner", it)
			if err != nil {
				return f, err
			}
			f.Owners = append(f.Owners, a)
		}
	}
	if f.Operators, err = parseIDs("operator", q.Get("operator")); err != nil {
		return f, err
	}
	if q.Has("cluster") {
		// A cluster is an owner and its operators: the cluster id every
		// validator and /clusters carry names one. An operator-id set names
		// one only with the owner — alone it matches every owner's cluster
		// of those operators.
		s := strings.TrimSpace(q.Get("cluster"))
		if id, ok := clusterID(s); ok {
			f.ClusterIDs = []string{id}
		} else {
			c, err := parseCluster("cluster", s)
			if err != nil {
				return f, api.BadParam("cluster", "cluster must be a cluster id (cluster_id as a validator or /clusters gives it: 64 hex characters, with or without 0x), or, with owner=, the cluster's operator ids comma-separated (e.g. 1,2,3,4)")
			}
			if len(f.Owners) == 0 {
				return f, api.BadParam("cluster", "cluster=%s is an operator-id set, which names a cluster only with its owner: add owner=, or give the cluster id (cluster_id as a validator or /clusters gives it)", s)
			}
			f.Clusters = [][]uint64{c}
		}
	}
	if f.Status, err = parseStatus("status", strings.TrimSpace(q.Get("status"))); err != nil {
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
	if f.FromIndex, f.ToIndex, err = idRange(q); err != nil {
		return f, err
	}
	if f.Limit, err = q.IntRange("limit", defaultLimit, 1, maxLimit); err != nil {
		return f, err
	}
	return f, nil
}

// clusterID reads a cluster id (32 bytes: 64 hex characters, with or
// without 0x), returned 0x and lower-case as the registry keeps it.
func clusterID(s string) (string, bool) {
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if _, err := hex.DecodeString(h); err != nil || len(h) != 64 {
		return "", false
	}
	return "0x" + strings.ToLower(h), true
}

// clusterAfter reads the after parameter of the cluster lists: a cluster
// id (32 bytes, 64 hex characters, with or without 0x), returned 0x and
// lower-case (as the registry keeps it); "" when absent.
func clusterAfter(q api.Query) (string, error) {
	s := strings.TrimSpace(q.Get("after"))
	if s == "" {
		return "", nil
	}
	id, ok := clusterID(s)
	if !ok {
		return "", api.BadParam("after", "after must be a cluster id, 64 hex characters with or without 0x: the last id of the previous page")
	}
	return id, nil
}

// placeBefore reads the before parameter of /invalid and /skipped: BLOCK (what is
// before that block) or BLOCK:LOG_INDEX (the block and log_index of the
// last item of the previous page); 0, 0 when absent.
func placeBefore(q api.Query) (block uint64, logIndex uint, err error) {
	s := strings.TrimSpace(q.Get("before"))
	if s == "" {
		return 0, 0, nil
	}
	bad := api.BadParam("before", "before must be BLOCK or BLOCK:LOG_INDEX (the block and log_index of the last item of the previous page), BLOCK from 1")
	b, l, hasLog := strings.Cut(s, ":")
	if block, err = strconv.ParseUint(b, 10, 64); err != nil || block == 0 {
		return 0, 0, bad
	}
	if !hasLog {
		return block, 0, nil
	}
	li, err := strconv.ParseUint(l, 10, 32)
	if err != nil {
		return 0, 0, bad
	}
	return block, uint(li), nil
}
