// Package state holds the SSV domain's tables (ssv_*, described in
// migrations/postgres/0001_init.sql) and Store, the registry.Reader the API
// reads them through. The sink (internal/ssv/sink) writes them.
package state

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/valtrack/valtrack/internal/store"
)

// Domain owns these tables.
const Domain = "ssv"

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations are the ssv_* tables' migrations.
func Migrations() store.Migrations {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return store.Migrations{Domain: Domain, FS: sub}
}

// Change kinds of ssv_changes.
const (
	KindOperator  = "operator"
	KindValidator = "validator"
)

// Limits of the Reader's lists.
const (
	DefaultLimit = 100   // a limit of 0 or less
	MaxLimit     = 10000 // larger limits are cut to this
)

func limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// JoinIDs is the ssv_* form of an operator id list: sorted, decimal, joined
// by ','. It sorts a copy.
func JoinIDs(ids []uint64) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	var b strings.Builder
	for i, id := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(id, 10))
	}
	return b.String()
}

// SplitIDs parses JoinIDs' form.
func SplitIDs(s string) ([]uint64, error) {
	if s == "" {
		return []uint64{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("operator id list %q: %w", s, err)
		}
		out[i] = v
	}
	return out, nil
}
