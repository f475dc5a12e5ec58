package sink_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/sink"
)

// FuzzDecode: whatever arrives on a subject, Decode never panics, and what
// it accepts has the current version, safe strings and bounded lists, and
// decodes again from its own encoding to an event of the same encoding.
func FuzzDecode(f *testing.F) {
	kinds := []string{events.KindChain, events.KindValidator, events.KindEra, events.KindFault, events.KindTelemetry}
	seeds := []any{chainEvent(1, 2), validatorEvent("5Alice", 3, events.Got[uint32](4, 5)),
		&events.Era{V: 1, Chain: chain, Era: 1, Validators: []string{"a"}, Points: map[string]uint32{"a": 1}},
		&events.Fault{V: 1, Chain: chain, ID: "x", Stash: "s", Kind: events.FaultSlash},
		&events.Telemetry{V: 1, Chain: chain, Name: "n", Location: &events.Location{Lat: 1, City: "c"}}}
	for i, s := range seeds {
		b, _ := json.Marshal(s)
		f.Add(uint8(i), b)
	}
	f.Add(uint8(1), []byte(`{"v":1,"chain":"westend","stash":"a\u0000","identity":{"value":{"display":"\ud800"},"known":true}}`))
	f.Add(uint8(2), []byte(`{"v":1,"chain":"westend","points":{"\u0000":1}}`))
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := kinds[int(k)%len(kinds)]
		v, err := sink.Decode(kind, data)
		if err != nil {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted %s does not encode: %v", kind, err)
		}
		// What Decode accepts is stored and replayed: its own encoding must
		// decode again to the same event (normalising is idempotent).
		again, err := sink.Decode(kind, b)
		if err != nil {
			t.Fatalf("accepted %s %q but refuses its own encoding %s: %v", kind, data, b, err)
		}
		if b2, _ := json.Marshal(again); !bytes.Equal(b2, b) {
			t.Fatalf("%s %s decodes again as %s", kind, b, b2)
		}
		walkStrings(reflect.ValueOf(v), func(s string) {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > sink.MaxText {
				t.Fatalf("accepted %s holds an unsafe string %q", kind, s)
			}
		})
		switch e := v.(type) {
		case *events.Era:
			if e.V != events.SchemaVersion || len(e.Validators) > sink.MaxValidators || len(e.Points) > sink.MaxValidators {
				t.Fatalf("era %d, %d validators", e.V, len(e.Validators))
			}
		case *events.Validator:
			if e.V != events.SchemaVersion || e.Stash == "" || len(e.Stash) > sink.MaxShort || len(e.ActiveNominators.Value) > sink.MaxValidators {
				t.Fatalf("validator %d %q", e.V, e.Stash)
			}
		case *events.Chain:
			if e.V != events.SchemaVersion || len(e.SessionValidators) > sink.MaxValidators {
				t.Fatalf("chain %d", e.V)
			}
		}
	})
}

// walkStrings calls fn on every string (map keys included) reachable from v.
func walkStrings(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkStrings(v.Field(i), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), fn)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkStrings(k, fn)
			walkStrings(v.MapIndex(k), fn)
		}
	}
}
