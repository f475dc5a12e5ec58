package tx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The public development phrase: //Alice is derived from it.
const devPhrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

func TestLoadKeyMnemonicWithDerivation(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mnemonic")
	if err := os.WriteFile(p, []byte(devPhrase+"//Alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Account().Hex() != aliceHex {
		t.Fatalf("phrase//Alice is %s, want %s", s.Account().Hex(), aliceHex)
	}
	if s.Dev() {
		t.Error("a mnemonic file is reported as a dev URI")
	}
	// A mnemonic is a secret: readable by others, it is refused, and the
	// refusal does not quote it.
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = LoadKey(p)
	if err == nil {
		t.Fatal("a group-readable mnemonic was accepted")
	}
	if strings.Contains(err.Error(), "obey") {
		t.Fatalf("the error quotes the mnemonic: %v", err)
	}
}

func TestLoadKeyRefusesOversizedAndMissingFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("a", maxKeyFile+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(big); err == nil {
		t.Error("an oversized key file was accepted")
	}
	if _, err := LoadKey(filepath.Join(dir, "absent")); err == nil {
		t.Error("a missing key file was accepted")
	}
	if _, err := LoadKey(dir); err == nil {
		t.Error("a directory was accepted as a key file")
	}
}
