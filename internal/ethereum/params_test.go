package ethereum

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestActiveValidatorsFromBeaconAPI: the count is the number of validators
// in the head state's committees (each active validator sits in one).
func TestActiveValidatorsFromBeaconAPI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/eth/v1/beacon/states/head/committees" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"execution_optimistic":false,"data":[{"index":"0","slot":"1","validators":["1","2","3"]},{"index":"1","slot":"1","validators":["4","5"]}]}`))
	}))
	defer srv.Close()
	n, err := activeValidators(context.Background(), srv.URL+"/")
	if err != nil || n != 5 {
		t.Fatalf("active validators = %d, %v; want 5", n, err)
	}
	if _, err := activeValidators(context.Background(), srv.URL+"/nothing-here"); err == nil {
		t.Fatal("a 404 from the beacon API must be an error")
	}
}
