package deploytest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	proctest.Clean()
	os.Exit(code)
}

// TestReleaseReproducible builds the release binaries (make
// collector-dist) twice from the commit checked out, each from a copy of
// its tree at another path, the second with an empty Go build cache, and
// checks that they are the same bytes, static and stamped with the
// version. -short skips it: the second build compiles everything for
// three platforms (minutes on two cores).
func TestReleaseReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the release builds take minutes")
	}
	root := repoRoot(t)
	version := strings.TrimSpace(run(t, "git", "-C", root, "describe", "--tags", "--always"))
	var dists []string
	for i, fresh := range []bool{false, true} {
		src := filepath.Join(t.TempDir(), fmt.Sprintf("tree%d", i))
		os.MkdirAll(src, 0o755)
		if out, err := exec.Command("sh", "-c", fmt.Sprintf("git -C %q archive HEAD | tar -x -C %q", root, src)).CombinedOutput(); err != nil {
			t.Fatalf("git archive: %v\n%s", err, out)
		}
		dist := filepath.Join(t.TempDir(), "dist")
		cmd := exec.Command("make", "--no-print-directory", "collector-dist", "DIST="+dist, "COLLECTOR_VERSION="+version)
		cmd.Dir = src
		cmd.Env = os.Environ()
		if fresh {
			cmd.Env = append(cmd.Env, "GOCACHE="+t.TempDir())
		}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make collector-dist: %v\n%s", err, out)
		}
		t.Logf("build %d (fresh cache: %v) in %s", i+1, fresh, time.Since(start).Round(time.Second))
		dists = append(dists, dist)
	}
	for _, p := range []string{"linux_amd64", "linux_arm64", "darwin_arm64"} {
		name := "usage-collector_" + p
		a, err := os.ReadFile(filepath.Join(dists[0], name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dists[1], name))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, sha256 %x", name, len(a), sha256.Sum256(a))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the two builds differ (sha256 %x and %x)", name, sha256.Sum256(a), sha256.Sum256(b))
		}
		info := run(t, "go", "version", "-m", filepath.Join(dists[0], name))
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath=true", "main.version=" + version} {
			if !strings.Contains(info, want) {
				t.Errorf("%s: build info lacks %s:\n%s", name, want, info)
			}
		}
	}
	host := filepath.Join(dists[0], "usage-collector_"+runtime.GOOS+"_"+runtime.GOARCH)
	if _, err := os.Stat(host); err == nil {
		if out := run(t, host, "-version"); strings.TrimSpace(out) != "usage-collector "+version {
			t.Errorf("-version: %q, want usage-collector %s", out, version)
		}
	}
}
