package main

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestVersionFlag: -version prints the version and exits 0.
func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(binary(t), "-version").Output()
	if err != nil || !strings.HasPrefix(string(out), "usage-collector ") {
		t.Errorf("-version: %q %v", out, err)
	}
}

// TestBitsWarnings: -bits above usage.OriginalHashBits starts, saying that
// original clients will be refused.
func TestBitsWarnings(t *testing.T) {
	p := start(t, filepath.Join(t.TempDir(), "usage.db"), "-bits", "24")
	p.Stop(t, syscall.SIGTERM)
	if !strings.Contains(p.Logs.String(), "original krakend-usage clients") {
		t.Errorf("no warning about original clients at -bits 24:\n%s", p.Logs)
	}
}

// TestPostgresPasswordNeverShown: a key=value DSN is taken as PostgreSQL
// (not as a SQLite file named after it), and its password shows nowhere,
// nor does a URL's.
func TestPostgresPasswordNeverShown(t *testing.T) {
	const pw = "s3cret-pw"
	for _, dsn := range []string{
		"host=127.0.0.1 port=1 user=usage password=" + pw + " dbname=usage connect_timeout=2",
		"postgres://usage:" + pw + "@127.0.0.1:1/usage?connect_timeout=2",
	} {
		dir := t.TempDir()
		cmd := exec.Command(binary(t), "-listen", "127.0.0.1:0", "-db", dsn)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%s: got %v, want exit 1 (no server there)\n%s", dsn, err, out)
		}
		if strings.Contains(string(out), pw) {
			t.Errorf("the password shows in the output:\n%s", out)
		}
		if !strings.Contains(string(out), "postgres") {
			t.Errorf("%s: not taken as PostgreSQL:\n%s", dsn, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: created %v in the working directory", dsn, entries[0].Name())
		}
	}
}

// TestSQLiteFilesPrivate: the database, which holds the token key, and
// its WAL and SHM files are readable by their owner only, even under a
// permissive umask; an existing world-readable file is tightened.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	db := filepath.Join(dir, "usage.db")
	loose := filepath.Join(dir, "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{db, loose} {
		p := start(t, path)
		session(t, p.URL, "c", "s")
		post(t, p.URL, reportBody(t, session(t, p.URL, "c", "s"), "c", "s"))
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			st, err := os.Stat(f)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
			}
		}
		p.Stop(t, syscall.SIGTERM)
	}
}

// TestInsightFlags: a -features file with a bad line, a missing one and a
// -public-min-clusters below 2 and a -public-established-days below 1 are
// usage errors (exit 2) naming the flag.
func TestInsightFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "features.txt")
	if err := os.WriteFile(bad, []byte("# ours\nmy/plugin\nnot a name\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-features", bad}, "line 3"},
		{[]string{"-features", filepath.Join(dir, "missing.txt")}, "-features"},
		{[]string{"-public-min-clusters", "1"}, "-public-min-clusters"},
		{[]string{"-public-established-days", "0"}, "-public-established-days"},
	} {
		cmd := exec.Command(binary(t), append([]string{"-listen", "127.0.0.1:0", "-db", filepath.Join(dir, "u.db")}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: got %v, want exit 2 naming %q\n%s", tc.args, err, tc.want, out)
		}
	}
}

// TestFlagsDocumented: every flag, with its environment variable, has a
// row in the README's configuration table.
func TestFlagsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if _, err := parseFlags([]string{"-h"}, &buf); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseFlags -h: %v", err)
	}
	var names []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "-"); ok && strings.HasPrefix(line, "  -") {
			names = append(names, strings.Fields(f)[0])
		}
	}
	if len(names) < 20 {
		t.Fatalf("found %d flags in the usage text, want them all:\n%s", len(names), buf.String())
	}
	for _, name := range names {
		row := "| `-" + name + "` | "
		env := envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		i := strings.Index(string(readme), row)
		if i < 0 {
			t.Errorf("-%s has no row in README.md's configuration table", name)
			continue
		}
		if line, _, _ := strings.Cut(string(readme[i:]), "\n"); name != "version" && !strings.Contains(line, "`"+env+"`") {
			t.Errorf("README.md's row of -%s does not name %s", name, env)
		}
	}
}
