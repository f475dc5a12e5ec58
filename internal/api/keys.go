package api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Limits on the keys file, so a mistaken path (a log, a database) cannot
// make the server read or hold something huge.
const (
	maxKeysFileBytes = 1 << 20
	maxKeys          = 10000
	minKeyLen        = 8
	maxKeyLen        = 256
	// maxSkipWarnings bounds the WARN lines of one load: a wrong path (a
	// log, a CSV) would otherwise log one line per line of the file.
	maxSkipWarnings = 20
	// freshFileAge: a file modified this recently may be modified again
	// within the filesystem's timestamp granularity without its mtime or size
	// changing, so its contents are compared instead of trusting the stat.
	freshFileAge = 2 * time.Second
)

// apiKey holds a key's SHA-256 rather than the key: every comparison is then
// between 32-byte values, so its duration does not depend on the key length.
type apiKey struct {
	name string // from "name:key", else "line N"; never the key itself
	hash [sha256.Size]byte
}

// validKey says what the file must hold, for the errors and warnings that
// refuse it.
var validKey = fmt.Sprintf("one key per line, `key` or `name:key`, the key %d to %d characters of printable text (e.g. from `openssl rand -hex 24`); '#' starts a comment", minKeyLen, maxKeyLen)

// keyring holds the API keys of a file and re-reads the file when it changes.
type keyring struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	mu        sync.Mutex
	checked   time.Time
	info      fs.FileInfo
	sum       [sha256.Size]byte // of the contents last parsed, accepted or not
	parsed    bool              // sum holds something
	keys      []apiKey          // replaced, never modified in place
	onReload  func(count int)
	lastError string
}

func newKeyring(path string, interval time.Duration, log *slog.Logger, onReload func(int)) (*keyring, error) {
	k := &keyring{path: path, interval: interval, log: log, now: time.Now, onReload: onReload}
	if path == "" {
		return k, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read API keys file %s: %w (create it, or leave the option empty to run without keys)", path, err)
	}
	if err := k.load(info); err != nil {
		return nil, err
	}
	if len(k.keys) == 0 {
		// Started like this, the API would refuse every X-API-KEY while
		// looking configured: a typo in every key, or the wrong file.
		return nil, fmt.Errorf("API keys file %s has no valid key (see the warnings above for the lines skipped): give %s, or leave --api-keys empty to run without keys", k.path, validKey)
	}
	k.checked = k.now()
	return k, nil
}

// lookup reports whether key is one of the configured keys and which one.
// It compares against every key, whether or not an earlier one matched.
func (k *keyring) lookup(key string) (apiKey, bool) {
	keys := k.current()
	if len(key) == 0 || len(key) > maxKeyLen {
		return apiKey{}, false
	}
	h := sha256.Sum256([]byte(key))
	var found apiKey
	match := 0
	for i := range keys {
		eq := subtle.ConstantTimeCompare(h[:], keys[i].hash[:])
		if eq == 1 && match == 0 {
			found = keys[i]
		}
		match |= eq
	}
	return found, match == 1
}

func (k *keyring) count() int { return len(k.current()) }

// current returns the keys, re-reading the file first when the last check is
// older than the interval and the file looks changed.
func (k *keyring) current() []apiKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.path == "" {
		return nil
	}
	now := k.now()
	if now.Sub(k.checked) < k.interval {
		return k.keys
	}
	k.checked = now
	info, err := os.Stat(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		// A deleted file revokes every key: failing closed is the safe reading.
		if k.keys != nil || k.info != nil {
			k.log.Warn("API keys file removed; no key is accepted until it is back", "path", k.path)
		}
		k.keys, k.info, k.sum, k.parsed = nil, nil, [sha256.Size]byte{}, false
		return nil
	}
	if err != nil {
		k.warnOnce(fmt.Sprintf("stat: %v", err))
		return k.keys
	}
	if k.info != nil && os.SameFile(k.info, info) && info.ModTime().Equal(k.info.ModTime()) &&
		info.Size() == k.info.Size() && now.Sub(info.ModTime()) > freshFileAge {
		return k.keys
	}
	if err := k.load(info); err != nil {
		k.warnOnce(err.Error())
	}
	return k.keys
}

func (k *keyring) warnOnce(msg string) {
	if msg != k.lastError {
		k.log.Warn("API keys file not reloaded; keeping the previous keys", "path", k.path, "keys", len(k.keys), "err", msg)
		k.lastError = msg
	}
}

