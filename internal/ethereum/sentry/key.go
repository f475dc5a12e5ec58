package sentry

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
)

// keyFile is the node key's file name in the data directory: one secp256k1
// key (hex) shared by discv5 and libp2p, so the node id and the peer id stay
// the same across restarts.
const keyFile = "eth-node.key"

// loadOrCreateKey reads the node key, creating it on first start.
func loadOrCreateKey(dataDir string) (*ecdsa.PrivateKey, error) {
	path := filepath.Join(dataDir, keyFile)
	key, err := gethcrypto.LoadECDSA(path)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("sentry: load node key %s: %v (fix or remove the file; removing it gives the sentry a new identity)", path, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sentry: create data directory %s: %w", dataDir, err)
	}
	key, err = gethcrypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("sentry: generate node key: %w", err)
	}
	if err := gethcrypto.SaveECDSA(path, key); err != nil {
		return nil, fmt.Errorf("sentry: save node key %s: %w (check the data directory's permissions)", path, err)
	}
	return key, nil
}
