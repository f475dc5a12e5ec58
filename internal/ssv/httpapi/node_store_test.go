package httpapi

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// manyValidators is more than the 10,000 rows GET /v1/validators used to
// stop at.
const manyValidators = 10_250

// manyRegistry is manyValidators registrations: owner A with operators
// 1–4, except that every 500th (from 1) has 1,6,7,9, those above 10,200
// have 5–8, those above 10,100 are owner B's and every 1000th is removed.
func manyRegistry() []registry.Validator {
	vs := make([]registry.Validator, 0, manyValidators)
	for i := uint64(1); i <= manyValidators; i++ {
		v := registry.Validator{Index: i, PublicKey: fmt.Sprintf("0x%096x", i), Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 4},
			ClusterID: "0xc1", Status: registry.StatusActive, AddedBlock: i, UpdatedBlock: i}
		switch {
		case i > 10_200:
			v.OperatorIDs = []uint64{5, 6, 7, 8}
		case i%500 == 1:
			v.OperatorIDs = []uint64{1, 6, 7, 9}
		}
		if i > 10_100 {
			v.Owner = state.NormalAddress(ownerB)
		}
		if i%3 == 0 {
			v.Status = registry.StatusExited
			v.Liquidated = true
		}
		if i%1000 == 0 {
			v.Status = registry.StatusRemoved
		}
		vs = append(vs, v)
	}
	return vs
}

// storeRegistry writes vs into the ssv_validators tables of a migrated db.
func storeRegistry(t testing.TB, db *store.DB, vs []registry.Validator) {
	t.Helper()
	var vrows, orows [][]any
	for _, v := range vs {
		vrows = append(vrows, []any{testNet, v.PublicKey, v.Owner, int64(v.Index), state.JoinIDs(v.OperatorIDs), v.ClusterID, v.Status, v.Liquidated,
			int64(v.AddedBlock), int64(v.UpdatedBlock)})
		for _, id := range v.OperatorIDs {
			orows = append(orows, []any{testNet, int64(id), int64(v.Index)})
		}
	}
	err := db.InTx(context.Background(), "store the test registry", func(tx *sql.Tx) error {
		if err := db.InsertRows(context.Background(), tx, store.Insert{Table: "ssv_validators",
			Cols: []string{"network", "public_key", "owner", "idx", "operator_ids", "cluster_id", "status", "liquidated", "added_block", "updated_block"}}, vrows); err != nil {
			return err
		}
		return db.InsertRows(context.Background(), tx, store.Insert{Table: "ssv_validator_operators",
			Cols: []string{"network", "operator_id", "validator_idx"}}, orows)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNodeValidatorsComplete: over more than 10,000 validators in a real
// store, GET /v1/validators answers every match, removed validators left
// out, in the node's shape (byte for byte what one encoding of the whole
// list gives), with and without gzip.
func TestNodeValidatorsComplete(t *testing.T) {
	vs := manyRegistry()
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t, store.WithMigrations(state.Migrations()))
			storeRegistry(t, db, vs)
			f := newFixtureWith(t, state.New(db), nil, Options{})
			for _, tc := range []struct {
				q    string
				keep func(v registry.Validator) bool
				n    int
			}{
				{"", func(registry.Validator) bool { return true }, manyValidators - 10},
				{"?owners=" + ownerB, func(v registry.Validator) bool { return v.Index > 10_100 }, 150},
				// Two owners: sorted, not read in index order, yet every page in
				// index order and none cut short.
				{"?owners=" + ownerB + "," + ownerA, func(registry.Validator) bool { return true }, manyValidators - 10},
				{"?subclusters=6,7", func(v registry.Validator) bool { return slices.Contains(v.OperatorIDs, 6) }, 50 + 21},
				{"?subclusters=9,1+8,5", func(v registry.Validator) bool { return v.OperatorIDs[3] != 4 }, 50 + 21},
				{"?subclusters=7,9&owners=" + ownerA, func(v registry.Validator) bool { return v.OperatorIDs[3] == 9 }, 21},
				{"?operators=2,9", func(v registry.Validator) bool { return v.OperatorIDs[0] == 1 }, 10_200 - 10},
				{"?clusters=5,6,7,8", func(v registry.Validator) bool { return v.OperatorIDs[0] == 5 }, 50},
				{"?pubkeys=" + vs[10_240].PublicKey, func(v registry.Validator) bool { return v.Index == 10_241 }, 1},
			} {
				var want []nodeValidator
				for _, v := range vs {
					if v.Status != registry.StatusRemoved && tc.keep(v) {
						want = append(want, toNode(v))
					}
				}
				if len(want) != tc.n {
					t.Fatalf("%q: the test expects %d, counted %d", tc.q, tc.n, len(want))
				}
				body, err := api.MarshalJSON(struct {
					Data []nodeValidator `json:"data"`
				}{want})
				if err != nil {
					t.Fatal(err)
				}
				// The test client asks for gzip and decodes it; "identity"
				// gets the plain stream.
				for _, enc := range []string{"", "identity"} {
					code, got := getEncoded(t, f.srv.URL+"/v1/validators"+tc.q, enc)
					if code != http.StatusOK || string(got) != string(body) {
						t.Errorf("%s%q (%s): %d, %d bytes; want the %d validators, %d bytes", name, tc.q, enc, code, len(got), len(want), len(body))
					}
				}
			}
		})
	}
}

