package api

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const itemsPath = "/api/v1/testdom/testnet/items"

func TestWrongKeyIsRefusedAndNeverSeesAdminView(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{itemsPath, "/api/v1/testdom/cached", "/api/v1/networks", "/openapi.yaml", "/"} {
		for _, key := range []string{keyWrong, keyAlice + "x", keyAlice[:len(keyAlice)-1], strings.Repeat("k", 300)} {
			e := f.wantError(path, key, 401, apiKeyHeader)
			if strings.Contains(e.Error, key) {
				t.Errorf("error message echoes the key: %q", e.Error)
			}
		}
	}
	// No key: the public view; a valid key: the admin view.
	var r itemsResponse
	f.getJSON(itemsPath, "", 200, &r)
	if r.Admin {
		t.Error("a request without a key got the admin view")
	}
	f.getJSON(itemsPath, keyAlice, 200, &r)
	if !r.Admin {
		t.Error("alice's key does not unlock the admin view")
	}
}

func TestKeysFileIsReloadedWhenItChanges(t *testing.T) {
	f := newFixture(t)
	var r itemsResponse
	f.getJSON(itemsPath, keyAlice, 200, &r)
	if !r.Admin {
		t.Fatal("alice's key does not unlock the admin view")
	}
	f.wantError("/api/v1/networks", keyBob, 401, apiKeyHeader)

	// Bob added, alice removed.
	f.writeKeys("bob:" + keyBob + "\n")
	f.getJSON(itemsPath, keyBob, 200, &r)
	if !r.Admin {
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

func TestKeysFileContentsNeverLogged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	content := "# comment with secret-comment-text\nalice:" + keyAlice + "\n" + keyBob + "\nshort:abc\n  \nbad line with spaces-but-long-enough\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k, err := newKeyring(path, time.Nanosecond, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.lookup(keyAlice); !ok {
		t.Error("alice's key not accepted")
	}
	if a, ok := k.lookup(keyBob); !ok || a.name != "line 3" {
		t.Errorf("unnamed key: ok=%v name=%q, want line 3", ok, a.name)
	}
	if _, ok := k.lookup("abc"); ok {
		t.Error("a key shorter than the minimum was accepted")
	}
	if k.count() != 3 {
		t.Errorf("count = %d, want 3 (alice, bob, the long line)", k.count())
	}
	for _, secret := range []string{keyAlice, keyBob, "secret-comment-text", "abc", "spaces-but-long-enough"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log contains %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "count=3") || !strings.Contains(logs.String(), "skipped_lines=1") {
		t.Errorf("log lacks the count:\n%s", logs.String())
	}
}

func TestNewFailsOnMissingKeysFile(t *testing.T) {
	_, err := New(Options{Log: slog.New(slog.DiscardHandler), KeysFile: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !strings.Contains(err.Error(), "API keys file") {
		t.Fatalf("New with a missing keys file: err = %v, want one naming the keys file", err)
	}
}

func TestNoKeysFileRefusesEveryKey(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.KeysFile = "" })
	f.getJSON("/api/v1/networks", "", 200, nil)
	f.wantError("/api/v1/networks", keyAlice, 401, apiKeyHeader)
}

func TestParseKeys(t *testing.T) {
	keys, skipped := parseKeys([]byte("# c\n\nname:keykeykey1\r\n  keykeykey2  \n:keykeykey3\nx:short\n"))
	if len(keys) != 3 || skipped != 1 {
		t.Fatalf("parsed %d keys, skipped %d; want 3 and 1", len(keys), skipped)
	}
	if keys[0].name != "name" || keys[1].name != "line 4" || keys[2].name != "line 5" {
		t.Errorf("names = %q %q %q", keys[0].name, keys[1].name, keys[2].name)
	}
}
