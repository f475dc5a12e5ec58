package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos"
	cosmossentry "github.com/valtrack/valtrack/internal/cosmos/sentry"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
)

// healthzRows are the rows of the part table under "## GET /healthz" in
// docs/api.md, by part name.
func healthzRows(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## GET /healthz\n")
	if !ok {
		t.Fatal(`docs/api.md has no "## GET /healthz" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
		rows[name] = line
	}
	return rows
}

// TestHealthzDocsListEveryDomain: the /healthz table of docs/api.md has a
// row for every registered domain, and the rows of cosmos and ssv state
// the limits their code applies.
func TestHealthzDocsListEveryDomain(t *testing.T) {
	rows := healthzRows(t)
	for _, name := range domains().names() {
		if rows[name] == "" {
			t.Errorf("docs/api.md, GET /healthz: no row for the %s domain", name)
		}
	}
	want := map[string][]string{
		"cosmos": {
			fmt.Sprintf("%d min", int(cosmossentry.DefaultUnhealthyGrace.Minutes())),
			fmt.Sprintf("older than %d s", int(cosmossentry.DefaultMaxBlockAge.Seconds())),
			fmt.Sprintf("not advanced for %d s", int(cosmossentry.DefaultStuckAfter.Seconds())),
			fmt.Sprintf("nothing for %d min", int(cosmos.AnalysisStallAfter.Minutes())),
		},
		"ssv": {
			fmt.Sprintf("%d blocks", ssvsync.MaxLagBlocks),
			fmt.Sprintf("%d s", int(ssvsync.MaxLagTime.Seconds())),
			"read no head yet",
		},
	}
	for name, parts := range want {
		for _, p := range parts {
			if !strings.Contains(rows[name], p) {
				t.Errorf("docs/api.md, GET /healthz, row %s lacks %q: %s", name, p, rows[name])
			}
		}
	}
}
