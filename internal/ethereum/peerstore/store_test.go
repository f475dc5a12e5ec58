package peerstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/events"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cgc := uint64(8)
	eas := uint64(100)
	want, err := s.Update("16Uiu2A", now, func(p *Peer) {
		p.NodeID = "abcd"
		p.ENR = "enr:-xyz"
		p.ENRSeq = 7
		p.Addrs = []string{"/ip4/127.0.0.1/tcp/9000"}
		p.ForkDigest = "0x01020304"
		p.SameNetwork = true
		p.LastSeen = now
		p.LastHandshake = now
		p.Direction = "inbound"
		p.Status = &events.Status{ForkDigest: "0x01020304", HeadSlot: 9, EarliestAvailableSlot: &eas, Version: 2}
		p.MetaData = &events.MetaData{SeqNumber: 3, Attnets: "0x0300000000000000", Syncnets: "0x01", CGC: &cgc, Version: 3}
		p.ClientVersion = "Lighthouse/v7"
		p.Failures = 2
		p.LastFailure = "timeout"
		p.NextDial = now.Add(time.Minute)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s2.Get("16Uiu2A")
	if !ok {
		t.Fatal("peer lost across save/open")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the peer:\n got %+v\nwant %+v", got, want)
	}
	if s2.Len() != 1 {
		t.Fatalf("len %d, want 1", s2.Len())
	}
}

func TestGetReturnsCopies(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), FileName), Options{})
	now := time.Now()
	if _, err := s.Update("p", now, func(p *Peer) { p.Addrs = []string{"a"}; p.MetaData = &events.MetaData{SeqNumber: 1} }); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Get("p")
	c.Addrs[0] = "changed"
	c.MetaData.SeqNumber = 99
	again, _ := s.Get("p")
	if again.Addrs[0] != "a" || again.MetaData.SeqNumber != 1 {
		t.Fatalf("a copy shares memory with the store: %+v", again)
	}
}

func TestRetirement(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), FileName), Options{})
	now := time.Now()
	for i, age := range []time.Duration{time.Hour, 48 * time.Hour, 30 * time.Hour} {
		id := string(rune('a' + i))
		if _, err := s.Update(id, now, func(p *Peer) { p.LastSeen = now.Add(-age) }); err != nil {
			t.Fatal(err)
		}
	}
	ids := s.Retire(now.Add(-24*time.Hour), now)
	sort.Strings(ids)
	if !reflect.DeepEqual(ids, []string{"b", "c"}) {
		t.Fatalf("retired %v, want [b c]", ids)
	}
	act := s.Active()
	if len(act) != 1 || act[0].PeerID != "a" {
		t.Fatalf("active %v, want only a", act)
	}
	if again := s.Retire(now.Add(-24*time.Hour), now); len(again) != 0 {
		t.Fatalf("retired twice: %v", again)
	}
	if p, _ := s.Get("b"); !p.Retired || !p.RetiredAt.Equal(now) {
		t.Fatalf("retired peer not marked: %+v", p)
	}
}

func TestFullEvictsRetiredFirst(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), FileName), Options{MaxPeers: 2})
	now := time.Now()
	s.Update("a", now, func(p *Peer) { p.LastSeen = now })
	s.Update("b", now, func(p *Peer) { p.LastSeen = now })
	if _, err := s.Update("c", now, func(*Peer) {}); !errors.Is(err, ErrFull) {
		t.Fatalf("third peer at limit 2: err %v, want ErrFull", err)
	}
	s.Retire(now.Add(time.Second), now) // retires both
	if _, err := s.Update("c", now, func(*Peer) {}); err != nil {
		t.Fatalf("a retired peer should make room: %v", err)
	}
	if s.Len() != 2 {
		t.Fatalf("len %d, want 2", s.Len())
	}
}

func TestOpenRejectsDamagedSnapshot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	os.WriteFile(path, []byte(`{"v":1,"peers":[{"peer_id":"a"`), 0o644)
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("truncated snapshot accepted")
	}
	os.WriteFile(path, []byte(`{"v":99,"peers":[]}`), 0o644)
	if _, err := Open(path, Options{}); err == nil {
		t.Fatal("unknown version accepted")
	}
	os.WriteFile(path, []byte(`{"v":1,"peers":[{"peer_id":""},{"peer_id":"ok"},{"peer_id":"ok"}]}`), 0o644)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("invalid and duplicate peers kept: len %d, want 1", s.Len())
	}
}

func TestSaveOnlyWhenDirtyAndAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	s, _ := Open(path, Options{})
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a clean store wrote a file")
	}
	s.Update("a", time.Now(), func(*Peer) {})
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Fatalf("directory holds %v, want only the snapshot (no temporary files left)", entries)
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	encode(&buf, []Peer{{PeerID: "a", Addrs: []string{"/ip4/1.2.3.4/tcp/1"}, Status: &events.Status{}, MetaData: &events.MetaData{}}})
	f.Add(buf.Bytes())
	f.Add([]byte(`{"v":1,"peers":null}`))
	f.Add([]byte(`{"v":1,"peers":[{"peer_id":"x","failures":-1}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		peers, err := decode(bytes.NewReader(b), 1<<16, 100)
		if err != nil {
			return
		}
		if len(peers) > 100 {
			t.Fatalf("%d peers exceed the limit", len(peers))
		}
		for _, p := range peers {
			if !valid(&p) {
				t.Fatalf("invalid peer kept: %+v", p)
			}
		}
	})
}
