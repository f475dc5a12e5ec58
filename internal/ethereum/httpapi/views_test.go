package httpapi

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"
)

// locating are the fields only a valid key sees unchanged.
var locating = map[string]bool{"enr": true, "multiaddr": true, "ip": true, "port": true, "latitude": true, "longitude": true}

var validatorFields = []string{"peer_id", "enr", "multiaddr", "ip", "port", "last_seen", "last_epoch",
	"client_version", "validator_count", "validator_count_accuracy", "city", "region", "country",
	"latitude", "longitude", "asn", "asn_organization", "asn_type"}

func byPeer(rows []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, r := range rows {
		m[r["peer_id"].(string)] = r
	}
	return m
}

func TestValidatorsPublicAndAdminViews(t *testing.T) {
	f := newFixture(t)
	var pub, adm []map[string]any
	f.getJSON("/validators", "", 200, &pub)
	f.getJSON("/validators", keyAlice, 200, &adm)

	// Nodes with an estimate above zero, of every network.
	wantIDs := []string{"16Uiu2HAmPeerAlpha", "16Uiu2HAmPeerBravo", "16Uiu2HAmPeerEcho"}
	for name, rows := range map[string][]map[string]any{"public": pub, "admin": adm} {
		var ids []string
		for _, r := range rows {
			ids = append(ids, r["peer_id"].(string))
			var keys []string
			for k := range r {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			want := append([]string(nil), validatorFields...)
			sort.Strings(want)
			if fmt.Sprint(keys) != fmt.Sprint(want) {
				t.Fatalf("%s row fields %v, want exactly %v", name, keys, want)
			}
		}
		sort.Strings(ids)
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
			t.Fatalf("%s rows %v, want %v", name, ids, wantIDs)
		}
	}

	pubBy, admBy := byPeer(pub), byPeer(adm)
	for id, a := range admBy {
		p := pubBy[id]
		tp := f.peers[id]
		// Admin: everything as stored.
		checks := map[string]any{
			"enr": "enr:-test-" + id, "multiaddr": fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", tp.ip, tp.port, id),
			"ip": tp.ip, "port": float64(tp.port), "latitude": tp.lat, "longitude": tp.lon,
			"validator_count": float64(tp.validators), "validator_count_accuracy": tp.confidence,
			"asn": fmt.Sprint(tp.asn), "asn_organization": fmt.Sprintf("AS%d Org", tp.asn), "asn_type": "hosting",
			"country": countryName(tp.country), "city": "City " + tp.country, "region": "Region " + tp.country,
			"client_version": tp.client + "/v1.0.0", "last_seen": float64(tp.seen.Unix()), "last_epoch": float64(1001),
		}
		for k, want := range checks {
			if a[k] != want {
				t.Errorf("admin %s.%s = %v, want %v", id, k, a[k], want)
			}
		}
		// Public: locating fields blanked or rounded, every other field identical.
		for _, k := range validatorFields {
			switch k {
			case "enr", "multiaddr", "ip":
				if p[k] != "" {
					t.Errorf("public %s.%s = %v, want empty", id, k, p[k])
				}
			case "port":
				if p[k] != float64(0) {
					t.Errorf("public %s.port = %v, want 0", id, p[k])
				}
			case "latitude", "longitude":
				want := math.Round(a[k].(float64)*10) / 10
				if p[k] != want {
					t.Errorf("public %s.%s = %v, want %v (rounded)", id, k, p[k], want)
				}
			default:
				if p[k] != a[k] {
					t.Errorf("public %s.%s = %v, admin has %v; only locating fields may differ", id, k, p[k], a[k])
				}
			}
		}
	}
}