func getEncoded(t testing.TB, url, encoding string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, b
}

// failingPages fails every page of validators after the first, or (all)
// every page.
type failingPages struct {
	registry.Reader
	all bool
}

func (r failingPages) Validators(ctx context.Context, network string, f registry.ValidatorFilter) ([]registry.Validator, error) {
	if r.all || f.FromIndex > 0 {
		return nil, errors.New("the store went away")
	}
	return r.Reader.Validators(ctx, network, f)
}

// A store failing after the first page, once the answer has started, cuts
// the connection: the client cannot take part of the list for all of it.
// A failure before anything is written is the node's 500.
func TestNodeValidatorsCutOnFailure(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	storeRegistry(t, db, manyRegistry()[:2*nodeValidatorsPage])
	f := newFixtureWith(t, failingPages{Reader: state.New(db)}, nil, Options{})
	resp, err := http.Get(f.srv.URL + "/v1/validators")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatalf("a failed second page gave a complete answer")
	}
	// Less than a page is answered whole, after the one read.
	code, _, body := apitest.Get(t, f.srv, "/v1/validators?owners="+ownerA+"&subclusters=1,6", "")
	if code != http.StatusOK || strings.Count(string(body), `"public_key"`) != 4 {
		t.Fatalf("under a page: %d %.300s", code, body)
	}
	f = newFixtureWith(t, failingPages{Reader: state.New(db), all: true}, nil, Options{})
	code, _, body = apitest.Get(t, f.srv, "/v1/validators", "")
	if code != http.StatusInternalServerError || string(body) != `{"status":"Internal Server Error","error":"`+api.InternalErrorMessage+`"}`+"\n" {
		t.Fatalf("a failed first page: %d %s", code, body)
	}
}

// TestValidatorsByClusterID: GET …/validators?cluster= takes a cluster id
// as validators and /clusters give it (any case, with or without 0x) and
// lists that cluster's validators only — not another owner's with the
// same operators; an operator-id set names a cluster only with owner=.
// On the fake and on both store dialects.
func TestValidatorsByClusterID(t *testing.T) {
	idA, idB := "0x"+strings.Repeat("a1", 32), "0x"+strings.Repeat("b2", 32)
	vs := []registry.Validator{
		{Index: 1, PublicKey: fmt.Sprintf("0x%096x", 1), Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 4}, ClusterID: idA, Status: registry.StatusActive},
		{Index: 2, PublicKey: fmt.Sprintf("0x%096x", 2), Owner: state.NormalAddress(ownerB), OperatorIDs: []uint64{1, 2, 3, 4}, ClusterID: idB, Status: registry.StatusActive},
		{Index: 3, PublicKey: fmt.Sprintf("0x%096x", 3), Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 4}, ClusterID: idA, Status: registry.StatusExited},
	}
	readers := map[string]func(t *testing.T) registry.Reader{
		"fake": func(t *testing.T) registry.Reader {
			fake := registrytest.New()
			for _, v := range vs {
				fake.PutValidator(testNet, v)
			}
			return fake
		},
	}
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		readers[name] = func(t *testing.T) registry.Reader {
			db := open(t, store.WithMigrations(state.Migrations()))
			storeRegistry(t, db, vs)
			return state.New(db)
		}
	}
	for name, reader := range readers {
		t.Run(name, func(t *testing.T) {
			f := newFixtureWith(t, reader(t), nil, Options{})
			for _, tc := range []struct {
				query string
				want  []uint64
			}{
				{"?cluster=" + idB, []uint64{2}},
				{"?cluster=" + idA, []uint64{1, 3}},
				{"?cluster=" + strings.ToUpper(strings.TrimPrefix(idA, "0x")), []uint64{1, 3}},
				{"?cluster=" + idA + "&status=exited", []uint64{3}},
				{"?cluster=" + "0x" + strings.Repeat("cc", 32), nil},
				{"?cluster=1,2,3,4&owner=" + ownerB, []uint64{2}},
			} {
				var got struct{ Validators []registry.Validator }
				apitest.GetJSON(t, f.srv, base+"/validators"+tc.query, "", http.StatusOK, &got)
				if !eq(indices(got.Validators), tc.want) {
					t.Errorf("validators%s: %v, want %v", tc.query, indices(got.Validators), tc.want)
				}
			}
			apitest.WantError(t, f.srv, base+"/validators?cluster=1,2,3,4", "", http.StatusBadRequest, "cluster")
		})
	}
}
