package sentry

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

// The LCD's validators (two pages by pagination.key) are matched to the
// set by consensus key; slashing params are read with their string forms.
func TestLCDMonikersAndParams(t *testing.T) {
	vals := rpctest.MakeValidators("v", 4)
	n := rpctest.New("test-1", vals)
	t.Cleanup(n.Close)
	lcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cosmos/slashing/v1beta1/params":
			fmt.Fprint(w, `{"params":{"signed_blocks_window":"10000","min_signed_per_window":"0.050000000000000000","downtime_jail_duration":"600s"}}`)
		case "/cosmos/staking/v1beta1/validators":
			v := func(i int, jailed bool) string {
				return fmt.Sprintf(`{"operator_address":"cosmosvaloper1x%d","consensus_pubkey":{"@type":"/cosmos.crypto.ed25519.PubKey","key":"%s"},"jailed":%v,"description":{"moniker":"moniker-%d"}}`, i, vals[i].PubKey, jailed, i)
			}
			if r.URL.Query().Get("pagination.key") == "" {
				fmt.Fprintf(w, `{"validators":[%s,%s,{"operator_address":"unbonded","consensus_pubkey":{"key":"bm9wZQ=="}}],"pagination":{"next_key":"cGFnZTI=","total":"0"}}`, v(0, false), v(1, false))
			} else {
				fmt.Fprintf(w, `{"validators":[%s],"pagination":{"next_key":null}}`, v(3, true))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(lcd.Close)
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.LCD = lcd.URL
	run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1)
	waitFor(t, "three validator infos and params", func() bool {
		return len(pub.of(t, events.KindValidatorInfo)) == 3 && len(pub.of(t, events.KindParams)) == 1
	})
	got := map[string]*events.ValidatorInfo{}
	for _, e := range pub.of(t, events.KindValidatorInfo) {
		vi := e.(*events.ValidatorInfo)
		got[vi.Address] = vi
	}
	if vi := got[vals[0].Address]; vi == nil || vi.Moniker != "moniker-0" || vi.OperatorAddress != "cosmosvaloper1x0" || vi.Source != "lcd" || vi.Jailed {
		t.Errorf("validator 0: %+v", vi)
	}
	if vi := got[vals[3].Address]; vi == nil || !vi.Jailed || vi.Moniker != "moniker-3" {
		t.Errorf("validator 3 (second page): %+v", vi)
	}
	p := pub.of(t, events.KindParams)[0].(*events.Params)
	if p.SignedBlocksWindow != 10000 || p.MinSignedPerWindow != 0.05 || p.Source != "lcd" {
		t.Errorf("params %+v", p)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// API keys in endpoint URLs (query, user information) never reach the
// logs, also when every request fails.
func TestSecretsStayOutOfLogs(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	base := strings.Replace(dead.URL, "http://", "http://keyuser:PASSWORDSECRET@", 1)
	dead.Close()
	logs := &syncBuf{}
	pub := &memPublisher{}
	cfg := testConfig(pub, base+"/?apikey=QUERYSECRET", "http://127.0.0.1:1/PATHSECRETPATHSECRET/")
	cfg.LCD = "http://127.0.0.1:1/?key=LCDSECRET"
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	run(t, cfg)
	waitFor(t, "failures logged", func() bool {
		return strings.Count(logs.String(), "reconnecting") >= 4 && strings.Contains(logs.String(), "unhealthy")
	})
	for _, secret := range []string{"PASSWORDSECRET", "QUERYSECRET", "PATHSECRET", "LCDSECRET", "keyuser"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs quote %s:\n%s", secret, logs.String())
		}
	}
	for _, e := range pub.of(t, events.KindEndpointStatus) {
		if st := e.(*events.EndpointStatus); strings.Contains(st.Reason, "SECRET") {
			t.Errorf("a status reason quotes a secret: %s", st.Reason)
		}
	}
}

func FuzzDecodeLCD(f *testing.F) {
	f.Add([]byte(`{"validators":[{"operator_address":"x","consensus_pubkey":{"key":"AAA="},"jailed":true,"description":{"moniker":"m"}}],"pagination":{"next_key":"a2V5"}}`))
	f.Add([]byte(`{"params":{"signed_blocks_window":"100","min_signed_per_window":"0.5"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, _, err := decodeLCDValidators(data)
		if err == nil {
			for _, v := range vals {
				vi := events.ValidatorInfo{V: 1, Chain: "c", Address: "0A", Moniker: v.moniker, OperatorAddress: v.operator, Jailed: v.jailed, Source: "lcd"}
				checkEvent(t, &vi)
			}
		}
		if p, err := decodeLCDParams(data); err == nil {
			p.V, p.Chain, p.Source = 1, "c", "lcd"
			checkEvent(t, p)
		}
	})
}

// Without an LCD the parameters come over the RPC itself (abci_query);
// with one that answers, the LCD's are used and abci_query is not asked;
// when the LCD fails, abci_query is the fallback.
func TestParamsOverABCI(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("v", 4))
	t.Cleanup(n.Close)
	n.SetABCIAnswer(0, rpctest.SlashingParamsResponse(10000, "50000000000000000"))
	pub := &memPublisher{}
	run(t, testConfig(pub, n.URL()))
	waitFor(t, "params", func() bool { return len(pub.of(t, events.KindParams)) == 1 })
	p := pub.of(t, events.KindParams)[0].(*events.Params)
	if p.SignedBlocksWindow != 10000 || p.MinSignedPerWindow != 0.05 || p.Source != ParamsFromABCI || p.Endpoint == "" {
		t.Errorf("params %+v", p)
	}

	t.Run("LCD first", func(t *testing.T) {
		n := rpctest.New("test-1", rpctest.MakeValidators("v", 4))
		t.Cleanup(n.Close)
		n.SetABCIAnswer(0, rpctest.SlashingParamsResponse(10000, "50000000000000000"))
		lcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"params":{"signed_blocks_window":"200","min_signed_per_window":"0.000000000000000000"}}`)
		}))
		t.Cleanup(lcd.Close)
		pub := &memPublisher{}
		cfg := testConfig(pub, n.URL())
		cfg.LCD = lcd.URL
		run(t, cfg)
		waitFor(t, "params", func() bool { return len(pub.of(t, events.KindParams)) == 1 })
		if p := pub.of(t, events.KindParams)[0].(*events.Params); p.SignedBlocksWindow != 200 || p.MinSignedPerWindow != 0 || p.Source != ParamsFromLCD {
			t.Errorf("params %+v", p)
		}
		if c := n.ABCICallsFor(rpc.SlashingParamsPath); c != 0 {
			t.Errorf("abci_query asked for the params %d times although the LCD answered", c)
		}
	})
	t.Run("LCD down", func(t *testing.T) {
		n := rpctest.New("test-1", rpctest.MakeValidators("v", 4))
		t.Cleanup(n.Close)
		n.SetABCIAnswer(0, rpctest.SlashingParamsResponse(300, "500000000000000000"))
		pub := &memPublisher{}
		cfg := testConfig(pub, n.URL())
		cfg.LCD = "http://127.0.0.1:1"
		run(t, cfg)
		waitFor(t, "params", func() bool { return len(pub.of(t, events.KindParams)) == 1 })
		if p := pub.of(t, events.KindParams)[0].(*events.Params); p.SignedBlocksWindow != 300 || p.Source != ParamsFromABCI {
			t.Errorf("params %+v", p)
		}
	})
}

// A chain whose application has no x/slashing (kvstore answers code 0 and
// no value) publishes no parameters and says so once, naming the flag.
func TestParamsNotAvailable(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("v", 4))
	t.Cleanup(n.Close)
	logs := &syncBuf{}
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	cfg.LCDEvery = 20 * time.Millisecond
	run(t, cfg)
	waitFor(t, "several abci_query calls", func() bool { return n.ABCICallsFor(rpc.SlashingParamsPath) >= 3 })
	if got := pub.of(t, events.KindParams); len(got) != 0 {
		t.Errorf("published %d params from a chain without x/slashing", len(got))
	}
	if c := strings.Count(logs.String(), "--cosmos-slashing test-1=WINDOW:MIN"); c != 1 {
		t.Errorf("the hint is logged %d times, want once:\n%s", c, logs.String())
	}
}
