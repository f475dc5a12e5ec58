package httpapi

import (
	"regexp"
	"time"
)

// Limits on the Ethereum routes' parameters. Everything in a query string
// comes from an anonymous client, so every value is bounded before it reaches
// the store.
const (
	maxLimit        = 1000
	defaultLimit    = 100
	maxHistoryLimit = 1000
	defaultHistory  = 100
	maxCursorLen    = 512
	maxClientLen    = 64
	// defaultValidatorsSpan is /validators' range when from is absent.
	defaultValidatorsSpan = 24 * time.Hour
)

var (
	countryRE = regexp.MustCompile(`^[A-Za-z]{2}$`)
	// peerIDRE bounds {peer_id}: libp2p peer ids are base58 (or base32 CIDs),
	// around 52 characters.
	peerIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)
)
