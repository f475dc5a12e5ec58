package sentry

import (
	"testing"
	"time"
)

func TestParseTopic(t *testing.T) {
	cases := []struct {
		topic  string
		ok     bool
		kind   string
		subnet int
	}{
		{"/eth2/b5303f2a/beacon_attestation_0/ssz_snappy", true, KindAttestation, 0},
		{"/eth2/b5303f2a/beacon_attestation_63/ssz_snappy", true, KindAttestation, 63},
		{"/eth2/b5303f2a/sync_committee_3/ssz_snappy", true, KindSyncCommittee, 3},
		{"/eth2/b5303f2a/beacon_attestation_64/ssz_snappy", false, "", 0},
		{"/eth2/b5303f2a/sync_committee_4/ssz_snappy", false, "", 0},
		{"/eth2/b5303f2a/sync_committee_contribution_and_proof/ssz_snappy", false, "", 0},
		{"/eth2/b5303f2a/beacon_block/ssz_snappy", false, "", 0},
		{"/eth2/b5303f2a/beacon_attestation_01/ssz_snappy", false, "", 0},
		{"/eth2/b5303f2a/beacon_attestation_-1/ssz_snappy", false, "", 0},
		{"/eth2/zz303f2a/beacon_attestation_1/ssz_snappy", false, "", 0},
		{"/eth2/b5303f/beacon_attestation_1/ssz_snappy", false, "", 0},
		{"/eth2/b5303f2a/beacon_attestation_1/ssz", false, "", 0},
		{"", false, "", 0},
	}
	for _, c := range cases {
		got, ok := parseTopic(c.topic)
		if ok != c.ok || (ok && (got.Kind != c.kind || got.Subnet != c.subnet || got.Digest != [4]byte{0xb5, 0x30, 0x3f, 0x2a})) {
			t.Errorf("parseTopic(%q) = %+v, %v; want kind %q subnet %d ok %v", c.topic, got, ok, c.kind, c.subnet, c.ok)
		}
	}
}

func FuzzParseTopic(f *testing.F) {
	f.Add("/eth2/b5303f2a/beacon_attestation_12/ssz_snappy")
	f.Add("/eth2/b5303f2a/sync_committee_1/ssz_snappy")
	f.Add("/eth2/00000000/voluntary_exit/ssz_snappy")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTopic(s)
		if !ok {
			return
		}
		switch got.Kind {
		case KindAttestation:
			if got.Subnet < 0 || got.Subnet >= attestationSubnetCount {
				t.Fatalf("subnet %d out of range", got.Subnet)
			}
		case KindSyncCommittee:
			if got.Subnet < 0 || got.Subnet >= syncCommitteeSubnetCount {
				t.Fatalf("subnet %d out of range", got.Subnet)
			}
		default:
			t.Fatalf("kind %q", got.Kind)
		}
	})
}

func TestBackoff(t *testing.T) {
	base, limit := time.Second, 10*time.Second
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for n, w := range want {
		if got := backoff(n, base, limit); got != w {
			t.Errorf("backoff(%d) = %s, want %s", n, got, w)
		}
	}
	if got := backoff(1000, base, limit); got != limit {
		t.Errorf("backoff(1000) = %s, want the cap", got)
	}
}
