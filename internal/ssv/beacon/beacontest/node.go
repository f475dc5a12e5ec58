// Package beacontest is a beacon node's validators endpoint on loopback
// for tests: no beacon node runs here, so the answers follow the Beacon
// API's schema (ethereum/beacon-APIs, getStateValidators and
// postStateValidators) for the validators a test puts in.
package beacontest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Validator is what the node knows of one validator.
type Validator struct {
	Index, Balance, ActivationEpoch, ExitEpoch uint64
	Status                                     string
	Slashed                                    bool
}

// Node serves /eth/v1/beacon/states/head/validators.
type Node struct {
	URL string

	mu         sync.Mutex
	validators map[string]Validator // by lower-case 0x public key
	noPost     bool
	fail       bool
	calls      map[string]int // by method
	maxIDs     int            // most ids in one request
}

// New starts a node; it stops at the end of the test.
func New(t testing.TB) *Node {
	n := &Node{validators: map[string]Validator{}, calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(srv.Close)
	n.URL = srv.URL
	return n
}

// Put sets what the node reports for a public key.
func (n *Node) Put(key string, v Validator) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.validators[strings.ToLower(key)] = v
}

// RefusePost makes the node one from before the POST form (405).
func (n *Node) RefusePost() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.noPost = true
}

// Fail makes every request answer 503 (a syncing or overloaded node).
func (n *Node) Fail(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.fail = on
}

// Calls is the number of requests by method.
func (n *Node) Calls(method string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[method]
}

// MaxIDs is the most public keys one request asked for.
func (n *Node) MaxIDs() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.maxIDs
}

func (n *Node) serve(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls[r.Method]++
	if r.URL.Path != "/eth/v1/beacon/states/head/validators" {
		http.Error(w, `{"code":404,"message":"route not found"}`, http.StatusNotFound)
		return
	}
	if n.fail {
		http.Error(w, `{"code":503,"message":"beacon node is currently syncing"}`, http.StatusServiceUnavailable)
		return
	}
	var ids []string
	switch r.Method {
	case http.MethodPost:
		if n.noPost {
			http.Error(w, `{"code":405,"message":"method not allowed"}`, http.StatusMethodNotAllowed)
			return
		}
		var body struct {
			IDs []string `json:"ids"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"code":400,"message":"invalid body"}`, http.StatusBadRequest)
			return
		}
		ids = body.IDs
	case http.MethodGet:
		for _, v := range r.URL.Query()["id"] {
			ids = append(ids, strings.Split(v, ",")...)
		}
	default:
		http.Error(w, `{"code":405,"message":"method not allowed"}`, http.StatusMethodNotAllowed)
		return
	}
	n.maxIDs = max(n.maxIDs, len(ids))
	type entry struct {
		Index     string `json:"index"`
		Balance   string `json:"balance"`
		Status    string `json:"status"`
		Validator struct {
			Pubkey                     string `json:"pubkey"`
			WithdrawalCredentials      string `json:"withdrawal_credentials"`
			EffectiveBalance           string `json:"effective_balance"`
			Slashed                    bool   `json:"slashed"`
			ActivationEligibilityEpoch string `json:"activation_eligibility_epoch"`
			ActivationEpoch            string `json:"activation_epoch"`
			ExitEpoch                  string `json:"exit_epoch"`
			WithdrawableEpoch          string `json:"withdrawable_epoch"`
		} `json:"validator"`
	}
	data := []entry{}
	for _, id := range ids {
		v, ok := n.validators[strings.ToLower(id)]
		if !ok {
			continue // unknown keys are left out, as beacon nodes do
		}
		var e entry
		u := func(x uint64) string { return strconv.FormatUint(x, 10) }
		e.Index, e.Balance, e.Status = u(v.Index), u(v.Balance), v.Status
		e.Validator.Pubkey = strings.ToLower(id)
		e.Validator.WithdrawalCredentials = "0x01" + strings.Repeat("00", 31)
		e.Validator.EffectiveBalance = u(min(v.Balance, 32_000_000_000))
		e.Validator.Slashed = v.Slashed
		e.Validator.ActivationEligibilityEpoch = u(v.ActivationEpoch)
		e.Validator.ActivationEpoch, e.Validator.ExitEpoch = u(v.ActivationEpoch), u(v.ExitEpoch)
		e.Validator.WithdrawableEpoch = u(v.ExitEpoch)
		data = append(data, e)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"execution_optimistic": false, "finalized": false, "data": data})
}
