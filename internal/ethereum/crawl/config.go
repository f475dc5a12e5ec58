// Package crawl is a discv5 crawler that aims to enumerate every node of a
// network instead of sampling it: besides random walks it asks each node it
// finds for the content of its routing table, bucket by bucket (FINDNODE with
// one log distance per request while buckets are full, the sparse deep ones
// in one request), so a node is reached as soon as any other node knows it.
package crawl

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
)

// Limits and defaults of the crawler.
const (
	DefaultConcurrency  = 16
	DefaultRequery      = 10 * time.Minute
	DefaultFirstRequery = 5 * time.Second
	DefaultRespTimeout  = 700 * time.Millisecond
	DefaultEmptyStop    = topDistance - bottomDistance + 1
	DefaultMaxNodes     = 200_000
	DefaultWalkPause    = 200 * time.Millisecond

	// Routing tables of go-ethereum and the consensus clients keep separate
	// buckets for log distances 240..256 and merge everything closer into one;
	// asking below 240 returns almost nothing.
	topDistance    = 256
	bottomDistance = 240

	// deepDistances is how many distances the bottom FINDNODE names (240
	// down to 237); nodes closer than that are vanishingly rare.
	deepDistances = 4
	// sparseBucket: a bucket answered with fewer nodes than this ends the
	// bucket-by-bucket part of a sweep; the deeper buckets are asked at once.
	sparseBucket = 6
	// mergedFullAt: a merged answer with this many nodes may have been cut
	// at the responder's limit (16 nodes per FINDNODE).
	mergedFullAt = 12
	// findnodeAttempts bounds the tries of one bucket within a sweep.
	findnodeAttempts = 2

	// maxBackoffFactor caps the requery delay of failing nodes at 8×Requery.
	maxBackoffFactor = 8
)

// Config configures a Crawler.
type Config struct {
	// PrivateKey is the node key (secp256k1); required.
	PrivateKey *ecdsa.PrivateKey
	// ListenAddr is the UDP address, e.g. "0.0.0.0:9000" or "127.0.0.1:0".
	ListenAddr string
	// AnnounceIP, when set, is written into our ENR; otherwise the listen IP
	// (or 127.0.0.1 for an unspecified listen IP until peers tell us better).
	AnnounceIP string
	// Bootnodes seed the crawl.
	Bootnodes []*enode.Node
	// Entries are set on our ENR (eth2, attnets, syncnets, tcp, quic…) so
	// that peers of the network accept us.
	Entries []enr.Entry
	// Concurrency bounds the FINDNODE/ENR requests in flight; default 16.
	Concurrency int
	// Requery is how often a known node is asked again for its ENR and table;
	// default 10 minutes.
	Requery time.Duration
	// FirstRequery is the delay before a node's second sweep; it doubles
	// after each sweep up to Requery. Default 5s.
	FirstRequery time.Duration
	// RespTimeout is the discv5 response timeout; default 700ms.
	RespTimeout time.Duration
	// EmptyStop ends the sweep of a node's table after this many consecutive
	// empty buckets (from distance 256 down); default 17, every bucket: a
	// node that no full bucket holds sits only in the deep buckets of its
	// nearest neighbours, often below a few empty ones.
	EmptyStop int
	// MaxNodes bounds the nodes tracked; default 200,000.
	MaxNodes int
	// WalkPause is the pause between two random-walk results; default 200ms.
	WalkPause time.Duration
	// NoWalk turns the random walk off (lookups of go-ethereum query any
	// node, Follow or not); the table sweeps still run.
	NoWalk bool
	// Follow decides whether a node's table is crawled (FINDNODE); nil
	// follows every node. A node not followed is still reported.
	Follow func(*enode.Node) bool
	// OnNode is called (from crawler goroutines) for every sighting of a
	// node; changed is true when the node is new or its ENR seq grew.
	OnNode func(n *enode.Node, changed bool)
	// Log receives the crawler's logs; default slog.Default().
	Log *slog.Logger
}

func (c *Config) validate() error {
	if c.PrivateKey == nil {
		return errors.New("crawl: config: PrivateKey is required (load or create the node key first)")
	}
	if c.ListenAddr == "" {
		return errors.New("crawl: config: ListenAddr is required (e.g. 0.0.0.0:9000)")
	}
	if c.Concurrency < 0 || c.EmptyStop < 0 || c.MaxNodes < 0 {
		return fmt.Errorf("crawl: config: negative limit (concurrency %d, empty stop %d, max nodes %d)", c.Concurrency, c.EmptyStop, c.MaxNodes)
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Requery <= 0 {
		c.Requery = DefaultRequery
	}
	if c.FirstRequery <= 0 {
		c.FirstRequery = DefaultFirstRequery
	}
	c.FirstRequery = min(c.FirstRequery, c.Requery)
	if c.RespTimeout <= 0 {
		c.RespTimeout = DefaultRespTimeout
	}
	if c.EmptyStop == 0 {
		c.EmptyStop = DefaultEmptyStop
	}
	if c.MaxNodes == 0 {
		c.MaxNodes = DefaultMaxNodes
	}
	if c.WalkPause <= 0 {
		c.WalkPause = DefaultWalkPause
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}
