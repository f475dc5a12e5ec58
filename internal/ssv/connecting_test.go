package ssv

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/ssv/abi"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
)

type discardPublisher struct{}

func (discardPublisher) Publish(context.Context, string, string, []byte) error { return nil }

// A sentry whose only RPC endpoint refuses connections: the progress line
// says it waits for the eth RPC, with the endpoint's URL (no secret) and
// its last error, instead of the start block as "processed"; /sync's
// pending view has the configured contract and that error.
func TestProgressAndSyncWhileWaitingForTheRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every call is refused
	const secret = "s3cr3tkey"
	rpcURL := fmt.Sprintf("http://user:pa55word@%s/v3/%s?apikey=%s", addr, secret, secret)
	contract := common.HexToAddress("0x58410Bef803ECd7E63B23664C586A6DB72DAf59c")
	s, err := ssvsync.New(ssvsync.Config{Network: "hoodi", Contract: contract, FromBlock: 1065, RPCs: []string{rpcURL},
		Decoder: abi.Decode, Publisher: discardPublisher{}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{nets: []netConfig{{Name: "hoodi", Contract: contract, FromBlock: 1065, RPCs: []string{rpcURL}}}, sentries: []*ssvsync.Sentry{s}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	// Wait (bounded) for the first refused call.
	for deadline := time.Now().Add(20 * time.Second); s.Endpoints()[0].Error == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sentry recorded no error for a refused endpoint")
		}
	}

	lines := in.progress(ctx)
	if len(lines) != 1 {
		t.Fatalf("progress lines %v", lines)
	}
	attrs := map[string]any{}
	for i := 0; i+1 < len(lines[0]); i += 2 {
		attrs[lines[0][i].(string)] = lines[0][i+1]
	}
	if attrs["network"] != "hoodi" || attrs["state"] != "waiting for eth RPC" || attrs["rpc"] != "http://"+addr+"/…" {
		t.Errorf("progress %v: want network hoodi, state waiting for eth RPC, rpc http://%s/…", lines[0], addr)
	}
	if le, _ := attrs["last_error"].(string); !strings.HasPrefix(le, "http://"+addr+"/…: ") || !strings.Contains(le, "refused") {
		t.Errorf("progress last_error %q: want the URL as ShowURL shows it and the refusal", le)
	}
	for _, k := range []string{"processed", "head", "mode"} {
		if _, ok := attrs[k]; ok {
			t.Errorf("progress %v has %s before any head was read", lines[0], k)
		}
	}

	p := in.pending("hoodi")
	if p == nil || p.Contract != contract.Hex() || len(p.Endpoints) != 1 || p.Endpoints[0].Name != addr ||
		p.Endpoints[0].URL != "http://"+addr+"/…" || !strings.Contains(p.Endpoints[0].Error, "refused") {
		t.Errorf("pending = %+v", p)
	}
	if in.pending("mainnet") != nil {
		t.Error("pending of a network this process does not have")
	}
	all := fmt.Sprint(lines, *p)
	for _, bad := range []string{secret, "pa55word", "user:"} {
		if strings.Contains(all, bad) {
			t.Errorf("%q leaks into %s", bad, all)
		}
	}
}
