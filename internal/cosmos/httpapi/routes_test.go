package httpapi

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/state"
)

const prefix = "/api/v1/cosmos/"

// The grid of the fixture's heights 1–20, per validator (see fixture_test.go).
var wantCells = map[string]string{
	vAlpha:   "SSSPSScPSPSPSSSPSSSP",
	vBravo:   "PSSSPSSSPSSvPSSSPSSS",
	vCharlie: "SPSSSPSSSMMMSPSSSPSS",
	vDelta:   "SSPSSSPSSSPSSSPSSSPS",
	vEcho:    "SSSS                ",
}

// Unknown slashing parameters: the parameters and the projection are null
// and jail says "unknown"; min signed 0 configured: "never", figures null.
func TestValidatorsJailUnknownAndNever(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		f.exec("UPDATE cosmos_chains SET params_source = '', signed_blocks_window = 100, min_signed_per_window = 0 WHERE chain = ?", testChain)
		f.exec("UPDATE cosmos_validator_stats SET blocks_to_jail = ?, time_to_jail_ms = ? WHERE chain = ?", state.JailUnknown, state.JailUnknown, testChain)
		var resp validatorsResponse
		f.getJSON(prefix+testChain+"/validators", &resp)
		for _, v := range resp.Validators {
			if v.Jail != jailUnknown || v.BlocksToJail != nil || v.TimeToJailSeconds != nil || v.SignedBlocksWindow != nil || v.MinSignedPerWindow != nil || v.ParamsSource != nil {
				t.Errorf("%s with unknown parameters: %+v", v.Moniker, v)
			}
		}
		f.exec("UPDATE cosmos_chains SET params_source = 'config', signed_blocks_window = 100, min_signed_per_window = 0 WHERE chain = ?", testChain)
		f.exec("UPDATE cosmos_validator_stats SET blocks_to_jail = ?, time_to_jail_ms = ? WHERE chain = ?", state.JailNever, state.JailNever, testChain)
		f.getJSON(prefix+testChain+"/validators", &resp)
		for _, v := range resp.Validators {
			if v.Jail != jailNever || v.BlocksToJail != nil || v.TimeToJailSeconds != nil || v.MinSignedPerWindow == nil || *v.MinSignedPerWindow != 0 ||
				v.ParamsSource == nil || *v.ParamsSource != "config" {
				t.Errorf("%s with min signed 0: %+v", v.Moniker, v)
			}
		}
	})
}

// Blocks to jail projected but too few block intervals seen for a time
// (a fresh start): the blocks are given, the time is null, not 0.
func TestValidatorsJailTimeUnknown(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		f.exec("UPDATE cosmos_validator_stats SET blocks_to_jail = ?, time_to_jail_ms = ? WHERE chain = ?", 47, state.JailTimeUnknown, testChain)
		var resp validatorsResponse
		f.getJSON(prefix+testChain+"/validators", &resp)
		n := 0
		for _, v := range resp.Validators {
			if !v.InSet {
				continue
			}
			n++
			if v.Jail != jailProjected || v.BlocksToJail == nil || *v.BlocksToJail != 47 || v.TimeToJailSeconds != nil {
				t.Errorf("%s with the time unknown: jail %q, blocks %v, seconds %v; want projected, 47, null", v.Moniker, v.Jail, v.BlocksToJail, v.TimeToJailSeconds)
			}
		}
		if n == 0 {
			t.Fatal("no validator in the set")
		}
	})
}

