package sentry

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

// stakingChain is a set of 150 validators (two pages of /validators, two
// of abci_query) and x/staking's view of it: monikers "m-<i>", validator
// 2 jailed, validator 0's key written by the set in another form (so it
// is matched by consensus address), and one unbonded validator that is
// not in the set.
func stakingChain() ([]rpctest.Validator, []rpctest.StakingValidator) {
	vals := rpctest.MakeValidators("v", 150)
	key := make([]byte, 32)
	for i := range key {
		key[i] = 7
	}
	sum := sha256.Sum256(key)
	vals[0].Address = strings.ToUpper(hex.EncodeToString(sum[:20]))
	vals[0].PubKey = "c2V0LWZvcm0=" // not the key's base64
	staking := rpctest.Staking(vals, "m-")
	staking[0].PubKey = base64.StdEncoding.EncodeToString(key)
	staking[2].Jailed = true
	staking = append(staking, rpctest.StakingValidator{Operator: "unbonded", Moniker: "gone", PubKey: base64.StdEncoding.EncodeToString(make([]byte, 32))})
	return vals, staking
}

func infos(t *testing.T, pub *memPublisher) map[string]*events.ValidatorInfo {
	t.Helper()
	got := map[string]*events.ValidatorInfo{}
	for _, e := range pub.of(t, events.KindValidatorInfo) {
		vi := e.(*events.ValidatorInfo)
		if got[vi.Address] != nil {
			t.Errorf("validator %s named twice: %+v, %+v", vi.Address, got[vi.Address], vi)
		}
		got[vi.Address] = vi
	}
	return got
}

// checkNames: every validator of the set is named as x/staking says, from
// source, and nothing else is.
func checkNames(t *testing.T, got map[string]*events.ValidatorInfo, vals []rpctest.Validator, source string) {
	t.Helper()
	if len(got) != len(vals) {
		t.Errorf("%d validators named, want %d", len(got), len(vals))
	}
	for i, v := range vals {
		vi := got[v.Address]
		if vi == nil {
			t.Errorf("validator %d (%s) not named", i, v.Address)
			continue
		}
		if vi.Moniker != fmt.Sprintf("m-%d", i) || vi.OperatorAddress != fmt.Sprintf("cosmosvaloper1%d", i) || vi.Jailed != (i == 2) ||
			vi.Source != source || vi.Endpoint == "" {
			t.Errorf("validator %d: %+v; want m-%d from %s", i, vi, i, source)
		}
	}
}

// Without an LCD the names come over the RPC (abci_query, every page by
// next_key), matched to the set by consensus key, else by consensus
// address; an unbonded validator is not named.
func TestMonikersOverABCI(t *testing.T) {
	vals, staking := stakingChain()
	n := rpctest.New("test-1", vals)
	t.Cleanup(n.Close)
	n.SetABCIFunc(rpctest.StakingPages(staking))
	pub := &memPublisher{}
	run(t, testConfig(pub, n.URL()))
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1)
	waitFor(t, "150 names", func() bool { return len(pub.of(t, events.KindValidatorInfo)) >= len(vals) })
	checkNames(t, infos(t, pub), vals, events.NameFromABCI)
	if c := n.ABCICallsFor(rpc.StakingValidatorsPath); c < 2 {
		t.Errorf("%d abci_query calls of the validators, want 2 pages", c)
	}
}

