package store

// SetCopyMinRows lets the tests and benchmarks of store_test choose between
// COPY and multi-row INSERTs; it returns a function restoring the old value.
func SetCopyMinRows(n int) (restore func()) {
	old := copyMinRows
	copyMinRows = n
	return func() { copyMinRows = old }
}
