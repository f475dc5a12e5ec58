package bus_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
)

func TestOpenRejectsInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		cfg  bus.Config
		want string // a word the message must hold
	}{
		{bus.Config{}, "DataDir"},
		{bus.Config{URL: "http://127.0.0.1:4222"}, "scheme"},
		{bus.Config{URL: "nats://"}, "no host"},
		{bus.Config{URL: "nats://127.0.0.1:4222,"}, "empty entry"},
		{bus.Config{URL: "nats://127.0.0.1:4222", ListenAddr: "127.0.0.1:0"}, "ListenAddr"},
		{bus.Config{DataDir: dir, ListenAddr: "nohostport"}, "ListenAddr"},
		{bus.Config{DataDir: dir, ListenAddr: "127.0.0.1:99999"}, "port"},
		{bus.Config{DataDir: dir, MaxAge: -time.Second}, "MaxAge"},
		{bus.Config{DataDir: dir, MaxBytes: -2}, "MaxBytes"},
		{bus.Config{DataDir: dir, Duplicates: -time.Second}, "Duplicates"},
		{bus.Config{DataDir: dir, MaxAge: time.Minute, Duplicates: time.Hour}, "Duplicates"},
		{bus.Config{DataDir: dir, Replicas: 3}, "Replicas"},
		{bus.Config{DataDir: dir, Replicas: 9}, "Replicas"},
		{bus.Config{DataDir: dir, MaxPending: -1}, "MaxPending"},
		{bus.Config{DataDir: dir, StreamPrefix: "a.b"}, "StreamPrefix"},
		{bus.Config{DataDir: dir, SubjectPrefix: "t1"}, "SubjectPrefix"},
		{bus.Config{DataDir: dir, SubjectPrefix: "t.*."}, "SubjectPrefix"},
		{bus.Config{DataDir: dir, ReconnectWait: -time.Second}, "ReconnectWait"},
	}
	for _, c := range cases {
		b, err := bus.Open(context.Background(), c.cfg, nil)
		if err == nil {
			b.Close()
			t.Errorf("Open(%+v) succeeded, want an error about %s", c.cfg, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%+v) = %q, want it to mention %s", c.cfg, err, c.want)
		}
	}
}

func TestOpenErrorHidesCredentials(t *testing.T) {
	port := freePort(t) // nothing listens there
	cfg := bus.Config{URL: fmt.Sprintf("nats://alice:s3cretpw@127.0.0.1:%d", port), ConnectTimeout: 500 * time.Millisecond}
	_, err := bus.Open(context.Background(), cfg, nil)
	if err == nil {
		t.Fatal("Open succeeded against a closed port")
	}
	if strings.Contains(err.Error(), "s3cretpw") || strings.Contains(err.Error(), "alice") {
		t.Fatalf("error leaks credentials: %v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatalf("error %q does not name the server", err)
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"":                                    "",
		"nats://127.0.0.1:4222":               "nats://127.0.0.1:4222",
		"nats://user:pw@127.0.0.1:4222":       "nats://redacted@127.0.0.1:4222",
		"nats://s3cr3ttoken@127.0.0.1:4222":   "nats://redacted@127.0.0.1:4222",
		"nats://a:b@h1:1, nats://c:d@h2:2":    "nats://redacted@h1:1,nats://redacted@h2:2",
		"tls://127.0.0.1:4222?token=abc#frag": "tls://127.0.0.1:4222",
		"nats://u:p%zz@127.0.0.1":             "<unparseable-url>",
		"mailto:user:password@127.0.0.1":      "<unparseable-url>",
	}
	for in, want := range cases {
		if got := bus.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedactURL checks that a password or token put in a URL never survives
// redaction, whatever else the URL holds.
func FuzzRedactURL(f *testing.F) {
	f.Add("alice", "s3cretpw", "127.0.0.1:4222", "")
	f.Add("", "tokentoken", "[::1]:4222", "a=b")
	f.Add("u", "p@ss:w/rd?", "127.0.0.1", "token=zzz")
	f.Fuzz(func(t *testing.T, user, pass, host, query string) {
		raw := "nats://" + url.UserPassword(user, pass).String() + "@" + host
		if query != "" {
			raw += "?" + query
		}
		got := bus.RedactURL(raw)
		for _, secret := range []string{pass, url.QueryEscape(pass), url.PathEscape(pass)} {
			if len(secret) >= 6 && strings.Contains(got, secret) && !strings.Contains(host, secret) && !strings.Contains("nats://redacted@", secret) {
				t.Fatalf("RedactURL(%q) = %q keeps the password", raw, got)
			}
		}
		_ = bus.RedactURL(user + "," + pass + "," + host) // any string: must not panic
	})
}
