package api

import (
	"bytes"
	"fmt"
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
	if len(keys) != 3 || len(skipped) != 1 {
		t.Fatalf("parsed %d keys, skipped %d; want 3 and 1", len(keys), len(skipped))
	}
	if keys[0].name != "name" || keys[1].name != "line 4" || keys[2].name != "line 5" {
		t.Errorf("names = %q %q %q", keys[0].name, keys[1].name, keys[2].name)
	}
}

func TestParseKeysSaysWhyEachLineIsSkipped(t *testing.T) {
	content := "# comment\n" + // 1
		"ok:" + keyAlice + "\n" + // 2
		"short:Zq7Xw\n" + // 3
		"Zq7Xw\n" + // 4
		"long:" + strings.Repeat("Zq7Xw", 60) + "\n" + // 5
		"ctl:Zq7Xw\x01Zq7Xw\n" + // 6
		"empty:\n" + // 7
		"\n" + // 8
		keyBob + "\n" // 9
	keys, skipped := parseKeys([]byte(content))
	if len(keys) != 2 {
		t.Errorf("kept %d keys, want 2 (lines 2 and 9)", len(keys))
	}
	want := []skippedLine{
		{3, "key shorter than 8 characters"},
		{4, "key shorter than 8 characters"},
		{5, "key longer than 256 characters"},
		{6, "key contains a control character; give printable text"},
		{7, "no key after the name: give name:key"},
	}
	if len(skipped) != len(want) {
		t.Fatalf("skipped = %+v, want %+v", skipped, want)
	}
	for i := range want {
		if skipped[i] != want[i] {
			t.Errorf("skipped[%d] = %+v, want %+v", i, skipped[i], want[i])
		}
	}
}

func TestParseKeysStopsAtMaxKeys(t *testing.T) {
	var b strings.Builder
	for i := range maxKeys + 2 {
		fmt.Fprintf(&b, "key-%08d\n", i)
	}
	keys, skipped := parseKeys([]byte(b.String()))
	if len(keys) != maxKeys || len(skipped) != 2 || skipped[0].line != maxKeys+1 || !strings.Contains(skipped[0].why, "more than 10000 keys") {
		t.Errorf("kept %d, skipped %+v; want %d kept and lines %d, %d skipped as too many", len(keys), skipped, maxKeys, maxKeys+1, maxKeys+2)
	}
}

// testKeyring opens a keyring on a file with content, logging into the
// returned buffer; it checks the file on every lookup.
func testKeyring(t *testing.T, content string) (*keyring, string, *syncBuffer, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k, err := newKeyring(path, time.Nanosecond, log, nil)
	return k, path, logs, err
}

// noneOf fails when logs hold any 4-character piece of the secrets: not
// even a prefix of a key may reach the log.
func noneOf(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for i := 0; i+4 <= len(s); i++ {
			if strings.Contains(logs, s[i:i+4]) {
				t.Errorf("log contains %q, a piece of a key:\n%s", s[i:i+4], logs)
				return
			}
		}
	}
}

func TestSkippedKeyLinesWarnedByNumberWithoutTheKey(t *testing.T) {
	k, path, logs, err := testKeyring(t, "alice:"+keyAlice+"\nshort:Zq7Xw\n# note\nQj4Vp\n")
	if err != nil {
		t.Fatal(err)
	}
	if k.count() != 1 {
		t.Errorf("count = %d, want 1", k.count())
	}
	out := logs.String()
	for _, want := range []string{
		`level=WARN msg="API keys file: line skipped" path=` + path + ` line=2 why="key shorter than 8 characters"`,
		`level=WARN msg="API keys file: line skipped" path=` + path + ` line=4 why="key shorter than 8 characters"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Count(out, "line skipped") != 2 {
		t.Errorf("want 2 skip warnings (lines 2 and 4):\n%s", out)
	}
	noneOf(t, out, keyAlice, "Zq7Xw", "Qj4Vp")
}

func TestSkipWarningsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(keyAlice + "\n")
	for range 100 {
		b.WriteString("x:short\n")
	}
	_, _, logs, err := testKeyring(t, b.String())
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if n := strings.Count(out, `msg="API keys file: line skipped"`); n != maxSkipWarnings {
		t.Errorf("%d skip warnings, want %d", n, maxSkipWarnings)
	}
	if !strings.Contains(out, `msg="API keys file: more lines skipped"`) || !strings.Contains(out, "more=80 first=22") {
		t.Errorf("log lacks the count of the lines not warned about:\n%s", out)
	}
}

func TestKeysFileWithoutValidKeyRefusedAtStart(t *testing.T) {
	for name, content := range map[string]string{
		"all too short": "alice:Zq7Xw\nQj4Vp\n",
		"comments only": "# alice:" + keyAlice + "\n",
		"empty":         "",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			_, err := New(Options{Log: slog.New(slog.NewTextHandler(&logs, nil)), KeysFile: path})
			if err == nil {
				t.Fatal("New accepted a keys file without a valid key")
			}
			for _, want := range []string{path, "has no valid key", "`key` or `name:key`", "8 to 256 characters", "leave --api-keys empty"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			noneOf(t, err.Error()+logs.String(), "Zq7Xw", "Qj4Vp")
		})
	}
}

func TestReloadWithoutValidKeyKeepsThePreviousKeys(t *testing.T) {
	k, path, logs, err := testKeyring(t, "alice:"+keyAlice+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("bob:Zq7Xw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok := k.lookup(keyAlice); !ok {
			t.Fatal("a reload that yields no valid key dropped the previous keys")
		}
	}
	out := logs.String()
	if !strings.Contains(out, `level=WARN msg="API keys file has no valid key; keeping the previous keys" path=`+path+" keys=1 skipped_lines=1") {
		t.Errorf("log lacks the WARN that the previous keys are kept:\n%s", out)
	}
	if n := strings.Count(out, "keeping the previous keys"); n != 1 {
		t.Errorf("the WARN is logged %d times for one change, want once", n)
	}
	if !strings.Contains(out, "line=1") {
		t.Errorf("log does not say which line was skipped:\n%s", out)
	}
	// The next valid file replaces them.
	if err := os.WriteFile(path, []byte("bob:"+keyBob+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.lookup(keyBob); !ok {
		t.Error("a valid file after an invalid one is not loaded")
	}
	if _, ok := k.lookup(keyAlice); ok {
		t.Error("the previous key still works after a valid reload")
	}
	noneOf(t, logs.String(), keyAlice, keyBob, "Zq7Xw")
}

func TestReloadOfUnreadableFileKeepsThePreviousKeys(t *testing.T) {
	k, path, logs, err := testKeyring(t, "alice:"+keyAlice+"\n")
	if err != nil {
		t.Fatal(err)
	}
	// A directory in its place: stat works, reading fails (whoever runs
	// the test, root included).
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.lookup(keyAlice); !ok {
		t.Fatal("an unreadable keys file dropped the previous keys")
	}
	out := logs.String()
	if !strings.Contains(out, `level=WARN msg="API keys file not reloaded; keeping the previous keys" path=`+path+" keys=1") {
		t.Errorf("log lacks the WARN that the previous keys are kept:\n%s", out)
	}
	noneOf(t, out, keyAlice)
}
