package sentry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

func TestConfigValidation(t *testing.T) {
	n, err := network.Load("mainnet")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]Config{
		"no network":  {DataDir: "x"},
		"no data dir": {Network: n},
		"bad ip":      {Network: n, DataDir: "x", ListenIP: "localhost"},
		"bad port":    {Network: n, DataDir: "x", TCPPort: 70000},
		"neg workers": {Network: n, DataDir: "x", DialWorkers: -1},
	}
	for name, c := range cases {
		if err := c.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c := Config{Network: n, DataDir: "x"}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	if c.RecheckInterval != 32*12*time.Second || c.DialWorkers != DefaultDialWorkers || c.ListenIP != DefaultListenIP || c.RetireAfter != DefaultRetireAfter {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestKeyPersists(t *testing.T) {
	dir := t.TempDir()
	k1, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("a second start made a new key")
	}
	st, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, err %v; want 0600", st.Mode().Perm(), err)
	}
	os.WriteFile(filepath.Join(dir, keyFile), []byte("not a key"), 0o600)
	if _, err := loadOrCreateKey(dir); err == nil {
		t.Fatal("a damaged key file was silently replaced")
	}
}

func TestIdentityDerivations(t *testing.T) {
	key, _ := gethcrypto.GenerateKey()
	pid, err := peerIDFromPubkey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%x", gethcrypto.Keccak256(gethcrypto.FromECDSAPub(&key.PublicKey)[1:]))
	if got := nodeIDFromPeer(pid); got != want {
		t.Fatalf("node id from peer id %s, want %s", got, want)
	}
}

func TestClassify(t *testing.T) {
	cases := map[string]error{
		ReasonTimeout:  fmt.Errorf("dial: %w", context.DeadlineExceeded),
		ReasonRefused:  fmt.Errorf("dial: %w", syscall.ECONNREFUSED),
		ReasonProtocol: fmt.Errorf("status: %w", reqresp.ErrEncoding),
		ReasonOther:    errors.New("something else"),
	}
	for want, err := range cases {
		if got := classify(err); got != want {
			t.Errorf("classify(%v) = %s, want %s", err, got, want)
		}
	}
	if got := classify(fmt.Errorf("x: %w", &reqresp.ResponseError{Code: 2})); got != ReasonProtocol {
		t.Errorf("response error classified %s", got)
	}
}

func TestIPPort(t *testing.T) {
	for s, want := range map[string]string{
		"/ip4/127.0.0.1/tcp/9000":        "127.0.0.1:9000",
		"/ip4/10.0.0.1/udp/9001/quic-v1": "10.0.0.1:9001",
		"/ip6/::1/tcp/13000":             "::1:13000",
		"/dns4/example.invalid/tcp/1":    ":0",
	} {
		ip, port := ipPort(ma.StringCast(s))
		if got := fmt.Sprintf("%s:%d", ip, port); got != want {
			t.Errorf("ipPort(%s) = %s, want %s", s, got, want)
		}
	}
}
