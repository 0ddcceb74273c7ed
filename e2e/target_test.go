package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
)

// The KrakenD releases the plugin is built for are named once, in
// targets/releases, each with its module pins targets/<release>.mod and
// .sum; the tests read that table through targets/releases.sh, as the
// Makefile and the scripts do.
type krakendTarget struct {
	Version string // KrakenD CE release, e.g. "2.13.8"
	Go      string // the Go release it is built with, e.g. "1.25.12"
	Lura    string // the lura/v2 version it links
}

// modfile is the release's alternate go.mod (go build -modfile); its
// go.sum is the .sum beside it.
func (tg krakendTarget) modfile() string { return filepath.Join("targets", tg.Version+".mod") }

// krakendSum is the release's own go.sum, copied into testdata.
func (tg krakendTarget) krakendSum() string {
	return filepath.Join("testdata", "krakend-ce-v"+tg.Version+".go.sum")
}

// readTargets returns every supported release, oldest first, as
// targets/releases.sh reads them for the Makefile and the scripts.
func readTargets(t testing.TB) []krakendTarget {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join("targets", "releases.sh"), "table").Output()
	if err != nil {
		var stderr []byte
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = exit.Stderr
		}
		t.Fatalf("targets/releases.sh table: %v\n%s", err, stderr)
	}
	var tgs []krakendTarget
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("targets/releases.sh table: %q: want release, Go, lura", line)
		}
		tgs = append(tgs, krakendTarget{f[0], f[1], f[2]})
	}
	return tgs
}

// readTarget returns the default release: the newest.
func readTarget(t testing.TB) krakendTarget {
	tgs := readTargets(t)
	return tgs[len(tgs)-1]
}

func TestMain(m *testing.M) { testenv.Main(m, "..") }

// releaseBuild builds kind for the release tg: with its Go release
// (GOTOOLCHAIN; the module proxy serves it) and its pins (-modfile), never
// with -race, since a plugin must match its host's build exactly. It
// returns the path, or skips (fails in CI) when the toolchain, the
// release's modules or the C compiler cannot be had here.
func releaseBuild(t testing.TB, tg krakendTarget, kind string) string {
	t.Helper()
	r := buildOnce(tg, kind)
	switch {
	case r.Skip != "":
		testenv.SkipOrFail(t, r.Skip)
	case r.Out != "":
		t.Fatalf("building the %s for KrakenD %s: %s", kind, tg.Version, r.Out)
	}
	return r.Path
}

// buildOnce builds kind for tg, or returns the earlier result.
func buildOnce(tg krakendTarget, kind string) testenv.Build {
	return testenv.Once(tg.Version+"/"+kind, func(dir string) testenv.Build { return build(tg, kind, dir) })
}

// refused is how the go command says the module proxy will not serve a
// version (here, some of 2.13.x's pins come only from the shared goproxy).
var refused = regexp.MustCompile(`(?m)^.*reading \S+: (403|404|410) .*$`)

// build builds kind for tg in buildDir.
func build(tg krakendTarget, kind, buildDir string) testenv.Build {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return testenv.Build{Skip: "no go command to build the " + kind + " with"}
	}
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=1", "GOTOOLCHAIN=go"+tg.Go)
	dir := filepath.Join(buildDir, tg.Version)
	plugin := []string{"-modfile=" + tg.modfile(), "-buildmode=plugin", "-o"}
	var args []string
	var path string
	// cross sets CC to the compiler cc, found on PATH, with flags.
	cross := func(name, cc, flags, install string) (string, bool) {
		p, err := exec.LookPath(cc)
		if err != nil {
			return cc + " not found: the " + name + " plugin is not built (" + install + ")", false
		}
		env = append(env, strings.TrimSpace("CC="+p+" "+flags))
		return "", true
	}
	switch kind {
	case "plugin":
		path = filepath.Join(dir, "glibc", "krakend-usage.so")
		args = append(plugin, path, "./cmd/krakend-usage-plugin")
	case "plugin-musl":
		if why, ok := cross("musl", "musl-gcc", "", "apt-get install musl-tools"); !ok {
			return testenv.Build{Skip: why}
		}
		path = filepath.Join(dir, "musl", "krakend-usage.so")
		args = append(plugin, path, "./cmd/krakend-usage-plugin")
	case "plugin-arm64":
		if why, ok := cross("arm64", "aarch64-linux-gnu-gcc", "", "apt-get install gcc-aarch64-linux-gnu"); !ok {
			return testenv.Build{Skip: why}
		}
		env = append(env, "GOARCH=arm64")
		path = filepath.Join(dir, "arm64", "krakend-usage.so")
		args = append(plugin, path, "./cmd/krakend-usage-plugin")
	case "plugin-musl-arm64":
		// musl-gcc for arm64: the cross compiler with musl-dev:arm64's specs.
		const specs = "/usr/lib/aarch64-linux-musl/musl-gcc.specs"
		if _, err := os.Stat(specs); err != nil {
			return testenv.Build{Skip: specs + " not found: the arm64 musl plugin is not built (dpkg --add-architecture arm64; apt-get install musl-dev:arm64)"}
		}
		if why, ok := cross("arm64 musl", "aarch64-linux-gnu-gcc", "-specs "+specs, "apt-get install gcc-aarch64-linux-gnu"); !ok {
			return testenv.Build{Skip: why}
		}
		env = append(env, "GOARCH=arm64")
		path = filepath.Join(dir, "arm64-musl", "krakend-usage.so")
		args = append(plugin, path, "./cmd/krakend-usage-plugin")
	case "gateway":
		path = filepath.Join(dir, "gateway")
		args = []string{"-modfile=" + tg.modfile(), "-ldflags", "-X github.com/luraproject/lura/v2/core.KrakendVersion=" + tg.Version, "-o", path, "./examples/gateway"}
	default:
		panic("unknown build " + kind)
	}
	cmd := exec.Command(goBin, append([]string{"build"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "go"+tg.Go) && strings.Contains(string(out), "toolchain") {
			return testenv.Build{Skip: "Go " + tg.Go + " (KrakenD " + tg.Version + "'s) is not available here: " + strings.TrimSpace(string(out))}
		}
		if m := refused.FindString(string(out)); m != "" {
			return testenv.Build{Skip: "KrakenD " + tg.Version + "'s modules cannot all be fetched here (" + strings.TrimSpace(m) +
				"); where the module proxy refuses them, put a proxy that has them first: USAGE_GOPROXY_DIR=DIR make test, or GOPROXY=file://DIR,$(go env GOPROXY) (README, \"A local module proxy\")"}
		}
		return testenv.Build{Out: err.Error() + "\n" + string(out)}
	}
	return testenv.Build{Path: path}
}

// The lura column of targets/releases is the lura/v2 version each release
// links (its go.sum) and its pins build with (targets/<release>.mod); make
// run reads it to find the release whose pins are the root go.mod's.
func TestReleaseTableNamesTheLuraOfEachRelease(t *testing.T) {
	const lura = "github.com/luraproject/lura/v2"
	for _, tg := range readTargets(t) {
		if got := sumVersions(t, tg.krakendSum())[lura]; got != tg.Lura {
			t.Errorf("targets/releases: KrakenD %s links lura %s (%s), the table says %s", tg.Version, got, tg.krakendSum(), tg.Lura)
		}
		if got := sumVersions(t, filepath.Join("targets", tg.Version+".sum"))[lura]; got != tg.Lura {
			t.Errorf("targets/releases: KrakenD %s's pins build with lura %s (targets/%s.sum), the table says %s", tg.Version, got, tg.Version, tg.Lura)
		}
	}
}
