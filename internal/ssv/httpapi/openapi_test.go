package httpapi

import (
	"log/slog"
	"os"
	"regexp"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
)

// TestOpenAPIFragment: the fragment merges beside Ethereum's and Cosmos's
// without defining anything twice, documents every route this package
// mounts, and every $ref in it resolves in the merged document.
func TestOpenAPIFragment(t *testing.T) {
	var frag map[string]yaml.Node
	if err := yaml.Unmarshal(openapiYAML, &frag); err != nil {
		t.Fatalf("openapi.yaml is not YAML: %v", err)
	}
	for k := range frag {
		if k != "paths" && k != "tags" && k != "components" {
			t.Errorf("top-level key %s cannot be merged", k)
		}
	}
	eth, err := os.ReadFile("../../ethereum/httpapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cosmos, err := os.ReadFile("../../cosmos/httpapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Options{
		Log:     slog.New(slog.NewTextHandler(&apitest.SyncBuffer{}, nil)),
		Domains: []api.Domain{{Name: "ethereum", OpenAPI: eth}, {Name: "cosmos", OpenAPI: cosmos}, New(registrytest.New(), nil)},
	})
	if err != nil {
		t.Fatalf("merge beside Ethereum's and Cosmos's fragments: %v", err)
	}
	var doc struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components map[string]map[string]any `yaml:"components"`
	}
	if err := yaml.Unmarshal(s.OpenAPI(), &doc); err != nil {
		t.Fatalf("merged document is not YAML: %v", err)
	}
	src, err := os.ReadFile("httpapi.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range regexp.MustCompile(`get\((prefix\+)?"([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		if m[1] != "" {
			m[2] = prefix + m[2]
		}
		routes = append(routes, m[2])
	}
	for _, m := range regexp.MustCompile(`HandleWebSocketRequest\("GET "\+prefix\+"([^"]+)"|HandleWebSocketRequest\("GET ([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		if m[1] != "" {
			routes = append(routes, prefix+m[1])
		} else {
			routes = append(routes, m[2])
		}
	}
	if len(routes) != 17 {
		t.Fatalf("found %d routes in httpapi.go, want 17: %v", len(routes), routes)
	}
	for _, r := range routes {
		if _, ok := doc.Paths[r]["get"]; !ok {
			t.Errorf("route GET %s is not documented in openapi.yaml", r)
		}
	}
	for _, ref := range regexp.MustCompile(`\$ref: "#/components/([a-z]+)/([A-Za-z]+)"`).FindAllStringSubmatch(string(openapiYAML), -1) {
		if _, ok := doc.Components[ref[1]][ref[2]]; !ok {
			t.Errorf("$ref %s/%s does not resolve in the merged document", ref[1], ref[2])
		}
	}
}
