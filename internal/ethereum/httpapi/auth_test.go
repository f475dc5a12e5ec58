package httpapi

import (
	"os"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
)

func TestWrongKeyIsRefusedAndNeverSeesAdminFields(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{
		"/validators",
		"/api/v1/ethereum/testnet/peers",
		"/api/v1/ethereum/testnet/peers/16Uiu2HAmPeerAlpha",
		"/api/v1/ethereum/testnet/stats",
		"/api/v1/networks",
	} {
		for _, key := range []string{keyWrong, keyAlice + "x", keyAlice[:len(keyAlice)-1], strings.Repeat("k", 300)} {
			_, _, body := f.get(path, key)
			e := f.wantError(path, key, 401, apiKeyHeader)
			if strings.Contains(string(body), "192.0.2.") || strings.Contains(string(body), "enr:") {
				t.Errorf("GET %s with a wrong key leaked admin fields: %s", path, body)
			}
			if strings.Contains(e.Error, key) {
				t.Errorf("error message echoes the key: %q", e.Error)
			}
		}
	}
	// No key: the public view, never admin fields.
	_, _, body := f.get("/api/v1/ethereum/testnet/peers", "")
	if strings.Contains(string(body), "192.0.2.") || strings.Contains(string(body), "enr:") {
		t.Errorf("GET peers without a key leaked admin fields: %s", body)
	}
}

func TestKeysFileIsReloadedWhenItChanges(t *testing.T) {
	f := newFixture(t)
	var peers peersResponse
	f.getJSON("/api/v1/ethereum/testnet/peers", keyAlice, 200, &peers)
	if peers.Peers[0].IP == "" {
		t.Fatal("alice's key does not unlock the admin view")
	}
	f.wantError("/api/v1/networks", keyBob, 401, apiKeyHeader)

	// Bob added, alice removed.
	f.writeKeys("bob:" + keyBob + "\n")
	f.getJSON("/api/v1/ethereum/testnet/peers", keyBob, 200, &peers)
	if peers.Peers[0].IP == "" {
		t.Error("the new key does not unlock the admin view after the file changed")
	}
	f.wantError("/api/v1/networks", keyAlice, 401, apiKeyHeader)

	// Rewritten in place with the same size: the recent mtime makes the
	// keyring compare contents.
	same := strings.Replace(keyBob, "bob", "bOb", 1)
	if err := os.WriteFile(f.keyFile, []byte("bob:"+same+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.getJSON("/api/v1/networks", same, 200, nil)
	f.wantError("/api/v1/networks", keyBob, 401, apiKeyHeader)

	// Deleted: every key is revoked.
	if err := os.Remove(f.keyFile); err != nil {
		t.Fatal(err)
	}
	f.wantError("/api/v1/networks", same, 401, apiKeyHeader)
	f.writeKeys(keyAlice + "\n")
	f.getJSON("/api/v1/networks", keyAlice, 200, nil)

	logs := f.logs.String()
	if !strings.Contains(logs, "API keys loaded") || !strings.Contains(logs, "count=1") || !strings.Contains(logs, f.keyFile) {
		t.Errorf("reloads are not logged with count and path:\n%s", logs)
	}
}

func TestNoKeysFileRefusesEveryKey(t *testing.T) {
	f := newFixture(t, func(o *api.Options, _ *[]string) { o.KeysFile = "" })
	f.getJSON("/api/v1/networks", "", 200, nil)
	f.wantError("/api/v1/networks", keyAlice, 401, apiKeyHeader)
}
