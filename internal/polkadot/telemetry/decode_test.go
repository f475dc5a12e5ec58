package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

const testGenesis = "0x91b171bb158e2d3848fa23a9f1c25182fb8e20313b2c1eb49219da7a70ce90c3"

// addedCurrent is an AddedNode payload in the server's current layout
// (11-field details, FEED_VERSION 33).
func addedCurrent(id int, name string) string {
	return fmt.Sprintf(`[%d,[%q,"Parity Polkadot","1.17.1-abc","15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5","12D3KooWQ%d","linux","x86_64","gnu","10.1.2.3",{"cpu":"AMD EPYC","memory":68719476736,"core_count":16,"linux_kernel":"6.1","linux_distro":"Debian","is_virtual_machine":false},{"cpu_hashrate_score":1500,"memory_memcpy_score":14000,"disk_sequential_write_score":2000,"disk_random_write_score":800,"parallel_cpu_hashrate_score":null}],[40,0],[[1.5,2.5]],[[10.0,11.0],[12.0,13.0],[1700000000000,1700000001000]],[20000000,"0x1c6a2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",6000,1700000000000,120],[48.8566,2.3522,"Paris"],1699990000000]`, id, name, id)
}

func TestDecodeAddedNodeLayouts(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		ip            string
		loc           bool
		startup       int64
	}{
		{"current 11-field details", addedCurrent(7, "Alice"), "10.1.2.3", true, 1699990000000},
		{"2023 8-field details", `[7,["Alice","Parity Polkadot","1.17.1-abc","15oF","12D3KooWQ7","10.1.2.3",null,null],[40,0],[[]],[[],[],[]],[1,"0x00",6000,1,null],[48.8566,2.3522,"Paris"],1699990000000]`, "10.1.2.3", true, 1699990000000},
		{"2022 6-field details", `[7,["Alice","Parity Polkadot","1.17.1-abc",null,"12D3KooWQ7",null],[40,0],[[]],[[],[],[]],[1,"0x00",6000,1,null],null,null]`, "", false, 0},
		{"7-field details, hwbench at top-level 8", `[7,["Alice","Parity Polkadot","1.17.1-abc","15oF","12D3KooWQ7","10.1.2.3",null],[40,0],[[]],[[],[],[]],[1,"0x00",6000,1,null],[48.8566,2.3522,"Paris"],1699990000000,{"cpu_hashrate_score":1}]`, "10.1.2.3", true, 1699990000000},
		{"only id and details", `[7,["Alice","Parity Polkadot","1.17.1-abc"]]`, "", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, err := Decode([]byte(`[3,` + tc.payload + `]`))
			if err != nil || len(msgs) != 1 {
				t.Fatalf("Decode: %v, %d messages", err, len(msgs))
			}
			n, ok := msgs[0].(AddedNode)
			if !ok {
				t.Fatalf("got %#v, want AddedNode", msgs[0])
			}
			if n.ID != 7 || n.Name != "Alice" || n.Implementation != "Parity Polkadot" || n.Version != "1.17.1-abc" {
				t.Errorf("node %+v", n)
			}
			if n.IP != tc.ip || n.StartupTime != tc.startup || (n.Location != nil) != tc.loc {
				t.Errorf("ip %q startup %d location %v; want %q %d %v", n.IP, n.StartupTime, n.Location, tc.ip, tc.startup, tc.loc)
			}
			if tc.loc && (n.Location.City != "Paris" || n.Location.Lat < 48.85 || n.Location.Lat > 48.86) {
				t.Errorf("location %+v", n.Location)
			}
		})
	}
}

func TestDecodeMalformedMessageSkipsOnlyIt(t *testing.T) {
	msgs, err := Decode([]byte(`[3,"not a node",4,7,5,[1,200,0,"Nowhere"],3,[1,[999]],"x",1,4,8]`))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, fmt.Sprintf("%T", m))
	}
	want := "telemetry.Malformed telemetry.RemovedNode telemetry.Malformed telemetry.Malformed telemetry.Malformed telemetry.RemovedNode"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if r := msgs[1].(RemovedNode); r.ID != 7 {
		t.Errorf("removed %d, want 7", r.ID)
	}
	if r := msgs[5].(RemovedNode); r.ID != 8 {
		t.Errorf("removed %d, want 8", r.ID)
	}
}

