//go:build !unix

package bus

// lockStore does not lock here: only one process may open an embedded
// bus's directory at a time, and nothing enforces it on this system.
func lockStore(string) (func(), error) { return func() {}, nil }
