package sentry

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// Subnet kinds of topics we observe (events.Subscription.Kind).
const (
	KindAttestation   = "attestation"
	KindSyncCommittee = "sync_committee"
)

// Spec bounds (phase0 ATTESTATION_SUBNET_COUNT, altair
// SYNC_COMMITTEE_SUBNET_COUNT); a topic outside them is ignored.
const (
	attestationSubnetCount   = 64
	syncCommitteeSubnetCount = 4
	maxTopicLen              = 128
)

type subnetTopic struct {
	Digest [4]byte
	Kind   string
	Subnet int
}

// parseTopic reads /eth2/<digest hex>/beacon_attestation_<n>/ssz_snappy and
// /eth2/<digest hex>/sync_committee_<n>/ssz_snappy (phase0 and altair
// p2p-interface "Topics and messages").
func parseTopic(topic string) (subnetTopic, bool) {
	var t subnetTopic
	if len(topic) > maxTopicLen {
		return t, false
	}
	rest, ok := strings.CutPrefix(topic, "/eth2/")
	if !ok {
		return t, false
	}
	rest, ok = strings.CutSuffix(rest, "/ssz_snappy")
	if !ok {
		return t, false
	}
	digest, name, ok := strings.Cut(rest, "/")
	if !ok || len(digest) != 8 {
		return t, false
	}
	if _, err := hex.Decode(t.Digest[:], []byte(digest)); err != nil {
		return t, false
	}
	var num string
	var limit int
	switch {
	case strings.HasPrefix(name, "beacon_attestation_"):
		t.Kind, num, limit = KindAttestation, name[len("beacon_attestation_"):], attestationSubnetCount
	case strings.HasPrefix(name, "sync_committee_") && !strings.HasPrefix(name, "sync_committee_contribution"):
		t.Kind, num, limit = KindSyncCommittee, name[len("sync_committee_"):], syncCommitteeSubnetCount
	default:
		return t, false
	}
	if num == "" || len(num) > 3 || (len(num) > 1 && num[0] == '0') {
		return t, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n >= limit {
		return t, false
	}
	t.Subnet = n
	return t, true
}
