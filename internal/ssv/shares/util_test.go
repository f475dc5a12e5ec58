package shares

import "github.com/ethereum/go-ethereum/crypto"

func crypto256(s string) []byte { return crypto.Keccak256([]byte(s)) }
