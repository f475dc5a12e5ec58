package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// The runner's two reads of the outside world besides the chain: the
// latest client release (CLIENT_UPGRADE) and a Kusama instance of
// valtrack (KUSAMA_RANK). Both are cached, bounded and time out; a failure
// is an error the rule turns into unknown, never invalid.

const maxOutsideBody = 1 << 20

var httpClient = &http.Client{Timeout: 15 * time.Second}

// releases fetches and caches the latest release.
type releases struct {
	mu    sync.Mutex
	url   string
	at    time.Time
	last  program.Release
	every time.Duration
}

// Get returns the release to compare against: the forced version when
// configured, else the latest from the release URL (re-fetched hourly;
// the last good answer is kept when a fetch fails, with the error).
func (r *releases) Get(ctx context.Context, rules program.RulesConfig, now time.Time) program.Release {
	if v := strings.TrimSpace(rules.ClientForcedVersion); v != "" {
		return program.Release{Version: v}
	}
	if rules.ReleaseURL == "" {
		return program.Release{Err: "no release URL configured (rules.release_url) and no client_forced_version"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	every := r.every
	if every <= 0 {
		every = time.Hour
	}
	if r.url == rules.ReleaseURL && now.Sub(r.at) < every && r.last.Version != "" {
		return r.last
	}
	rel, err := fetchRelease(ctx, rules.ReleaseURL, rules.ReleaseTagFormat)
	if err != nil {
		if r.url == rules.ReleaseURL && r.last.Version != "" {
			kept := r.last
			kept.Err = err.Error()
			return kept
		}
		return program.Release{Err: err.Error()}
	}
	r.url, r.at, r.last = rules.ReleaseURL, now, rel
	return rel
}

// fetchRelease reads a GitHub "latest release" document ({tag_name, name,
// body, published_at}): its node version from the tag, name or notes
// (program.ReleaseVersion: polkadot-vX.Y.Z, or polkadot-stableYYMM[-N]
// through the polkadot-vX.Y.Z its notes name), or from tagFormat's group
// when one is configured.
func fetchRelease(ctx context.Context, u, tagFormat string) (program.Release, error) {
	var doc struct {
		Tag       string    `json:"tag_name"`
		Name      string    `json:"name"`
		Body      string    `json:"body"`
		Published time.Time `json:"published_at"`
	}
	if err := getJSON(ctx, u, &doc); err != nil {
		return program.Release{}, fmt.Errorf("latest release from %s: %w", redactURL(u), err)
	}
	published := doc.Published.UnixMilli()
	if doc.Published.IsZero() {
		published = 0
	}
	if tagFormat == "" {
		if v := program.ReleaseVersion(doc.Tag, doc.Name, doc.Body); v != "" {
			return program.Release{Version: v, Published: published}, nil
		}
		return program.Release{}, fmt.Errorf("latest release from %s: tag %q is neither polkadot-vX.Y.Z nor polkadot-stableYYMM[-N] (set rules.release_tag_format for another form)",
			redactURL(u), clipText(doc.Tag, 100))
	}
	re, err := regexp.Compile(tagFormat)
	if err != nil {
		return program.Release{}, fmt.Errorf("rules.release_tag_format %q: %w", tagFormat, err)
	}
	for _, s := range []string{doc.Tag, doc.Name} {
		m := re.FindStringSubmatch(s)
		if len(m) == 0 {
			continue
		}
		got := m[0]
		if len(m) > 1 {
			got = m[1]
		}
		// The group may hold either form: a stable name is read as a release.
		if v := program.ReleaseVersion(got, "", doc.Body); v != "" {
			return program.Release{Version: v, Published: published}, nil
		}
	}
	return program.Release{}, fmt.Errorf("latest release from %s: tag %q does not match %s", redactURL(u), clipText(doc.Tag, 100), tagFormat)
}

type notFound struct{}

func (*notFound) Error() string { return "not found" }

func asNotFound(err error, t **notFound) bool {
	nf, ok := err.(*notFound)
	if ok {
		*t = nf
	}
	return ok
}

func getJSON(ctx context.Context, u string, out any) error {
	return fetchJSON(ctx, httpClient, u, 15*time.Second, maxOutsideBody, out)
}

// fetchJSON GETs u with client within timeout (none when 0) and decodes
// at most limit bytes of its answer into out.
func fetchJSON(ctx context.Context, client *http.Client, u string, timeout time.Duration, limit int64, out any) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "valtrack")
	resp, err := client.Do(req)
	if err != nil {
		return scrubURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return &notFound{}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body := &io.LimitedReader{R: resp.Body, N: limit + 1}
	if err := json.NewDecoder(body).Decode(out); err != nil {
		if body.N <= 0 {
			return fmt.Errorf("answer larger than %d bytes", limit)
		}
		return err
	}
	return nil
}

// scrubURLError drops the URL (it may carry a key) from a client error.
func scrubURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %v", ue.Op, ue.Err)
	}
	return err
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(url)"
	}
	return u.Scheme + "://" + u.Host
}

// clipText bounds a text taken from another instance's answer.
func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
