package httpapi

import (
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
)

// TestOpenAPIFragment: the fragment has the shape internal/api merges (as
// Ethereum's has), merges beside Ethereum's fragment without defining
// anything twice, documents every route this package mounts, and every
// $ref in it resolves in the merged document. (cmd/valtrack's
// TestOpenAPIDocs checks docs/openapi.yaml once the domain is registered.)
func TestOpenAPIFragment(t *testing.T) {
	var frag map[string]yaml.Node
	if err := yaml.Unmarshal(openapiYAML, &frag); err != nil {
		t.Fatalf("openapi.yaml is not YAML: %v", err)
	}
	for k, v := range frag {
		switch k {
		case "paths", "tags":
		case "components":
			var kinds map[string]any
			if err := v.Decode(&kinds); err != nil {
				t.Fatalf("components: %v", err)
			}
			for kind := range kinds {
				if kind != "schemas" && kind != "parameters" && kind != "responses" && kind != "headers" {
					t.Errorf("components.%s cannot be merged", kind)
				}
			}
		default:
			t.Errorf("top-level key %s cannot be merged", k)
		}
	}

	eth, err := os.ReadFile("../../ethereum/httpapi/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, sqliteOpen, fixtureOptions{})
	s, err := api.New(api.Options{
		Log:     slog.New(slog.NewTextHandler(&apitest.SyncBuffer{}, nil)),
		Domains: []api.Domain{{Name: "ethereum", OpenAPI: eth}, New(f.db, nil, nil)},
	})
	if err != nil {
		t.Fatalf("merge beside Ethereum's fragment: %v", err)
	}
	var doc struct {
		OpenAPI    string                    `yaml:"openapi"`
		Paths      map[string]map[string]any `yaml:"paths"`
		Components map[string]map[string]any `yaml:"components"`
		Tags       []map[string]string       `yaml:"tags"`
	}
	if err := yaml.Unmarshal(s.OpenAPI(), &doc); err != nil {
		t.Fatalf("merged document is not YAML: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths["/api/v1/ethereum/{network}/peers"] == nil {
		t.Errorf("merged document lacks the base or Ethereum's part")
	}
	src, err := os.ReadFile("httpapi.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`Handle\("GET (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) != 8 {
		t.Fatalf("found %d routes in httpapi.go, want 8", len(routes))
	}
	for _, m := range routes {
		if _, ok := doc.Paths[m[1]]["get"]; !ok {
			t.Errorf("route GET %s is not documented in openapi.yaml", m[1])
		}
	}
	for _, ref := range regexp.MustCompile(`\$ref: "#/components/([a-z]+)/([A-Za-z]+)"`).FindAllStringSubmatch(string(openapiYAML), -1) {
		if _, ok := doc.Components[ref[1]][ref[2]]; !ok {
			t.Errorf("$ref %s/%s does not resolve in the merged document", ref[1], ref[2])
		}
	}
	if !strings.Contains(string(s.OpenAPI()), "name: cosmos") {
		t.Error("tag cosmos missing")
	}
}

// The OpenAPI enums of causes and skip reasons are exactly the sets the
// analyzer writes.
func TestOpenAPICausesAreTheAnalyzers(t *testing.T) {
	var frag struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `yaml:"enum"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(openapiYAML, &frag); err != nil {
		t.Fatal(err)
	}
	for schema, values := range map[string][]string{"CosmosMissCause": analyzers.Causes, "CosmosSkipReason": analyzers.SkipReasons} {
		got := slices.Sorted(slices.Values(frag.Components.Schemas[schema].Enum))
		want := slices.Sorted(slices.Values(values))
		if !slices.Equal(got, want) {
			t.Errorf("%s enum %v, the analyzer writes %v", schema, got, want)
		}
	}
}
