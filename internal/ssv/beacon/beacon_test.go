package beacon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/beacon"
	"github.com/valtrack/valtrack/internal/ssv/beacon/beacontest"
)

func key(i int) string { return fmt.Sprintf("0x%096x", i+1) }

// Keys are asked for in POST batches; keys the chain does not know are
// absent; the fields decode.
func TestValidatorsPost(t *testing.T) {
	n := beacontest.New(t)
	var keys []string
	for i := range 1200 {
		keys = append(keys, key(i))
		if i%2 == 0 {
			n.Put(key(i), beacontest.Validator{Index: uint64(1000 + i), Balance: 32_000_000_000 + uint64(i), Status: "active_ongoing",
				ActivationEpoch: 10, ExitEpoch: beacon.FarFutureEpoch})
		}
	}
	n.Put(key(1), beacontest.Validator{Index: 7, Status: "exited_slashed", Slashed: true, ActivationEpoch: 3, ExitEpoch: 90, Balance: 31_000_000_000})
	c, err := beacon.New(n.URL+"/", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.Validators(context.Background(), keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 601 {
		t.Fatalf("%d validators, want the 601 the node knows", len(vs))
	}
	if n.Calls("POST") != 3 || n.Calls("GET") != 0 || n.MaxIDs() != beacon.PostBatch {
		t.Fatalf("POST %d GET %d, largest batch %d: want 3 POSTs of at most %d", n.Calls("POST"), n.Calls("GET"), n.MaxIDs(), beacon.PostBatch)
	}
	by := map[string]beacon.Validator{}
	for _, v := range vs {
		by[v.PublicKey] = v
	}
	if v := by[key(1)]; v.Index != 7 || v.Status != "exited_slashed" || !v.Slashed || v.ExitEpoch != 90 || v.ActivationEpoch != 3 || v.Balance != 31_000_000_000 {
		t.Fatalf("validator %+v", v)
	}
	if v := by[key(4)]; v.Index != 1004 || v.ExitEpoch != beacon.FarFutureEpoch || v.Status != "active_ongoing" {
		t.Fatalf("validator %+v", v)
	}
}

// A node from before the POST form is asked with GET, in small batches,
// from then on.
func TestValidatorsFallBackToGet(t *testing.T) {
	n := beacontest.New(t)
	n.RefusePost()
	var keys []string
	for i := range 70 {
		keys = append(keys, key(i))
		n.Put(key(i), beacontest.Validator{Index: uint64(i), Status: "pending_queued", ActivationEpoch: beacon.FarFutureEpoch, ExitEpoch: beacon.FarFutureEpoch})
	}
	c, err := beacon.New(n.URL, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		vs, err := c.Validators(context.Background(), keys)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 70 {
			t.Fatalf("%d validators, want 70", len(vs))
		}
	}
	if n.Calls("POST") != 1 || n.Calls("GET") != 6 || n.MaxIDs() > beacon.GetBatch {
		t.Fatalf("POST %d GET %d, largest batch %d: want the POST tried once, then GETs of at most %d", n.Calls("POST"), n.Calls("GET"), n.MaxIDs(), beacon.GetBatch)
	}
}

// A failing node's error names it, keeps the URL's secrets out, and says
// what it answered.
func TestValidatorsErrors(t *testing.T) {
	n := beacontest.New(t)
	n.Fail(true)
	c, err := beacon.New(n.URL+"?token=supersecretapikey0123", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Validators(context.Background(), []string{key(0)})
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "syncing") {
		t.Fatalf("err = %v", err)
	}
	for _, s := range []string{"supersecretapikey0123"} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q holds a secret of the URL", err)
		}
	}
	if !strings.Contains(err.Error(), strings.TrimPrefix(n.URL, "http://")) {
		t.Fatalf("error %q does not name the node", err)
	}
	for _, bad := range []string{"", "ftp://x", "localhost:5052", "http://"} {
		if _, err := beacon.New(bad, time.Second); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
}

// Malformed answers are errors, never a panic or a wrong value.
func TestDecodeRefusesMalformed(t *testing.T) {
	good := `{"index":"1","balance":"2","status":"active_ongoing","validator":{"pubkey":"` + key(0) + `","slashed":false,"activation_epoch":"3","exit_epoch":"18446744073709551615"}}`
	for name, body := range map[string]string{
		"not json":        `{"data":[`,
		"short key":       `{"data":[{"index":"1","balance":"2","status":"active_ongoing","validator":{"pubkey":"0x12","activation_epoch":"3","exit_epoch":"4"}}]}`,
		"negative index":  strings.Replace(`{"data":[`+good+`]}`, `"index":"1"`, `"index":"-1"`, 1),
		"numeric index":   strings.Replace(`{"data":[`+good+`]}`, `"index":"1"`, `"index":1`, 1),
		"epoch overflows": strings.Replace(`{"data":[`+good+`]}`, `18446744073709551615`, `18446744073709551616`, 1),
		"status markup":   strings.Replace(`{"data":[`+good+`]}`, `active_ongoing`, `<b>x</b>`, 1),
	} {
		if _, err := beacon.Decode(strings.NewReader(body), 1<<20); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	vs, err := beacon.Decode(strings.NewReader(`{"data":[`+good+`]}`), 1<<20)
	if err != nil || len(vs) != 1 || vs[0].ExitEpoch != beacon.FarFutureEpoch {
		t.Fatalf("good answer: %+v %v", vs, err)
	}
	if _, err := beacon.Decode(strings.NewReader(`{"data":[`+good+`]}`), 100); err == nil || !strings.Contains(err.Error(), "over 100 bytes") {
		t.Fatalf("oversize answer: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"data":[{"index":"1","balance":"2","status":"active_ongoing","validator":{"pubkey":"` + key(0) + `","slashed":true,"activation_epoch":"3","exit_epoch":"4"}}]}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := beacon.Decode(strings.NewReader(string(b)), 1<<16)
		if err != nil {
			return
		}
		for _, v := range vs {
			if len(v.PublicKey) != 98 || v.Status == "" || len(v.Status) > 32 {
				t.Fatalf("accepted %+v", v)
			}
		}
	})
}