// load reads and parses the file; it swaps the keys only when the contents
// changed and hold at least one valid key: a file that yields none (every
// key mistyped, a half-written file) keeps the previous keys, since
// swapping would lock every client out for a mistake. Deleting the file is
// how every key is revoked (current). Callers hold mu (or own k
// exclusively).
func (k *keyring) load(info fs.FileInfo) error {
	f, err := os.Open(k.path)
	if err != nil {
		return fmt.Errorf("open API keys file %s: %w (check its permissions)", k.path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeysFileBytes+1))
	if err != nil {
		return fmt.Errorf("read API keys file %s: %w", k.path, err)
	}
	if len(data) > maxKeysFileBytes {
		return fmt.Errorf("API keys file %s is larger than %d bytes; is the path right?", k.path, maxKeysFileBytes)
	}
	k.info = info
	sum := sha256.Sum256(data)
	if k.parsed && sum == k.sum {
		return nil
	}
	k.sum, k.parsed = sum, true
	keys, skipped := parseKeys(data)
	k.warnSkipped(skipped)
	if len(keys) == 0 {
		// Logged once per content: the sum matches until the file changes.
		k.lastError = ""
		switch {
		case k.checked.IsZero():
			// At start: newKeyring refuses the file.
		case k.keys != nil:
			k.log.Warn("API keys file has no valid key; keeping the previous keys", "path", k.path,
				"keys", len(k.keys), "skipped_lines", len(skipped), "want", validKey)
		default:
			// The file was deleted (every key revoked) and is back empty.
			k.log.Warn("API keys file has no valid key; no key is accepted until it has one", "path", k.path,
				"skipped_lines", len(skipped), "want", validKey)
		}
		return nil
	}
	k.keys, k.lastError = keys, ""
	// Only the count and the path are logged: the file holds secrets.
	k.log.Info("API keys loaded", "path", k.path, "count", len(keys), "skipped_lines", len(skipped))
	if k.onReload != nil {
		k.onReload(len(keys))
	}
	return nil
}

// warnSkipped logs why each skipped line was skipped, by line number only:
// not a character of the line, which may be a key with a typo.
func (k *keyring) warnSkipped(skipped []skippedLine) {
	for i, sl := range skipped {
		if i == maxSkipWarnings {
			k.log.Warn("API keys file: more lines skipped", "path", k.path, "more", len(skipped)-i, "first", sl.line)
			return
		}
		k.log.Warn("API keys file: line skipped", "path", k.path, "line", sl.line, "why", sl.why)
	}
}

// skippedLine is a line of the keys file that holds no usable key: its
// number and why, never its text.
type skippedLine struct {
	line int
	why  string
}

// parseKeys reads one key per line, "name:key" or "key", '#' starting a
// comment line. A line whose key cannot be used is skipped with the reason:
// a key shorter than minKeyLen (guessable), longer than maxKeyLen (never
// accepted by lookup), with a control character (no HTTP header carries
// one), or past maxKeys.
func parseKeys(data []byte) (keys []apiKey, skipped []skippedLine) {
	keys = []apiKey{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxKeysFileBytes)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name := fmt.Sprintf("line %d", line)
		if n, key, ok := strings.Cut(s, ":"); ok {
			name, s = strings.TrimSpace(n), strings.TrimSpace(key)
		}
		if why := keyProblem(s, len(keys)); why != "" {
			skipped = append(skipped, skippedLine{line: line, why: why})
			continue
		}
		if name == "" {
			name = fmt.Sprintf("line %d", line)
		}
		keys = append(keys, apiKey{name: name, hash: sha256.Sum256([]byte(s))})
	}
	return keys, skipped
}

// keyProblem says what makes key unusable, "" when nothing does. The
// reason names limits only, never the key's characters or length.
func keyProblem(key string, have int) string {
	switch {
	case key == "":
		return "no key after the name: give name:key"
	case len(key) < minKeyLen:
		return fmt.Sprintf("key shorter than %d characters", minKeyLen)
	case len(key) > maxKeyLen:
		return fmt.Sprintf("key longer than %d characters", maxKeyLen)
	case strings.ContainsFunc(key, unicode.IsControl):
		return "key contains a control character; give printable text"
	case have >= maxKeys:
		return fmt.Sprintf("more than %d keys in the file", maxKeys)
	}
	return ""
}

// bucketID names a key's rate-limit bucket without holding the key.
func (a apiKey) bucketID() string { return "key:" + hex.EncodeToString(a.hash[:8]) }
