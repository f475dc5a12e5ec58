package analyzers

import "testing"

// The record of sightings stays bounded however long the analysis is held
// up, and thinning it only ever moves a clock later (a height waits
// longer, never less): each height's clock is at or after its true start.
func TestSightingsBounded(t *testing.T) {
	a := &missed{}
	const n = 3 * maxSightings
	for i := int64(1); i <= n; i++ {
		a.sight(10+i, 1000*i) // latest complete 10+i first seen at 1000·i
		a.sight(10+i-1, 1000*i+1)
	}
	if len(a.sightings) > maxSightings {
		t.Fatalf("%d sightings kept, at most %d", len(a.sightings), maxSightings)
	}
	for h := int64(10); h < 10+n; h++ {
		at, ok := a.waitingSince(h)
		if !ok || at < 1000*(h-9) {
			t.Fatalf("height %d: clock from %d (%v), want at or after %d", h, at, ok, 1000*(h-9))
		}
	}
	if _, ok := a.waitingSince(10 + n); ok {
		t.Error("the latest complete height has a clock: nothing later was seen")
	}
	a.forget(10 + n/2)
	if at, ok := a.waitingSince(10 + n/2); !ok || at < 1000*(n/2+1) {
		t.Errorf("after forget: clock %d (%v)", at, ok)
	}
	if a.sightings[0].height <= 10+n/2 {
		t.Errorf("sighting %d kept at or below the cursor", a.sightings[0].height)
	}
}
