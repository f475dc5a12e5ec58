package devnet

import (
	"encoding/hex"
	"testing"
)

// BIP-173's test vector: the segwit v0 program
// 751e76e8199196d454941c45d1b3a323f1433bd6 is bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.
// A segwit address prefixes the witness version as one 5-bit value (0,
// "q") before the program's.
func TestBech32(t *testing.T) {
	prog, _ := hex.DecodeString("751e76e8199196d454941c45d1b3a323f1433bd6")
	got := bech32Of("bc", append([]byte{0}, toFiveBits(prog)...))
	if want := "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
