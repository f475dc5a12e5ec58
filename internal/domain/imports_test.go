package domain_test

import (
	"os/exec"
	"strings"
	"testing"
)

// domainDirs are the domains' trees (ARCHITECTURE.md): only they, cmd/ and
// the benchmark programs under bench/ (which the house rules put there,
// each measuring one domain's pipeline) may import them.
var domainDirs = []string{"ethereum", "cosmos", "ssv", "polkadot"}

const module = "github.com/valtrack/valtrack/"

// TestSharedPackagesImportNoDomain: `go list -deps` of every shared package
// (and of its tests) holds no domain package.
func TestSharedPackagesImportNoDomain(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var shared []string
	for _, p := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(p, module)
		if isDomain(rel) || strings.HasPrefix(rel, "cmd/") || strings.HasPrefix(rel, "bench/") {
			continue
		}
		shared = append(shared, p)
	}
	if len(shared) < 8 {
		t.Fatalf("found only %d shared packages: %v", len(shared), shared)
	}
	for _, p := range shared {
		deps, err := exec.Command("go", "list", "-deps", "-test", p).Output()
		if err != nil {
			t.Fatalf("go list -deps -test %s: %v", p, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if rel, ok := strings.CutPrefix(d, module); ok && isDomain(rel) {
				t.Errorf("%s depends on the domain package %s", p, d)
			}
		}
	}
}

func isDomain(rel string) bool {
	for _, d := range domainDirs {
		if rel == "internal/"+d || strings.HasPrefix(rel, "internal/"+d+"/") {
			return true
		}
	}
	return false
}
