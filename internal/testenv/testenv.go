// Package testenv holds what the tests of the root package and the
// real-gateway suites of e2e/ share: the build of the repository's
// commands once per test binary, the real collector as a process, and
// the checks that a gateway's reports and logs keep their
// promises (privacy markers, ID format, the log contract).
//
// The fake collector is usage/usagetest's, a log read while it is
// written is a usagetest.Log, and a gateway's port is usagetest.FreePort. This package uses only what the root module
// requires already, so the plugin's module gains nothing by it.
package testenv

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// RequireKrakenD reports whether USAGE_TEST_REQUIRE_KRAKEND is set, as
// .ci/run sets it: every test that needs the KrakenD toolchain, a KrakenD
// binary, a target's modules or a C compiler then fails instead of
// skipping.
func RequireKrakenD() bool { return os.Getenv("USAGE_TEST_REQUIRE_KRAKEND") != "" }

// SkipOrFail skips the test with why, or fails it when RequireKrakenD.
func SkipOrFail(t testing.TB, why string) {
	t.Helper()
	if RequireKrakenD() {
		t.Fatal(why + " (USAGE_TEST_REQUIRE_KRAKEND is set: CI must run this test)")
	}
	t.Skip(why)
}

// Builds are made once per test binary, in one directory that Main
// removes, and shared by every test that needs them.
var (
	buildDir  string
	buildMu   sync.Mutex
	buildDone = map[string]Build{}
)

// Build is the result of building a program.
type Build struct {
	Path string // the program, when it was built
	Out  string // the go command's error and output when the build failed
	Skip string // why it cannot be built here
}

// Main runs the tests of m from the repository root, the directory that
// holds dir (".." for e2e/), so that the paths they name are the
// repository's, and removes the builds when they end. A TestMain calls it.
func Main(m *testing.M, dir string) {
	if err := os.Chdir(dir); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(2)
	}
	d, err := os.MkdirTemp("", "krakend-usage-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(2)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// Once returns the build named key, making it with build the first time;
// build gets the directory to write into.
func Once(key string, build func(dir string) Build) Build {
	buildMu.Lock()
	defer buildMu.Unlock()
	if r, ok := buildDone[key]; ok {
		return r
	}
	if buildDir == "" {
		panic("testenv: builds need a TestMain that calls testenv.Main")
	}
	r := build(buildDir)
	buildDone[key] = r
	return r
}

// BuildTool builds the static command pkg of the module in dir (relative
// to the repository root) as name, once per test binary, with env added to
// the go command's (GOARCH=arm64, say).
func BuildTool(dir, pkg, name string, env ...string) Build {
	return Once(name, func(buildDir string) Build {
		path := filepath.Join(buildDir, name)
		cmd := exec.Command("go", "build", "-o", path, pkg)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0"), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return Build{Out: fmt.Sprintf("%v\n%s", err, out)}
		}
		return Build{Path: path}
	})
}

// StartCollector builds the usage-collector of collector/ and runs it on
// a loopback port with a SQLite file, until the test ends. It returns the
// collector's URL once it answers /healthz.
func StartCollector(t testing.TB) string {
	t.Helper()
	r := BuildTool("collector", "./cmd/usage-collector", "usage-collector")
	if r.Out != "" {
		t.Fatalf("building the collector: %s", r.Out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", usagetest.FreePort(t))
	cmd := exec.Command(r.Path, "-listen", addr, "-db", "sqlite:"+filepath.Join(t.TempDir(), "usage.db"))
	out := &usagetest.Log{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("collector log:\n%s", out.String())
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector is not up after 30s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
