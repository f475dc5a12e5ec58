//go:build unix

package domain

import (
	"os"
	"path/filepath"
	"testing"
)

func executable(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInvocation: `go run`'s build directory gives GoRun, an executable
// PATH finds gives its name, any other its (shell-quoted) path.
func TestInvocation(t *testing.T) {
	tmp := t.TempDir()
	bin := t.TempDir()
	t.Setenv("PATH", bin)
	onPath := executable(t, filepath.Join(bin, "valtrack"))
	elsewhere := executable(t, filepath.Join(t.TempDir(), "valtrack"))
	spaced := executable(t, filepath.Join(t.TempDir(), "my tools", "valtrack"))
	renamed := executable(t, filepath.Join(t.TempDir(), "vt"))
	linked := filepath.Join(bin, "vt")
	if err := os.Symlink(renamed, linked); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, exe string
		tmp       []string
		want      string
	}{
		{"go run", executable(t, filepath.Join(tmp, "go-build2840194/b001/exe/valtrack")), []string{tmp}, GoRun},
		{"go run under GOTMPDIR", executable(t, filepath.Join(tmp, "gotmp/go-build77/b001/exe/valtrack")), []string{"/nonexistent", filepath.Join(tmp, "gotmp")}, GoRun},
		{"temporary but not go-build", executable(t, filepath.Join(tmp, "build/valtrack")), []string{tmp}, filepath.Join(tmp, "build/valtrack")},
		{"on PATH", onPath, []string{tmp}, "valtrack"},
		{"PATH finds another valtrack", elsewhere, []string{tmp}, elsewhere},
		{"PATH links to it", renamed, []string{tmp}, "vt"},
		{"path with a space", spaced, []string{tmp}, "'" + spaced + "'"},
	} {
		if got := invocation(tc.exe, tc.tmp); got != tc.want {
			t.Errorf("%s: invocation(%s) = %q, want %q", tc.name, tc.exe, got, tc.want)
		}
	}
}

// TestInvocationThroughALinkedTempDir: an executable path that resolved
// the temporary directory's symbolic link is still `go run`'s.
func TestInvocationThroughALinkedTempDir(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "tmp")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "")
	exe := executable(t, filepath.Join(real, "go-build1/b001/exe/valtrack"))
	if got := invocation(exe, []string{link}); got != GoRun {
		t.Errorf("invocation(%s) with the temporary directory %s = %q, want %q", exe, link, got, GoRun)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/local/bin/valtrack": "/usr/local/bin/valtrack",
		"/opt/it's/valtrack":      `'/opt/it'\''s/valtrack'`,
		"/a b/valtrack":           "'/a b/valtrack'",
		"/x/$HOME/valtrack":       "'/x/$HOME/valtrack'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
