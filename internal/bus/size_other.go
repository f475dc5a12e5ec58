//go:build !unix

package bus

import "errors"

// diskFree is unknown here: the streams get DefaultMaxBytes.
func diskFree(string) (int64, error) { return 0, errors.New("free disk space unknown on this system") }
