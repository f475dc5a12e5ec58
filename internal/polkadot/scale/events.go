package scale

import (
	"errors"
	"fmt"
)

// Event is one record of System.Events.
type Event struct {
	Index int // position in the block's events (the fault ID uses it)
	// Phase is ApplyExtrinsic, Finalization or Initialization; Extrinsic
	// the extrinsic index for ApplyExtrinsic.
	Phase     string
	Extrinsic uint32
	Pallet    string
	Name      string
	Fields    []Field
	Topics    [][]byte
}

// Field returns the event field named name (the zero Value if absent).
func (e *Event) Field(name string) Value {
	return Value{Kind: KindComposite, Fields: e.Fields}.Field(name)
}

// MaxEvents bounds the records decoded from one block.
const MaxEvents = 1 << 16

// DecodeEvents decodes the value of System.Events (Vec<EventRecord>)
// with the runtime's registry: each record's RuntimeEvent variant names
// the pallet, its single field the pallet's event variant.
func (m *Metadata) DecodeEvents(data []byte) ([]Event, error) {
	e := m.Entry("System", "Events")
	if e == nil || e.Map {
		return nil, errors.New("metadata has no System.Events storage value")
	}
	v, err := m.Types.DecodeAll(e.Value, data)
	if err != nil {
		return nil, fmt.Errorf("System.Events: %w", err)
	}
	recs, ok := v.List()
	if !ok {
		return nil, fmt.Errorf("System.Events is not a sequence (%s)", m.Types.Type(e.Value).PathString())
	}
	if len(recs) > MaxEvents {
		return nil, fmt.Errorf("System.Events holds %d records, more than %d", len(recs), MaxEvents)
	}
	out := make([]Event, 0, len(recs))
	for i, rec := range recs {
		ev := Event{Index: i}
		if ph := rec.Field("phase"); ph.Kind == KindVariant {
			ev.Phase = ph.Name
			if ph.Name == "ApplyExtrinsic" {
				if n, ok := ph.Uint64(); ok {
					ev.Extrinsic = uint32(n)
				}
			}
		}
		outer := rec.Field("event")
		if outer.Kind != KindVariant || len(outer.Fields) != 1 || outer.Fields[0].Value.Kind != KindVariant {
			return nil, fmt.Errorf("System.Events record %d: the event is not a pallet event variant", i)
		}
		inner := outer.Fields[0].Value
		ev.Pallet, ev.Name, ev.Fields = outer.Name, inner.Name, inner.Fields
		if ts, ok := rec.Field("topics").List(); ok {
			for _, t := range ts {
				if b, ok := t.AsBytes(); ok {
					ev.Topics = append(ev.Topics, b)
				}
			}
		}
		out = append(out, ev)
	}
	return out, nil
}
