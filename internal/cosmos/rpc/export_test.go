package rpc

// NewGRPCClientRoots is newGRPCClient for the package's external tests: a
// tls:// client trusting a test's own certificate.
var NewGRPCClientRoots = newGRPCClient
