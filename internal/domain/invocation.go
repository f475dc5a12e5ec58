package domain

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// GoRun is how valtrack is run from its source tree, by `go run`.
const GoRun = "go run ./cmd/valtrack"

// Invocation is how to run this valtrack again, for the hints that name
// the next command (`next, in another terminal: <Invocation> run --eth
// DIR`): a hint that says `valtrack` to someone who ran `go run`, or a
// binary they have not put on PATH, names a command that is not there.
//
// It is GoRun when the executable lives in a go-build… directory of the
// temporary directory (os.TempDir, or $GOTMPDIR), where `go run` builds;
// else the executable's base name when that name, looked up on PATH,
// finds this very executable; else its path (quoted for a shell when it
// needs to be).
func Invocation() string {
	exe, err := os.Executable()
	if err != nil {
		return "valtrack"
	}
	return invocation(exe, []string{os.TempDir(), os.Getenv("GOTMPDIR")})
}

func invocation(exe string, tmpDirs []string) string {
	for _, tmp := range tmpDirs {
		if tmp == "" {
			continue
		}
		if underGoBuild(exe, tmp) {
			return GoRun
		}
		// The executable's path may be the resolved one of a temporary
		// directory given through a symbolic link (macOS's /var → /private/var).
		if real, err := filepath.EvalSymlinks(tmp); err == nil && real != tmp && underGoBuild(exe, real) {
			return GoRun
		}
	}
	name := filepath.Base(exe)
	if found, err := exec.LookPath(name); err == nil && sameFile(found, exe) {
		return name
	}
	return shellQuote(exe)
}

// underGoBuild says whether path is inside tmp/go-build….
func underGoBuild(path, tmp string) bool {
	rel, err := filepath.Rel(tmp, path)
	if err != nil || !filepath.IsLocal(rel) {
		return false
	}
	first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	return strings.HasPrefix(first, "go-build")
}

// sameFile follows symbolic links: a PATH entry that links to the
// executable runs it too.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// shellQuote leaves a path of plain characters as it is and puts any
// other in single quotes (on Windows: double quotes, around a path with
// a space), so the hint can be pasted into a shell.
func shellQuote(s string) string {
	if runtime.GOOS == "windows" {
		if strings.ContainsAny(s, " \t") {
			return `"` + s + `"`
		}
		return s
	}
	plain := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@%", r)
	}
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !plain(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