func TestPeersPublicAndAdminViews(t *testing.T) {
	f := newFixture(t)
	var pub, adm peersResponse
	f.getJSON("/api/v1/ethereum/testnet/peers", "", 200, &pub)
	f.getJSON("/api/v1/ethereum/testnet/peers", keyAlice, 200, &adm)
	if len(pub.Peers) != 4 || len(adm.Peers) != 4 {
		t.Fatalf("got %d public and %d admin peers, want 4 each", len(pub.Peers), len(adm.Peers))
	}
	for i := range adm.Peers {
		a, p := adm.Peers[i], pub.Peers[i]
		tp := f.peers[a.PeerID]
		if a.IP != tp.ip || a.Port != tp.port || a.ENR != "enr:-test-"+a.PeerID || a.Geo.Latitude != tp.lat || a.Geo.Longitude != tp.lon {
			t.Errorf("admin view of %s hides something: %+v", a.PeerID, a)
		}
		if tp.handshaken && a.Multiaddr == "" {
			t.Errorf("admin view of %s has no multiaddr", a.PeerID)
		}
		if p.IP != "" || p.Port != 0 || p.ENR != "" || p.Multiaddr != "" {
			t.Errorf("public view of %s shows locating fields: %+v", p.PeerID, p)
		}
		if p.Geo.Latitude != roundCoord(tp.lat) || p.Geo.Longitude != roundCoord(tp.lon) {
			t.Errorf("public coordinates of %s = %v,%v, want rounded %v,%v", p.PeerID, p.Geo.Latitude, p.Geo.Longitude, roundCoord(tp.lat), roundCoord(tp.lon))
		}
		// Everything else is the same.
		p.IP, p.Port, p.ENR, p.Multiaddr, p.Geo.Latitude, p.Geo.Longitude = a.IP, a.Port, a.ENR, a.Multiaddr, a.Geo.Latitude, a.Geo.Longitude
		if !reflect.DeepEqual(p, a) {
			t.Errorf("public and admin views of %s differ beyond locating fields:\n%+v\n%+v", a.PeerID, p, a)
		}
	}
}

func TestPeerDetailPublicAndAdminViews(t *testing.T) {
	f := newFixture(t)
	const path = "/api/v1/ethereum/testnet/peers/16Uiu2HAmPeerAlpha"
	var pub, adm peerDetailResponse
	f.getJSON(path, "", 200, &pub)
	f.getJSON(path, keyAlice, 200, &adm)
	if len(adm.History) != 2 || len(pub.History) != 2 {
		t.Fatalf("history: %d admin, %d public observations, want 2", len(adm.History), len(pub.History))
	}
	if !adm.History[0].Time.After(adm.History[1].Time) {
		t.Errorf("history not newest first: %v then %v", adm.History[0].Time, adm.History[1].Time)
	}
	if len(adm.Subscriptions) != 2 || adm.Subscriptions[0].Kind != "attestation" {
		t.Errorf("subscriptions = %+v, want the 2 attestation subscriptions", adm.Subscriptions)
	}
	for i, o := range adm.History {
		if o.IP != "192.0.2.1" || o.Port != 9000 || o.Multiaddr == "" || o.ENR == "" {
			t.Errorf("admin history[%d] hides locating fields: %+v", i, o)
		}
		po := pub.History[i]
		if po.IP != "" || po.Port != 0 || po.Multiaddr != "" || po.ENR != "" {
			t.Errorf("public history[%d] shows locating fields: %+v", i, po)
		}
	}
	if pub.IP != "" || pub.ENR != "" || pub.Geo.Latitude != 50.5 || adm.Geo.Latitude != 50.4779 {
		t.Errorf("detail views: public ip=%q enr=%q lat=%v, admin lat=%v", pub.IP, pub.ENR, pub.Geo.Latitude, adm.Geo.Latitude)
	}
	var one peerDetailResponse
	f.getJSON(path+"?history_limit=1", keyAlice, 200, &one)
	if len(one.History) != 1 || !one.History[0].Time.Equal(adm.History[0].Time) {
		t.Errorf("history_limit=1 returned %+v, want the newest observation only", one.History)
	}
}

func TestRoundCoord(t *testing.T) {
	for in, want := range map[float64]float64{50.4779: 50.5, -77.4875: -77.5, 0.04: 0, 139.6917: 139.7, math.NaN(): 0, math.Inf(1): 0} {
		if got := roundCoord(in); got != want {
			t.Errorf("roundCoord(%v) = %v, want %v", in, got, want)
		}
	}
}
