package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// FuzzDecode: any topics and data decode or fail without a panic; what
// decodes re-encodes, and that log decodes to the same event and args.
// The first byte of the input picks the event (so the fuzzer reaches
// every decoder), the next byte the number of extra topics.
func FuzzDecode(f *testing.F) {
	tb, err := load()
	if err != nil {
		f.Fatal(err)
	}
	var events []*event
	for _, n := range append(Names(), V2MaxFeeName) {
		events = append(events, tb.byKey[n])
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i, e := range events {
		topics, data, err := Encode(keyOf(e), sampleArgs(r, e))
		if err != nil {
			f.Fatal(err)
		}
		var extra []byte
		for _, h := range topics[1:] {
			extra = append(extra, h[:]...)
		}
		f.Add(byte(i), byte(len(topics)-1), extra, data)
	}
	for _, l := range loadFixture(f).Logs {
		for i, e := range events {
			if e.ev.ID == l.Topics[0] {
				var extra []byte
				for _, h := range l.Topics[1:] {
					extra = append(extra, h[:]...)
				}
				f.Add(byte(i), byte(len(l.Topics)-1), extra, l.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, pick, ntopics byte, topicBytes, data []byte) {
		l := types.Log{Data: data}
		if pick != 255 { // 255: no topics at all
			l.Topics = []common.Hash{events[int(pick)%len(events)].ev.ID}
		}
		for i := 0; i < int(ntopics%5); i++ {
			var h common.Hash
			if len(topicBytes) > 32*i {
				copy(h[:], topicBytes[32*i:])
			}
			l.Topics = append(l.Topics, h)
		}
		name, args, err := Decode(l)
		if err != nil {
			if len(l.Topics) == 0 && !errors.Is(err, ErrUnknownTopic) {
				t.Fatalf("no topics: %v", err)
			}
			return
		}
		if !json.Valid(args) || args[0] != '{' {
			t.Fatalf("%s: args are not a JSON object: %s", name, args)
		}
		if _, err := Parse(name, args); err != nil && !errors.Is(err, ErrNotTyped) {
			t.Fatalf("%s: parse %s: %v", name, args, err)
		}
		key := name
		if l.Topics[0] == tb.byKey[V2MaxFeeName].ev.ID {
			key = V2MaxFeeName
		}
		topics, data2, err := Encode(key, args)
		if err != nil {
			t.Fatalf("%s: decoded %s but does not re-encode: %v", name, args, err)
		}
		name2, args2, err := Decode(types.Log{Topics: topics, Data: data2})
		if err != nil || name2 != name || !bytes.Equal(args, args2) {
			t.Fatalf("%s: re-encoded log decodes to %s %s (%v), want %s", name, name2, args2, err, args)
		}
		for i := range topics {
			if topics[i] != l.Topics[i] {
				t.Fatalf("%s: topic %d re-encodes as %s, was %s", name, i, topics[i], l.Topics[i])
			}
		}
	})
}

func keyOf(e *event) string {
	tb, _ := load()
	for k, v := range tb.byKey {
		if v == e {
			return k
		}
	}
	return e.name
}
