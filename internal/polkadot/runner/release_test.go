package runner

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// The latest release is read in either tag form from a GitHub release
// document served on loopback: a stable tag through the v tag its notes
// name, a v tag as is, a custom tag format's group in either form; the
// publication time is kept for the grace window.
func TestLatestReleaseInBothTagForms(t *testing.T) {
	published := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	doc := map[string]any{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(doc)
	}))
	defer hs.Close()
	ctx := context.Background()
	for _, c := range []struct {
		tag, name, body, format string
		want, err               string
	}{
		{"polkadot-stable2512-8", "Polkadot stable2512-8", "The tag … will be available under polkadot-v1.21.7.", "", "1.21.7", ""},
		{"polkadot-stable2503", "Polkadot stable2503", "", "", "1.18.0", ""},
		{"polkadot-v1.17.1", "Polkadot v1.17.1", "", "", "1.17.1", ""},
		{"polkadot-stable2412-1", "", "available under polkadot-v1.17.1", `polkadot-(stable\d{4}(?:-\d+)?)`, "1.17.1", ""},
		{"my-node-2.3.4", "", "", `my-node-(\d+\.\d+\.\d+)`, "2.3.4", ""},
		{"nightly-2026-11-20", "Nightly", "", "", "", "neither polkadot-vX.Y.Z nor polkadot-stableYYMM[-N]"},
		{"polkadot-stable2412", "", "", `polkadot-v(\d+\.\d+\.\d+)`, "", "does not match"},
	} {
		doc = map[string]any{"tag_name": c.tag, "name": c.name, "body": c.body, "published_at": published.Format(time.RFC3339)}
		var rs releases
		rel := rs.Get(ctx, program.RulesConfig{ReleaseURL: hs.URL, ReleaseTagFormat: c.format}, published)
		if rel.Version != c.want || (c.err == "") != (rel.Err == "") || !strings.Contains(rel.Err, c.err) {
			t.Errorf("tag %q format %q: %+v, want version %q error %q", c.tag, c.format, rel, c.want, c.err)
		}
		if c.want != "" && rel.Published != published.UnixMilli() {
			t.Errorf("tag %q: published %d, want %d", c.tag, rel.Published, published.UnixMilli())
		}
	}
}
