package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `valtrack db status` on a --data-dir that holds no database says so and
// leaves nothing behind (no directory, no empty database).
func TestDBStatusWithoutADatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mistyped")
	err := quietApp().Run(context.Background(), []string{"valtrack", "db", "status", "--data-dir", dir})
	if err == nil || !strings.Contains(err.Error(), "no database at "+filepath.Join(dir, "valtrack.db")) ||
		!strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("db status on an empty --data-dir: %v; want \"no database at …\" naming --data-dir", err)
	}
	if _, serr := os.Stat(dir); serr == nil {
		t.Errorf("db status created %s", dir)
	}
}

// The help of the fleet's consumer and API server says what they do, with
// examples; --devnet-polkadot's says it is on by default.
func TestFleetHelpDescribes(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"consumer", "--help"}, []string{"valtrack consumer --nats-url nats://", "--durable", "valtrack run"}},
		{[]string{"serve", "--help"}, []string{"valtrack serve --db postgres://", "--admin-http"}},
		{[]string{"run", "--help"}, []string{"on by default, --devnet-polkadot=false"}},
	} {
		var out bytes.Buffer
		app := newApp(domains())
		app.Writer, app.ErrWriter = &out, &out
		if err := app.Run(context.Background(), append([]string{"valtrack"}, c.args...)); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v does not say %q", c.args, w)
			}
		}
	}
}
