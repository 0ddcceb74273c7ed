package krakendusage

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The KrakenD release the plugin targets is named once, in krakend.mk;
// the tests read it from there, as the Makefile does.
type krakendTarget struct {
	Version string // KrakenD CE release, e.g. "2.13.2"
	Go      string // the Go release it is built with, e.g. "1.25.8"
}

var targetLine = regexp.MustCompile(`^(KRAKEND_VERSION|KRAKEND_GO)\s*:?=\s*(\S+)\s*$`)

func readTarget(t testing.TB) krakendTarget {
	t.Helper()
	f, err := os.Open("krakend.mk")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tg krakendTarget
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := targetLine.FindStringSubmatch(sc.Text()); m != nil {
			if m[1] == "KRAKEND_VERSION" {
				tg.Version = m[2]
			} else {
				tg.Go = m[2]
			}
		}
	}
	if tg.Version == "" || tg.Go == "" {
		t.Fatalf("krakend.mk names no KRAKEND_VERSION or KRAKEND_GO: %+v", tg)
	}
	return tg
}

// requireKrakenD is set by .ci/run: every test that needs the KrakenD
// toolchain, a KrakenD binary or musl-gcc then fails instead of skipping.
func requireKrakenD() bool { return os.Getenv("USAGE_TEST_REQUIRE_KRAKEND") != "" }

// skipOrFail skips the test with why, or fails it in CI.
func skipOrFail(t testing.TB, why string) {
	t.Helper()
	if requireKrakenD() {
		t.Fatal(why + " (USAGE_TEST_REQUIRE_KRAKEND is set: CI must run this test)")
	}
	t.Skip(why)
}

// builds are made once per test binary, in one directory removed by
// TestMain, and shared by every test that needs them.
var (
	buildDir  string
	buildMu   sync.Mutex
	buildDone = map[string]buildResult{}
)

type buildResult struct {
	path string
	out  string // the go command's output when it failed
	skip string // why it cannot be built here
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "krakend-usage-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// targetBuild builds what `make plugin`, `make plugin-musl` or `make
// gateway` builds (kind "plugin", "plugin-musl" or "gateway"): with the Go
// release of krakend.mk (GOTOOLCHAIN; the module proxy serves it), never
// with -race, since a plugin must match its host's build exactly. It
// returns the path, or skips (fails in CI) when the toolchain or musl-gcc
// is missing here.
func targetBuild(t testing.TB, kind string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	r, ok := buildDone[kind]
	if !ok {
		r = doBuild(readTarget(t), kind)
		buildDone[kind] = r
	}
	switch {
	case r.skip != "":
		skipOrFail(t, r.skip)
	case r.out != "":
		t.Fatalf("building the %s: %s", kind, r.out)
	}
	return r.path
}

func doBuild(tg krakendTarget, kind string) buildResult {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return buildResult{skip: "no go command to build the " + kind + " with"}
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=1", "GOTOOLCHAIN=go"+tg.Go)
	var args []string
	var path string
	switch kind {
	case "plugin":
		path = filepath.Join(buildDir, "glibc", "krakend-usage.so")
		args = []string{"-buildmode=plugin", "-o", path, "./cmd/krakend-usage-plugin"}
	case "plugin-musl":
		cc, err := exec.LookPath("musl-gcc")
		if err != nil {
			return buildResult{skip: "musl-gcc not found: the musl plugin is not built (apt-get install musl-tools)"}
		}
		env = append(env, "CC="+cc)
		path = filepath.Join(buildDir, "musl", "krakend-usage.so")
		args = []string{"-buildmode=plugin", "-o", path, "./cmd/krakend-usage-plugin"}
	case "gateway":
		path = filepath.Join(buildDir, "gateway")
		args = []string{"-ldflags", "-X github.com/luraproject/lura/v2/core.KrakendVersion=" + tg.Version, "-o", path, "./examples/gateway"}
	default:
		panic("unknown build " + kind)
	}
	cmd := exec.Command(goBin, append([]string{"build"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "go"+tg.Go) && strings.Contains(string(out), "toolchain") {
			return buildResult{skip: "Go " + tg.Go + " (KrakenD's) is not available here: " + strings.TrimSpace(string(out))}
		}
		return buildResult{out: err.Error() + "\n" + string(out)}
	}
	return buildResult{path: path}
}