// An LCD that is configured but down, or fails after its first page:
// the names come over abci_query, and the LCD's partial page is not
// published; when nothing else answers, the partial page is.
func TestMonikersLCDDown(t *testing.T) {
	vals, staking := stakingChain()
	// partialLCD answers its first page (validators 3 and 4), then fails.
	partialLCD := func(t *testing.T) string {
		lcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/cosmos/staking/v1beta1/validators" {
				http.NotFound(w, r)
				return
			}
			if r.URL.Query().Get("pagination.key") != "" {
				http.Error(w, "upstream gone", http.StatusBadGateway)
				return
			}
			v := func(i int) string {
				return fmt.Sprintf(`{"operator_address":"cosmosvaloper1%d","consensus_pubkey":{"key":"%s"},"description":{"moniker":"lcd-%d"}}`, i, vals[i].PubKey, i)
			}
			fmt.Fprintf(w, `{"validators":[%s,%s],"pagination":{"next_key":"cGFnZTI="}}`, v(3), v(4))
		}))
		t.Cleanup(lcd.Close)
		return lcd.URL
	}
	for _, c := range []struct {
		name    string
		lcd     func(t *testing.T) string
		staking bool // the node answers x/staking over abci_query
		log     string
	}{
		{"unreachable", func(*testing.T) string { return "http://127.0.0.1:1" }, true, "names read over abci_query instead"},
		{"fails partway", partialLCD, true, "HTTP 502"},
		{"fails partway, no x/staking over abci", partialLCD, false, "validator names read in part"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := rpctest.New("test-1", vals)
			t.Cleanup(n.Close)
			if c.staking {
				n.SetABCIFunc(rpctest.StakingPages(staking))
			}
			logs := &syncBuf{}
			pub := &memPublisher{}
			cfg := testConfig(pub, n.URL())
			cfg.LCD = c.lcd(t)
			cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
			run(t, cfg)
			waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
			n.Produce(1)
			if c.staking {
				waitFor(t, "150 names", func() bool { return len(pub.of(t, events.KindValidatorInfo)) >= len(vals) })
				checkNames(t, infos(t, pub), vals, events.NameFromABCI)
			} else {
				waitFor(t, "the LCD's two names", func() bool { return len(pub.of(t, events.KindValidatorInfo)) >= 2 })
				got := infos(t, pub)
				if vi := got[vals[3].Address]; len(got) != 2 || vi == nil || vi.Moniker != "lcd-3" || vi.Source != events.NameFromLCD {
					t.Errorf("names %v; want validators 3 and 4 from the LCD's first page", got)
				}
			}
			waitFor(t, "the LCD failure logged", func() bool { return strings.Contains(logs.String(), c.log) })
			if !strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("the LCD's failure is not a warning:\n%s", logs.String())
			}
		})
	}
}

// A chain with neither x/staking nor x/slashing over abci_query
// (CometBFT's kvstore app): its set is indexed with addresses, a validator node's
// /status moniker names that one, each missing module is said once at
// INFO, and nothing is warned about however often it is asked.
func TestNamesKVStoreChain(t *testing.T) {
	vals := rpctest.MakeValidators("v", 4)
	n := rpctest.New("test-1", vals)
	t.Cleanup(n.Close)
	n.SetSelf(1)
	logs := &syncBuf{}
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.LCDEvery = 20 * time.Millisecond
	cfg.Log = slog.New(slog.NewTextHandler(logs, nil))
	run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1)
	waitFor(t, "several reads of the names", func() bool { return n.ABCICallsFor(rpc.StakingValidatorsPath) >= 4 })
	waitFor(t, "the status moniker", func() bool { return len(pub.of(t, events.KindValidatorInfo)) >= 1 })
	sets := pub.of(t, events.KindValidatorSet)
	if len(sets) == 0 || len(sets[0].(*events.ValidatorSet).Validators) != 4 || sets[0].(*events.ValidatorSet).Validators[0].Address != vals[0].Address {
		t.Errorf("validator sets %+v; want the 4 addresses", sets)
	}
	got := infos(t, pub)
	if vi := got[vals[1].Address]; len(got) != 1 || vi == nil || vi.Moniker != "fake-test-1" || vi.Source != events.NameFromStatus {
		t.Errorf("names %v; want only validator 1's /status moniker", got)
	}
	if c := strings.Count(logs.String(), "answers no x/staking query"); c != 1 {
		t.Errorf("the names hint is logged %d times, want once:\n%s", c, logs.String())
	}
	if c := strings.Count(logs.String(), "--cosmos-slashing test-1=WINDOW:MIN"); c != 1 {
		t.Errorf("the slashing hint is logged %d times, want once:\n%s", c, logs.String())
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("warnings on a chain without x/staking:\n%s", logs.String())
	}
}
