package sentry

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// HTTP answers that come but cannot be read are counted by chain,
// endpoint, method and kind; the sentry goes on polling.
func TestMalformedRPCAnswersCounted(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status":
			switch calls.Add(1) % 3 {
			case 1:
				fmt.Fprint(w, "<html>not json</html>")
			case 2:
				fmt.Fprint(w, `{"jsonrpc":"2.0","id":-1,"result":{"sync_info":{"latest_block_height":{"x":1}}}}`)
			default:
				fmt.Fprint(w, `{"jsonrpc":"2.0","id":-1}`)
			}
		default:
			http.NotFound(w, r) // an HTTP error is not a malformed answer
		}
	}))
	t.Cleanup(srv.Close)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, srv.URL))
	ep := strings.TrimPrefix(srv.URL, "http://")
	count := func(kind string) float64 {
		return testutil.ToFloat64(s.m.malformed.WithLabelValues("test-1", ep, "status", kind))
	}
	waitFor(t, "every kind counted", func() bool {
		return count("not_json") >= 2 && count("wrong_shape") >= 2 && count("no_result") >= 2
	})
	if n := testutil.CollectAndCount(s.m.malformed); n != 3 {
		t.Errorf("%d series, want 3 (status × not_json, wrong_shape, no_result)", n)
	}
}