func TestDecodeUnknownActionCountedAndSkipped(t *testing.T) {
	msgs, err := Decode([]byte(`[99,{"x":1},6,[1,[1,"0x00",1,1,null]],23,{"git_hash":"abc"},4,3]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Fatalf("%d messages", len(msgs))
	}
	if u, ok := msgs[0].(Unknown); !ok || u.Act != 99 {
		t.Errorf("msgs[0] = %#v, want Unknown 99", msgs[0])
	}
	if _, ok := msgs[1].(Ignored); !ok {
		t.Errorf("msgs[1] = %#v, want Ignored", msgs[1])
	}
	if _, ok := msgs[2].(Ignored); !ok {
		t.Errorf("msgs[2] = %#v, want Ignored (TelemetryInfo)", msgs[2])
	}
	if r, ok := msgs[3].(RemovedNode); !ok || r.ID != 3 {
		t.Errorf("msgs[3] = %#v", msgs[3])
	}
}

func TestDecodeRefusesOversizeFrame(t *testing.T) {
	f := []byte("[" + strings.Repeat(" ", MaxFrame) + "]")
	if _, err := Decode(f); !errors.Is(err, ErrFrameTooBig) {
		t.Fatalf("err = %v, want ErrFrameTooBig", err)
	}
}

func TestDecodeRefusesNonArray(t *testing.T) {
	for _, f := range []string{`{}`, ``, `[1,2`, `"x"`} {
		if _, err := Decode([]byte(f)); err == nil {
			t.Errorf("Decode(%q) succeeded", f)
		}
	}
}

func TestDecodeBoundsFields(t *testing.T) {
	long := strings.Repeat("n", MaxName+1)
	msgs, _ := Decode([]byte(`[3,[1,["` + long + `","impl","v"]]]`))
	if _, ok := msgs[0].(Malformed); !ok {
		t.Errorf("a name over MaxName: %T, want Malformed", msgs[0])
	}
	impl := strings.Repeat("é", MaxField) // 2 bytes each
	msgs, _ = Decode([]byte(`[3,[1,["a","` + impl + `","v\udc00"]]]`))
	n := msgs[0].(AddedNode)
	if len(n.Implementation) > MaxField || !utf8.ValidString(n.Implementation) || !utf8.ValidString(n.Version) {
		t.Errorf("implementation of %d bytes (valid %v), version %q", len(n.Implementation), utf8.ValidString(n.Implementation), n.Version)
	}
}

func TestDecodeChainMessages(t *testing.T) {
	up := strings.ToUpper(testGenesis[2:])
	msgs, err := Decode([]byte(`[0,33,13,"0x` + up + `",14,"` + testGenesis + `",11,["Polkadot","` + testGenesis + `",1200],12,"` + testGenesis + `",15,"42",5,[3,52.52,13.405,"Berlin"],20,3,13,"0x12"]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{Version{33}, SubscribedTo{testGenesis}, UnsubscribedFrom{testGenesis}, AddedChain{"Polkadot", testGenesis, 1200},
		RemovedChain{testGenesis}, Pong{"42"}}
	for i, w := range want {
		if msgs[i] != w {
			t.Errorf("msgs[%d] = %#v, want %#v", i, msgs[i], w)
		}
	}
	if l, ok := msgs[6].(LocatedNode); !ok || l.ID != 3 || l.Location.City != "Berlin" {
		t.Errorf("msgs[6] = %#v", msgs[6])
	}
	if s, ok := msgs[7].(StaleNode); !ok || s.ID != 3 {
		t.Errorf("msgs[7] = %#v", msgs[7])
	}
	if _, ok := msgs[8].(Malformed); !ok {
		t.Errorf("a short hash: %#v, want Malformed", msgs[8])
	}
}

// seedFrames are frames shaped as the server sends them.
func seedFrames() []string {
	return []string{
		`[0,33,23,{"git_hash":"abc"},11,["Polkadot","` + testGenesis + `",1200]]`,
		`[13,"` + testGenesis + `",10,1700000000000,1,[20000000,1700000000000,6000],2,[19999998,"0x1c6a2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"],22,{}]`,
		`[3,` + addedCurrent(0, "Alice") + `,7,[0,19999998,"0x00"],3,` + addedCurrent(1, "Bob") + `,20,1]`,
		`[4,1,5,[0,48.8566,2.3522,"Paris"],15,"1"]`,
		`[12,"` + testGenesis + `",11,["Polkadot","` + testGenesis + `",3]]`,
		`[3,[2,["Carol","Parity Polkadot","0.9",null,"12D3",null,null,null],[1,0],[[]],[[],[],[]],[1,"0x00",1,1,null],null,null]]`,
		`[99,null,3,[1,[1]],"x"]`,
		`[]`,
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		msgs, err := Decode(frame)
		if err != nil {
			if msgs != nil {
				t.Fatal("messages with an error")
			}
			// The scanner accepts every JSON array encoding/json does
			// (short of its depth bound).
			if trimmed := bytes.TrimLeft(frame, " \t\r\n"); json.Valid(frame) && len(trimmed) > 0 && trimmed[0] == '[' && !errors.Is(err, errTooDeep) {
				t.Fatalf("a valid JSON array refused: %v", err)
			}
			return
		}
		for _, m := range msgs {
			switch m := m.(type) {
			case nil:
				t.Fatal("nil message")
			case AddedNode:
				if len(m.Name) > MaxName || !utf8.ValidString(m.Name) || len(m.Implementation) > MaxField || len(m.IP) > MaxField {
					t.Fatalf("unbounded node %+v", m)
				}
				if m.Location != nil && (m.Location.Lat < -90 || m.Location.Lat > 90 || m.Location.Lon < -180 || m.Location.Lon > 180) {
					t.Fatalf("location off the globe %+v", m.Location)
				}
			case SubscribedTo:
				if !IsGenesis(m.Genesis) {
					t.Fatalf("genesis %q", m.Genesis)
				}
			}
		}
		// The tracker takes whatever the decoder gives without panicking.
		tr := NewTracker(TrackerConfig{Chain: "polkadot", MaxNodes: 64, MaxNames: 64})
		tr.Apply(msgs)
		tr.Tick()
		_ = tr.Snapshot()
	})
}

// replayFrame is n AddedNode messages in one frame, the current layout.
func replayFrame(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("3,")
		b.WriteString(addedCurrent(i, fmt.Sprintf("node-%04d", i)))
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func TestReplayFrameDecodes(t *testing.T) {
	f := replayFrame(2000)
	if !json.Valid(f) {
		t.Fatal("invalid frame")
	}
	msgs, err := Decode(f)
	if err != nil || len(msgs) != 2000 {
		t.Fatalf("%v, %d messages", err, len(msgs))
	}
	for i, m := range msgs {
		if n, ok := m.(AddedNode); !ok || n.ID != uint64(i) {
			t.Fatalf("msgs[%d] = %#v", i, m)
		}
	}
}

func BenchmarkDecodeReplay2000(b *testing.B) {
	f := replayFrame(2000)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(f); err != nil {
			b.Fatal(err)
		}
	}
}
