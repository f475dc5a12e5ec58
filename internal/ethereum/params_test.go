package ethereum

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestActiveValidatorsFromBeaconAPI: the count is the number of validators
// in the head state's committees (each active validator sits in one), from
// a node on the network (its genesis validators root); the URL's path and
// query (an API key) are kept in the request and kept out of errors.
func TestActiveValidatorsFromBeaconAPI(t *testing.T) {
	const key = "0123456789abcdef0123456789abcdef"
	var root [32]byte
	root[0], root[31] = 0x4b, 0x95
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v3/"+key+"/") || r.URL.Query().Get("apikey") != "qsecret" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, "/v3/"+key) {
		case "/eth/v1/beacon/genesis":
			_, _ = w.Write([]byte(`{"data":{"genesis_time":"1606824023","genesis_validators_root":"0x4b00000000000000000000000000000000000000000000000000000000000095","genesis_fork_version":"0x00000000"}}`))
		case "/eth/v1/beacon/states/head/committees":
			_, _ = w.Write([]byte(`{"execution_optimistic":false,"data":[{"index":"0","slot":"1","validators":["1","2","3"]},{"index":"1","slot":"1","validators":["4","5"]}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	base := srv.URL + "/v3/" + key + "/?apikey=qsecret"
	n, err := activeValidators(context.Background(), base, root)
	if err != nil || n != 5 {
		t.Fatalf("active validators = %d, %v; want 5", n, err)
	}
	var other [32]byte
	other[0] = 1
	_, err = activeValidators(context.Background(), base, other)
	if err == nil || !strings.Contains(err.Error(), "another network") {
		t.Fatalf("a node of another network: %v", err)
	}
	for _, bad := range []string{srv.URL + "/v3/" + key + "/nothing-here?apikey=qsecret", srv.URL + "/v3/" + key + "/?apikey=wrongsecret", "http://127.0.0.1:1/v3/" + key + "?apikey=qsecret"} {
		_, err := activeValidators(context.Background(), bad, root)
		if err == nil {
			t.Fatalf("%s: no error", bad)
		}
		if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "secret") {
			t.Fatalf("the error holds the URL's key: %v", err)
		}
	}
	if checkBeaconURL("127.0.0.1:5052") == nil || checkBeaconURL("ftp://x") == nil || checkBeaconURL("http://127.0.0.1:5052") != nil {
		t.Fatal("checkBeaconURL accepts or refuses the wrong URLs")
	}
}
