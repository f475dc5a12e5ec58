package program

import (
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

func TestAmountFloatMatchesAmountFloat(t *testing.T) {
	for _, a := range []events.Amount{"", "0", "1", "50000000000000", "340282366920938463463374607431768211455", "18446744073709551615", "9999999999999999999", "-5", "12a", "1e5", " 7"} {
		if got, want := amountFloat(a), a.Float(); got != want {
			t.Errorf("amountFloat(%q) = %v, want %v (Amount.Float)", a, got, want)
		}
	}
}