func TestChains(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		// Chains only the store knows of: one with sets, one with an endpoint.
		f.exec("INSERT INTO cosmos_validator_sets (chain, height, size, total_power) VALUES (?, ?, ?, ?)", "otherchain", 1, 0, 0)
		f.exec("INSERT INTO cosmos_validator_sets (chain, height, size, total_power) VALUES (?, ?, ?, ?)", "otherchain", 2, 0, 0)
		f.exec(`INSERT INTO cosmos_endpoints (chain, endpoint, sentry_id, healthy, reason, height, latest_block_time, catching_up,
			node_version, moniker, updated_at, healthy_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			"achain", "http://127.0.0.1:1", "s", false, "down", 0, 0, false, "", "", t0, 0)
		var resp struct {
			Chains []chainView `json:"chains"`
		}
		f.getJSON(prefix+"chains", &resp)
		latest := time.UnixMilli(blockTime(20)).UTC()
		healthyAt := time.UnixMilli(t0).UTC()
		want := []chainView{
			{Chain: emptyChain, Configured: true},
			{Chain: testChain, Configured: true, LatestHeight: 20, LatestTime: &latest, AnalyzedHeight: 20,
				Validators: 4, TotalPower: 100, EndpointsHealthy: 1, EndpointsTotal: 2, EndpointsHealthyAt: &healthyAt},
			{Chain: "achain", EndpointsTotal: 1},
			{Chain: "otherchain"},
		}
		if !reflect.DeepEqual(resp.Chains, want) {
			t.Errorf("chains = %+v\nwant %+v", resp.Chains, want)
		}
	})
}

func TestValidators(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		var resp validatorsResponse
		f.getJSON(prefix+testChain+"/validators", &resp)
		if resp.Chain != testChain || resp.Height != 20 || resp.SetHeight != 5 || resp.TotalPower != 100 || resp.InSet != 4 {
			t.Errorf("head = %+v", resp)
		}
		if len(resp.Validators) != 4 {
			t.Fatalf("%d validators, want the 4 of the set", len(resp.Validators))
		}
		for i, v := range resp.Validators {
			if v.Address != set4[i] || v.Index != i || v.Moniker != monikers[set4[i]] || !v.InSet || v.VotingPower != powers[set4[i]] {
				t.Errorf("validator %d = %+v", i, v)
			}
		}
		c := resp.Validators[2]
		if math.Abs(c.PowerShare-0.3) > 1e-9 || !c.HasStats || c.Signed != 17 || c.Missed != 3 || c.MissedPrevote != 3 ||
			c.MissedPrecommit != 3 || c.WindowSize != 20 || c.WindowMissed != 3 || c.Proposed != 4 || c.MissedProposals != 1 ||
			c.SoloMissed != 3 || c.ConsecutiveMissed != 0 || c.LastHeight != 20 {
			t.Errorf("charlie = %+v", c)
		}
		if c.BlocksToJail == nil || *c.BlocksToJail != 47 || c.TimeToJailSeconds == nil || *c.TimeToJailSeconds != 282 {
			t.Errorf("charlie's jail: blocks %v, seconds %v; want 47, 282", c.BlocksToJail, c.TimeToJailSeconds)
		}
		if c.Uptime == nil || math.Abs(*c.Uptime-0.85) > 1e-9 {
			t.Errorf("charlie's uptime %v, want 0.85", c.Uptime)
		}
		if c.SignedBlocksWindow == nil || *c.SignedBlocksWindow != 100 || c.MinSignedPerWindow == nil || *c.MinSignedPerWindow != 0.5 ||
			c.ParamsSource == nil || *c.ParamsSource != "lcd" || c.Jail != jailProjected {
			t.Errorf("slashing parameters %v %v from %v, jail %q; want 100 and 0.5 from lcd, projected", c.SignedBlocksWindow, c.MinSignedPerWindow, c.ParamsSource, c.Jail)
		}

		// all=true adds echo, out of the set.
		f.getJSON(prefix+testChain+"/validators?all=true", &resp)
		if len(resp.Validators) != 5 {
			t.Fatalf("all: %d validators, want 5", len(resp.Validators))
		}
		e := resp.Validators[4]
		if e.Address != vEcho || e.InSet || e.Index != -1 || e.PowerShare != 0 || !e.Jailed || e.BlocksToJail != nil || e.TimeToJailSeconds != nil || e.Jail != jailNotInSet {
			t.Errorf("echo = %+v", e)
		}

		// The field names are the documented ones.
		var raw struct {
			Validators []map[string]json.RawMessage `json:"validators"`
		}
		f.getJSON(prefix+testChain+"/validators", &raw)
		for _, k := range []string{"address", "moniker", "index", "voting_power", "power_share", "in_set", "signed", "missed",
			"missed_prevote", "missed_precommit", "consecutive_missed", "window_size", "window_missed", "signed_blocks_window",
			"min_signed_per_window", "blocks_to_jail", "time_to_jail_seconds", "proposed", "missed_proposals", "solo_missed", "uptime"} {
			if _, ok := raw.Validators[0][k]; !ok {
				t.Errorf("validator without field %s", k)
			}
		}
	})
}

func TestValidator(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		var d validatorDetail
		// Any case is accepted.
		f.getJSON(prefix+testChain+"/validators/"+strings.ToLower(vCharlie), &d)
		if d.Address != vCharlie || d.Moniker != "charlie" || !d.InSet || d.Status != "in the set" || d.Index != 2 ||
			d.OperatorAddress != "cosmosvaloper1charlie" || d.PubKey != "pk-charlie" || d.WindowMissed != 3 || d.Height != 20 {
			t.Errorf("charlie = %+v", d)
		}
		var heights []int64
		for _, m := range d.RecentMisses {
			heights = append(heights, m.Height)
			if m.Validator != vCharlie || !m.MissedSignature || m.Cause != "no_vote" || !m.Solo || m.Commit != "absent" {
				t.Errorf("charlie's miss = %+v", m)
			}
		}
		if !reflect.DeepEqual(heights, []int64{12, 11, 10}) {
			t.Errorf("recent misses at %v, want 12, 11, 10", heights)
		}
		if d.RecentMisses[1].MissedProposals != 1 || d.RecentMisses[1].Time == nil || !d.RecentMisses[1].Time.Equal(time.UnixMilli(blockTime(11))) {
			t.Errorf("miss at 11 = %+v", d.RecentMisses[1])
		}
		if len(d.Changes) != 0 {
			t.Errorf("charlie's changes = %+v, want none", d.Changes)
		}

		f.getJSON(prefix+testChain+"/validators/"+vEcho, &d)
		if d.InSet || d.Status != "not in the set" || d.Index != -1 || d.Moniker != "echo" || d.BlocksToJail != nil {
			t.Errorf("echo = %+v", d)
		}
		if want := []changeView{{Height: 5, Change: "removed", OldPower: 5, NewPower: 0}}; !reflect.DeepEqual(d.Changes, want) {
			t.Errorf("echo's changes = %+v, want %+v", d.Changes, want)
		}
		if len(d.RecentMisses) != 0 {
			t.Errorf("echo's misses = %+v, want none", d.RecentMisses)
		}
	})
}

// A height the analyzer skipped says why, whether nothing of it is stored
// (pruned everywhere: no 404) or its block is (a commit that never came),
// and charges nobody: every verdict is unknown. An analysed height says
// null, and so does a height just past a skipped run.
func TestHeightSkipped(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		f.exec("INSERT INTO cosmos_skipped_heights (chain, from_height, to_height, reason, skipped_at) VALUES (?, ?, ?, ?, ?)",
			testChain, 30, 1029, "pruned", t0)
		f.exec("INSERT INTO cosmos_skipped_heights (chain, from_height, to_height, reason, skipped_at) VALUES (?, ?, ?, ?, ?)",
			testChain, 1031, 1031, "commit_missing", t0)
		f.exec("INSERT INTO cosmos_blocks (chain, height, time, hash, proposer_address, num_txs, validators_hash, votes_observed, source, endpoint, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			testChain, 1031, blockTime(1031), blockHash(1031), vAlpha, 0, "VH", false, "backfill", "http://127.0.0.1:26657", blockTime(1031))
		for _, tc := range []struct {
			height int64
			want   string
		}{{30, "pruned"}, {500, "pruned"}, {1029, "pruned"}, {1031, "commit_missing"}} {
			var v heightView
			f.getJSON(fmt.Sprintf("%s%s/heights/%d", prefix, testChain, tc.height), &v)
			if v.Skipped == nil || *v.Skipped != tc.want || v.Analyzed || v.MissedCount != 0 {
				t.Errorf("height %d: skipped %v, analyzed %v, missed %d; want skipped %q, not analysed, no miss",
					tc.height, v.Skipped, v.Analyzed, v.MissedCount, tc.want)
				continue
			}
			if len(v.Validators) != 4 {
				t.Fatalf("height %d: %d validators, want the set of 4", tc.height, len(v.Validators))
			}
			for _, m := range v.Validators {
				if m.Prevote != "unknown" || m.Precommit != "unknown" || m.Commit != "unknown" || m.MissedSignature || m.MissedPrevote || m.Cause != "" {
					t.Errorf("height %d: %s %+v, want everything unknown and nothing missed", tc.height, m.Moniker, m)
				}
			}
		}
		var v heightView
		f.getJSON(prefix+testChain+"/heights/11", &v)
		if v.Skipped != nil {
			t.Errorf("analysed height 11 skipped %q", *v.Skipped)
		}
		f.wantError(prefix+testChain+"/heights/1030", 404, "height") // between the runs: nothing known
	})
}

func TestHeight(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		var v heightView
		f.getJSON(prefix+testChain+"/heights/11", &v)
		if !v.Analyzed || !v.Observed || v.Incident != "round" || v.CommitRound == nil || *v.CommitRound != 1 ||
			v.BlockHash != blockHash(11) || v.Proposer == nil || *v.Proposer != (validatorRef{vDelta, "delta"}) ||
			v.SetHeight != 5 || v.TotalPower != 100 || v.SignedPower != 70 || v.MissedCount != 1 || v.VotesTruncated {
			t.Errorf("height 11 = %+v", v)
		}
		if v.Time == nil || !v.Time.Equal(time.UnixMilli(blockTime(11))) {
			t.Errorf("time %v", v.Time)
		}
		if len(v.Rounds) != 2 {
			t.Fatalf("%d rounds, want 2", len(v.Rounds))
		}
		r0, r1 := v.Rounds[0], v.Rounds[1]
		if r0.Round != 0 || r0.Proposer == nil || r0.Proposer.Moniker != "charlie" || len(r0.Prevotes) != 3 || len(r0.Precommits) != 3 {
			t.Errorf("round 0 = %+v", r0)
		}
		for _, vt := range append(r0.Prevotes, r0.Precommits...) {
			if vt.BlockHash != nil {
				t.Errorf("round 0 vote of %s for %q, want nil", vt.Moniker, *vt.BlockHash)
			}
		}
		pv := r1.Prevotes[0]
		if r1.Round != 1 || r1.Proposer.Address != vDelta || pv.Address != vAlpha || pv.Moniker != "alpha" || pv.Index != 0 ||
			pv.BlockHash == nil || *pv.BlockHash != blockHash(11) || pv.Endpoint != "http://127.0.0.1:26657" ||
			pv.Timestamp == nil || !pv.Timestamp.Equal(time.UnixMilli(blockTime(11)+3000+400)) ||
			pv.SeenAt == nil || !pv.SeenAt.Equal(time.UnixMilli(blockTime(11)+3405)) {
			t.Errorf("round 1 first prevote = %+v", pv)
		}
		want := []memberAtHeight{
			{Address: vAlpha, Moniker: "alpha", Index: 0, VotingPower: 10, Prevote: "block", Precommit: "block", Commit: "commit"},
			{Address: vBravo, Moniker: "bravo", Index: 1, VotingPower: 20, Prevote: "block", Precommit: "block", Commit: "commit"},
			{Address: vCharlie, Moniker: "charlie", Index: 2, VotingPower: 30, Prevote: "absent", Precommit: "absent", Commit: "absent",
				MissedPrevote: true, MissedPrecommit: true, MissedSignature: true, MissedProposals: 1, Cause: "no_vote", Solo: true},
			{Address: vDelta, Moniker: "delta", Index: 3, VotingPower: 40, Prevote: "block", Precommit: "block", Commit: "commit"},
		}
		if !reflect.DeepEqual(v.Validators, want) {
			t.Errorf("validators at 11:\n got %+v\nwant %+v", v.Validators, want)
		}

		// 12: bravo's prevote is missing (its miss row says so; votes agree).
		f.getJSON(prefix+testChain+"/heights/12", &v)
		if b := v.Validators[1]; b.Prevote != "absent" || b.Precommit != "block" || b.Commit != "commit" || !b.MissedPrevote || b.MissedSignature || b.Cause != "late_prevote" {
			t.Errorf("bravo at 12 = %+v", b)
		}

		// 7: analysed, not observed: alpha's nil precommit from its row,
		// the others signed everything.
		f.getJSON(prefix+testChain+"/heights/7", &v)
		if !v.Analyzed || v.Observed || len(v.Rounds) != 0 || v.Proposer.Address != vDelta {
			t.Errorf("height 7 = %+v", v)
		}
		if a := v.Validators[0]; a.Prevote != "unknown" || a.Precommit != "unknown" || a.Commit != "nil" || !a.MissedPrecommit {
			t.Errorf("alpha at 7 = %+v", a)
		}
		if b := v.Validators[1]; b.Prevote != "block" || b.Precommit != "block" || b.Commit != "commit" || b.MissedPrevote {
			t.Errorf("bravo at 7 = %+v", b)
		}

		// 3: the five-member set.
		f.getJSON(prefix+testChain+"/heights/3", &v)
		if v.SetHeight != 1 || len(v.Validators) != 5 || v.Validators[4].Address != vEcho || v.Validators[4].Commit != "commit" {
			t.Errorf("height 3: set %d, %d validators", v.SetHeight, len(v.Validators))
		}

		// 21: running, not analysed; its round and votes are there.
		f.getJSON(prefix+testChain+"/heights/21", &v)
		if v.Analyzed || !v.Observed || v.CommitRound != nil || len(v.Rounds) != 1 || len(v.Rounds[0].Prevotes) != 3 || len(v.Rounds[0].Precommits) != 1 {
			t.Errorf("height 21 = %+v", v)
		}
		if a := v.Validators[0]; a.Prevote != "unknown" || a.Commit != "unknown" {
			t.Errorf("alpha at 21 = %+v", a)
		}
	})
}

func TestMissed(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		type hv struct {
			h int64
			v string
		}
		got := func(r missedResponse) []hv {
			var out []hv
			for _, m := range r.Misses {
				out = append(out, hv{m.Height, m.Moniker})
			}
			return out
		}
		var r missedResponse
		f.getJSON(prefix+testChain+"/missed", &r)
		if r.From != 1 || r.To != 20 || r.Limit != defaultMissed || r.Truncated {
			t.Errorf("default range = %+v", r)
		}
		if want := []hv{{12, "bravo"}, {12, "charlie"}, {11, "charlie"}, {10, "charlie"}, {7, "alpha"}}; !reflect.DeepEqual(got(r), want) {
			t.Errorf("misses %v, want %v", got(r), want)
		}
		m := r.Misses[0]
		if m.Validator != vBravo || m.Index != 1 || m.VotingPower != 20 || m.Prevote != "absent" || m.Precommit != "block" ||
			m.Commit != "commit" || !m.MissedPrevote || m.MissedPrecommit || m.MissedSignature || m.Cause != "late_prevote" || m.Solo || m.Incident {
			t.Errorf("bravo's miss = %+v", m)
		}
		for _, q := range []string{"validator=charlie", "validator=" + strings.ToLower(vCharlie), "validator=" + vCharlie} {
			f.getJSON(prefix+testChain+"/missed?"+q, &r)
			if want := []hv{{12, "charlie"}, {11, "charlie"}, {10, "charlie"}}; !reflect.DeepEqual(got(r), want) || !reflect.DeepEqual(r.Addresses, []string{vCharlie}) {
				t.Errorf("%s: misses %v (addresses %v), want %v", q, got(r), r.Addresses, want)
			}
		}
		f.getJSON(prefix+testChain+"/missed?from=11&to=12", &r)
		if want := []hv{{12, "bravo"}, {12, "charlie"}, {11, "charlie"}}; !reflect.DeepEqual(got(r), want) || r.From != 11 || r.To != 12 {
			t.Errorf("11..12: %v, want %v", got(r), want)
		}
		f.getJSON(prefix+testChain+"/missed?limit=2", &r)
		if want := []hv{{12, "bravo"}, {12, "charlie"}}; !reflect.DeepEqual(got(r), want) || !r.Truncated {
			t.Errorf("limit 2: %v truncated %v, want %v truncated", got(r), r.Truncated, want)
		}
		f.getJSON(prefix+testChain+"/missed?to=9", &r)
		if want := []hv{{7, "alpha"}}; !reflect.DeepEqual(got(r), want) || r.From != 1 {
			t.Errorf("to 9: %v from %d", got(r), r.From)
		}
		f.getJSON(prefix+testChain+"/missed?from=13", &r)
		if len(r.Misses) != 0 || r.From != 13 || r.To != 20 {
			t.Errorf("from 13: %+v", r)
		}
		f.getJSON(prefix+testChain+"/missed?from=500", &r)
		if len(r.Misses) != 0 {
			t.Errorf("from 500: %+v", r)
		}
	})
}

func TestAlerts(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		var raw map[string]json.RawMessage
		f.getJSON(prefix+testChain+"/alerts", &raw)
		if string(raw["alerts"]) != "[]" || string(raw["chain"]) != `"testchain"` {
			t.Errorf("without an alert engine: %s", raw)
		}
	})
}

func TestAlertsFromLister(t *testing.T) {
	dialects(t, fixtureOptions{alerts: true}, func(t *testing.T, f *fixture) {
		var r struct {
			Chain  string              `json:"chain"`
			All    bool                `json:"all"`
			Alerts []map[string]string `json:"alerts"`
		}
		f.getJSON(prefix+testChain+"/alerts", &r)
		if len(r.Alerts) != 1 || r.Alerts[0]["moniker"] != "charlie" || r.All || f.alerts.gotAll || f.alerts.gotChain != testChain {
			t.Errorf("open alerts = %+v (asked %q, %v)", r, f.alerts.gotChain, f.alerts.gotAll)
		}
		f.getJSON(prefix+testChain+"/alerts?all=true", &r)
		if len(r.Alerts) != 2 || !r.All || !f.alerts.gotAll {
			t.Errorf("all alerts = %+v", r)
		}
	})
}

func TestConsensus(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		var c consensusView
		f.getJSON(prefix+testChain+"/consensus", &c)
		if c.Chain != testChain || c.Height != 21 || c.Round != 0 || c.Step != "Prevote" || c.StepAt == nil ||
			!c.StepAt.Equal(time.UnixMilli(blockTime(21)+500)) || c.Proposer == nil || *c.Proposer != (validatorRef{vBravo, "bravo"}) || c.TotalPower != 100 {
			t.Errorf("consensus head = %+v", c)
		}
		for name, g := range map[string][2]float64{
			"prevote_share": {c.PrevoteShare, 0.7}, "prevote_block_share": {c.PrevoteBlockShare, 0.3},
			"precommit_share": {c.PrecommitShare, 0.1}, "precommit_block_share": {c.PrecommitBlockShare, 0.1},
		} {
			if math.Abs(g[0]-g[1]) > 1e-9 {
				t.Errorf("%s = %v, want %v", name, g[0], g[1])
			}
		}
		want := []consensusValidator{
			{Address: vAlpha, Moniker: "alpha", Index: 0, VotingPower: 10, Prevote: "block", Precommit: "block", Recent: wantCells[vAlpha]},
			{Address: vBravo, Moniker: "bravo", Index: 1, VotingPower: 20, Prevote: "block", Precommit: "none", Recent: wantCells[vBravo]},
			{Address: vCharlie, Moniker: "charlie", Index: 2, VotingPower: 30, Prevote: "none", Precommit: "none", RecentMissed: 3, Recent: wantCells[vCharlie]},
			{Address: vDelta, Moniker: "delta", Index: 3, VotingPower: 40, Prevote: "nil", Precommit: "none", Recent: wantCells[vDelta]},
		}
		if !reflect.DeepEqual(c.Validators, want) {
			t.Errorf("validators:\n got %+v\nwant %+v", c.Validators, want)
		}
		if c.EndpointsHealthy != 1 || c.EndpointsTotal != 2 || c.EndpointsHealthyAt == nil || !c.EndpointsHealthyAt.Equal(time.UnixMilli(t0)) {
			t.Errorf("endpoints %d/%d healthy at %v, want 1/2 at t0", c.EndpointsHealthy, c.EndpointsTotal, c.EndpointsHealthyAt)
		}

		// `valtrack top` reads exactly these names.
		var raw map[string]json.RawMessage
		f.getJSON(prefix+testChain+"/consensus", &raw)
		var keys []string
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		wantKeys := []string{"chain", "endpoints_healthy", "endpoints_healthy_at", "endpoints_total", "height", "precommit_block_share", "precommit_share",
			"prevote_block_share", "prevote_share", "proposer", "round", "step", "step_at", "total_power", "validators"}
		if !reflect.DeepEqual(keys, wantKeys) {
			t.Errorf("consensus fields %v, want %v", keys, wantKeys)
		}
		var vs []map[string]json.RawMessage
		if err := json.Unmarshal(raw["validators"], &vs); err != nil {
			t.Fatal(err)
		}
		keys = keys[:0]
		for k := range vs[0] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if want := []string{"address", "index", "moniker", "precommit", "prevote", "recent", "recent_missed", "voting_power"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("validator fields %v, want %v", keys, want)
		}
		var p map[string]string
		if err := json.Unmarshal(raw["proposer"], &p); err != nil || len(p) != 2 || p["address"] != vBravo || p["moniker"] != "bravo" {
			t.Errorf("proposer %s", raw["proposer"])
		}
	})
}

// /consensus carries the endpoints' health, which `valtrack top` shows:
// with every endpoint down, 0 healthy of 2 and when one last was.
func TestConsensusEndpointsAllDown(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		f.exec("UPDATE cosmos_endpoints SET healthy = ?, reason = ? WHERE chain = ?", false, "connection refused", testChain)
		var c consensusView
		f.getJSON(prefix+testChain+"/consensus", &c)
		if c.EndpointsHealthy != 0 || c.EndpointsTotal != 2 || c.EndpointsHealthyAt == nil || !c.EndpointsHealthyAt.Equal(time.UnixMilli(t0)) {
			t.Errorf("endpoints %d/%d healthy at %v, want 0/2 at %v", c.EndpointsHealthy, c.EndpointsTotal, c.EndpointsHealthyAt, time.UnixMilli(t0).UTC())
		}
		if len(c.Validators) != 4 {
			t.Errorf("%d validators: the last seen votes are still served", len(c.Validators))
		}
	})
}

func TestGrid(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		var g gridView
		f.getJSON(prefix+testChain+"/grid", &g)
		var wantHeights []int64
		for h := int64(1); h <= 20; h++ {
			wantHeights = append(wantHeights, h)
		}
		if !reflect.DeepEqual(g.Heights, wantHeights) {
			t.Errorf("heights %v", g.Heights)
		}
		if !reflect.DeepEqual(g.Incidents, map[string]string{"11": "round"}) {
			t.Errorf("incidents %v", g.Incidents)
		}
		order := append(append([]string{}, set4...), vEcho)
		if len(g.Validators) != len(order) {
			t.Fatalf("%d rows, want %d", len(g.Validators), len(order))
		}
		for i, r := range g.Validators {
			if r.Address != order[i] || r.Moniker != monikers[order[i]] || r.Cells != wantCells[order[i]] {
				t.Errorf("row %d: %s %q cells %q, want %s %q", i, r.Moniker, r.Address, r.Cells, monikers[order[i]], wantCells[order[i]])
			}
		}
		if e := g.Validators[4]; e.InSet || e.Index != -1 || e.VotingPower != 5 {
			t.Errorf("echo row = %+v", e)
		}
		if c := g.Validators[2].Causes; !reflect.DeepEqual(c, map[string]string{"10": "no_vote", "11": "no_vote", "12": "no_vote"}) {
			t.Errorf("charlie's causes %v", c)
		}
		g = gridView{}
		f.getJSON(prefix+testChain+"/grid?blocks=3", &g)
		if !reflect.DeepEqual(g.Heights, []int64{18, 19, 20}) || len(g.Validators) != 4 || g.Validators[2].Cells != "PSS" || g.Incidents != nil {
			t.Errorf("3 blocks: %+v", g)
		}
	})
}

// Skipped heights are columns of the grid of their own: x for every
// validator, the reason in skipped, among the analysed heights; a grid of
// the newest heights only may be all skipped ones. /chains counts the runs
// and names the newest, and /consensus' recent shows them unknown.
func TestGridSkipped(t *testing.T) {
	dialects(t, fixtureOptions{skipped: true}, func(t *testing.T, f *fixture) {
		var g gridView
		f.getJSON(prefix+testChain+"/grid", &g)
		if n := len(g.Heights); n != 24 || g.Heights[20] != 21 || g.Heights[23] != 24 {
			t.Fatalf("heights %v, want 1..24", g.Heights)
		}
		if want := map[string]string{"21": "pruned", "22": "pruned", "23": "validator_set_pruned"}; !reflect.DeepEqual(g.Skipped, want) {
			t.Errorf("skipped %v, want %v", g.Skipped, want)
		}
		if len(g.Validators) != 5 {
			t.Fatalf("%d rows, want 5", len(g.Validators))
		}
		for _, r := range g.Validators {
			tail := map[string]string{vAlpha: "xxxP", vEcho: "xxx "}[r.Address]
			if tail == "" {
				tail = "xxxS"
			}
			if r.Cells != wantCells[r.Address]+tail {
				t.Errorf("%s cells %q, want %q", r.Moniker, r.Cells, wantCells[r.Address]+tail)
			}
		}
		g = gridView{}
		f.getJSON(prefix+testChain+"/grid?blocks=3", &g)
		if !reflect.DeepEqual(g.Heights, []int64{22, 23, 24}) || len(g.Validators) != 4 || g.Validators[0].Cells != "xxP" {
			t.Errorf("3 blocks: %+v", g)
		}
		f.exec("DELETE FROM cosmos_heights WHERE chain = ? AND height = ?", testChain, 24)
		g = gridView{}
		f.getJSON(prefix+testChain+"/grid?blocks=2", &g)
		if !reflect.DeepEqual(g.Heights, []int64{22, 23}) || len(g.Validators) != 4 || g.Validators[3].Cells != "xx" || len(g.Skipped) != 2 {
			t.Errorf("2 skipped blocks: %+v", g)
		}

		var resp struct {
			Chains []chainView `json:"chains"`
		}
		f.getJSON(prefix+"chains", &resp)
		for _, c := range resp.Chains {
			switch c.Chain {
			case testChain:
				if c.SkippedRuns != 2 || c.SkippedHeights != 3 || c.LastSkipped == nil ||
					*c.LastSkipped != (skippedRun{From: 23, To: 23, Reason: "validator_set_pruned"}) {
					t.Errorf("%s: skipped runs %d, heights %d, last %+v; want 2, 3, 23 validator_set_pruned", c.Chain, c.SkippedRuns, c.SkippedHeights, c.LastSkipped)
				}
			default:
				if c.SkippedRuns != 0 || c.LastSkipped != nil {
					t.Errorf("%s: skipped %+v", c.Chain, c)
				}
			}
		}
		var cv consensusView
		f.getJSON(prefix+testChain+"/consensus", &cv)
		for _, v := range cv.Validators {
			if !strings.HasSuffix(v.Recent, "??") || strings.Contains(v.Recent, "x") {
				t.Errorf("%s recent %q, want the skipped heights as ?", v.Moniker, v.Recent)
			}
		}
	})
}

// gridColumns walks at most n heights of the skipped runs, however long,
// and takes a height both analysed and skipped as analysed.
func TestGridColumns(t *testing.T) {
	hs := []analysed{{Height: 5}, {Height: 9}}
	runs := []skippedRun{{From: 100, To: 1 << 40, Reason: "pruned"}, {From: 6, To: 9, Reason: "commit_missing"}}
	cols := gridColumns(hs, runs, 4)
	if len(cols) != 4 || cols[0].height != 1<<40-3 || cols[3].height != 1<<40 || cols[3].skipped != "pruned" {
		t.Errorf("columns %+v, want the newest 4 of the long run", cols)
	}
	cols = gridColumns(hs, runs[1:], 10)
	var got []string
	for _, c := range cols {
		got = append(got, fmt.Sprintf("%d%s", c.height, map[bool]string{true: "a", false: c.skipped}[c.a != nil]))
	}
	if want := "5a 6commit_missing 7commit_missing 8commit_missing 9a"; strings.Join(got, " ") != want {
		t.Errorf("columns %q, want %q", strings.Join(got, " "), want)
	}
}

// TestEmptyChain: a configured chain without data answers empty views.
func TestEmptyChain(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		p := prefix + emptyChain
		var c consensusView
		f.getJSON(p+"/consensus", &c)
		if c.Height != 0 || c.Proposer != nil || c.StepAt != nil || len(c.Validators) != 0 {
			t.Errorf("consensus = %+v", c)
		}
		var g gridView
		f.getJSON(p+"/grid", &g)
		if len(g.Heights) != 0 || len(g.Validators) != 0 {
			t.Errorf("grid = %+v", g)
		}
		var v validatorsResponse
		f.getJSON(p+"/validators", &v)
		if v.Height != 0 || v.Validators == nil || len(v.Validators) != 0 {
			t.Errorf("validators = %+v", v)
		}
		var m missedResponse
		f.getJSON(p+"/missed", &m)
		if len(m.Misses) != 0 || m.Misses == nil {
			t.Errorf("missed = %+v", m)
		}
		f.wantError(p+"/heights/1", 404, "height")
		f.wantError(p+"/validators/"+vAlpha, 404, "address")
	})
}

func TestCache(t *testing.T) {
	dialects(t, fixtureOptions{cacheTTL: time.Hour}, func(t *testing.T, f *fixture) {
		var g gridView
		f.getJSON(prefix+testChain+"/grid", &g)
		f.exec("DELETE FROM cosmos_misses WHERE chain = ?", testChain)
		f.getJSON(prefix+testChain+"/grid?junk=1", &g)
		if g.Validators[2].Cells != wantCells[vCharlie] {
			t.Errorf("within the TTL the grid was recomputed: %q", g.Validators[2].Cells)
		}
		// Another parameter is another body.
		f.getJSON(prefix+testChain+"/grid?blocks=20", &g)
		if g.Validators[2].Cells != "SPSSSPSSSSSSSPSSSPSS" {
			t.Errorf("blocks=20 after the delete: %q", g.Validators[2].Cells)
		}
	})
}
